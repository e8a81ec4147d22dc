import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

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
