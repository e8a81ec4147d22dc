/**
 * The SQL of the `aggregate` step: its per-(cell, unit) evidence, the published
 * cells computed from that evidence, the protection of published extremes
 * (AUDIT.md A7) and margins recomputed from protected cells only. Pure string
 * building over trusted names; the step (aggregate.ts) runs it.
 */
import { quoteIdent } from '../../lib/duck.js';

/** Aggregate measure functions (as the aggregate step computes them). */
export const MEASURE_FNS = ['count', 'count_units', 'sum', 'mean', 'min', 'max', 'median', 'percentile', 'count_distinct'] as const;

/** One aggregate measure function. */
export type MeasureFn = (typeof MEASURE_FNS)[number];

/** One measure of an aggregate step. */
export interface AggregateMeasure {
  /**
   * `count`: rows; `count_units`: distinct persons or entities; `sum`, `mean`,
   * `min`, `max`, `median`, `percentile` of a numeric column; `count_distinct`:
   * distinct non-missing values of a column.
   */
  fn: MeasureFn;
  column?: string | undefined;
  /** For `percentile`: the share below it, in (0, 1). */
  percentile?: number | undefined;
  as: string;
}

/** Functions that publish one unit's kind of value (a min, a max, a percentile): A7 applies to them. */
export function isExtreme(fn: MeasureFn): fn is 'min' | 'max' | 'median' | 'percentile' {
  return fn === 'min' || fn === 'max' || fn === 'median' || fn === 'percentile';
}

/** Functions published as counts (rounded; A2). */
export function isCount(fn: MeasureFn): boolean {
  return fn === 'count' || fn === 'count_units' || fn === 'count_distinct';
}

const q = quoteIdent;

/**
 * The evidence column holding a measure's per-(cell, unit) contribution:
 * `__rows` for count, the column's sum for sum and mean (shared by column), the
 * unit's min or max, the list of the unit's values (percentiles) or of its
 * distinct values (count_distinct). `null` for count_units (each row is one unit).
 */
export function evidenceColumn(m: AggregateMeasure): string | null {
  switch (m.fn) {
    case 'count':
      return '__rows';
    case 'count_units':
      return null;
    case 'sum':
    case 'mean':
      return m.column!;
    case 'min':
    case 'max':
      return `__${m.fn}:${m.as}`;
    case 'median':
    case 'percentile':
      return `__values:${m.as}`;
    case 'count_distinct':
      return `__distinct:${m.as}`;
  }
}

/** The evidence's unit key: NULL stays NULL (A5 counts rows without a unit), anything else its 64-bit hash. */
export function unitKeySql(expr: string): string {
  return `CASE WHEN ${expr} IS NULL THEN NULL ELSE hash(${expr}) END`;
}

/** The per-(cell, unit) contribution columns of the evidence, as aggregates over the input rows. */
function contributionAggs(measures: readonly AggregateMeasure[]): string[] {
  const out = new Map<string, string>();
  for (const m of measures) {
    const ev = evidenceColumn(m);
    if (ev === null || ev === '__rows') continue;
    const c = q(m.column!);
    const x = `CAST(${c} AS DOUBLE)`;
    if (m.fn === 'sum' || m.fn === 'mean') out.set(ev, `sum(${c}) AS ${q(ev)}`);
    else if (m.fn === 'min') out.set(ev, `min(${x}) AS ${q(ev)}`);
    else if (m.fn === 'max') out.set(ev, `max(${x}) AS ${q(ev)}`);
    else if (m.fn === 'count_distinct') out.set(ev, `list(DISTINCT ${c}) FILTER (WHERE ${c} IS NOT NULL) AS ${q(ev)}`);
    else out.set(ev, `list(${x}) FILTER (WHERE ${c} IS NOT NULL) AS ${q(ev)}`);
  }
  return [...out.values()];
}

/** The evidence SELECT over the step's input: one row per (cell, unit). */
export function evidenceSql(input: string, groupBy: readonly string[], unit: string, measures: readonly AggregateMeasure[]): string {
  const keys = groupBy.map(q).join(', ');
  const aggs = contributionAggs(measures);
  return `SELECT ${keys ? `${keys}, ` : ''}${unitKeySql(q(unit))} AS __unit, count(*) AS __rows${aggs.map((a) => `, ${a}`).join('')} FROM ${input} GROUP BY ALL`;
}

