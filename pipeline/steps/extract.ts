import { SluiceError } from '../../lib/errors.js';
import { quoteIdent } from '../../lib/duck.js';
import { compileDesensitize } from '../../transforms/desensitize.js';
import type { ColumnTreatment } from '../../transforms/treatment-schema.js';
import type { ColumnGrant, DatasetInfo } from '../../domain/types.js';
import { copyToParquet, openStepDuck, parquet } from './duck-step.js';
import type { CompiledRelation, StepContext, StepExecutor } from './step-context.js';

/** The agreement's required treatment for a granted column, as a transform. */
export function grantTreatment(grant: ColumnGrant): ColumnTreatment {
  switch (grant.treatment) {
    case 'drop':
      return { treatment: 'drop' };
    case 'mask':
      return { treatment: 'mask' };
    case 'tokenize':
      return { treatment: 'tokenize' };
    case 'generalize':
      if (!grant.level) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `agreement grant for column ${grant.name}: generalize needs a level`);
      return { treatment: 'generalize', level: grant.level } as ColumnTreatment;
    case 'none':
      return { treatment: 'none' };
  }
}

/** What compiling an extract needs: the step, its dataset and raw file, the agreement and the key. */
export type ExtractSource = Pick<StepContext, 'step' | 'agreement' | 'tokenKey' | 'asOf'> & { dataset: DatasetInfo; rawPath: string };

/**
 * The SELECT of an extract: the granted columns of one raw dataset, each with
 * the treatment the agreement requires, in one statement. Refuses a dataset or
 * column the agreement does not grant (checked again here, at run time).
 */
export function compileExtract(src: ExtractSource): CompiledRelation {
  const ds = src.dataset;
  const grant = src.agreement.grants.find((g) => g.dataset === ds.name);
  if (!grant) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `step ${src.step.id}: dataset ${ds.name} is not granted by agreement ${src.agreement.id}`);
  const wanted = src.step.params['columns'] as string[];
  const columns = wanted.map((name) => {
    const col = ds.columns.find((c) => c.name === name);
    if (!col) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `step ${src.step.id}: dataset ${ds.name} has no column ${name}`);
    return { name, type: col.type };
  });
  const treatments: Record<string, ColumnTreatment> = {};
  for (const c of columns) {
    const g = grant.columns.find((x) => x.name === c.name);
    if (!g) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `step ${src.step.id}: column ${c.name} of ${ds.name} is not granted`);
    treatments[c.name] = grantTreatment(g);
  }
  const source = `SELECT ${columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${parquet(src.rawPath)}`;
  const compiled = compileDesensitize({ sourceSql: source, columns }, treatments, { key: src.tokenKey, seed: 0, asOf: src.asOf });
  return { sql: compiled.sql, facts: { dropped: compiled.dropped } };
}

/**
 * `extract`: the only step that reads raw/. It reads the granted columns of one
 * dataset and applies, in the same statement, the treatment the agreement
 * requires for each, so no untreated copy is ever written outside raw/.
 */
export const extract: StepExecutor = async (ctx) => {
  const ds = ctx.dataset;
  if (!ds) throw new SluiceError('SLUICE_ERR_INTERNAL', `step ${ctx.step.id}: extract has no dataset`);
  const compiled = compileExtract({ ...ctx, dataset: ds, rawPath: ctx.inputs[0]!.path });
  const duck = await openStepDuck(ctx);
  try {
    const rows = await copyToParquet(duck, compiled.sql, ctx.outPath, ctx, `step ${ctx.step.id} (extract)`);
    return { rows, evidence: false, facts: compiled.facts };
  } finally {
    duck.close();
  }
};
