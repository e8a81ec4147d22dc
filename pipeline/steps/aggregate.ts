import { SluiceError } from '../../lib/errors.js';
import { quoteIdent } from '../../lib/duck.js';
import { runWithProgress } from '../duck-run.js';
import { copyToParquet, openStepDuck, parquet } from './duck-step.js';
import type { StepExecutor } from './step-context.js';

/** One measure of an aggregate step. */
export interface AggregateMeasure {
  /** `count`: rows; `count_units`: distinct persons or entities; `sum` and `mean` of a numeric column. */
  fn: 'count' | 'count_units' | 'sum' | 'mean';
  column?: string;
  as: string;
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
 * needs — each unit's contribution to each cell — and then the published table
 * from that evidence, so contributions are counted per person or entity, not
 * per row. The evidence stays in work/ and is never released.
 */
export const aggregate: StepExecutor = async (ctx) => {
  const input = ctx.inputs[0]!;
  const p = ctx.step.params as unknown as AggregateParams;
  const unit = ctx.unitColumn;
  if (!unit) {
    throw new SluiceError('SLUICE_ERR_SPEC_INVALID', `steps.${ctx.step.id}: aggregate needs its input to keep the column that identifies persons or entities (tokenized is fine); none was found`);
  }
  const g = p.group_by.map(quoteIdent);
  const gList = g.join(', ');
  const sums = p.measures.filter((m) => m.fn === 'sum' || m.fn === 'mean');
  const sumCols = [...new Set(sums.map((m) => m.column!))];
  const evidenceSql = `SELECT ${gList}, ${quoteIdent(unit)} AS __unit, count(*) AS __rows${sumCols
    .map((c) => `, sum(${quoteIdent(c)}) AS ${quoteIdent(c)}`)
    .join('')} FROM ${parquet(input.path)} GROUP BY ALL`;
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
  const t = p.suppress_below ? Math.floor(p.suppress_below) : 0;
  const duck = await openStepDuck(ctx);
  try {
    const role = `step ${ctx.step.id} (aggregate)`;
    await runWithProgress(duck.conn, `CREATE TEMP TABLE __evidence AS ${evidenceSql}`, role, {
      onProgress: (f) => ctx.onProgress(f * 0.8),
      isCancelled: () => ctx.isCancelled(),
    });
    let removed: Record<string, number> | undefined;
    if (t > 0) {
      const r = await duck.conn.runAndReadAll(
        `SELECT count(*) AS cells, coalesce(sum(n), 0) AS units FROM (SELECT count(*) AS n FROM __evidence GROUP BY ${gList} HAVING count(*) < ${t})`,
      );
      const row = r.getRows()[0];
      removed = { cells: Number(row?.[0] ?? 0), units: Number(row?.[1] ?? 0) };
      // The evidence describes exactly the published cells, so the audit sees what is released.
      await duck.conn.run(`CREATE TEMP TABLE __kept AS SELECT * FROM __evidence QUALIFY count(*) OVER (PARTITION BY ${gList}) >= ${t}`);
    }
    const kept = t > 0 ? '__kept' : '__evidence';
    await copyToParquet(duck, `SELECT * FROM ${kept}`, ctx.evidencePath, ctx, role);
    // A suppressed cell is published with NULL measures rather than left out:
    // an absent cell reads as a zero, and a zero next to a populated cell
    // discloses that everyone in the row is in that one category.
    const measures = p.measures.map(measure).join(', ');
    const tableSql =
      t > 0
        ? `SELECT ${gList}, ${p.measures.map((m) => `CASE WHEN count(*) >= ${t} THEN ${measureExpr(m)} END AS ${quoteIdent(m.as)}`).join(', ')} FROM __evidence GROUP BY ${gList} ORDER BY ${gList}`
        : `SELECT ${gList}, ${measures} FROM ${kept} GROUP BY ${gList} ORDER BY ${gList}`;
    const rows = await copyToParquet(duck, tableSql, ctx.outPath, ctx, role);
    return { rows, evidence: true, ...(removed ? { removed } : {}), facts: { roundBase: base } };
  } finally {
    duck.close();
  }
};
