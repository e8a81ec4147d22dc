import { mkdirSync } from 'node:fs';
import { openDuck, queryRows, quoteLiteral, type Duck } from '../../lib/duck.js';
import { runWithProgress } from '../duck-run.js';
import type { StepContext } from './step-context.js';

/** DuckDB settings for step executors: memory cap and spill folder from the environment. */
export async function openStepDuck(ctx: Pick<StepContext, 'tempDir'>): Promise<Duck> {
  mkdirSync(ctx.tempDir, { recursive: true });
  const threads = process.env['SLUICE_DUCKDB_THREADS'];
  return openDuck({
    memoryLimit: process.env['SLUICE_DUCKDB_MEMORY'] ?? '2GB',
    tempDirectory: ctx.tempDir,
    ...(threads ? { threads: Number(threads) } : {}),
  });
}

/** `read_parquet('<path>')` for a trusted path. */
export function parquet(path: string): string {
  return `read_parquet(${quoteLiteral(path)})`;
}

/** Writes the result of `select` to `outPath` as Parquet, with progress and cancellation; returns its row count. */
export async function copyToParquet(duck: Duck, select: string, outPath: string, ctx: StepContext, role: string): Promise<number> {
  await runWithProgress(duck.conn, `COPY (${select}) TO ${quoteLiteral(outPath)} (FORMAT parquet, COMPRESSION lz4_raw)`, role, {
    onProgress: (f) => ctx.onProgress(f),
    isCancelled: () => ctx.isCancelled(),
  });
  const rows = await queryRows<{ n: bigint }>(duck.conn, `SELECT count(*) AS n FROM ${parquet(outPath)}`);
  return Number(rows[0]?.n ?? 0);
}
