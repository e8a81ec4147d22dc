import { compileDesensitize } from '../../transforms/desensitize.js';
import type { ColumnTreatment } from '../../transforms/treatment-schema.js';
import { copyToParquet, openStepDuck, parquet } from './duck-step.js';
import type { StepExecutor } from './step-context.js';

/** `desensitize`: the operator's per-column treatments over a step's output, compiled to one DuckDB statement. */
export const desensitize: StepExecutor = async (ctx) => {
  const input = ctx.inputs[0]!;
  const treatments = ctx.step.params['columns'] as Record<string, ColumnTreatment>;
  const seed = (ctx.step.params['seed'] as number | undefined) ?? 0;
  const compiled = compileDesensitize(
    { sourceSql: `SELECT * FROM ${parquet(input.path)}`, columns: input.columns.map((c) => ({ name: c.name, type: c.type })) },
    treatments,
    { key: ctx.tokenKey, seed, asOf: ctx.asOf },
  );
  const duck = await openStepDuck(ctx);
  try {
    const rows = await copyToParquet(duck, compiled.sql, ctx.outPath, ctx, `step ${ctx.step.id} (desensitize)`);
    return { rows, evidence: false, facts: { dropped: compiled.dropped } };
  } finally {
    duck.close();
  }
};
