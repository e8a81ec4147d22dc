import { compileDesensitize } from '../../transforms/desensitize.js';
import type { ColumnTreatment } from '../../transforms/treatment-schema.js';
import { copyToParquet, openStepDuck, relationOf } from './duck-step.js';
import type { CompiledRelation, StepContext, StepExecutor, StepInput } from './step-context.js';

/** The SELECT of a desensitize step: the operator's per-column treatments over its input (a file or a fused SELECT). */
export function compileDesensitizeStep(src: Pick<StepContext, 'step' | 'tokenKey' | 'asOf'> & { input: StepInput }): CompiledRelation {
  const treatments = src.step.params['columns'] as Record<string, ColumnTreatment>;
  const seed = (src.step.params['seed'] as number | undefined) ?? 0;
  const compiled = compileDesensitize(
    { sourceSql: `SELECT * FROM ${relationOf(src.input)}`, columns: src.input.columns.map((c) => ({ name: c.name, type: c.type })) },
    treatments,
    { key: src.tokenKey, seed, asOf: src.asOf },
  );
  return { sql: compiled.sql, facts: { dropped: compiled.dropped } };
}

/** `desensitize`: the operator's per-column treatments over a step's output, compiled to one DuckDB statement. */
export const desensitize: StepExecutor = async (ctx) => {
  const compiled = compileDesensitizeStep({ ...ctx, input: ctx.inputs[0]! });
  const duck = await openStepDuck(ctx);
  try {
    const rows = await copyToParquet(duck, compiled.sql, ctx.outPath, ctx, `step ${ctx.step.id} (desensitize)`);
    // Row-level treatments keep every row: the steps fused into this one passed on as many.
    return { rows, evidence: false, facts: compiled.facts, inputRows: rows };
  } finally {
    duck.close();
  }
};
