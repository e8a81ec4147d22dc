// Over 500 lines because A1–A10 read the same per-unit evidence views in one connection; each check is a short section.
/**
 * The table half of the non-restoration audit (AUDIT.md section A, checks
 * A1–A10), run inside the domain as DuckDB SQL over the published table and
 * its per-(cell, unit) evidence. Results carry counts and column names only:
 * never a cell's group-by values, never a contribution.
 */
import { randomBytes } from 'node:crypto';
import { fileTypeAllowed } from './package-gates.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryJson, quoteIdent } from '../lib/duck.js';
import { SluiceError } from '../lib/errors.js';
import { worstStatus, type ColumnClass, type Label, type Status } from '../lib/vocabulary.js';
import type { Thresholds } from './thresholds.js';
import type { CheckResult } from './types.js';

/** A published measure and the statistic it holds. */
export interface TableMeasure {
  /** Column name, the same in the published table and in the evidence. */
  column: string;
  fn: 'sum' | 'mean' | 'min' | 'max' | 'median' | 'percentile';
}

/** The released file, for the package gates (A10). */
export interface TableFileInfo {
  /** File type, e.g. `csv`, `parquet`, `json` (case-insensitive). */
  type: string;
  /** Size in bytes. */
  bytes: number;
  rows: number;
  columns: { name: string; class: ColumnClass | string; label: Label | string }[];
}

/** An earlier release of the same agreement that overlaps in population and variables (A9). */
export interface EarlierRelease {
  /** The earlier published table (kept for the record; A9 works on its evidence). */
  table: string;
  groupBy: string[];
  /** Its per-(cell, unit) evidence, with the same unit column as the current evidence. */
  evidence: string;
}

/** What {@link auditTable} audits: an output table and its evidence, as tables or views in the connection. */
export interface TableAuditInput {
  /**
   * The output table as published. A row whose every count and measure is NULL
   * counts as suppressed and is skipped by A1, A3–A5 and A9.
   */
  table: string;
  /**
   * Its cell-defining columns. In A6 the last one is the category and the others
   * define a row; a NULL in the last one is read as a margin, not a category.
   */
  groupBy: string[];
  /** Published count columns. */
  counts: string[];
  /** Published measure columns. */
  measures: TableMeasure[];
  /**
   * Per (cell, unit) contributions: columns = groupBy + unitColumn + one column per
   * measure (the unit's contribution). Several rows per (cell, unit) are summed.
   * A published margin row needs its own evidence rows (same keys, NULL for the
   * collapsed columns, as GROUPING SETS produces); a published cell without
   * evidence counts as a cell of 0 units.
   */
  evidence: string;
  /** The person or entity id column of the evidence. */
  unitColumn: string;
  /**
   * True when the evidence has at most one row per (cell, unit), as the
   * aggregate step writes it: the audit then filters it to the published cells
   * without grouping it again (the costly part on millions of rows). Default
   * false. Saying true of evidence with repeated (cell, unit) rows would count a
   * unit once per row: only the pipeline's own evidence says it.
   */
  evidenceUnique?: boolean;
  /** Declared structural zeros (A6 then passes). Default false. */
  structuralZeros?: boolean;
  /** Residual degrees of freedom of a fitted statistic, when the output is one (A8). */
  fittedDof?: number | null;
  /** The released file (A10). Without it only the row count is gated. */
  file?: TableFileInfo;
  /** Earlier releases of the same agreement with overlapping population and variables (A9). */
  earlierReleases?: EarlierRelease[];
  /**
   * Earlier releases of the same agreement whose evidence cannot be joined with
   * this one by unit (its unit keys were made another way). A9 cannot rule out
   * differencing against them and asks for review.
   */
  incomparableEarlierReleases?: number;
}

/**
 * Relative tolerance of the (n,k) and p% comparisons, as a share of the cell
 * total. Shares are computed in DOUBLE, so a value exactly on the boundary may
 * land one ulp either side; the tolerance puts the boundary on the side the rule
 * names: (n,k) fails at share = k (≥), p% passes at ratio = p (fails only below).
 * 1e-9 is far above DOUBLE rounding (1e-16 per operation) and far below any
 * meaningful difference in a share.
 */
export const RULE_TOLERANCE = 1e-9;

/** Relative tolerance when A7 compares a published min/max/percentile with a unit's value. */
export const EXTREME_TOLERANCE = 1e-9;

const q = quoteIdent;

function num(x: number): string {
  if (!Number.isFinite(x)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'table audit: a threshold is not a finite number');
  return `CAST(${x} AS DOUBLE)`;
}

function cols(alias: string, names: readonly string[]): string {
  return names.map((n) => `${alias}.${q(n)}`).join(', ');
}

function keyEq(a: string, b: string, names: readonly string[]): string {
  if (names.length === 0) return 'TRUE';
  // IS NOT DISTINCT FROM so that a NULL key (a margin or a missing category) matches its own evidence.
  return names.map((n) => `${a}.${q(n)} IS NOT DISTINCT FROM ${b}.${q(n)}`).join(' AND ');
}

function toNum(v: unknown): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v);
}

function toNumOrNull(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : Number(v);
}

async function columnsOf(conn: DuckDBConnection, relation: string): Promise<Set<string>> {
  try {
    const rows = await queryJson<{ column_name: string }>(conn, `DESCRIBE SELECT * FROM ${q(relation)}`);
    return new Set(rows.map((r) => r.column_name));
  } catch (cause) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `table audit: relation ${relation} is not readable in the domain's DuckDB`, {
      cause,
    });
  }
}

/** The columns among `wanted` of `relation` whose type is a list (DOUBLE[] …). */
async function listColumnsOf(conn: DuckDBConnection, relation: string, wanted: readonly string[]): Promise<Set<string>> {
  const rows = await queryJson<{ column_name: string; column_type: string }>(conn, `DESCRIBE SELECT * FROM ${q(relation)}`);
  return new Set(rows.filter((r) => wanted.includes(r.column_name) && r.column_type.endsWith('[]')).map((r) => r.column_name));
}

