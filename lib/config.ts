/**
 * Sluice's configuration in one place, as Piscina does it: an {@link Options}
 * type (everything optional), a filled {@link Config}, one {@link DEFAULTS}
 * constant, and the environment read here and nowhere else ({@link readEnv}).
 * Each setting is one row of {@link SETTINGS}: its variable and how its text
 * is read. Values are read when asked for, not at import: a process (or a
 * test) that changes its environment sees the change on the next call.
 */
import { SluiceError } from './errors.js';

/** The levels of lib/log.ts, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every setting; each falls back to its environment variable, then to {@link DEFAULTS}. */
export interface Options {
  /** Data root (`SLUICE_DATA_ROOT`); default `.sluice`, resolved against the working directory. */
  dataRoot?: string;
  /** PostgreSQL URL of the control plane (`DATABASE_URL`); default none: embedded PGlite under the data root. An empty string also means PGlite. */
  databaseUrl?: string;
  /** PostgreSQL schema (`SLUICE_DB_SCHEMA`); default none (`public`). Used only with a database URL. */
  dbSchema?: string;
  /** Redis URL of the queue (`REDIS_URL`); default none: 127.0.0.1:6379 when it answers, else a private redis-server. */
  redisUrl?: string;
  /** BullMQ key prefix (`SLUICE_QUEUE_PREFIX`); default `sluice` (use `{sluice}` on Redis Cluster). */
  queuePrefix?: string;
  /** Code version recorded in lineage (`SLUICE_COMMIT`); default none: `git rev-parse`, else `unknown`. */
  commit?: string;
  /** Fuse row-level steps into their reader's job (`SLUICE_FUSE_STEPS`, `0` turns it off); default true. */
  fuseSteps?: boolean;
  /** DuckDB memory limit of a step or an audit (`SLUICE_DUCKDB_MEMORY`), in DuckDB's units, e.g. `2GB`; default `2GB`. An agreement may set its own for its steps. */
  duckdbMemory?: string;
  /** A step's time limit (`SLUICE_STEP_TIME_MS`), in ms, over all its DuckDB statements; default 3,600,000 (one hour). An agreement may set its own. */
  stepTimeMs?: number;
  /** Spill space a step's DuckDB may use under the data root's tmp/ (`SLUICE_DUCKDB_TEMP_MAX`), in DuckDB's units; default `20GB`. An agreement may set its own. */
  duckdbTempMax?: string;
  /** How many times a step whose worker died is started again before it fails as stalled (`SLUICE_MAX_STALLED`); default 1. */
  maxStalled?: number;
  /** DuckDB threads of a step (`SLUICE_DUCKDB_THREADS`), a whole number ≥ 1; default none: DuckDB's own (all cores). */
  duckdbThreads?: number;
  /** Worker lock duration (`SLUICE_LOCK_MS`), in milliseconds: how long until a dead worker's job is handed on; default 30,000. */
  lockMs?: number;
  /** How long a stopping worker lets a running step finish before handing it back (`SLUICE_SHUTDOWN_GRACE_MS`), in ms; default 5,000. */
  shutdownGraceMs?: number;
  /** Lowest level of log line written to stderr (`SLUICE_LOG_LEVEL`: debug, info, warn, error, silent); default `info`. */
  logLevel?: LogLevel;
  /** Folder of the UCI Adult data for the comparisons about it (`SLUICE_ADULT_DIR`); default `shared/data/adult/` beside the repository. */
  adultDir?: string;
  /** The service the CLI talks to (`SLUICE_URL`; empty is unset); default none: `cli.json`, else http://127.0.0.1:8700. */
  serviceUrl?: string;
  /** The CLI's bearer token (`SLUICE_TOKEN`; empty is unset); default none: `cli.json`. */
  serviceToken?: string;
  /** Refused requests (authentication, role, scope) one token or one client address may have in a window before it is answered 429 (`SLUICE_ACCESS_FAILURE_LIMIT`), ≥ 1; default 30. */
  accessFailureLimit?: number;
  /** The window of {@link Options.accessFailureLimit} (`SLUICE_ACCESS_FAILURE_WINDOW_MS`), in milliseconds, ≥ 1; default 60,000. */
  accessFailureWindowMs?: number;
}

/** {@link Options} with every default applied; settings without a default stay optional. */
export type Config = Required<Pick<Options, keyof typeof DEFAULTS>> & Omit<Options, keyof typeof DEFAULTS>;

/** The defaults, in one place. */
export const DEFAULTS = {
  dataRoot: '.sluice',
  queuePrefix: 'sluice',
  fuseSteps: true,
  duckdbMemory: '2GB',
  stepTimeMs: 3_600_000,
  duckdbTempMax: '20GB',
  maxStalled: 1,
  lockMs: 30_000,
  shutdownGraceMs: 5_000,
  logLevel: 'info',
  accessFailureLimit: 30,
  accessFailureWindowMs: 60_000,
} as const satisfies Partial<Options>;