/** What the published cells are computed with. */
export interface CellOptions {
  groupBy: readonly string[];
  measures: readonly AggregateMeasure[];
  /** Rounding base of counts (1: none). */
  base: number;
  /** Cells of fewer units are published with NULL measures (0: none). */
  suppressBelow: number;
  /** A published extreme held by, or with on one side, 1..n units is withheld (A7; the agreement's A1 threshold less one). */
  extremeUnits: number;
}

function keyEq(a: string, b: string, names: readonly string[]): string {
  if (names.length === 0) return 'TRUE';
  return names.map((n) => `${a}.${q(n)} IS NOT DISTINCT FROM ${b}.${q(n)}`).join(' AND ');
}

function roundCount(e: string, base: number): string {
  return base === 1 ? e : `CAST(round((${e}) / ${base}.0) * ${base} AS BIGINT)`;
}

/** A measure's value over the evidence rows of one cell (an aggregate expression). */
function valueExpr(m: AggregateMeasure, base: number): string {
  const ev = evidenceColumn(m);
  const c = ev === null ? '' : q(ev);
  switch (m.fn) {
    case 'count':
      return roundCount('sum(__rows)', base);
    case 'count_units':
      return roundCount('count(*)', base);
    case 'sum':
      return `round(sum(${c}), 2)`;
    case 'mean':
      return `round(sum(${c}) / sum(__rows), 2)`;
    case 'min':
      return `min(${c})`;
    case 'max':
      return `max(${c})`;
    case 'median':
    case 'percentile':
      return `list_aggregate(flatten(list(${c})), 'quantile_cont', ${m.fn === 'median' ? 0.5 : m.percentile!})`;
    case 'count_distinct':
      return roundCount(`coalesce(len(list_distinct(flatten(list(${c})))), 0)`, base);
  }
}

/** Relative tolerance when a published extreme is compared with a unit's value (the audit's EXTREME_TOLERANCE). */
const TOLERANCE = 1e-9;

/**
 * SQL conditions on one evidence row `e` against the cell's published value `v`
 * of extreme measure `m`: the unit holds that value, has a value at or below it,
 * has one at or above it.
 */
function extremeTests(m: AggregateMeasure, v: string): { held: string; below: string; above: string } {
  const c = `e.${q(evidenceColumn(m)!)}`;
  const tol = `${TOLERANCE} * greatest(1, abs(${v}))`;
  if (m.fn === 'min' || m.fn === 'max') {
    return { held: `abs(${c} - ${v}) <= ${tol}`, below: `${c} <= ${v} + ${tol}`, above: `${c} >= ${v} - ${tol}` };
  }
  return {
    held: `len(list_filter(${c}, x -> abs(x - ${v}) <= ${tol})) > 0`,
    below: `list_min(${c}) <= ${v} + ${tol}`,
    above: `list_max(${c}) >= ${v} - ${tol}`,
  };
}

/**
 * Per cell of `evidence` (one row per (cell, unit)): its units `__n`, whether
 * it is published `__pub`, each measure's value `__v{j}` and, for extremes,
 * `__ok{j}`: false when the value is held by 1..n units, or 1..n units lie at or
 * beyond it on either side (the value is then one unit's own, or nearly).
 */
export function cellStatsSql(evidence: string, o: CellOptions): string {
  const keys = o.groupBy.map(q).join(', ');
  const vKeys = o.groupBy.map((g) => `v.${q(g)}`).join(', ');
  const values = o.measures.map((m, j) => `${valueExpr(m, o.base)} AS __v${j}`).join(', ');
  const pub = o.suppressBelow > 0 ? `count(*) >= ${o.suppressBelow}` : 'TRUE';
  const v = `WITH v AS (SELECT ${keys ? `${keys}, ` : ''}count(*) AS __n, ${pub} AS __pub, ${values} FROM ${evidence}${keys ? ` GROUP BY ${keys}` : ''})`;
  const extremes = o.measures.map((m, j) => ({ m, j })).filter((x) => isExtreme(x.m.fn));
  if (extremes.length === 0) return `${v} SELECT * FROM v`;
  const n = o.extremeUnits;
  const counts = extremes
    .map(({ m, j }) => {
      const t = extremeTests(m, `v.__v${j}`);
      return `count(e.__unit) FILTER (WHERE ${t.held}) AS __h${j}, count(e.__unit) FILTER (WHERE ${t.below}) AS __b${j}, count(e.__unit) FILTER (WHERE ${t.above}) AS __a${j}`;
    })
    .join(', ');
  const oks = extremes.map(({ j }) => `NOT (k.__h${j} BETWEEN 1 AND ${n} OR k.__b${j} BETWEEN 1 AND ${n} OR k.__a${j} BETWEEN 1 AND ${n}) AS __ok${j}`).join(', ');
  return (
    `${v}, k AS (SELECT ${vKeys ? `${vKeys}, ` : ''}${counts} FROM v JOIN ${evidence} e ON ${keyEq('v', 'e', o.groupBy)}${vKeys ? ` GROUP BY ${vKeys}` : ''}) ` +
    `SELECT v.*, ${oks} FROM v ${o.groupBy.length > 0 ? `JOIN k ON ${keyEq('v', 'k', o.groupBy)}` : ', k'}`
  );
}

