/** `aggregate`: group-by counts and sums, counted per person or entity, with the evidence the audit needs. */
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows, quoteIdent } from '../../lib/duck.js';
import { runWithProgress } from '../run/duck-run.js';
import { COLUMN, STEP_ID, positiveInt } from '../spec/fields.js';
import { copyToParquet, openStepDuck, parquet, relationOf } from './duck-step.js';
import type { PlannedColumn, StepDefinition } from './definition.js';
import { NUMERIC, col, stepTag, treatOrigins } from './plan-helpers.js';
import type { StepContext, StepOutcome } from './step-context.js';

/** Aggregate measure functions (as the aggregate step computes them). */
export const MEASURE_FNS = ['count', 'count_units', 'sum', 'mean'] as const;

/** The schema of one measure. */
export const Measure = z
  .strictObject({
    fn: z.enum(MEASURE_FNS, { error: `one of ${MEASURE_FNS.join(', ')}` }),
    column: COLUMN.optional(),
    as: COLUMN,
  })
  .superRefine((m, ctx) => {
    if ((m.fn === 'sum' || m.fn === 'mean') && m.column === undefined) {
      ctx.addIssue({ code: 'custom', path: ['column'], message: `a column to ${m.fn}`, input: undefined });
    }
    if ((m.fn === 'count' || m.fn === 'count_units') && m.column !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['column'], message: `no column (${m.fn} counts rows or units)`, input: m.column });
    }
  });

const schema = z.strictObject({
  id: STEP_ID,
  kind: z.literal('aggregate'),
  from: STEP_ID,
  group_by: z.array(COLUMN, { error: 'a list of column names' }),
  measures: z.array(Measure, { error: 'a list of measures' }).min(1),
  round: positiveInt('a rounding base (a whole number of at least 1)').optional(),
  suppress_below: positiveInt('a minimum number of units per cell (a whole number of at least 1)').optional(),
});

/** An aggregate step as the spec gives it. */
export type AggregateSpecStep = z.output<typeof schema>;

/** One measure of an aggregate step. */
export interface AggregateMeasure {
  /** `count`: rows; `count_units`: distinct persons or entities; `sum` and `mean` of a numeric column. */
  fn: 'count' | 'count_units' | 'sum' | 'mean';
  column?: string | undefined;
  as: string;
}

/** The evidence's unit key: NULL stays NULL (A5 counts rows without a unit), anything else its 64-bit hash. */
export function unitKeySql(expr: string): string {
  return `CASE WHEN ${expr} IS NULL THEN NULL ELSE hash(${expr}) END`;
}

/**
 * Names the unit-key function of an evidence file: the scheme and the key DuckDB
 * gives a fixed canary string. Evidence written under another name (a DuckDB
 * upgrade that changed hash()) cannot be joined with this evidence by unit.
 */
export async function unitKeyScheme(conn: DuckDBConnection): Promise<string> {
  const [row] = await queryRows<{ k: bigint }>(conn, `SELECT hash('sluice/unit-key/v1') AS k`);
  return `duckdb-hash:${String(row?.k)}`;
}

/** Parameters of an aggregate step (validated by the spec schema). */
export interface AggregateParams {
  group_by: string[];
  measures: AggregateMeasure[];
  /** Round published counts to this base (A2); default 5; 1 turns rounding off. */
  round?: number;
  /** Drop cells with fewer than this many units, and say how many (never silently); default: keep all. */
  suppress_below?: number;
}

/**
 * `aggregate`: group-by counts and sums. It first writes the evidence the audit
 * needs — each unit's contribution to each cell, one row per (cell, unit) —
 * and then the published table from that evidence, so contributions are
 * counted per person or entity, not per row. The evidence stays in work/ and
 * is never released. Without suppression the evidence streams from the input
 * (a file, or the fused SELECT of the steps before) straight into its file,
 * and the table is computed from that file, which is a fraction of the input.
 */