function requireColumns(have: Set<string>, relation: string, role: string, wanted: readonly string[]): void {
  const missing = wanted.filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw new SluiceError(
      'SLUICE_ERR_INPUT_INVALID',
      `table audit: ${role} ${relation} lacks column(s) ${missing.join(', ')} (expected ${wanted.length} named columns, found ${
        wanted.length - missing.length
      })`,
      { details: { relation, missing } },
    );
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Size-histogram bins: each size below T on its own (that is where a reviewer
 * looks), then T, 2T, 5T, 10T, 20T, … Returns `[lower edge, cells]` pairs, empty
 * bins left out.
 */
function sizeHistogram(sizes: { n: number; cells: number }[], t: number): Array<[number, number]> {
  const edges: number[] = [];
  for (let i = 0; i < t; i++) edges.push(i);
  for (let e = t, step = 0; edges.length < 64; step++) {
    edges.push(e);
    e = step % 3 === 1 ? Math.round(e * 2.5) : e * 2;
    if (e > 1e12) break;
  }
  const counts = new Map<number, number>();
  for (const { n, cells } of sizes) {
    let lo = 0;
    for (const e of edges) if (e <= n) lo = e;
    counts.set(lo, (counts.get(lo) ?? 0) + cells);
  }
  return [...counts.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * Rounds the count columns of `source` to the nearest multiple of `base`
 * (halves up), writing `target` as a new table with the other columns unchanged.
 * Apply it after suppression (A2). NULL (suppressed) counts stay NULL.
 */
export async function roundTable(
  conn: DuckDBConnection,
  options: { source: string; target: string; counts: string[]; base?: number },
): Promise<void> {
  const base = options.base ?? 5;
  if (!Number.isInteger(base) || base < 1) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `roundTable: base must be a positive integer; found ${base}`);
  }
  requireColumns(await columnsOf(conn, options.source), options.source, 'table', options.counts);
  const replace = options.counts
    .map((c) => `CAST(floor((CAST(${q(c)} AS DOUBLE) + ${base / 2}) / ${base}) * ${base} AS BIGINT) AS ${q(c)}`)
    .join(', ');
  const select = options.counts.length === 0 ? 'SELECT *' : `SELECT * REPLACE (${replace})`;
  await conn.run(`CREATE OR REPLACE TABLE ${q(options.target)} AS ${select} FROM ${q(options.source)}`);
}

function result(
  id: string,
  name: string,
  status: Status,
  summary: string,
  columns: string[],
  metrics: CheckResult['metrics'],
  parameters: CheckResult['parameters'],
  series?: CheckResult['series'],
): CheckResult {
  const r: CheckResult = { id, name, status, summary, columns, metrics, parameters };
  if (series !== undefined) r.series = series;
  return r;
}

/** The magnitude statistics that (n,k) and p% apply to: a sum or a mean reveals the cell total. */
function isMagnitude(fn: TableMeasure['fn']): boolean {
  return fn === 'sum' || fn === 'mean';
}

/**
 * Runs checks A1–A10 on a published table whose evidence is already in `conn`
 * and returns one CheckResult per check, in order. All per-cell work runs as SQL
 * (per-unit sums, DuckDB's top-N aggregate for the largest contributors, window
 * row ids for the published cells), so evidence of millions of rows stays inside
 * DuckDB; only aggregate counts come back. Temporary tables are created under a
 * random name and dropped before returning.
 */
export async function auditTable(
  conn: DuckDBConnection,
  input: TableAuditInput,
  thresholds: Thresholds,
): Promise<CheckResult[]> {
  const { table, groupBy, counts, measures, evidence, unitColumn } = input;
  const tableCols = await columnsOf(conn, table);
  const evidenceCols = await columnsOf(conn, evidence);
  requireColumns(tableCols, table, 'table', [...groupBy, ...counts, ...measures.map((m) => m.column)]);
  requireColumns(evidenceCols, evidence, 'evidence', [...groupBy, unitColumn, ...measures.map((m) => m.column)]);
  for (const e of input.earlierReleases ?? []) {
    requireColumns(await columnsOf(conn, e.evidence), e.evidence, 'earlier evidence', [...e.groupBy, unitColumn]);
  }

  const tag = `__sluice_audit_${randomBytes(6).toString('hex')}`;
  const U = q(`${tag}_units`);
  const P = q(`${tag}_cells`);
  const C = q(`${tag}_cellstats`);
  const T = thresholds.A1.threshold;
  try {
    // One row per (published cell, unit): contributions summed per person, not per row.
    // A list-valued contribution (a unit's values, for a percentile) is read by its smallest value.
    const listCols = await listColumnsOf(conn, evidence, measures.map((m) => m.column));
    const x = (m: TableMeasure): string => (listCols.has(m.column) ? `list_min(e.${q(m.column)})` : `TRY_CAST(e.${q(m.column)} AS DOUBLE)`);
    const measureAggs = measures
      .map(
        (m, j) =>
          `sum(${x(m)}) AS __m${j}, ` +
          `count(*) FILTER (WHERE ${x(m)} IS NULL) AS __null${j}, ` +
          `count(*) FILTER (WHERE ${x(m)} < 0) AS __neg${j}`,
      )
      .join(', ');
    // The same columns for evidence that is already one row per (cell, unit).
    const measureRows = measures
      .map(
        (m, j) =>
          `${x(m)} AS __m${j}, ` +
          `CAST(${x(m)} IS NULL AS BIGINT) AS __null${j}, ` +
          `CAST(coalesce(${x(m)} < 0, FALSE) AS BIGINT) AS __neg${j}`,
      )
      .join(', ');
    // A row whose every published count and measure is NULL has been suppressed: it discloses nothing, so
    // A1 and the contribution checks skip it (suppression is the remedy for A1).
    const publishedCols = [...counts, ...measures.map((m) => m.column)];
    const suppressed = (alias: string): string =>
      publishedCols.length === 0 ? 'FALSE' : '(' + publishedCols.map((c) => `${alias}.${q(c)} IS NULL`).join(' AND ') + ')';
    const published =
      `(SELECT DISTINCT ${groupBy.length === 0 ? '1 AS __one' : cols('t', groupBy)} FROM ${q(table)} t ` +
      `WHERE NOT ${suppressed('t')})`;
    const keys = groupBy.length === 0 ? '' : cols('e', groupBy) + ', ';
    // An explicit semi join: DuckDB plans it as one hash join, where the equivalent EXISTS takes a slower delim join.
    const inPublished =
      groupBy.length === 0 ? `WHERE EXISTS (SELECT 1 FROM ${published} c)` : `SEMI JOIN ${published} c ON ${keyEq('c', 'e', groupBy)}`;
    // Unique evidence is only filtered, so U can stay a view over it: every check that reads it
    // scans the (columnar, compressed) evidence once, instead of first copying a million rows.
    await conn.run(
      input.evidenceUnique === true
        ? `CREATE TEMP VIEW ${U} AS SELECT ${keys}e.${q(unitColumn)} AS __unit, CAST(1 AS BIGINT) AS __rows${measureRows ? ', ' + measureRows : ''} ` +
            `FROM ${q(evidence)} e ${inPublished}`
        : `CREATE TEMP TABLE ${U} AS SELECT ${keys}e.${q(unitColumn)} AS __unit, count(*) AS __rows${measureAggs ? ', ' + measureAggs : ''} ` +
            `FROM ${q(evidence)} e ${inPublished} GROUP BY ${keys}e.${q(unitColumn)}`,
    );
    const countsZero = counts.length === 0 ? null : counts.map((c) => `TRY_CAST(p.${q(c)} AS DOUBLE) = 0`).join(' AND ');
    const countsOccupied = counts.length === 0 ? null : counts.map((c) => `TRY_CAST(p.${q(c)} AS DOUBLE) > 0`).join(' OR ');
    // One pass over U (one row per (cell, unit)) gives each cell its distinct units and its
    // evidence rows without a unit (A5).
    const gk = groupBy.map(q).join(', ');
    await conn.run(
      `CREATE TEMP TABLE ${C} AS SELECT ${gk ? gk + ', ' : ''}count(__unit) AS n, ` +
        `coalesce(sum(__rows) FILTER (WHERE __unit IS NULL), 0) AS missing ` +
        `FROM ${U}${gk ? ` GROUP BY ${gk}` : ''}`,
    );
    const nSub = `(SELECT ${gk ? gk + ', ' : ''}n FROM ${C})`;
    // Published rows with their distinct-unit count and whether the published counts show a zero or an occupied cell.
    await conn.run(
      `CREATE TEMP TABLE ${P} AS SELECT ${groupBy.length === 0 ? '' : cols('p', groupBy) + ', '}coalesce(n.n, 0) AS __n, ` +
        `${countsZero === null ? 'coalesce(n.n, 0) = 0' : `coalesce(${countsZero}, FALSE)`} AS __zero, ` +
        `${countsOccupied === null ? 'coalesce(n.n, 0) > 0' : `coalesce(${countsOccupied}, FALSE)`} AS __occupied, ` +
        `${suppressed('p')} AS __suppressed ` +
        `FROM ${q(table)} p LEFT JOIN ${nSub} n ON ${keyEq('p', 'n', groupBy)}`,
    );

    const out: CheckResult[] = [];
    out.push(await checkA1(conn, P, T, groupBy));
    out.push(await checkA2(conn, table, counts, thresholds));
    const [a3, a4] = await checkDominance(conn, U, groupBy, measures, thresholds);
    out.push(a3, a4);
    out.push(await checkA5(conn, U, C, measures, unitColumn, thresholds));
    out.push(await checkA6(conn, P, groupBy, input.structuralZeros === true, thresholds));
    out.push(await checkA7(conn, table, evidence, groupBy, measures, unitColumn, listCols, thresholds));
    out.push(checkA8(input.fittedDof ?? null, thresholds));
    out.push(await checkA9(conn, U, P, C, tag, groupBy, unitColumn, input.earlierReleases ?? [], input.incomparableEarlierReleases ?? 0, input.evidenceUnique === true, thresholds));
    out.push(await checkA10(conn, table, tableCols, unitColumn, input.file, thresholds));
    return out;
  } finally {
    await conn.run(input.evidenceUnique === true ? `DROP VIEW IF EXISTS ${U}` : `DROP TABLE IF EXISTS ${U}`);
    await conn.run(`DROP TABLE IF EXISTS ${P}`);
    await conn.run(`DROP TABLE IF EXISTS ${C}`);
  }
}

async function checkA1(conn: DuckDBConnection, P: string, T: number, groupBy: string[]): Promise<CheckResult> {
  const failing = `(NOT __suppressed AND ((__n > 0 AND __n < ${T}) OR (__n = 0 AND NOT __zero)))`;
  const [row] = await queryJson(
    conn,
    `SELECT count(*) FILTER (WHERE NOT __suppressed) AS cells, count(*) FILTER (WHERE __suppressed) AS suppressed, ` +
      `count(*) FILTER (WHERE ${failing}) AS failing, ` +
      `count(*) FILTER (WHERE NOT __suppressed AND __n = 0 AND NOT __zero) AS without_evidence, ` +
      `min(__n) FILTER (WHERE ${failing}) AS smallest, min(__n) FILTER (WHERE __n > 0 AND NOT __suppressed) AS smallest_occupied FROM ${P}`,
  );
  const sizes = await queryJson<{ n: unknown; cells: unknown }>(
    conn,
    `SELECT __n AS n, count(*) AS cells FROM ${P} WHERE NOT __suppressed GROUP BY 1`,
  );
  const cells = toNum(row?.['cells']);
  const failingCells = toNum(row?.['failing']);
  const withoutEvidence = toNum(row?.['without_evidence']);
  const smallest = toNumOrNull(row?.['smallest']);
  const status: Status = failingCells > 0 ? 'fail' : 'pass';
  const summary =
    failingCells > 0
      ? `${failingCells} of ${plural(cells, 'cell')} count fewer than ${T} distinct units (smallest ${smallest ?? 0})` +
        (withoutEvidence > 0 ? `; ${withoutEvidence} published without evidence` : '')
      : `all ${plural(cells, 'cell')} count at least ${T} distinct units`;
  return result(
    'A1',
    'threshold',
    status,
    summary,
    [...groupBy],
    {
      cells,
      cellsFailing: failingCells,
      cellsWithoutEvidence: withoutEvidence,
      cellsSuppressed: toNum(row?.['suppressed']),
      smallestCount: smallest,
      smallestOccupiedCount: toNumOrNull(row?.['smallest_occupied']),
    },
    { threshold: T },
    {
      cellSizeHistogram: sizeHistogram(
        sizes.map((s) => ({ n: toNum(s.n), cells: toNum(s.cells) })),
        T,
      ),
    },
  );
}

async function checkA2(conn: DuckDBConnection, table: string, counts: string[], t: Thresholds): Promise<CheckResult> {
  const params = { enabled: t.A2.enabled, base: t.A2.base };
  if (!t.A2.enabled) return result('A2', 'rounding', 'pass', 'rounding check switched off by the agreement', [...counts], {}, params);
  if (counts.length === 0) return result('A2', 'rounding', 'pass', 'no published count columns', [], { unroundedCells: 0 }, params);
  const base = t.A2.base;
  const selects = counts
    .map((c, i) => `count(*) FILTER (WHERE ${q(c)} IS NOT NULL AND (TRY_CAST(${q(c)} AS DOUBLE) IS NULL OR TRY_CAST(${q(c)} AS DOUBLE) % ${base} <> 0)) AS c${i}`)
    .join(', ');
  const [row] = await queryJson(conn, `SELECT ${selects} FROM ${q(table)}`);
  const perColumn = counts.map((c, i) => ({ c, n: toNum(row?.[`c${i}`]) }));
  const failingCols = perColumn.filter((x) => x.n > 0).map((x) => x.c);
  const total = perColumn.reduce((s, x) => s + x.n, 0);
  const metrics: CheckResult['metrics'] = { unroundedCells: total };
  for (const x of perColumn) metrics[`unroundedCells.${x.c}`] = x.n;
  return result(
    'A2',
    'rounding',
    total > 0 ? 'fail' : 'pass',
    total > 0
      ? `${plural(total, 'published count')} in ${failingCols.join(', ')} not a multiple of ${base}`
      : `all published counts are multiples of ${base}`,
    total > 0 ? failingCols : [...counts],
    metrics,
    params,
  );
}

async function checkDominance(
  conn: DuckDBConnection,
  U: string,
  groupBy: string[],
  measures: TableMeasure[],
  t: Thresholds,
): Promise<[CheckResult, CheckResult]> {
  const { n, k } = t.A3;
  const p = t.A4.p;
  const nkParams = { n, k, tolerance: RULE_TOLERANCE };
  const pParams = { p, tolerance: RULE_TOLERANCE };
  const mags = measures.map((m, j) => ({ m, j })).filter((x) => isMagnitude(x.m.fn));
  if (mags.length === 0) {
    return [
      result('A3', '(n,k) dominance', 'pass', 'no sum or mean measures', [], { cellsFailing: 0 }, nkParams),
      result('A4', 'p% rule', 'pass', 'no sum or mean measures', [], { cellsFailing: 0 }, pParams),
    ];
  }
  const nkMetrics: CheckResult['metrics'] = {};
  const pMetrics: CheckResult['metrics'] = {};
  let nkFail = 0;
  let pFail = 0;
  let checked = 0;
  let skippedNegative = 0;
  const nkCols: string[] = [];
  const pCols: string[] = [];
  const topN = Math.max(n, 2);
  const groupClause = groupBy.length === 0 ? '' : `GROUP BY ${groupBy.map(q).join(', ')}`;
  for (const { m, j } of mags) {
    const tol = `${num(RULE_TOLERANCE)} * abs(total)`;
    // max(x, N) is DuckDB's top-N aggregate (a sorted list, largest first): one hash aggregation per
    // cell instead of a window sort over every (cell, unit), measured ~15× faster at a million units.
    const [row] = await queryJson(
      conn,
      `WITH c AS (SELECT sum(__m${j}) AS total, max(__m${j}, ${topN}) AS top, min(__m${j}) AS minx ` +
        `FROM ${U} WHERE __m${j} IS NOT NULL ${groupClause}), ` +
        `r AS (SELECT total, minx, list_sum(list_slice(top, 1, ${n})) AS topn, top[1] AS x1, coalesce(top[2], 0) AS x2 FROM c) ` +
        `SELECT count(*) AS cells, count(*) FILTER (WHERE minx < 0) AS negative, ` +
        `count(*) FILTER (WHERE minx >= 0 AND total > 0) AS checked, ` +
        `count(*) FILTER (WHERE minx >= 0 AND total > 0 AND topn >= ${num(k)} * total - ${tol}) AS nk_fail, ` +
        `count(*) FILTER (WHERE minx >= 0 AND total > 0 AND (total - x1 - x2) < ${num(p)} * x1 - ${tol}) AS p_fail FROM r`,
    );
    const nk = toNum(row?.['nk_fail']);
    const pf = toNum(row?.['p_fail']);
    checked += toNum(row?.['checked']);
    skippedNegative += toNum(row?.['negative']);
    nkMetrics[`cellsFailing.${m.column}`] = nk;
    pMetrics[`cellsFailing.${m.column}`] = pf;
    if (nk > 0) nkCols.push(m.column);
    if (pf > 0) pCols.push(m.column);
    nkFail += nk;
    pFail += pf;
  }
  const common = { cellsChecked: checked, cellsSkippedNegative: skippedNegative };
  const a3 = result(
    'A3',
    '(n,k) dominance',
    nkFail > 0 ? 'fail' : 'pass',
    nkFail > 0
      ? `${plural(nkFail, 'cell')} where the top ${n} contributors hold at least ${k} of the total (${nkCols.join(', ')})`
      : `no cell where the top ${n} contributors hold ${k} of the total (${plural(checked, 'cell')} checked)`,
    nkFail > 0 ? nkCols : mags.map((x) => x.m.column),
    { cellsFailing: nkFail, ...common, ...nkMetrics },
    nkParams,
  );
  const a4 = result(
    'A4',
    'p% rule',
    pFail > 0 ? 'fail' : 'pass',
    pFail > 0
      ? `${plural(pFail, 'cell')} where the others' share would let the second-largest contributor estimate the largest within ${p * 100}% (${pCols.join(', ')})`
      : `no cell breaks the p% rule at p = ${p} (${plural(checked, 'cell')} checked)`,
    pFail > 0 ? pCols : mags.map((x) => x.m.column),
    { cellsFailing: pFail, ...common, ...pMetrics },
    pParams,
  );
  return [a3, a4];
}

async function checkA5(
  conn: DuckDBConnection,
  U: string,
  C: string,
  measures: TableMeasure[],
  unitColumn: string,
  t: Thresholds,
): Promise<CheckResult> {
  const parts = measures.map((_, j) => `coalesce(sum(__null${j}), 0) AS null${j}, coalesce(sum(__neg${j}), 0) AS neg${j}`);
  const [missingRow] = await queryJson(conn, `SELECT coalesce(sum(missing), 0) AS missing_unit FROM ${C}`);
  // Contributions are read from U only when there are measures to read.
  const [row] = parts.length > 0 ? await queryJson(conn, `SELECT ${parts.join(', ')} FROM ${U}`) : [{}];
  const missingUnit = toNum(missingRow?.['missing_unit']);
  const metrics: CheckResult['metrics'] = { rowsMissingUnit: missingUnit };
  const flagged: string[] = missingUnit > 0 ? [unitColumn] : [];
  let missing = 0;
  let negative = 0;
  measures.forEach((m, j) => {
    // A unit without a value in a min, max or percentile adds nothing to that figure (in a margin, the
    // cells whose extreme was withheld leave their units without one): only magnitudes count missing values.
    const nu = isMagnitude(m.fn) ? toNum(row?.[`null${j}`]) : 0;
    const ne = toNum(row?.[`neg${j}`]);
    metrics[`missing.${m.column}`] = nu;
    metrics[`negative.${m.column}`] = ne;
    missing += nu;
    negative += ne;
    if (nu > 0 || ne > 0) flagged.push(m.column);
  });
  metrics['missingContributions'] = missing;
  metrics['negativeContributions'] = negative;
  const any = missing + negative + missingUnit > 0;
  const bits: string[] = [];
  if (negative > 0) bits.push(`${plural(negative, 'negative contribution')}`);
  if (missing > 0) bits.push(`${plural(missing, 'missing contribution')}`);
  if (missingUnit > 0) bits.push(`${plural(missingUnit, 'evidence row')} without a unit id`);
  return result(
    'A5',
    'negative or missing contributions',
    any ? t.A5.status : 'pass',
    any ? `${bits.join(', ')} (${flagged.join(', ')})` : 'no negative or missing contributions',
    flagged,
    metrics,
    { status: t.A5.status },
  );
}

async function checkA6(
  conn: DuckDBConnection,
  P: string,
  groupBy: string[],
  structural: boolean,
  t: Thresholds,
): Promise<CheckResult> {
  const [z] = await queryJson(conn, `SELECT count(*) FILTER (WHERE __zero) AS zeros FROM ${P}`);
  const zeros = toNum(z?.['zeros']);
  let implied = 0;
  let singleRows = 0;
  let rows = 0;
  if (groupBy.length >= 2) {
    const last = q(groupBy[groupBy.length - 1]!);
    const rowCols = groupBy.slice(0, -1).map(q).join(', ');
    // A NULL in the category column is read as a margin (ROLLUP's total), not as a category.
    const [r] = await queryJson(
      conn,
      `WITH k AS (SELECT count(DISTINCT ${last}) AS k FROM ${P}), ` +
        `rw AS (SELECT ${rowCols}, count(DISTINCT ${last}) AS present, ` +
        `count(DISTINCT ${last}) FILTER (WHERE __occupied) AS occ, ` +
        `count(*) FILTER (WHERE ${last} IS NOT NULL AND NOT __occupied AND NOT __zero) AS supp FROM ${P} GROUP BY ${rowCols}) ` +
        `SELECT count(*) AS rows, coalesce(sum(k.k - rw.present), 0) AS implied, ` +
        `count(*) FILTER (WHERE rw.occ = 1 AND rw.supp = 0 AND k.k >= 2) AS single FROM rw, k`,
    );
    implied = toNum(r?.['implied']);
    singleRows = toNum(r?.['single']);
    rows = toNum(r?.['rows']);
  }
  const found = zeros + implied + singleRows > 0;
  const status: Status = found && !structural ? t.A6.status : 'pass';
  const what = `${plural(zeros, 'zero cell')}, ${plural(implied, 'absent (implied zero) cell')}, ${plural(singleRows, 'row')} with all units in one category`;
  return result(
    'A6',
    'class disclosure',
    status,
    !found ? 'no zero cells and no single-category rows' : structural ? `${what}; declared structural` : what,
    groupBy.length >= 2 ? [...groupBy] : found ? [...groupBy] : [],
    { zeroCells: zeros, impliedZeroCells: implied, singleCategoryRows: singleRows, rows },
    { structuralZeros: structural, status: t.A6.status },
  );
}

/**
 * A7: a published min, max, median or percentile is one unit's own value when
 * fewer than T (A1's threshold) units hold it, or fewer than T lie at or beyond
 * it on either side: the units at an extreme form a cell of their own, and the
 * figure is determined by those few units as a dominated cell's total is. Such
 * a value fails, like a dominated cell; a value no unit holds and with at least
 * T units on each side passes. Evidence holds each unit's value, or the list of
 * its values (DOUBLE[]).
 */
async function checkA7(
  conn: DuckDBConnection,
  table: string,
  evidence: string,
  groupBy: string[],
  measures: TableMeasure[],
  unitColumn: string,
  listColumns: ReadonlySet<string>,
  t: Thresholds,
): Promise<CheckResult> {
  const extremes = measures.filter((m) => !isMagnitude(m.fn));
  const T = t.A1.threshold;
  const params = { status: t.A7.status, tolerance: EXTREME_TOLERANCE, threshold: T };
  if (extremes.length === 0) return result('A7', 'extremes', 'pass', 'no min, max, median or percentile measures', [], { cellsFailing: 0 }, params);
  const metrics: CheckResult['metrics'] = {};
  const flagged: string[] = [];
  let total = 0;
  let checked = 0;
  const u = `e.${q(unitColumn)}`;
  for (const m of extremes) {
    const c = q(m.column);
    const tol = `${num(EXTREME_TOLERANCE)} * greatest(1, abs(p.v))`;
    const tests = listColumns.has(m.column)
      ? {
          held: `len(list_filter(e.${c}, x -> abs(CAST(x AS DOUBLE) - p.v) <= ${tol})) > 0`,
          below: `list_min(e.${c}) <= p.v + ${tol}`,
          above: `list_max(e.${c}) >= p.v - ${tol}`,
        }
      : {
          held: `abs(TRY_CAST(e.${c} AS DOUBLE) - p.v) <= ${tol}`,
          below: `TRY_CAST(e.${c} AS DOUBLE) <= p.v + ${tol}`,
          above: `TRY_CAST(e.${c} AS DOUBLE) >= p.v - ${tol}`,
        };
    const few = (x: string): string => `(${x} BETWEEN 1 AND ${T - 1})`;
    const [row] = await queryJson(
      conn,
      `WITH p AS (SELECT row_number() OVER () AS __rid, ${groupBy.length === 0 ? '' : cols('t', groupBy) + ', '}TRY_CAST(t.${c} AS DOUBLE) AS v ` +
        `FROM ${q(table)} t WHERE TRY_CAST(t.${c} AS DOUBLE) IS NOT NULL), ` +
        `h AS (SELECT p.__rid, count(DISTINCT ${u}) FILTER (WHERE ${tests.held}) AS held, ` +
        `count(DISTINCT ${u}) FILTER (WHERE ${tests.below}) AS below, count(DISTINCT ${u}) FILTER (WHERE ${tests.above}) AS above ` +
        `FROM p LEFT JOIN ${q(evidence)} e ON ${keyEq('p', 'e', groupBy)} GROUP BY p.__rid) ` +
        `SELECT count(*) AS cells, count(*) FILTER (WHERE ${few('held')} OR ${few('below')} OR ${few('above')}) AS hits FROM h`,
    );
    const hits = toNum(row?.['hits']);
    checked += toNum(row?.['cells']);
    metrics[`cellsFailing.${m.column}`] = hits;
    if (hits > 0) flagged.push(m.column);
    total += hits;
  }
  return result(
    'A7',
    'extremes',
    total > 0 ? t.A7.status : 'pass',
    total > 0
      ? `${plural(total, 'published value')} held by, or with on one side, fewer than ${T} units: one unit's own value (${flagged.join(', ')})`
      : `no published min, max or percentile is held by, or has on one side, fewer than ${T} units (${plural(checked, 'cell')} checked)`,
    total > 0 ? flagged : extremes.map((m) => m.column),
    { cellsFailing: total, cellsChecked: checked, ...metrics },
    params,
  );
}

function checkA8(dof: number | null, t: Thresholds): CheckResult {
  const params = { minDof: t.A8.minDof };
  if (dof === null) return result('A8', 'degrees of freedom', 'pass', 'not a fitted statistic', [], { residualDof: null }, params);
  const fail = !(dof >= t.A8.minDof);
  return result(
    'A8',
    'degrees of freedom',
    fail ? 'fail' : 'pass',
    fail ? `residual degrees of freedom ${dof} below ${t.A8.minDof}` : `residual degrees of freedom ${dof} (at least ${t.A8.minDof})`,
    [],
    { residualDof: dof },
    params,
  );
}

/**
 * Unit sets per cell of `relation`, at two resolutions: `fcell` over all of
 * `cellCols`, `ccell` over the `common` columns only. Each distinct key
 * combination gets an exact integer id (no hash collisions) in a small key
 * table that is joined back by hash join.
 */
function cellSets(relation: string, cellCols: readonly string[], common: readonly string[], unitExpr: string): string {
  const keys = cellCols.map(q).join(', ');
  const commonOrder = common.map(q).join(', ');
  return (
    `SELECT DISTINCT k.fcell, k.ccell, r.${unitExpr} AS u FROM ${relation} r ` +
    `JOIN (SELECT ${keys}, row_number() OVER () AS fcell, dense_rank() OVER (ORDER BY ${commonOrder}) AS ccell ` +
    `FROM (SELECT DISTINCT ${keys} FROM ${relation})) k ON ${keyEq('k', 'r', cellCols)} WHERE r.${unitExpr} IS NOT NULL`
  );
}

/**
 * The end of a differencing query, after a CTE `d` of intersecting cell pairs
 * with `a_only` and `b_only` (units in one cell and not the other): counts the
 * pairs that nest with a difference of 1..T−1 units, and the smallest.
 */
function isolatedPairs(T: number): string {
  return (
    `f AS (SELECT CASE WHEN a_only = 0 AND b_only > 0 AND b_only < ${T} THEN b_only ` +
    `WHEN b_only = 0 AND a_only > 0 AND a_only < ${T} THEN a_only END AS isolated FROM d) ` +
    `SELECT count(isolated) AS pairs, min(isolated) AS smallest FROM f`
  );
}

/**
 * Counts cell pairs (current, earlier) that nest, one inside the other, with a
 * difference of 1..T−1 units: subtracting the two published counts then isolates
 * those few units. Cells are compared as sets of unit ids, so different bandings
 * of a shared column (20–29 vs 20–30) are caught as well as population changes.
 * `level` picks the full cells or the cells coarsened to the shared columns.
 */
async function differencingPass(
  conn: DuckDBConnection,
  A: string,
  B: string,
  J: string,
  level: 'fcell' | 'ccell',
  T: number,
): Promise<{ pairs: number; smallest: number | null }> {
  // At the coarse level several fine cells of one unit collapse into one, hence DISTINCT.
  const cnt = level === 'fcell' ? 'count(*)' : 'count(DISTINCT u)';
  const [row] = await queryJson(
    conn,
    `WITH asz AS (SELECT ${level} AS cell, ${cnt} AS n FROM ${A} GROUP BY 1), bsz AS (SELECT ${level} AS cell, ${cnt} AS n FROM ${B} GROUP BY 1), ` +
      `i AS (SELECT a_${level} AS ac, b_${level} AS bc, ${cnt} AS ni FROM ${J} GROUP BY 1, 2), ` +
      `d AS (SELECT asz.n - i.ni AS a_only, bsz.n - i.ni AS b_only FROM i JOIN asz ON asz.cell = i.ac JOIN bsz ON bsz.cell = i.bc), ` +
      isolatedPairs(T),
  );
  return { pairs: toNum(row?.['pairs']), smallest: toNumOrNull(row?.['smallest']) };
}

/** A relation's distinct (cell, unit) pairs with a unit; `unique`: it has no repeated pair, so no DISTINCT is needed. */
function pairsOf(relation: string, cellCols: readonly string[], unitExpr: string, unique: boolean): string {
  const keys = cellCols.map(q).join(', ');
  return unique
    ? `(SELECT * FROM ${relation} WHERE ${unitExpr} IS NOT NULL)`
    : `(SELECT DISTINCT ${keys ? `${keys}, ` : ''}${unitExpr} FROM ${relation} WHERE ${unitExpr} IS NOT NULL)`;
}

/**
 * Order-independent fingerprint of a relation's (cell, unit) pairs: their
 * count, and the sum and the XOR of one 64-bit hash per pair. Two different
 * sets of the same size agree on both only by a coincidence of the hash (the
 * unit keys are keyed tokens, which nobody can choose to make one).
 */
async function pairFingerprint(conn: DuckDBConnection, relation: string, cellCols: readonly string[], unitExpr: string, unique: boolean): Promise<string> {
  const keys = cellCols.map(q).join(', ');
  const [row] = await queryJson(
    conn,
    `SELECT count(*) AS n, CAST(coalesce(sum(h), 0) AS VARCHAR) AS h1, CAST(coalesce(bit_xor(h), 0) AS VARCHAR) AS h2 ` +
      `FROM (SELECT hash(${keys ? `${keys}, ` : ''}${unitExpr}) AS h FROM ${pairsOf(relation, cellCols, unitExpr, unique)})`,
  );
  return `${String(row?.['n'])}:${String(row?.['h1'])}:${String(row?.['h2'])}`;
}

/**
 * Differencing between cells of the same group-by columns: cell sizes of the
 * current table come from P (distinct units per published cell), and only
 * units present in both tables are joined, so a small earlier release costs a
 * probe of the current units, not a second copy of them.
 */
async function sameCellsDifferencing(
  conn: DuckDBConnection,
  U: string,
  P: string,
  earlier: string,
  groupBy: readonly string[],
  unitColumn: string,
  tag: string,
  T: number,
): Promise<{ pairs: number; smallest: number | null }> {
  const KA = q(`${tag}_a9ka`);
  const KB = q(`${tag}_a9kb`);
  const BU = q(`${tag}_a9bu`);
  const AU = q(`${tag}_a9au`);
  const keys = groupBy.map(q).join(', ');
  const u = q(unitColumn);
  try {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${KA} AS SELECT ${keys}${keys ? ', ' : ''}__n AS n, row_number() OVER () AS cell FROM ${P} WHERE NOT __suppressed AND __n > 0`);
    // The earlier table's cells (distinct units each) and its unit-to-cell pairs.
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE ${BU} AS SELECT DISTINCT ${keys ? cols('b', groupBy) + ', ' : ''}b.${u} AS u FROM ${q(earlier)} b WHERE b.${u} IS NOT NULL`,
    );
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE ${KB} AS SELECT ${keys}${keys ? ', ' : ''}count(*) AS n, row_number() OVER () AS cell FROM ${BU}${keys ? ` GROUP BY ${keys}` : ''}`,
    );
    // Only the current units that the earlier table has too: a probe by unit key, before any join on cells.
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${AU} AS SELECT ${keys ? cols('x', groupBy) + ', ' : ''}x.__unit AS u FROM ${U} x SEMI JOIN (SELECT DISTINCT u FROM ${BU}) y ON x.__unit = y.u`);
    const [row] = await queryJson(
      conn,
      `WITH a AS (SELECT ka.cell, x.u FROM ${AU} x JOIN ${KA} ka ON ${keyEq('ka', 'x', groupBy)}), ` +
        `b AS (SELECT kb.cell, y.u FROM ${BU} y JOIN ${KB} kb ON ${keyEq('kb', 'y', groupBy)}), ` +
        `i AS (SELECT a.cell AS ac, b.cell AS bc, count(DISTINCT a.u) AS ni FROM a JOIN b ON a.u = b.u GROUP BY 1, 2), ` +
        `d AS (SELECT ka.n - i.ni AS a_only, kb.n - i.ni AS b_only FROM i JOIN ${KA} ka ON ka.cell = i.ac JOIN ${KB} kb ON kb.cell = i.bc), ` +
        isolatedPairs(T),
    );
    return { pairs: toNum(row?.['pairs']), smallest: toNumOrNull(row?.['smallest']) };
  } finally {
    for (const x of [KA, KB, BU, AU]) await conn.run(`DROP TABLE IF EXISTS ${x}`);
  }
}

