/** `sample`: a seeded Bernoulli, fixed-size or stratified sample. */
import { z } from 'zod';
import { compileSample, type SampleSpec } from '../../transforms/sample.js';
import { COLUMN, STEP_ID, fraction, positiveInt, seedInt } from '../spec/fields.js';
import { copyToParquet, openStepDuck, parquet } from './duck-step.js';
import type { StepDefinition } from './definition.js';
import { col } from './plan-helpers.js';

const schema = z
  .strictObject({
    id: STEP_ID,
    kind: z.literal('sample'),
    from: STEP_ID,
    fraction: fraction.optional(),
    size: positiveInt('a whole number of rows of at least 1').optional(),
    stratified: z
      .strictObject(
        {
          by: z.array(COLUMN, { error: 'a list of column names' }).min(1),
          fraction,
          min_per_stratum: z.int({ error: 'an integer of at least 0' }).min(0).max(Number.MAX_SAFE_INTEGER).default(0),
        },
        { error: 'a mapping { by, fraction, min_per_stratum }' },
      )
      .optional(),
    key_columns: z.array(COLUMN, { error: 'a list of column names' }).min(1).optional(),
    seed: seedInt().default(0),
  })
  .superRefine((s, ctx) => {
    const n = [s.fraction, s.size, s.stratified].filter((x) => x !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', path: ['fraction'], message: 'exactly one of fraction, size or stratified', input: n });
  });

/** A sample step as the spec gives it. */
export type SampleSpecStep = z.output<typeof schema>;

/** Planned parameters of a sample step: the transform's own spec. */
export interface SampleParams {
  sample: SampleSpec;
}

/** `sample`: keeps its input's columns; reports how many rows it left out. */
export const sample: StepDefinition<SampleSpecStep, SampleParams> = {
  kind: 'sample',
  schema,
  needs: (s) => [s.from],
  plan(step, ctx) {
    const seed = step.seed;
    const keyColumns = step.key_columns;
    keyColumns?.forEach((c, k) => ctx.needColumn(ctx.at('key_columns', k), c, step.from));
    let spec: SampleSpec;
    if (step.stratified) {
      step.stratified.by.forEach((c, k) => ctx.needColumn(ctx.at('stratified', 'by', k), c, step.from));
      spec = { method: 'stratified', by: step.stratified.by, fraction: step.stratified.fraction, minPerStratum: step.stratified.min_per_stratum, seed };
    } else if (step.size !== undefined) {
      spec = { method: 'fixed', size: step.size, seed };
    } else {
      spec = { method: 'bernoulli', fraction: step.fraction!, seed };
    }
    if (keyColumns) spec.keyColumns = keyColumns;
    return { params: { sample: spec }, columns: ctx.upstream.map((c) => col(c)) };
  },
  summarize({ sample: sp }) {
    const how = sp.method === 'fixed' ? `size ${sp.size}` : sp.method === 'stratified' ? `stratified by ${sp.by.join(', ')}, fraction ${sp.fraction}` : `fraction ${sp.fraction}`;
    return `${sp.method}: ${how}, seed ${sp.seed}`;
  },
  async execute(ctx) {
    const input = ctx.inputs[0]!;
    const duck = await openStepDuck(ctx);
    try {
      const sql = compileSample(`SELECT * FROM ${parquet(input.path)}`, ctx.step.params.sample);
      const rows = await copyToParquet(duck, sql, ctx.outPath, ctx, `step ${ctx.step.id} (sample)`);
      const before = await duck.conn.runAndReadAll(`SELECT count(*) FROM ${parquet(input.path)}`);
      const n = Number(before.getRows()[0]?.[0] ?? 0);
      return { rows, evidence: false, removed: { rows: n - rows } };
    } finally {
      duck.close();
    }
  },
};
