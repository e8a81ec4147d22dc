import { quoteLiteral, type Duck } from '../../lib/duck.js';
import { runWithProgress } from '../run/duck-run.js';
import type { StepContext, StepInput } from './step-context.js';

/**
 * DuckDB for step executors: a leased instance under the step's memory and
 * spill limits (see StepContext.openDuck); its connection is watched by the
 * step's guard (time limit, cancellation) until it is closed.
 */
export async function openStepDuck(ctx: Pick<StepContext, 'openDuck' | 'watch'>): Promise<Duck> {
  const duck = await ctx.openDuck();
  let unwatch: () => void;
  try {
    unwatch = ctx.watch(duck.conn);
  } catch (e) {
    duck.close();
    throw e;
  }
  return {
    ...duck,
    close() {
      unwatch();
      duck.close();
    },
  };
}

/** `read_parquet('<path>')` for a trusted path. */
export function parquet(path: string): string {
  return `read_parquet(${quoteLiteral(path)})`;
}

/** An input as a relation: its fused SELECT as a subquery, or its Parquet file. */
export function relationOf(input: StepInput): string {
  return input.sql !== undefined ? `(${input.sql})` : parquet(input.path);
}

/**
 * Writes the result of `select` to `outPath` as Parquet, with progress;
 * returns its row count (COPY's own count: the file is not read back).
 */
export async function copyToParquet(
  duck: Duck,
  select: string,
  outPath: string,
  ctx: Pick<StepContext, 'onProgress'>,
  role: string,
  progress: (f: number) => number = (f) => f,
  compression: 'lz4_raw' | 'uncompressed' = 'lz4_raw',
): Promise<number> {
  return runWithProgress(duck.conn, `COPY (${select}) TO ${quoteLiteral(outPath)} (FORMAT parquet, COMPRESSION ${compression})`, role, {
    // Cancellation and the time limit come from the step's guard, which watches the connection (openStepDuck).
    onProgress: (f) => ctx.onProgress(progress(f)),
  });
}
