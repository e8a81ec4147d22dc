import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { SluiceError } from '../lib/errors.js';
import { join } from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ControlPlane } from '../domain/control-plane.js';
import { configureLog } from '../lib/log.js';
import { openDataRoot, type DataRoot } from './store/data-root.js';
import { openRedis, type RedisHandle } from './redis.js';
import { DomainStore } from './store/store.js';
import { loadConfig } from '../lib/config.js';

/** Options for {@link Engine.open}; every field has an environment default. */
export interface EngineOptions {
  /** Data root; default `SLUICE_DATA_ROOT` or `./.sluice`. */
  dataRoot?: string;
  /** PostgreSQL URL; default `DATABASE_URL`; without one, embedded PGlite under the data root. */
  databaseUrl?: string;
  /** PostgreSQL schema (tests isolate themselves with one); default `SLUICE_DB_SCHEMA`, else `public`. */
  schema?: string;
  /** Redis URL; default `REDIS_URL`, else 127.0.0.1:6379, else a private redis-server. */
  redisUrl?: string;
  /** BullMQ key prefix; default `sluice` (use `{sluice}` on Redis Cluster). */
  queuePrefix?: string;
  /** Write log lines to `<dataRoot>/logs/sluice.log` too; default true. */
  logToFile?: boolean;
}

/** Queue names (under the prefix). */
export const QUEUES = { steps: 'steps', release: 'release' } as const;

let cachedVersion: string | undefined;
/** The code version recorded in lineage: the package version and, when known, the git commit. */
export function codeVersion(): string {
  if (cachedVersion) return cachedVersion;
  const root = new URL('..', import.meta.url).pathname;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  let commit = loadConfig().commit ?? '';
  if (!commit) {
    try {
      commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      commit = 'unknown';
    }
  }
  cachedVersion = `${pkg.version}+${commit}`;
  return cachedVersion;
}

/**
 * PGlite is single-process: two processes on one directory would corrupt it.
 * A pid lock file makes the second one fail with a clear message instead.
 * Returns the release function.
 */
export function lockEmbeddedControlPlane(dataRoot: DataRoot): () => void {
  const lock = join(dataRoot.root, 'control-plane.lock');
  const take = () => writeFileSync(lock, String(process.pid), { flag: 'wx' });
  try {
    take();
  } catch {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (alive && pid !== process.pid) {
      throw new SluiceError(
        'SLUICE_ERR_CONFLICT',
        `the embedded control plane under ${dataRoot.root} is in use by process ${pid}; stop it, talk to it through its API, or set DATABASE_URL to share PostgreSQL`,
      );
    }
    unlinkSync(lock);
    take();
  }
  return () => {
    try {
      if (existsSync(lock) && readFileSync(lock, 'utf8').trim() === String(process.pid)) unlinkSync(lock);
    } catch {
      // Already gone.
    }
  };
}

/** Opens only the control plane (for `sluice init` and admin commands that need no queue). */
export async function openControlPlane(options: Pick<EngineOptions, 'dataRoot' | 'databaseUrl' | 'schema'> = {}): Promise<{ dataRoot: DataRoot; cp: ControlPlane; close(): Promise<void> }> {
  const dataRoot = openDataRoot(options.dataRoot);
  const config = loadConfig();
  const databaseUrl = options.databaseUrl ?? config.databaseUrl;
  const schema = options.schema ?? config.dbSchema;
  const unlock = databaseUrl ? () => undefined : lockEmbeddedControlPlane(dataRoot);
  try {
    const cp = await ControlPlane.open({ dataRoot: dataRoot.root, ...(databaseUrl ? { databaseUrl } : {}), ...(databaseUrl && schema ? { schema } : {}) });
    return { dataRoot, cp, close: async () => { await cp.close(); unlock(); } };
  } catch (e) {
    unlock();
    throw e;
  }
}

/**
 * One process's handle on the domain: the store, the control plane, the queue.
 * The service and the workers each open one; with PGlite the service and its
 * workers share one Engine in one process.
 */
export class Engine {
  private readonly closers: Array<() => Promise<void> | void> = [];

  private constructor(
    readonly dataRoot: DataRoot,
    readonly store: DomainStore,
    readonly cp: ControlPlane,
    readonly redis: RedisHandle,
    readonly connection: Redis,
    readonly prefix: string,
    readonly stepsQueue: Queue,
    readonly releaseQueue: Queue,
    readonly flow: FlowProducer,
    private readonly closeControlPlane: () => Promise<void>,
  ) {}

  /** Opens the data root, the control plane and the queue. */
  static async open(options: EngineOptions = {}): Promise<Engine> {
    const opened = await openControlPlane(options);
    const { dataRoot, cp } = opened;
    if (options.logToFile !== false) configureLog({ file: join(dataRoot.logs, 'sluice.log') });
    let redis: RedisHandle;
    try {
      redis = await openRedis({ ...(options.redisUrl ? { url: options.redisUrl } : {}), dataDir: dataRoot.root });
    } catch (e) {
      await opened.close();
      throw e;
    }
    const connection = redis.connect();
    const prefix = options.queuePrefix ?? loadConfig().queuePrefix;
    const stepsQueue = new Queue(QUEUES.steps, { connection, prefix });
    const releaseQueue = new Queue(QUEUES.release, { connection, prefix });
    const flow = new FlowProducer({ connection, prefix });
    return new Engine(dataRoot, new DomainStore(dataRoot), cp, redis, connection, prefix, stepsQueue, releaseQueue, flow, opened.close);
  }

  /** True when the control plane is embedded (PGlite): workers must run in this process. */
  get embedded(): boolean {
    return this.cp.db.kind === 'pglite';
  }

  /** Registers something to release when the engine closes (before the queues and the control plane). */
  onClose(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  /** Closes queues, connections and the control plane; stops a private Redis. */
  async close(): Promise<void> {
    for (const fn of this.closers.splice(0)) await fn();
    await this.flow.close();
    await this.stepsQueue.close();
    await this.releaseQueue.close();
    this.connection.disconnect();
    await this.closeControlPlane();
    await this.redis.stop();
  }
}