async function executeAggregate(ctx: StepContext<AggregateParams>): Promise<StepOutcome> {
  const input = ctx.inputs[0]!;
  const p = ctx.step.params;
  const unit = ctx.unitColumn;
  if (!unit) {
    throw new SluiceError('SLUICE_ERR_SPEC_INVALID', `steps.${ctx.step.id}: aggregate needs its input to keep the column that identifies persons or entities (tokenized is fine); none was found`);
  }
  const g = p.group_by.map(quoteIdent);
  const gList = g.join(', ');
  const gKeys = g.length > 0 ? `${gList}, ` : '';
  const sums = p.measures.filter((m) => m.fn === 'sum' || m.fn === 'mean');
  const sumCols = [...new Set(sums.map((m) => m.column!))];
  // The unit enters the evidence as a 64-bit key, not as its (tokenized) text: a quarter of the bytes to
  // write, hash and audit. DuckDB's hash() is stable within a DuckDB version; the key's scheme is recorded
  // (UNIT_KEY_SCHEME plus a canary) so the audit never compares keys made by two different hash functions.
  const evidenceSql = `SELECT ${gKeys}${unitKeySql(quoteIdent(unit))} AS __unit, count(*) AS __rows${sumCols
    .map((c) => `, sum(${quoteIdent(c)}) AS ${quoteIdent(c)}`)
    .join('')} FROM ${relationOf(input)} GROUP BY ALL`;
  const base = Math.max(1, Math.floor(p.round ?? 5));
  const roundExpr = (e: string) => (base === 1 ? e : `CAST(round((${e}) / ${base}.0) * ${base} AS BIGINT)`);
  const measureExpr = (m: AggregateMeasure): string => {
    switch (m.fn) {
      case 'count':
        return roundExpr('sum(__rows)');
      case 'count_units':
        return roundExpr('count(*)');
      case 'sum':
        return `round(sum(${quoteIdent(m.column!)}), 2)`;
      case 'mean':
        return `round(sum(${quoteIdent(m.column!)}) / sum(__rows), 2)`;
    }
  };
  const measure = (m: AggregateMeasure): string => `${measureExpr(m)} AS ${quoteIdent(m.as)}`;
  const groupClause = g.length > 0 ? ` GROUP BY ${gList} ORDER BY ${gList}` : '';
  const t = p.suppress_below ? Math.floor(p.suppress_below) : 0;
  const role = `step ${ctx.step.id} (aggregate)`;
  const duck = await openStepDuck(ctx);
  try {
    if (t === 0) {
      // Uncompressed: random 64-bit unit keys do not compress, and the keys of cells are dictionary-encoded anyway.
      await copyToParquet(duck, evidenceSql, ctx.evidencePath, ctx, role, (f) => f * 0.95, 'uncompressed');
      const evidence = parquet(ctx.evidencePath);
      const [totals] = await queryRows<{ n: bigint | null }>(duck.conn, `SELECT sum(__rows) AS n FROM ${evidence}`);
      const rows = await copyToParquet(duck, `SELECT ${gKeys}${p.measures.map(measure).join(', ')} FROM ${evidence}${groupClause}`, ctx.outPath, ctx, role, () => 1);
      return { rows, evidence: true, facts: { roundBase: base, unitKey: await unitKeyScheme(duck.conn) }, inputRows: Number(totals?.n ?? 0) };
    }
    await runWithProgress(duck.conn, `CREATE TEMP TABLE __evidence AS ${evidenceSql}`, role, {
      onProgress: (f) => ctx.onProgress(f * 0.8),
      isCancelled: () => ctx.isCancelled(),
    });
    const r = await duck.conn.runAndReadAll(
      `SELECT count(*) AS cells, coalesce(sum(n), 0) AS units FROM (SELECT count(*) AS n FROM __evidence${g.length > 0 ? ` GROUP BY ${gList}` : ''} HAVING count(*) < ${t})`,
    );
    const row = r.getRows()[0];
    const removed = { cells: Number(row?.[0] ?? 0), units: Number(row?.[1] ?? 0) };
    const [totals] = await queryRows<{ n: bigint | null }>(duck.conn, `SELECT sum(__rows) AS n FROM __evidence`);
    // The evidence describes exactly the published cells, so the audit sees what is released.
    await copyToParquet(duck, `SELECT * FROM __evidence QUALIFY count(*) OVER (${g.length > 0 ? `PARTITION BY ${gList}` : ''}) >= ${t}`, ctx.evidencePath, ctx, role, (f) => 0.8 + f * 0.15);
    // A suppressed cell is published with NULL measures rather than left out:
    // an absent cell reads as a zero, and a zero next to a populated cell
    // discloses that everyone in the row is in that one category.
    const tableSql = `SELECT ${gKeys}${p.measures.map((m) => `CASE WHEN count(*) >= ${t} THEN ${measureExpr(m)} END AS ${quoteIdent(m.as)}`).join(', ')} FROM __evidence${groupClause}`;
    const rows = await copyToParquet(duck, tableSql, ctx.outPath, ctx, role, () => 1);
    return { rows, evidence: true, removed, facts: { roundBase: base, unitKey: await unitKeyScheme(duck.conn) }, inputRows: Number(totals?.n ?? 0) };
  } finally {
    duck.close();
  }
}

