/** `train`: a model on a sampled, desensitized input, with a held-out split recorded for the attacks (§4.3). */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { openDuck, quoteIdent, quoteLiteral } from '../../lib/duck.js';
import type { ColumnarTable, EncodingSchema } from '../../models/encode.js';
import type { ModelKind } from '../../models/train.js';
import { COLUMN, STEP_ID, seedInt } from '../spec/fields.js';
import type { StepDefinition } from './definition.js';
import { NUMERIC } from './plan-helpers.js';
import type { StepContext, StepOutcome } from './step-context.js';

const schema = z.strictObject({
  id: STEP_ID,
  kind: z.literal('train'),
  from: STEP_ID,
  target: COLUMN,
  features: z.strictObject(
    {
      numeric: z.array(COLUMN, { error: 'a list of column names' }).default([]),
      categorical: z.array(COLUMN, { error: 'a list of column names' }).default([]),
    },
    { error: 'a mapping { numeric, categorical } of column lists' },
  ),
  model: z.strictObject(
    {
      kind: z.enum(['logistic', 'tree', 'forest', 'knn'], { error: 'one of logistic, tree, forest, knn' }),
      hyperparameters: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]), { error: 'a mapping of hyperparameter to a number, string or boolean' }).default({}),
    },
    { error: 'a mapping { kind, hyperparameters }' },
  ),
  test_fraction: z.number({ error: 'a number in (0, 1)' }).gt(0).lt(1).default(0.3),
  seed: seedInt().default(0),
  /** Feature columns declared sensitive: the attribute-inference check (C6) attacks them. */
  sensitive: z.array(COLUMN, { error: 'a list of column names' }).default([]),
});

/** A train step as the spec gives it. */
export type TrainSpecStep = z.output<typeof schema>;

/** Parameters of a train step (validated by the spec schema and the planner). */
export interface TrainParams {
  target: string;
  features: { numeric: string[]; categorical: string[] };
  model: { kind: ModelKind; hyperparameters: Record<string, number | string | boolean> };
  test_fraction: number;
  seed: number;
  sensitive: string[];
}

/**
 * Reads the columns a model needs from a Parquet artifact, as columns
 * (numbers as JS numbers, everything else as strings).
 */
export async function readTrainingColumns(path: string, p: Pick<TrainParams, 'target' | 'features'>): Promise<ColumnarTable> {
  const cols = [p.target, ...p.features.numeric, ...p.features.categorical];
  const duck = await openDuck();
  try {
    const select = cols
      .map((c) => (p.features.numeric.includes(c) ? `CAST(${quoteIdent(c)} AS DOUBLE) AS ${quoteIdent(c)}` : `CAST(${quoteIdent(c)} AS VARCHAR) AS ${quoteIdent(c)}`))
      .join(', ');
    const reader = await duck.conn.runAndReadAll(`SELECT ${select} FROM read_parquet(${quoteLiteral(path)})`);
    return reader.getColumnsObjectJS() as ColumnarTable;
  } finally {
    duck.close();
  }
}

/**
 * `train`: fits the model on the step's (sampled, desensitized) input. The
 * split into training rows and held-out rows is seeded and recorded in the
 * artifact, so the audit can rebuild exactly the members and non-members it
 * attacks. Forests grow their trees in the worker pool.
 */
async function executeTrain(ctx: StepContext<TrainParams>): Promise<StepOutcome> {
  const p = ctx.step.params;
  const { fitEncoding, encode } = await import('../../models/encode.js');
  const { trainArtifact } = await import('../../models/artifact.js');
  ctx.onProgress(0.05);
  const table = await readTrainingColumns(ctx.inputs[0]!.path, p);
  const schema: EncodingSchema = fitEncoding(table, { target: p.target, numeric: p.features.numeric, categorical: p.features.categorical });
  const dataset = encode(table, schema);
  ctx.onProgress(0.2);
  const { artifact } = await trainArtifact({
    recipe: { kind: p.model.kind, hyperparameters: p.model.hyperparameters, seed: p.seed },
    dataset,
    featureSchema: schema,
    testFraction: p.test_fraction,
    splitSeed: p.seed,
  });
  writeFileSync(ctx.outPath, JSON.stringify(artifact));
  ctx.onProgress(1);
  return { rows: dataset.n, evidence: false, ext: 'json', facts: { modelHash: artifact.hash, metrics: artifact.metrics, kind: artifact.kind } };
}

/** The train kind: produces a model (no columns), audited by the model checks C1–C6. */
export const train: StepDefinition<TrainSpecStep, TrainParams> = {
  kind: 'train',
  schema,
  produces: 'model',
  needs: (s) => [s.from],
  plan(step, ctx) {
    const f = step.features;
    ctx.needColumn(ctx.at('target'), step.target, step.from);
    f.numeric.forEach((c, k) => {
      const found = ctx.needColumn(ctx.at('features', 'numeric', k), c, step.from);
      if (found && !NUMERIC.test(found.type)) ctx.addInvalid(ctx.at('features', 'numeric', k), 'a numeric column', `column ${c} of type ${found.type}`);
    });
    f.categorical.forEach((c, k) => ctx.needColumn(ctx.at('features', 'categorical', k), c, step.from));
    if (f.numeric.length + f.categorical.length === 0) ctx.addInvalid(ctx.at('features'), 'at least one feature column', 'none');
    if ([...f.numeric, ...f.categorical].includes(step.target)) ctx.addInvalid(ctx.at('target'), 'a column that is not also a feature', `column ${step.target} among the features`);
    step.sensitive.forEach((c, k) => {
      if (![...f.numeric, ...f.categorical].includes(c)) ctx.addInvalid(ctx.at('sensitive', k), 'one of the feature columns', `column ${c}`);
    });
    // A model has no columns; it is audited by the model checks (C1–C6), not as a table.
    return {
      columns: [],
      params: {
        target: step.target,
        features: { numeric: [...f.numeric], categorical: [...f.categorical] },
        model: { kind: step.model.kind, hyperparameters: { ...step.model.hyperparameters } },
        test_fraction: step.test_fraction,
        seed: step.seed,
        sensitive: [...step.sensitive],
      },
    };
  },
  summarize: (p) =>
    `${p.model.kind} model of ${p.target} on ${p.features.numeric.length + p.features.categorical.length} feature column(s), test fraction ${String(p.test_fraction)}`,
  carries: (p) => [p.target, ...p.features.numeric, ...p.features.categorical],
  execute: executeTrain,
  evidence: {
    model: (p) => ({
      recipe: { kind: p.model.kind, hyperparameters: p.model.hyperparameters, seed: p.seed },
      sensitive: p.sensitive,
      seed: p.seed,
      columns: { target: p.target, features: p.features },
    }),
  },
};
