/** `extract`: the only step kind that reads raw/. */
import { z } from 'zod';
import { SluiceError, isSluiceError } from '../../lib/errors.js';
import { quoteIdent } from '../../lib/duck.js';
import { compileDesensitize } from '../../transforms/desensitize.js';
import type { ColumnTreatment } from '../../transforms/treatment-schema.js';
import type { ColumnGrant } from '../../domain/types.js';
import { assertGrantsAllowed } from '../../domain/grant-policy.js';
import { INPUT_NAME, STEP_ID } from '../spec/fields.js';
import { copyToParquet, openStepDuck, parquet } from './duck-step.js';
import type { ColumnOrigin, FuseSource, PlannedColumn, StepDefinition } from './definition.js';
import { PLANNING_KEY, stepTag } from './plan-helpers.js';
import type { CompiledRelation } from './step-context.js';

const HOLDOUT = 'a share of units strictly between 0 and 1 (e.g. 0.2)';

const schema = z.strictObject({
  id: STEP_ID,
  kind: z.literal('extract'),
  input: INPUT_NAME,
  /**
   * A share of the dataset's units this job never sees: the audit keeps them as
   * the control set of B6 (a synthetic output is attacked on the rows it was
   * made from and on these, and only the difference counts).
   */
  holdout: z.number({ error: HOLDOUT }).gt(0, HOLDOUT).lt(1, HOLDOUT).optional(),
});

/**
 * SQL predicate over a raw row: true when the row's unit (or, without a unit
 * column, the row's values) falls in the held-out share. The extract keeps the
 * rows where it is false; the audit rebuilds both sides with the same predicate.
 */
export function holdoutPredicate(keyColumns: readonly string[], share: number): string {
  const parts = 1_000_000;
  return `(hash('sluice/holdout/v1', ${keyColumns.map((c) => `CAST(${quoteIdent(c)} AS VARCHAR)`).join(', ')}) % ${parts}) < ${Math.round(share * parts)}`;
}

/** The columns the holdout of a dataset is drawn on: its unit column, or all its columns. */
export function holdoutKeys(ds: { unitColumn?: string | null; columns: { name: string }[] }): string[] {
  return ds.unitColumn ? [ds.unitColumn] : ds.columns.map((c) => c.name);
}

/** An extract step as the spec gives it. */
export type ExtractSpecStep = z.output<typeof schema>;

/** Planned parameters of an extract step. */
export interface ExtractParams {
  /** The spec input it reads. */
  input: string;
  dataset: string;
  columns: string[];
  /** The agreement's treatment of each column. */
  treatments: Record<string, ColumnTreatment>;
  /** Share of units held out of the job as B6's control set. */
  holdout?: number;
}

/**
 * The agreement's required treatment for a granted column, as a transform.
 * The one implementation the planner and the runner share: a `generalize`
 * grant without a level is refused (SLUICE_ERR_SPEC_SCOPE), never widened.
 */
export function grantTreatment(grant: ColumnGrant): ColumnTreatment {
  switch (grant.treatment) {
    case 'drop':
      return { treatment: 'drop' };
    case 'mask':
      return { treatment: 'mask' };
    case 'tokenize':
      return { treatment: 'tokenize' };
    case 'generalize':
      if (!grant.level) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `agreement grant for column ${grant.name}: expected a generalization level for treatment generalize, found none`);
      return { treatment: 'generalize', level: grant.level } as ColumnTreatment;
    case 'none':
      return { treatment: 'none' };
  }
}

/**
 * The SELECT of an extract: the granted columns of one raw dataset (the
 * input's file), each with the treatment the agreement requires, in one
 * statement. Refuses a dataset or column the agreement does not grant
 * (checked again here, at run time).
 */
