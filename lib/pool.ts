import { Piscina } from 'piscina';
import { availableParallelism } from 'node:os';
import { errorFromWire, errorToWire, isErrorWire, SluiceError } from './errors.js';

/** The piscina task files: thread entry points, all under `workers/tasks/`. */
export type TaskName = 'mondrian-task' | 'forest-task';

/**
 * The URL of a piscina task file. The design puts thread entry points in
 * `workers/tasks/`; transforms and models name their task here instead of
 * importing it (a task file imports them, not the other way round).
 */
export function taskFile(name: TaskName): URL {
  return new URL(`../workers/tasks/${name}.ts`, import.meta.url);
}

/** Options for {@link createPool}. */
export interface PoolOptions {
  /** Worker threads at most. Default: the machine's available parallelism. */
  maxThreads?: number;
  /** Worker threads kept alive. Default: 1. */
  minThreads?: number;
}

/**
 * Creates a piscina pool over a task file given as a URL (usually
 * {@link taskFile}). A `.ts` task file gets the tsx
 * loader in its threads, so the same code runs under vitest, tsx and the CLI.
 */
export function createPool(file: URL, options: PoolOptions = {}): Piscina {
  const maxThreads = options.maxThreads ?? availableParallelism();
  const minThreads = Math.min(options.minThreads ?? 1, maxThreads);
  const isTs = file.pathname.endsWith('.ts');
  return new Piscina({
    filename: file.href,
    maxThreads,
    minThreads,
    ...(isTs ? { execArgv: ['--import', 'tsx'] } : {}),
  });
}

/** Pools over one task file, one per thread count, created on first use. */
export interface PoolCache {
  /** The pool with `threads` workers (kept for later calls). */
  get(threads: number): Piscina;
  /** Destroys every pool; a later `get` creates a fresh one. Not while tasks are in flight. */
  closeAll(): Promise<void>;
}

/**
 * A module-level cache of pools: starting a worker with the TypeScript loader
 * costs hundreds of milliseconds, so repeated calls (one per job step) reuse
 * warm workers. Idle workers do not keep the process alive.
 */
export function poolCache(file: URL): PoolCache {
  const pools = new Map<number, Piscina>();
  return {
    get(threads) {
      let pool = pools.get(threads);
      if (pool === undefined) {
        pool = createPool(file, { maxThreads: threads, minThreads: threads });
        pools.set(threads, pool);
      }
      return pool;
    },
    async closeAll() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.destroy()));
    },
  };
}

/**
 * Wraps a task file's function so that whatever it throws leaves the thread as
 * `{ code, message }` ({@link errorToWire}): structured cloning keeps an
 * Error's message but drops its `code`, and a foreign error's message is not
 * trusted to be free of data values. `where` names the task in the message.
 */
export function wireTask<T, R>(where: string, fn: (task: T) => R): (task: T) => R {
  return (task) => {
    try {
      return fn(task);
    } catch (e) {
      throw errorToWire(e, where);
    }
  };
}

/**
 * Runs one task on `pool` and rebuilds a failure from its wire form
 * ({@link errorFromWire}). A failure that is not a wire error (the worker
 * crashed, or the task file was not wrapped by {@link wireTask}) becomes
 * SLUICE_ERR_INTERNAL naming `where`; the original stays as the in-process cause.
 */
export async function runTask<R>(pool: Piscina, task: unknown, where: string): Promise<R> {
  try {
    return (await pool.run(task)) as R;
  } catch (e) {
    if (isErrorWire(e)) throw errorFromWire(e);
    throw SluiceError.of('SLUICE_ERR_INTERNAL', { where, name: 'worker failure' }, { cause: e });
  }
}
