/** `desensitize`: the operator's per-column treatments, which may only strengthen a column's label. */
import { z } from 'zod';
import { isSluiceError } from '../../lib/errors.js';
import { compileDesensitize } from '../../transforms/desensitize.js';
import { ColumnTreatmentSchema, type ColumnTreatment } from '../../transforms/treatment-schema.js';
import { COLUMN, STEP_ID, seedInt } from '../spec/fields.js';
import { copyToParquet, openStepDuck, relationOf } from './duck-step.js';
import type { FuseSource, OriginTreatment, PlannedColumn, StepDefinition } from './definition.js';
import { PLANNING_KEY, atLeastAsStrong, col, stepTag, treatOrigins } from './plan-helpers.js';
import { MASK_PRESETS } from '../../transforms/mask.js';
import type { CompiledRelation } from './step-context.js';

const schema = z.strictObject({
  id: STEP_ID,
  kind: z.literal('desensitize'),
  from: STEP_ID,
  columns: z
    .record(COLUMN, ColumnTreatmentSchema, { error: 'a mapping of column name to { treatment, … }' })
    .refine((r) => Object.keys(r).length > 0, { message: 'at least one column' }),
  seed: seedInt().optional(),
});

/** A desensitize step as the spec gives it. */
export type DesensitizeSpecStep = z.output<typeof schema>;

/** Planned parameters of a desensitize step. */
export interface DesensitizeParams {
  columns: Record<string, ColumnTreatment>;
  seed?: number;
}

/** The SELECT of a desensitize step: the operator's per-column treatments over its input (a file or a fused SELECT). */
export function compileDesensitizeStep(src: Pick<FuseSource<DesensitizeParams>, 'step' | 'tokenKey' | 'asOf' | 'input'>): CompiledRelation {
  const compiled = compileDesensitize(
    { sourceSql: `SELECT * FROM ${relationOf(src.input)}`, columns: src.input.columns.map((c) => ({ name: c.name, type: c.type })) },
    src.step.params.columns,
    { key: src.tokenKey, seed: src.step.params.seed ?? 0, asOf: src.asOf },
  );
  return { sql: compiled.sql, facts: { dropped: compiled.dropped } };
}

/** What an operator's treatment keeps of a column, as the lineage records it (masks: characters kept at each end). */
function operatorTreatment(t: ColumnTreatment, at: string): OriginTreatment {
  const out: OriginTreatment = { name: t.treatment, at, by: 'operator' };
  if (t.treatment === 'mask') out.keeps = { start: t.keepStart ?? MASK_PRESETS.mobile.keepStart, end: t.keepEnd ?? MASK_PRESETS.mobile.keepEnd };
  if (t.treatment === 'truncate') out.keeps = { start: t.length, end: 0 };
  if (t.treatment === 'redact') out.keeps = { start: 0, end: 0 };
  return out;
}

/** `desensitize`: compiled to one DuckDB statement; fusable into its reader, and able to read a fused input. */
export const desensitize: StepDefinition<DesensitizeSpecStep, DesensitizeParams> = {
  kind: 'desensitize',
  schema,
  needs: (s) => [s.from],
  plan(step, ctx) {
    const treatments = step.columns;
    let columns: PlannedColumn[] = [];
    let ok = true;
    for (const [name, t] of Object.entries(treatments)) {
      if (!ctx.needColumn(ctx.at('columns', name), name, step.from)) ok = false;
      if (t.treatment === 'shift-date' && !ctx.has(t.personColumn)) {
        ctx.needColumn(ctx.at('columns', name, 'personColumn'), t.personColumn, step.from);
        ok = false;
      }
    }
    if (ok) {
      try {
        const compiled = compileDesensitize(
          { sourceSql: 'SELECT 1', columns: ctx.upstream.map((c) => ({ name: c.name, type: c.type })) },
          treatments,
          { key: PLANNING_KEY, seed: step.seed ?? 0, asOf: ctx.today },
        );
        columns = compiled.columns.map((c) => {
          const before = ctx.has(c.name)!;
          const t = treatments[c.name];
          if (t === undefined || t.treatment === 'none') return col(before);
          if (!atLeastAsStrong(c.label, before.label)) {
            ctx.addPolicy(
              ctx.at('columns', c.name),
              `a treatment at least as strong as column ${c.name}'s current label ${before.label} (desensitize may only strengthen)`,
              `${t.treatment}, which gives ${c.label}`,
            );
          }
          return col(before, { type: c.type, label: c.label, lineage: treatOrigins(before.lineage, c.label, operatorTreatment(t, stepTag(step))) });
        });
      } catch (e) {
        if (!isSluiceError(e)) throw e;
        ctx.addInvalid(ctx.at('columns'), 'treatments that fit the columns\' types', e.message);
      }
    }
    return { columns, params: { columns: treatments, ...(step.seed === undefined ? {} : { seed: step.seed }) } };
  },
  summarize: (p) =>
    Object.entries(p.columns)
      .map(([c, t]) => `${c} → ${t.treatment}${t.treatment === 'generalize' ? ` ${t.level}` : ''}`)
      .join(', '),
  fusion: { compile: compileDesensitizeStep, readsSql: true },
  perturbs: (p) => Object.values(p.columns).some((t) => t.treatment === 'noise'),
  async execute(ctx) {
    const compiled = compileDesensitizeStep({ ...ctx, input: ctx.inputs[0]! });
    const duck = await openStepDuck(ctx);
    try {
      const rows = await copyToParquet(duck, compiled.sql, ctx.outPath, ctx, `step ${ctx.step.id} (desensitize)`);
      // Row-level treatments keep every row: the steps fused into this one passed on as many.
      return { rows, evidence: false, facts: compiled.facts, inputRows: rows };
    } finally {
      duck.close();
    }
  },
};
