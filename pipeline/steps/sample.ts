import { compileSample, type SampleSpec } from '../../transforms/sample.js';
import { copyToParquet, openStepDuck, parquet } from './duck-step.js';
import type { StepExecutor } from './step-context.js';

/** The planned sample spec (`params.sample`), or the spec's own snake_case form, as the transform's spec. */
export function sampleSpecFromParams(p: Record<string, unknown>): SampleSpec {
  if (p['sample'] && typeof p['sample'] === 'object') return p['sample'] as SampleSpec;
  const seed = (p['seed'] as number | undefined) ?? 0;
  const keyColumns = p['key_columns'] as string[] | undefined;
  const key = keyColumns ? { keyColumns } : {};
  const strat = p['stratified'] as { by: string[]; fraction: number; min_per_stratum?: number } | undefined;
  if (strat) return { method: 'stratified', by: strat.by, fraction: strat.fraction, minPerStratum: strat.min_per_stratum ?? 0, seed, ...key };
  if (typeof p['size'] === 'number') return { method: 'fixed', size: p['size'], seed, ...key };
  return { method: 'bernoulli', fraction: p['fraction'] as number, seed, ...key };
}

/** `sample`: a seeded Bernoulli, fixed-size or stratified sample; reports how many rows it left out. */
export const sample: StepExecutor = async (ctx) => {
  const input = ctx.inputs[0]!;
  const duck = await openStepDuck(ctx);
  try {
    const sql = compileSample(`SELECT * FROM ${parquet(input.path)}`, sampleSpecFromParams(ctx.step.params));
    const rows = await copyToParquet(duck, sql, ctx.outPath, ctx, `step ${ctx.step.id} (sample)`);
    const before = await duck.conn.runAndReadAll(`SELECT count(*) FROM ${parquet(input.path)}`);
    const n = Number(before.getRows()[0]?.[0] ?? 0);
    return { rows, evidence: false, removed: { rows: n - rows } };
  } finally {
    duck.close();
  }
};
