import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type { z } from 'zod';
import { SluiceError, isSluiceError } from '../lib/errors.js';
import { runMigrations, type MigrationSession } from './migrate.js';

/**
 * A connection to the control-plane database: PostgreSQL through a `pg` pool,
 * or embedded PGlite. Both run the same SQL (`$1` parameters, jsonb, timestamptz).
 *
 * Rows come back as the driver parses them: timestamptz as `Date`, jsonb parsed,
 * but bigint and numeric may be strings on PostgreSQL and numbers on PGlite —
 * read them with {@link toNumber}. Driver errors are rethrown as SluiceError
 * without the driver's `detail` (which may quote a value).
 */
export interface Db {
  /** Which engine is behind this handle. */
  readonly kind: 'postgres' | 'pglite';
  /** The schema the tables live in (`public` unless `schema` was given). */
  readonly schema: string;
  /** Runs one statement with `$1…` parameters and returns its rows. */
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it
   * throws. Inside `fn`, use only the handle it receives (on PGlite, calling the
   * outer handle from inside waits for the transaction and deadlocks). Calling
   * `tx` on that inner handle joins the same transaction.
   */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** Closes the pool or the embedded database. Idempotent. */
  close(): Promise<void>;
}

/** Options for {@link openDb}. */
export interface OpenDbOptions {
  /** A PostgreSQL URL (`postgres://user@host:5432/db`). When absent, PGlite is used. */
  databaseUrl?: string;
  /** The data root; PGlite keeps its files in `<dataRoot>/control-plane`. Absent: PGlite in memory. */
  dataRoot?: string;
  /** A schema for the tables (created when missing); lowercase letters, digits and `_` only. Default: `public`. */
  schema?: string;
  /** PostgreSQL only: the pool size. Default 10. */
  maxConnections?: number;
  /** PostgreSQL only: how long to wait for a connection, in ms. Default 10,000. */
  connectTimeoutMs?: number;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens the control-plane database and brings its schema up to date (see
 * migrate.ts: each migration once, in a transaction, under an advisory lock so
 * that two processes opening PostgreSQL at once do not race).
 *
 * Errors: SLUICE_ERR_DB_UNAVAILABLE (retryable unless the database is missing or
 * refuses the credentials) naming host, port and database, never the password;
 * SLUICE_ERR_CONFLICT when another live process has the PGlite directory open.
 */
export async function openDb(options: OpenDbOptions): Promise<Db> {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_RE.test(schema)) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `options.schema must be an identifier of lowercase letters, digits and _ (found a ${schema.length}-character name that is not)`);
  }
  return options.databaseUrl ? openPostgres(options.databaseUrl, schema, options) : openPglite(options.dataRoot, schema);
}

// ---------------------------------------------------------------- PostgreSQL

/** host:port/database of a URL, for messages: never the user's password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)';
    return `${u.hostname || 'localhost'}:${u.port || '5432'}/${db}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

async function openPostgres(url: string, schema: string, options: OpenDbOptions): Promise<Db> {
  const where = describeDatabaseUrl(url);
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      // Every pooled session resolves unqualified names in our schema; the
      // schema may not exist yet, which PostgreSQL allows in search_path.
      options: `-c search_path=${schema}`,
    });
  } catch (e) {
    throw unavailable(e, where);
  }
  // An idle client losing its server must not crash the process; the next
  // query fails and is reported as SLUICE_ERR_DB_UNAVAILABLE.
  pool.on('error', () => undefined);

  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw unavailable(e, where);
  }
  try {
    const session: MigrationSession = {
      kind: 'postgres',
      query: async (sql, params) => (await client.query(sql, params as unknown[])).rows,
      // Without parameters pg uses the simple protocol, which allows many statements.
      exec: async (sql) => void (await client.query(sql)),
    };
    await runMigrations(session, schema);
    client.release();
  } catch (e) {
    client.release(true);
    await pool.end().catch(() => undefined);
    throw mapDbError(e, where);
  }
  return new PostgresDb(pool, schema, where);
}

/** How a handle runs statements: a pool, a client, PGlite or one of its transactions. */
interface Runner {
  query(sql: string, params?: unknown[]): Promise<unknown[]>;
  exec(sql: string): Promise<void>;
}

/** Statements on a {@link Runner}, each failure mapped to a Sluice error that names the database, never a value. */
abstract class Statements {
  constructor(
    readonly kind: Db['kind'],
    private readonly runner: Runner,
    readonly schema: string,
    protected readonly where: string,
  ) {}

  async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    try {
      return (await this.runner.query(sql, params)) as T[];
    } catch (e) {
      throw mapDbError(e, this.where);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.runner.exec(sql);
    } catch (e) {
      throw mapDbError(e, this.where);
    }
  }
}

