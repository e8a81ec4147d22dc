import { Piscina } from 'piscina';
import { availableParallelism } from 'node:os';

/** Options for {@link createPool}. */
export interface PoolOptions {
  /** Worker threads at most. Default: the machine's available parallelism. */
  maxThreads?: number;
  /** Worker threads kept alive. Default: 1. */
  minThreads?: number;
}

/**
 * Creates a piscina pool over a task file given as a URL (usually
 * `new URL('./x-task.ts', import.meta.url)`). A `.ts` task file gets the tsx
 * loader in its threads, so the same code runs under vitest, tsx and the CLI.
 */
export function createPool(taskFile: URL, options: PoolOptions = {}): Piscina {
  const maxThreads = options.maxThreads ?? availableParallelism();
  const minThreads = Math.min(options.minThreads ?? 1, maxThreads);
  const isTs = taskFile.pathname.endsWith('.ts');
  return new Piscina({
    filename: taskFile.href,
    maxThreads,
    minThreads,
    ...(isTs ? { execArgv: ['--import', 'tsx'] } : {}),
  });
}
