import { writeFileSync } from 'node:fs';
import { openDuck, quoteIdent, quoteLiteral } from '../../lib/duck.js';
import type { ColumnarTable, EncodingSchema } from '../../models/encode.js';
import type { ModelKind } from '../../models/train.js';
import type { StepExecutor } from './step-context.js';

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
export const train: StepExecutor = async (ctx) => {
  const p = ctx.step.params as unknown as TrainParams;
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
};