/** One transaction's handle, on either backend: nested transactions join it, and it cannot be closed. */
class TxDb extends Statements implements Db {
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {
    throw new SluiceError('SLUICE_ERR_INTERNAL', 'a transaction handle cannot be closed; close the Db it came from');
  }
}

/** A pg pool or client as a {@link Runner}. */
function pgRunner(on: pg.Pool | pg.PoolClient): Runner {
  return {
    query: async (sql, params) => (await on.query(sql, params)).rows,
    exec: async (sql) => {
      await on.query(sql);
    },
  };
}

class PostgresDb extends Statements implements Db {
  #closed = false;
  constructor(
    private readonly pool: pg.Pool,
    schema: string,
    where: string,
  ) {
    super('postgres', pgRunner(pool), schema, where);
  }

  async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw mapDbError(e, this.where);
    }
    const inner = new TxDb('postgres', pgRunner(client), this.schema, this.where);
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(inner);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw mapDbError(e, this.where);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}

// ---------------------------------------------------------------- PGlite

/** Directories this process holds open, so that a second open in-process is refused too. */
const openDirs = new Set<string>();

async function openPglite(dataRoot: string | undefined, schema: string): Promise<Db> {
  let dir: string | undefined;
  let lockFile: string | undefined;
  if (dataRoot !== undefined) {
    dir = join(dataRoot, 'control-plane');
    lockFile = join(dataRoot, 'control-plane.lock');
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new SluiceError('SLUICE_ERR_STORE_IO', `cannot create the control-plane directory ${dir}`, { cause: e });
    }
    acquireDirLock(dir, lockFile);
  }
  const where = dir ?? '(in-memory PGlite)';
  let lite: PGlite;
  try {
    lite = dir === undefined ? new PGlite() : new PGlite(dir);
    await lite.waitReady;
  } catch (e) {
    if (dir !== undefined && lockFile !== undefined) releaseDirLock(dir, lockFile);
    throw new SluiceError('SLUICE_ERR_DB_UNAVAILABLE', `cannot open the embedded control-plane database at ${where}`, { retryable: false, cause: e });
  }
  const db = new PgliteDb(lite, schema, where, () => {
    if (dir !== undefined && lockFile !== undefined) releaseDirLock(dir, lockFile);
  });
  try {
    // PGlite is one session, so SET applies to every later statement.
    await lite.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}";`);
    const session: MigrationSession = {
      kind: 'pglite',
      query: async (sql, params) => (await lite.query(sql, params as unknown[])).rows as Record<string, unknown>[],
      exec: async (sql) => void (await lite.exec(sql)),
    };
    await runMigrations(session, schema);
  } catch (e) {
    await db.close().catch(() => undefined);
    throw mapDbError(e, where);
  }
  return db;
}

function acquireDirLock(dir: string, lockFile: string): void {
  if (openDirs.has(dir)) {
    throw new SluiceError('SLUICE_ERR_CONFLICT', `the embedded control-plane database ${dir} is already open in this process; share one ControlPlane or set DATABASE_URL`);
  }
  try {
    writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
  } catch {
    let holder = NaN;
    try {
      holder = Number(readFileSync(lockFile, 'utf8').trim());
    } catch {
      // unreadable lock: treat as stale
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
      throw new SluiceError('SLUICE_ERR_CONFLICT', `the embedded control-plane database ${dir} is open in process ${holder}; PGlite allows one process (set DATABASE_URL to share PostgreSQL)`);
    }
    writeFileSync(lockFile, String(process.pid));
  }
  openDirs.add(dir);
}

function releaseDirLock(dir: string, lockFile: string): void {
  openDirs.delete(dir);
  try {
    if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) rmSync(lockFile, { force: true });
  } catch {
    // already gone
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A FIFO mutex: PGlite is one session, so top-level statements must not interleave with an open transaction. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** PGlite or one of its transactions as a {@link Runner}; `serial` runs each call alone (PGlite takes one statement at a time). */
function pgliteRunner(on: PGlite | PGliteTransaction, serial: <T>(f: () => Promise<T>) => Promise<T> = (f) => f()): Runner {
  return {
    query: (sql, params) => serial(async () => (await on.query(sql, params as unknown[])).rows),
    exec: (sql) =>
      serial(async () => {
        await on.exec(sql);
      }),
  };
}

class PgliteDb extends Statements implements Db {
  readonly #mutex: Mutex;
  #closed = false;
  constructor(
    private readonly lite: PGlite,
    schema: string,
    where: string,
    private readonly onClose: () => void,
  ) {
    const mutex = new Mutex();
    super('pglite', pgliteRunner(lite, (f) => mutex.run(f)), schema, where);
    this.#mutex = mutex;
  }

  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return this.#mutex.run(async () => {
      try {
        return await this.lite.transaction((t) => fn(new TxDb('pglite', pgliteRunner(t), this.schema, this.where)));
      } catch (e) {
        throw mapDbError(e, this.where);
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#mutex.run(() => this.lite.close());
    } finally {
      this.onClose();
    }
  }
}

