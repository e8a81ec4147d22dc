import { checkOperatorSql, openSqlSandbox } from '../sql-guard.js';
import type { StepExecutor } from './step-context.js';

/**
 * `sql`: the operator's own SELECT over the step's inputs. It is checked
 * statically and then run in a sandboxed DuckDB that holds only the inputs,
 * with external access disabled and the configuration locked.
 */
export const sql: StepExecutor = async (ctx) => {
  const query = ctx.step.params['query'] as string;
  await checkOperatorSql(query, ctx.inputs.map((i) => i.name));
  const sandbox = await openSqlSandbox(ctx.inputs.map((i) => ({ name: i.name, path: i.path })));
  try {
    const rows = await sandbox.runToParquet(query, ctx.outPath);
    return { rows, evidence: false };
  } finally {
    await sandbox.close();
  }
};