/** The published table over cell stats `stats` (see {@link cellStatsSql}): suppressed cells and withheld extremes are NULL. */
export function publishedSql(stats: string, o: Pick<CellOptions, 'groupBy' | 'measures'>): string {
  const keys = o.groupBy.map(q).join(', ');
  const cols = o.measures.map((m, j) => `CASE WHEN __pub${isExtreme(m.fn) ? ` AND __ok${j}` : ''} THEN __v${j} END AS ${q(m.as)}`).join(', ');
  return `SELECT ${keys ? `${keys}, ` : ''}${cols} FROM ${stats}${keys ? ` ORDER BY ${keys}` : ''}`;
}

/** Counts over cell stats: suppressed cells and their units, withheld extreme values. */
export function removedSql(stats: string, measures: readonly AggregateMeasure[]): string {
  const withheld = measures
    .map((m, j) => (isExtreme(m.fn) ? `count(*) FILTER (WHERE __pub AND __v${j} IS NOT NULL AND NOT __ok${j})` : null))
    .filter((x): x is string => x !== null);
  return (
    `SELECT count(*) FILTER (WHERE NOT __pub) AS cells, coalesce(sum(__n) FILTER (WHERE NOT __pub), 0) AS units, ` +
    `${withheld.length > 0 ? withheld.join(' + ') : '0'} AS extremes FROM ${stats}`
  );
}

/** Every non-empty subset of the margin columns (the totals a margin spec asks for, as GROUPING SETS would give). */
function marginSets(margins: readonly string[]): string[][] {
  const sets: string[][] = [];
  for (let mask = 1; mask < 1 << margins.length; mask++) sets.push(margins.filter((_, i) => (mask >> i) & 1));
  return sets;
}

/**
 * Margin evidence: for each set of collapsed columns, one row per (margin cell,
 * unit), NULL in the collapsed columns, built only from the evidence of
 * published cells (`stats`), and for an extreme measure only from the cells
 * where that extreme is published. A margin is therefore a function of the
 * protected cells: subtracting the published cells from it gives nothing of a
 * suppressed one.
 */
export function marginEvidenceSql(evidence: string, stats: string, o: CellOptions, margins: readonly string[]): string {
  const parts = marginSets(margins).map((collapsed) => {
    const kept = o.groupBy.filter((g) => !collapsed.includes(g));
    const keyCols = o.groupBy.map((g) => (collapsed.includes(g) ? `NULL AS ${q(g)}` : `e.${q(g)}`)).join(', ');
    const aggs = new Map<string, string>();
    o.measures.forEach((m, j) => {
      const ev = evidenceColumn(m);
      if (ev === null || ev === '__rows') return;
      const c = `e.${q(ev)}`;
      const only = isExtreme(m.fn) ? ` FILTER (WHERE s.__ok${j})` : '';
      if (m.fn === 'sum' || m.fn === 'mean') aggs.set(ev, `sum(${c}) AS ${q(ev)}`);
      else if (m.fn === 'min') aggs.set(ev, `min(${c})${only} AS ${q(ev)}`);
      else if (m.fn === 'max') aggs.set(ev, `max(${c})${only} AS ${q(ev)}`);
      else if (m.fn === 'count_distinct') aggs.set(ev, `list_distinct(flatten(list(${c}))) AS ${q(ev)}`);
      else aggs.set(ev, `flatten(list(${c})${only}) AS ${q(ev)}`);
    });
    const group = [...kept.map((g) => `e.${q(g)}`), 'e.__unit'].join(', ');
    return (
      `SELECT ${keyCols}, e.__unit, sum(e.__rows) AS __rows${[...aggs.values()].map((a) => `, ${a}`).join('')} ` +
      `FROM ${evidence} e JOIN ${stats} s ON ${keyEq('e', 's', o.groupBy)} WHERE s.__pub GROUP BY ${group}`
    );
  });
  return parts.join(' UNION ALL BY NAME ');
}
