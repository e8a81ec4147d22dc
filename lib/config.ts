/**
 * Sluice's configuration in one place, as Piscina does it: an {@link Options}
 * type (everything optional), a filled {@link Config}, one {@link DEFAULTS}
 * constant, and the environment read here and nowhere else ({@link readEnv}).
 * Values are read when asked for, not at import: a process (or a test) that
 * changes its environment sees the change on the next call.
 */
import { SluiceError } from './errors.js';

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
  /** DuckDB memory limit of a step or an audit (`SLUICE_DUCKDB_MEMORY`), in DuckDB's units, e.g. `2GB`; default `2GB`. */
  duckdbMemory?: string;
  /** DuckDB threads of a step (`SLUICE_DUCKDB_THREADS`), a whole number ≥ 1; default none: DuckDB's own (all cores). */
  duckdbThreads?: number;
  /** Worker lock duration (`SLUICE_LOCK_MS`), in milliseconds: how long until a dead worker's job is handed on; default 30,000. */
  lockMs?: number;
}

/** {@link Options} with every default applied; settings without a default stay optional. */
export type Config = Required<Pick<Options, 'dataRoot' | 'queuePrefix' | 'fuseSteps' | 'duckdbMemory' | 'lockMs'>> &
  Pick<Options, 'databaseUrl' | 'dbSchema' | 'redisUrl' | 'commit' | 'duckdbThreads'>;

/** The defaults, in one place. */
export const DEFAULTS = {
  dataRoot: '.sluice',
  queuePrefix: 'sluice',
  fuseSteps: true,
  duckdbMemory: '2GB',
  lockMs: 30_000,
} as const satisfies Partial<Config>;

/** The environment variable of each setting. */
export const ENV_VARS = {
  dataRoot: 'SLUICE_DATA_ROOT',
  databaseUrl: 'DATABASE_URL',
  dbSchema: 'SLUICE_DB_SCHEMA',
  redisUrl: 'REDIS_URL',
  queuePrefix: 'SLUICE_QUEUE_PREFIX',
  commit: 'SLUICE_COMMIT',
  fuseSteps: 'SLUICE_FUSE_STEPS',
  duckdbMemory: 'SLUICE_DUCKDB_MEMORY',
  duckdbThreads: 'SLUICE_DUCKDB_THREADS',
  lockMs: 'SLUICE_LOCK_MS',
} as const satisfies { [K in keyof Options]-?: string };

/** A whole number of at least 1 from an environment variable; SLUICE_ERR_INPUT_INVALID naming the variable otherwise. */
function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${name}: expected a whole number of at least 1, found a string of ${[...text].length} characters`);
  }
  return n;
}

/** The settings the environment gives (the one place `process.env` is read for them). Unset variables give nothing. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): Options {
  const out: Options = {};
  const str = (k: keyof typeof ENV_VARS) => env[ENV_VARS[k]];
  const dataRoot = str('dataRoot');
  if (dataRoot !== undefined) out.dataRoot = dataRoot;
  const databaseUrl = str('databaseUrl');
  if (databaseUrl !== undefined) out.databaseUrl = databaseUrl;
  const dbSchema = str('dbSchema');
  if (dbSchema !== undefined) out.dbSchema = dbSchema;
  const redisUrl = str('redisUrl');
  if (redisUrl !== undefined) out.redisUrl = redisUrl;
  const queuePrefix = str('queuePrefix');
  if (queuePrefix !== undefined) out.queuePrefix = queuePrefix;
  const commit = str('commit');
  if (commit !== undefined) out.commit = commit;
  const fuse = str('fuseSteps');
  if (fuse !== undefined) out.fuseSteps = fuse !== '0';
  const memory = str('duckdbMemory');
  if (memory !== undefined) out.duckdbMemory = memory;
  const threads = str('duckdbThreads');
  // An empty variable is unset, as before.
  if (threads) out.duckdbThreads = positiveInt(ENV_VARS.duckdbThreads, threads);
  const lock = str('lockMs');
  if (lock !== undefined) out.lockMs = positiveInt(ENV_VARS.lockMs, lock);
  return out;
}

/** The configuration: `overrides` first, then the environment, then {@link DEFAULTS}. */
export function loadConfig(overrides: Options = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const fromEnv = readEnv(env);
  const pick = <K extends keyof Options>(k: K): Options[K] => (overrides[k] !== undefined ? overrides[k] : fromEnv[k]);
  const config: Config = {
    dataRoot: pick('dataRoot') ?? DEFAULTS.dataRoot,
    queuePrefix: pick('queuePrefix') ?? DEFAULTS.queuePrefix,
    fuseSteps: pick('fuseSteps') ?? DEFAULTS.fuseSteps,
    duckdbMemory: pick('duckdbMemory') ?? DEFAULTS.duckdbMemory,
    lockMs: pick('lockMs') ?? DEFAULTS.lockMs,
  };
  for (const k of ['databaseUrl', 'dbSchema', 'redisUrl', 'commit'] as const) {
    const v = pick(k);
    if (v !== undefined) config[k] = v;
  }
  const threads = pick('duckdbThreads');
  if (threads !== undefined) config.duckdbThreads = threads;
  return config;
}
