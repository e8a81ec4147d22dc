/** `sql`: the operator's own SELECT over the step's inputs. */
import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import { checkOperatorSql, openSqlSandbox } from './sql-guard.js';
import { STEP_ID, specPath } from '../spec/fields.js';
import type { ColumnOrigin, PlannedColumn, StepDefinition } from './definition.js';
import { mergeOrigins, strictestClass } from './plan-helpers.js';
import { analyseQuery } from './sql-labels.js';

const schema = z.strictObject({
  id: STEP_ID,
  kind: z.literal('sql'),
  from: z.array(STEP_ID, { error: 'a list of step ids' }).min(1).max(16),
  query: z.string({ error: 'SQL text (one SELECT)' }).min(1).max(100_000),
});

/** A sql step as the spec gives it. */
export type SqlSpecStep = z.output<typeof schema>;

/** Planned parameters of a sql step. */
export interface SqlParams {
  query: string;
  tables: string[];
}

/**
 * `sql`: checked statically and then run in a sandboxed DuckDB that holds only
 * the inputs, with external access disabled and the configuration locked. Its
 * columns are described against empty tables and labelled from the parse tree.
 */
export const sql: StepDefinition<SqlSpecStep, SqlParams> = {
  kind: 'sql',
  schema,
  needs: (s) => [...new Set(s.from)],
  async plan(step, ctx) {
    const params = { query: step.query, tables: [...step.from] };
    const path = specPath(ctx.at('query'));
    const env = new Map<string, PlannedColumn[]>();
    for (const f of step.from) env.set(f.toLowerCase(), ctx.inputs.get(f) ?? []);
    const missing = step.from.filter((f) => (ctx.inputs.get(f) ?? []).length === 0);
    if (missing.length > 0) {
      ctx.addInvalid(ctx.at('from'), 'inputs with at least one column', `step(s) ${missing.join(', ')} without columns`);
      return { columns: [], params };
    }
    const checked = await checkOperatorSql(step.query, step.from, { path });
    const sandbox = await openSqlSandbox(step.from.map((f) => ({ name: f, columns: ctx.inputs.get(f)!.map((c) => ({ name: c.name, type: c.type })) })));
    let described: { name: string; type: string }[];
    try {
      described = await sandbox.describe(step.query, path);
    } finally {
      await sandbox.close();
    }
    const analysed = analyseQuery(checked.node, env);
    const fallbackClass = strictestClass([...env.values()].flat().map((c) => c.class));
    // What the analysis does not follow may carry any input column: all of them, as `unknown`.
    const everything = (): ColumnOrigin[] => mergeOrigins([...env.values()].flat().map((c) => c.lineage)).map((o) => ({ ...o, label: 'unknown' }));
    const columns = described.map((d, k): PlannedColumn => {
      const a = analysed && analysed.length === described.length ? analysed[k] : undefined;
      if (!a) return { name: d.name, type: d.type, class: fallbackClass, label: 'unknown', lineage: everything() };
      const lineage = a.label === 'unknown' || a.unknown === true ? mergeOrigins([a.origins, everything()]) : mergeOrigins([a.origins]);
      const out: PlannedColumn = { name: d.name, type: d.type, class: a.class, label: a.label, lineage };
      if (a.source) out.source = { ...a.source };
      return out;
    });
    return { columns, params };
  },
  summarize: (p) => `SELECT over ${p.tables.join(', ')} (${[...p.query].length} characters)`,
  async execute(ctx) {
    const query = ctx.step.params.query;
    await checkOperatorSql(query, ctx.inputs.map((i) => i.name));
    // Under the step's limits; its scratch (results, spill) under the data root's tmp/, in the step's folder.
    await mkdir(ctx.tempDir, { recursive: true });
    const sandbox = await openSqlSandbox(ctx.inputs.map((i) => ({ name: i.name, path: i.path })), {
      scratchDir: ctx.tempDir,
      memoryLimit: ctx.limits.memory,
      maxTempSize: ctx.limits.tempMax,
      watch: ctx.watch,
    });
    try {
      const rows = await sandbox.runToParquet(query, ctx.outPath);
      return { rows, evidence: false };
    } finally {
      await sandbox.close();
    }
  },
};