async function checkA9(
  conn: DuckDBConnection,
  U: string,
  P: string,
  C: string,
  tag: string,
  groupBy: string[],
  unitColumn: string,
  earlier: EarlierRelease[],
  incomparable: number,
  evidenceUnique: boolean,
  t: Thresholds,
): Promise<CheckResult> {
  const T = t.A1.threshold;
  const params = { threshold: T, status: t.A9.status };
  let compared = 0;
  let identical = 0;
  let pairs = 0;
  let smallest: number | null = null;
  const flaggedCols = new Set<string>();
  const A = q(`${tag}_a9a`);
  const B = q(`${tag}_a9b`);
  const J = q(`${tag}_a9j`);
  const sameSets = (x: string[], y: string[]): boolean => x.length === y.length && x.every((c) => y.includes(c));
  let ownFingerprint: string | null = null;
  let ownPairs: number | null = null;
  try {
    for (const e of earlier) {
      const common = groupBy.filter((c) => e.groupBy.includes(c));
      if (common.length === 0) continue;
      compared++;
      let found = 0;
      if (sameSets(groupBy, common) && sameSets(e.groupBy, common)) {
        // The same job run again publishes the same cells of the same units: no difference can isolate anyone.
        // The same job run again publishes the same cells of the same units: no difference can isolate
        // anyone. Counting the pairs first keeps the fingerprints for the releases that could be equal.
        // U holds one row per (cell, unit) whichever way it was built.
        ownPairs ??= toNum((await queryJson(conn, `SELECT coalesce(sum(n), 0) AS n FROM ${C}`))[0]?.['n']);
        const theirPairs = toNum((await queryJson(conn, `SELECT count(*) AS n FROM ${pairsOf(q(e.evidence), groupBy, q(unitColumn), evidenceUnique)}`))[0]?.['n']);
        if (theirPairs === ownPairs && (ownFingerprint ??= await pairFingerprint(conn, U, groupBy, '__unit', true)) === (await pairFingerprint(conn, q(e.evidence), groupBy, q(unitColumn), evidenceUnique))) {
          identical++;
          continue;
        }
        const r = await sameCellsDifferencing(conn, U, P, e.evidence, groupBy, unitColumn, tag, T);
        found = r.pairs;
        if (r.smallest !== null) smallest = smallest === null ? r.smallest : Math.min(smallest, r.smallest);
      } else {
        await conn.run(`CREATE OR REPLACE TEMP TABLE ${A} AS ${cellSets(U, groupBy, common, '__unit')}`);
        await conn.run(`CREATE OR REPLACE TEMP TABLE ${B} AS ${cellSets(q(e.evidence), e.groupBy, common, q(unitColumn))}`);
        // One join of the two unit sets serves both resolutions.
        await conn.run(
          `CREATE OR REPLACE TEMP TABLE ${J} AS SELECT a.fcell AS a_fcell, a.ccell AS a_ccell, b.fcell AS b_fcell, b.ccell AS b_ccell, a.u ` +
            `FROM ${A} a JOIN ${B} b ON a.u = b.u`,
        );
        for (const level of ['fcell', 'ccell'] as const) {
          const r = await differencingPass(conn, A, B, J, level, T);
          found += r.pairs;
          if (r.smallest !== null) smallest = smallest === null ? r.smallest : Math.min(smallest, r.smallest);
        }
      }
      pairs += found;
      if (found > 0) for (const c of common) flaggedCols.add(c);
    }
  } finally {
    for (const x of [A, B, J]) await conn.run(`DROP TABLE IF EXISTS ${x}`);
  }
  const status: Status = pairs > 0 ? t.A9.status : incomparable > 0 ? worstStatus([t.A9.status, 'review']) : 'pass';
  const summary =
    compared === 0
      ? 'no earlier release shares a group-by column'
      : pairs > 0
        ? `${plural(pairs, 'cell difference')} against ${plural(compared, 'earlier release')} isolate fewer than ${T} units (smallest ${smallest})`
        : `no difference against ${plural(compared, 'earlier release')} isolates fewer than ${T} units${identical > 0 ? ` (${identical} of them the same cells of the same units)` : ''}`;
  return result(
    'A9',
    'differencing',
    status,
    incomparable > 0
      ? `${summary}; ${plural(incomparable, 'earlier release')} could not be compared (its evidence keys units another way): a reviewer must check differencing against it`
      : summary,
    [...flaggedCols],
    { earlierReleasesCompared: compared, identicalEarlierReleases: identical, incomparableEarlierReleases: incomparable, differencesIsolating: pairs, smallestIsolated: smallest },
    params,
  );
}

