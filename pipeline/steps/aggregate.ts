import { SluiceError } from '../../lib/errors.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows, quoteIdent } from '../../lib/duck.js';
import { runWithProgress } from '../run/duck-run.js';
import { copyToParquet, openStepDuck, parquet, relationOf } from './duck-step.js';
import type { StepExecutor } from './step-context.js';

/** One measure of an aggregate step. */
export interface AggregateMeasure {
  /** `count`: rows; `count_units`: distinct persons or entities; `sum` and `mean` of a numeric column. */
  fn: 'count' | 'count_units' | 'sum' | 'mean';
  column?: string;
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
export const aggregate: StepExecutor = async (ctx) => {
  const input = ctx.inputs[0]!;
  const p = ctx.step.params as unknown as AggregateParams;
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
};
