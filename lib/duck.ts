import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

/** Options for {@link openDuck}. */
export interface DuckOptions {
  /** Database file; default `:memory:`. */
  path?: string;
  /** DuckDB threads; default: DuckDB's own default (all cores). */
  threads?: number;
  /** Memory limit such as `'2GB'`; default: DuckDB's own (80% of RAM). */
  memoryLimit?: string;
  /** Directory for out-of-core spill files. */
  tempDirectory?: string;
  /** Most spill space, such as `'20GB'` (`max_temp_directory_size`); default: DuckDB's own (90% of the free disk). */
  maxTempSize?: string;
}

/** An open DuckDB instance and one connection; `close()` releases both. */
export interface Duck {
  instance: DuckDBInstance;
  conn: DuckDBConnection;
  close(): void;
}

/** Opens DuckDB (in memory by default) with one connection. */
export async function openDuck(options: DuckOptions = {}): Promise<Duck> {
  const config: Record<string, string> = {};
  if (options.threads !== undefined) config['threads'] = String(options.threads);
  if (options.memoryLimit !== undefined) config['memory_limit'] = options.memoryLimit;
  if (options.tempDirectory !== undefined) config['temp_directory'] = options.tempDirectory;
  const instance = await DuckDBInstance.create(options.path ?? ':memory:', config);
  const conn = await instance.connect();
  // Given at create time, DuckDB resets it when it sets up the temp directory: it is set once connected.
  if (options.maxTempSize !== undefined) {
    try {
      await conn.run(`SET max_temp_directory_size = ${quoteLiteral(options.maxTempSize)}`);
    } catch (e) {
      conn.closeSync();
      instance.closeSync();
      throw e;
    }
  }
  return {
    instance,
    conn,
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** Runs SQL and returns all rows as plain objects (BIGINT as bigint). */
export async function queryRows<T = Record<string, DuckDBValue>>(
  conn: DuckDBConnection,
  sql: string,
  params?: DuckDBValue[] | Record<string, DuckDBValue>,
): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql, params);
  return reader.getRowObjects() as T[];
}

/** Runs SQL and returns rows as JSON-friendly objects (BIGINT as number, dates as strings). */
export async function queryJson<T = Record<string, unknown>>(
  conn: DuckDBConnection,
  sql: string,
  params?: DuckDBValue[] | Record<string, DuckDBValue>,
): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql, params);
  return reader.getRowObjectsJson() as T[];
}

/** Quotes an SQL identifier for DuckDB. */
export function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

/** Quotes an SQL string literal for DuckDB. */
export function quoteLiteral(value: string): string {
  return "'" + value.replaceAll("'", "''") + "'";
}

/** Options for a {@link DuckPool}. */
export interface DuckPoolOptions {
  /** Folder under which each instance gets its own spill folder. */
  tempRoot: string;
  /** The name of the n-th instance's spill folder (one a sweeper of `tempRoot` recognises). */
  tempName(n: number): string;
  /** DuckDB threads per instance; default DuckDB's own. */
  threads?: number;
  /** Idle instances kept for reuse; more are closed when handed back. Default 2. */
  maxIdle?: number;
}

/** What one lease of a pooled instance runs under. */
export interface DuckLeaseSettings {
  /** `memory_limit` for this lease, such as `'2GB'`; default DuckDB's own. */
  memoryLimit?: string;
  /** `max_temp_directory_size` for this lease, such as `'20GB'`; default DuckDB's own. */
  maxTempSize?: string;
}

interface PooledInstance {
  instance: DuckDBInstance;
  tempDir: string;
}

/**
 * DuckDB instances reused across short, one-at-a-time pieces of work (the
 * pipeline's steps). Creating and closing an instance costs 20–150 ms here,
 * more than a small step's statement. Each lease holds a whole instance alone
 * and gets a fresh connection, so instance-wide settings (`memory_limit`) are
 * set per lease without touching anyone else's work; whatever a lease creates
 * must be TEMP (private to its connection and gone when it closes). Each
 * instance spills into a folder of its own, removed when the pool closes.
 */
export class DuckPool {
  private readonly idle: PooledInstance[] = [];
  private readonly leased = new Set<PooledInstance>();
  private created = 0;
  private closed = false;

  constructor(private readonly options: DuckPoolOptions) {}

  /** An instance to use alone until `close()` hands it back. */
  async acquire(settings: DuckLeaseSettings = {}): Promise<Duck> {
    if (this.closed) throw new Error('DuckPool: acquire after close');
    const entry = this.idle.pop() ?? (await this.create());
    this.leased.add(entry);
    let conn: DuckDBConnection;
    try {
      conn = await entry.instance.connect();
      // Instance-wide settings, set for each lease: the lease holds the instance alone.
      await conn.run(settings.memoryLimit !== undefined ? `SET memory_limit = ${quoteLiteral(settings.memoryLimit)}` : 'RESET memory_limit');
      await conn.run(settings.maxTempSize !== undefined ? `SET max_temp_directory_size = ${quoteLiteral(settings.maxTempSize)}` : 'RESET max_temp_directory_size');
    } catch (e) {
      this.leased.delete(entry);
      this.destroy(entry);
      throw e;
    }
    let handedBack = false;
    return {
      instance: entry.instance,
      conn,
      close: () => {
        if (handedBack) return;
        handedBack = true;
        conn.closeSync();
        this.leased.delete(entry);
        if (this.closed || this.idle.length >= (this.options.maxIdle ?? 2)) this.destroy(entry);
        else this.idle.push(entry);
      },
    };
  }

  /** Closes the idle instances now, and each leased one when it is handed back. */
  close(): void {
    this.closed = true;
    for (const e of this.idle.splice(0)) this.destroy(e);
  }

  private async create(): Promise<PooledInstance> {
    const tempDir = join(this.options.tempRoot, this.options.tempName(this.created++));
    const config: Record<string, string> = { temp_directory: tempDir };
    if (this.options.threads !== undefined) config['threads'] = String(this.options.threads);
    return { instance: await DuckDBInstance.create(':memory:', config), tempDir };
  }

  private destroy(entry: PooledInstance): void {
    try {
      entry.instance.closeSync();
    } catch {
      // Closing is best effort: the instance is dropped either way.
    }
    rmSync(entry.tempDir, { recursive: true, force: true });
  }
}