async function checkA10(
  conn: DuckDBConnection,
  table: string,
  tableCols: Set<string>,
  unitColumn: string,
  file: TableFileInfo | undefined,
  t: Thresholds,
): Promise<CheckResult> {
  const [row] = await queryJson(conn, `SELECT count(*) AS n FROM ${q(table)}`);
  const rows = Math.max(toNum(row?.['n']), file?.rows ?? 0);
  const problems: string[] = [];
  const flagged = new Set<string>();
  const allowed = t.A10.allowedFileTypes.map((x) => x.toLowerCase());
  let typeAllowed: boolean | null = null;
  if (file !== undefined) {
    typeAllowed = fileTypeAllowed(file.type, allowed);
    // The type is a declared format name, not data; it is still not echoed, only whether it is allowed.
    if (!typeAllowed) problems.push(`file type not in the allowlist (${allowed.join(', ')})`);
    if (file.bytes > t.A10.maxBytes) problems.push(`${file.bytes} bytes exceed ${t.A10.maxBytes}`);
  }
  if (rows > t.A10.maxRows) problems.push(`${rows} rows exceed ${t.A10.maxRows}`);
  const identifierCols: string[] = [];
  const unknownCols: string[] = [];
  for (const c of file?.columns ?? []) {
    if (c.class === 'direct-identifier') identifierCols.push(c.name);
    else if (c.label === 'unknown') unknownCols.push(c.name);
  }
  // The evidence's unit id published as a column is an identifier whatever its declared class.
  if (tableCols.has(unitColumn) && !identifierCols.includes(unitColumn)) identifierCols.push(unitColumn);
  if (identifierCols.length > 0) problems.push(`identifier column(s) ${identifierCols.join(', ')}`);
  // Unknown labels mean deny (ARCHITECTURE.md, column classes and policy).
  if (unknownCols.length > 0) problems.push(`column(s) ${unknownCols.join(', ')} with an unknown label`);
  for (const c of [...identifierCols, ...unknownCols]) flagged.add(c);
  return result(
    'A10',
    'package gates',
    problems.length > 0 ? 'fail' : 'pass',
    problems.length > 0 ? problems.join('; ') : `${rows} rows${file ? `, ${file.bytes} bytes, allowed type` : ''}; no identifier columns`,
    [...flagged],
    {
      rows,
      bytes: file?.bytes ?? null,
      fileTypeAllowed: typeAllowed,
      identifierColumns: identifierCols.length,
      unknownLabelColumns: unknownCols.length,
    },
    { allowedFileTypes: allowed.join(','), maxRows: t.A10.maxRows, maxBytes: t.A10.maxBytes },
  );
}