/** The aggregate kind: plans group-by and measure columns, reads a fused input, records per-unit evidence. */
export const aggregate: StepDefinition<AggregateSpecStep, AggregateParams> = {
  kind: 'aggregate',
  schema,
  needs: (s) => [s.from],
  plan(step, ctx) {
    const columns: PlannedColumn[] = [];
    const names = new Set<string>();
    step.group_by.forEach((g, k) => {
      const c = ctx.needColumn(ctx.at('group_by', k), g, step.from);
      if (names.has(g)) ctx.addInvalid(ctx.at('group_by', k), 'each column once', `column ${g} twice`);
      names.add(g);
      if (c) columns.push(col(c));
    });
    step.measures.forEach((m, k) => {
      if (names.has(m.as)) ctx.addInvalid(ctx.at('measures', k, 'as'), 'an output name not used by a group-by column or another measure', `the name ${m.as} again`);
      names.add(m.as);
      if (m.fn === 'count' || m.fn === 'count_units') {
        // A count says how many rows or units, nothing of any column's values.
        columns.push({ name: m.as, type: 'BIGINT', class: 'other', label: 'aggregate', lineage: [] });
        return;
      }
      const c = ctx.needColumn(ctx.at('measures', k, 'column'), m.column!, step.from);
      if (c && !NUMERIC.test(c.type)) ctx.addInvalid(ctx.at('measures', k, 'column'), `a numeric column to ${m.fn}`, `column ${c.name} of type ${c.type}`);
      columns.push({ name: m.as, type: 'DOUBLE', class: c?.class ?? 'other', label: 'aggregate', lineage: treatOrigins(c?.lineage, 'aggregate', { name: m.fn, at: stepTag(step), by: 'operator' }) });
    });
    const params: AggregateParams = {
      group_by: [...step.group_by],
      measures: step.measures.map((m) => ({ ...m })),
      ...(step.round === undefined ? {} : { round: step.round }),
      ...(step.suppress_below === undefined ? {} : { suppress_below: step.suppress_below }),
    };
    return { columns, params };
  },
  summarize: (p) => `group by ${p.group_by.join(', ') || '(all rows)'}`,
  fusion: { readsSql: true },
  execute: executeAggregate,
  evidence: {
    table(p) {
      const contribution = (m: AggregateMeasure): string => (m.fn === 'count' ? '__rows' : m.fn === 'count_units' ? '1' : quoteIdent(m.column!));
      return {
        select: (source) => `SELECT ${p.group_by.map(quoteIdent).join(', ')}, __unit, ${p.measures.map((m) => `${contribution(m)} AS ${quoteIdent(m.as)}`).join(', ')} FROM ${source}`,
        groupBy: p.group_by,
        counts: p.measures.filter((m) => m.fn === 'count' || m.fn === 'count_units').map((m) => m.as),
        measures: p.measures.filter((m) => m.fn === 'sum' || m.fn === 'mean').map((m) => ({ column: m.as, fn: m.fn as 'sum' | 'mean' })),
      };
    },
  },
};