export function compileExtract(src: FuseSource<ExtractParams>): CompiledRelation {
  const ds = src.dataset;
  if (!ds) throw new SluiceError('SLUICE_ERR_INTERNAL', `step ${src.step.id}: extract has no dataset`);
  const grant = src.agreement.grants.find((g) => g.dataset === ds.name);
  if (!grant) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `step ${src.step.id}: dataset ${ds.name} is not granted by agreement ${src.agreement.id}`);
  const columns = src.step.params.columns.map((name) => {
    const c = ds.columns.find((x) => x.name === name);
    if (!c) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `step ${src.step.id}: dataset ${ds.name} has no column ${name}`);
    return { name, type: c.type };
  });
  const treatments: Record<string, ColumnTreatment> = {};
  for (const c of columns) {
    const g = grant.columns.find((x) => x.name === c.name);
    if (!g) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `step ${src.step.id}: column ${c.name} of ${ds.name} is not granted`);
    treatments[c.name] = grantTreatment(g);
  }
  // Checked again here, at run time: a raw direct identifier never reaches work/ or the operator's SQL.
  const extracted = new Set(columns.map((c) => c.name));
  assertGrantsAllowed(src.agreement.id, [{ dataset: ds.name, columns: grant.columns.filter((g) => extracted.has(g.name)) }], new Map([[ds.name, ds]]));
  const holdout = src.step.params.holdout;
  const where = holdout === undefined ? '' : ` WHERE NOT ${holdoutPredicate(holdoutKeys(ds), holdout)}`;
  const source = `SELECT ${columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${parquet(src.input.path)}${where}`;
  const compiled = compileDesensitize({ sourceSql: source, columns }, treatments, { key: src.tokenKey, seed: 0, asOf: src.asOf });
  return { sql: compiled.sql, facts: { dropped: compiled.dropped, ...(holdout === undefined ? {} : { holdout }) } };
}

/**
 * `extract`: it reads the granted columns of one dataset and applies, in the
 * same statement, the treatment the agreement requires for each, so no
 * untreated copy is ever written outside raw/.
 */
export const extract: StepDefinition<ExtractSpecStep, ExtractParams> = {
  kind: 'extract',
  schema,
  needs: () => [],
  plan(step, ctx) {
    const input = ctx.specInputs[step.input]!;
    const ds = ctx.datasets.get(input.dataset)!;
    const grant = ctx.agreement.grants.find((g) => g.dataset === input.dataset)!;
    const treatments: Record<string, ColumnTreatment> = {};
    let columns: PlannedColumn[] = [];
    try {
      const srcCols = input.columns.map((name) => {
        treatments[name] = grantTreatment(grant.columns.find((g) => g.name === name)!);
        return { name, type: ds.columns.find((x) => x.name === name)!.type };
      });
      const compiled = compileDesensitize({ sourceSql: 'SELECT 1', columns: srcCols }, treatments, { key: PLANNING_KEY, seed: 0, asOf: ctx.today });
      columns = compiled.columns.map((c): PlannedColumn => {
        const cls = ds.columns.find((x) => x.name === c.name)!.class;
        const t = treatments[c.name]!;
        const origin: ColumnOrigin = { dataset: ds.name, column: c.name, class: cls, label: c.label, path: [] };
        if (t.treatment !== 'none') origin.treatment = { name: t.treatment, at: stepTag(step), by: 'agreement' };
        return { name: c.name, type: c.type, class: cls, label: c.label, source: { dataset: ds.name, column: c.name }, lineage: [origin] };
      });
    } catch (e) {
      if (!isSluiceError(e)) throw e;
      ctx.addPolicy(['agreement'], `agreement ${ctx.agreement.id}'s treatments to fit dataset ${ds.name}`, e.message);
    }
    return { columns, params: { input: step.input, dataset: input.dataset, columns: [...input.columns], treatments, ...(step.holdout === undefined ? {} : { holdout: step.holdout }) } };
  },
  summarize: (p) => `reads input ${p.input} (dataset ${p.dataset})${p.holdout === undefined ? '' : `, holding out ${p.holdout} of its units`}`,
  readsRaw: (p) => ({ dataset: p.dataset, input: p.input, ...(p.holdout === undefined ? {} : { holdout: p.holdout }) }),
  fusion: { compile: compileExtract },
  async execute(ctx) {
    const compiled = compileExtract({ ...ctx, input: ctx.inputs[0]! });
    const duck = await openStepDuck(ctx);
    try {
      const rows = await copyToParquet(duck, compiled.sql, ctx.outPath, ctx, `step ${ctx.step.id} (extract)`);
      return { rows, evidence: false, facts: compiled.facts };
    } finally {
      duck.close();
    }
  },
};