/** How one variable's text becomes a setting; undefined leaves it unset. */
type Reader<T> = (name: string, text: string) => T | undefined;

const text: Reader<string> = (_name, t) => t;
/** An empty variable counts as unset (`SLUICE_URL= sluice …`), as in most CLIs. */
const nonEmpty: Reader<string> = (_name, t) => (t === '' ? undefined : t);
const flag: Reader<boolean> = (_name, t) => t !== '0';

function wholeNumber(min: number): Reader<number> {
  return (name, t) => {
    // An empty variable is unset.
    if (t === '') return undefined;
    const n = Number(t);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${name}: expected a whole number of at least ${min}, found a string of ${[...t].length} characters`);
    }
    return n;
  };
}

/** A size in DuckDB's units (`512MB`, `2GB`, `1.5GiB`): a positive number and a unit. */
export const DUCK_SIZE = /^(?:\d{1,9}(?:\.\d{1,3})?) ?(?:[KMGT]i?B|B)$/;

const size: Reader<string> = (name, t) => {
  if (t === '') return undefined;
  if (DUCK_SIZE.test(t)) return t;
  throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${name}: expected a size such as 512MB or 2GB, found a string of ${[...t].length} characters`);
};

function oneOf<T extends string>(values: readonly T[]): Reader<T> {
  return (name, t) => {
    if (t === '') return undefined;
    if ((values as readonly string[]).includes(t)) return t as T;
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${name}: expected one of ${values.join(', ')}, found a string of ${[...t].length} characters`);
  };
}

/** Each setting's environment variable and reader: the one place `process.env` is interpreted. */
export const SETTINGS: { [K in keyof Options]-?: { env: string; read: Reader<NonNullable<Options[K]>> } } = {
  dataRoot: { env: 'SLUICE_DATA_ROOT', read: text },
  databaseUrl: { env: 'DATABASE_URL', read: text },
  dbSchema: { env: 'SLUICE_DB_SCHEMA', read: text },
  redisUrl: { env: 'REDIS_URL', read: text },
  queuePrefix: { env: 'SLUICE_QUEUE_PREFIX', read: text },
  commit: { env: 'SLUICE_COMMIT', read: text },
  fuseSteps: { env: 'SLUICE_FUSE_STEPS', read: flag },
  duckdbMemory: { env: 'SLUICE_DUCKDB_MEMORY', read: size },
  stepTimeMs: { env: 'SLUICE_STEP_TIME_MS', read: wholeNumber(1) },
  duckdbTempMax: { env: 'SLUICE_DUCKDB_TEMP_MAX', read: size },
  maxStalled: { env: 'SLUICE_MAX_STALLED', read: wholeNumber(0) },
  duckdbThreads: { env: 'SLUICE_DUCKDB_THREADS', read: wholeNumber(1) },
  lockMs: { env: 'SLUICE_LOCK_MS', read: wholeNumber(1) },
  shutdownGraceMs: { env: 'SLUICE_SHUTDOWN_GRACE_MS', read: wholeNumber(0) },
  logLevel: { env: 'SLUICE_LOG_LEVEL', read: oneOf(LOG_LEVELS) },
  adultDir: { env: 'SLUICE_ADULT_DIR', read: nonEmpty },
  serviceUrl: { env: 'SLUICE_URL', read: nonEmpty },
  serviceToken: { env: 'SLUICE_TOKEN', read: nonEmpty },
  accessFailureLimit: { env: 'SLUICE_ACCESS_FAILURE_LIMIT', read: wholeNumber(1) },
  accessFailureWindowMs: { env: 'SLUICE_ACCESS_FAILURE_WINDOW_MS', read: wholeNumber(1) },
};

/** One setting from the environment: undefined when unset; a malformed value is refused naming the variable, never echoing it. */
export function readSetting<K extends keyof Options>(key: K, env: NodeJS.ProcessEnv = process.env): Options[K] | undefined {
  const setting = SETTINGS[key] as { env: string; read: Reader<Options[K]> };
  const raw = env[setting.env];
  return raw === undefined ? undefined : setting.read(setting.env, raw);
}

/** The settings the environment gives. Unset variables give nothing; a malformed one is refused as {@link readSetting} says. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): Options {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS) as (keyof Options)[]) {
    const value = readSetting(key, env);
    if (value !== undefined) out[key] = value;
  }
  return out as Options;
}

/** The configuration: `overrides` first, then the environment, then {@link DEFAULTS}. */
export function loadConfig(overrides: Options = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const fromEnv = readEnv(env);
  const config: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(SETTINGS) as (keyof Options)[]) {
    const v = overrides[key] !== undefined ? overrides[key] : fromEnv[key];
    if (v !== undefined) config[key] = v;
  }
  return config as Config;
}