// ---------------------------------------------------------------- errors

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

function unavailable(e: unknown, where: string): SluiceError {
  const code = (e as { code?: unknown })?.code;
  const sqlState = typeof code === 'string' ? code : '';
  if (sqlState === '3D000') {
    return new SluiceError('SLUICE_ERR_DB_UNAVAILABLE', `control-plane database ${where} does not exist`, { retryable: false });
  }
  if (sqlState === '28P01' || sqlState === '28000') {
    return new SluiceError('SLUICE_ERR_DB_UNAVAILABLE', `control-plane database ${where} refused the credentials in DATABASE_URL (SQLSTATE ${sqlState})`, { retryable: false });
  }
  const reason = sqlState || (e instanceof Error && /timeout/i.test(e.message) ? 'connection timeout' : 'connection failed');
  return new SluiceError('SLUICE_ERR_DB_UNAVAILABLE', `control-plane database ${where} is unreachable (${reason})`, { retryable: true });
}

/**
 * Turns a driver error into a SluiceError. SluiceErrors pass through. The
 * driver's `detail`, `query` and `params` are dropped (they can quote values);
 * the message keeps the SQLSTATE and the constraint, table and column names.
 */
export function mapDbError(e: unknown, where: string): SluiceError {
  if (isSluiceError(e)) return e;
  const err = (e ?? {}) as { code?: unknown; constraint?: unknown; table?: unknown; column?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : '';
  if (CONNECTION_CODES.has(code) || code.startsWith('08') || code === '57P01' || code === '57P03' || code === '3D000' || code.startsWith('28') ||
      /Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end/i.test(message)) {
    return unavailable(e, where);
  }
  const names: Record<string, string> = {};
  for (const k of ['constraint', 'table', 'column'] as const) if (typeof err[k] === 'string') names[k] = err[k] as string;
  const named = Object.entries(names).map(([k, v]) => `${k} ${v}`).join(', ');
  const suffix = named ? ` (${named})` : '';
  const details = { sqlState: code, ...names };
  if (code === '23505') return new SluiceError('SLUICE_ERR_CONFLICT', `control-plane row already exists${suffix}`, { details });
  if (code === '23503') return new SluiceError('SLUICE_ERR_NOT_FOUND', `control-plane row refers to a missing row${suffix}`, { details });
  if (code.startsWith('23') || code.startsWith('22')) {
    return new SluiceError('SLUICE_ERR_INPUT_INVALID', `control-plane row rejected: SQLSTATE ${code}${suffix}`, { details });
  }
  // Our own RAISE (the append-only trigger) carries no value: keep its text.
  if (code === 'P0001') return new SluiceError('SLUICE_ERR_CONFLICT', message, { details });
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '53300') {
    return new SluiceError('SLUICE_ERR_DB_UNAVAILABLE', `control-plane database ${where} is busy (SQLSTATE ${code}); retry`, { retryable: true, details });
  }
  // Syntax and catalogue errors come from our SQL, not from values.
  const text = code.startsWith('42') ? `: ${message}` : '';
  return new SluiceError('SLUICE_ERR_INTERNAL', `control-plane query failed: SQLSTATE ${code || 'unknown'}${suffix}${text}`, { details });
}

// ---------------------------------------------------------------- row codecs

/**
 * A bigint/numeric/int column as a JS number. PostgreSQL's driver returns
 * bigint as a string and PGlite as a number; values beyond 2^53 are refused.
 * `null`/`undefined` → null.
 */
export function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(String(v));
  if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n))) {
    throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', 'a control-plane number is outside the safe integer range');
  }
  return n;
}

/** Like {@link toNumber} but for NOT NULL columns. */
export function toNum(v: unknown): number {
  return toNumber(v) ?? 0;
}

/** A timestamptz as an ISO string with milliseconds (`2024-01-01T00:00:00.000Z`); null stays null. */
export function toIso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return d.toISOString();
}

/** A jsonb column as a value: drivers parse jsonb, but a text fallback is parsed here. */
export function fromJson<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

/** A value as a jsonb parameter: always JSON text (pg would send a JS array as a PostgreSQL array). */
export function jsonParam(v: unknown): string {
  return JSON.stringify(v ?? null);
}

/**
 * Validates `value` against a zod schema; on failure throws
 * SLUICE_ERR_INPUT_INVALID naming the first bad field (`what.path`) and what
 * was expected. Zod's messages name types and options, never the value found.
 */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = [what, ...(issue?.path ?? []).map(String)].join('.');
  throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${path}: ${issue?.message ?? 'invalid'}`, {
    details: { field: path, issues: r.error.issues.length },
  });
}
