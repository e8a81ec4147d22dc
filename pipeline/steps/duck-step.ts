import { quoteLiteral, type Duck } from '../../lib/duck.js';
import { runWithProgress } from '../run/duck-run.js';
import type { StepContext, StepInput } from './step-context.js';

/** The DuckDB a step executor runs its statements on, under the step's settings; `close()` hands it back. */
export function openStepDuck(ctx: Pick<StepContext, 'openDuck'>): Promise<Duck> {
  return ctx.openDuck();
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
 * Writes the result of `select` to `outPath` as Parquet, with progress and
 * cancellation; returns its row count (COPY's own count: the file is not read back).
 */
export async function copyToParquet(
  duck: Duck,
  select: string,
  outPath: string,
  ctx: Pick<StepContext, 'onProgress' | 'isCancelled'>,
  role: string,
  progress: (f: number) => number = (f) => f,
  compression: 'lz4_raw' | 'uncompressed' = 'lz4_raw',
): Promise<number> {
  return runWithProgress(duck.conn, `COPY (${select}) TO ${quoteLiteral(outPath)} (FORMAT parquet, COMPRESSION ${compression})`, role, {
    onProgress: (f) => ctx.onProgress(progress(f)),
    isCancelled: () => ctx.isCancelled(),
  });
}
