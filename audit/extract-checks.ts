// Over 500 lines because B1–B6 share one DuckDB session, its views and the record normalisation; split they would pass both around.
/**
 * The row-level half of the non-restoration audit (AUDIT.md §B, checks B1–B6)
 * for a staged desensitized extract, run entirely in DuckDB: the output and the
 * raw tables it descends from are tables or views in one connection, every
 * comparison is a vectorized join or aggregate, and no data value is read into
 * JavaScript except the counts the checks report.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryJson, quoteIdent, quoteLiteral } from '../lib/duck.js';
import { SluiceError } from '../lib/errors.js';
import { worstStatus, type Status } from '../lib/vocabulary.js';
import type { CheckResult } from './types.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds.js';
import { normalizeSql, piiDetectorSql, trimSql } from './pii-sql.js';
import { checkReversibleEncodings, DEFAULT_ENCODING_OPTIONS, type EncodingOptions } from './encodings.js';
import { checkSyntheticRisk, DEFAULT_SYNTHETIC_RISK_OPTIONS, type SyntheticRiskOptions } from './singling-out.js';
import { contextSalts, DEFAULT_CONTENT_OPTIONS, digitCiphers, embeddedIdentifiers, splitIdentifiers, type ContentContext, type ContentHit, type ContentOptions } from './content-checks.js';

/** One raw table the output descends from (lineage), as a table or view in the same connection. */
export interface RawSource {
  /** Table or view name in `conn` (quoted as one identifier). */
  table: string;
  /** Its direct-identifier columns (ID number, name, phone, credit code, …). */
  directIdentifiers: string[];
  /** Its quasi-identifier columns (birth date, sex, area, …). */
  quasiIdentifiers: string[];
  /** Its sensitive columns. */
  sensitive: string[];
}

/** What {@link auditExtract} audits: one staged row-level output and its raw lineage. */
export interface ExtractAuditInput {
  /** DuckDB table or view of the staged output, in `conn`. */
  output: string;
  /** The output's columns with their class and label (columns of the table not listed get label `unknown`). */
  outputColumns: { name: string; class: string; label: string }[];
  /** The raw tables the output descends from. */
  raw: RawSource[];
  /** Output columns declared quasi-identifiers. */
  declaredQuasiIdentifiers: string[];
  /** Output columns declared sensitive. */
  sensitive: string[];
  /** True for synthetic or perturbed output: runs B6. Default false. */
  synthetic?: boolean;
  /** For B6: raw rows held out from generation (a table in `conn`); `raw[0]` must then be the generation input without them. */
  control?: string;
  /**
   * What the audit knows of the job beyond its tables: every string an operator
   * could have used as a salt, key or substitution alphabet (dataset, agreement,
   * spec, step and output names; every string and number literal of the spec
   * and of its SQL). B2 salts with each; column names are added by the audit.
   */
  context?: { literals?: string[] };
}

/** The threshold groups the extract audit reads (a subset of {@link Thresholds}). */
export type ExtractThresholds = Pick<Thresholds, 'B1' | 'B2' | 'B3' | 'B4' | 'B5' | 'B6' | 'quasiIdentifiers'>;

/** Technical options of the extract audit (not policy thresholds). */
export interface ExtractAuditOptions {
  /** B2 search options; see {@link DEFAULT_ENCODING_OPTIONS}. */
  encodings?: Partial<EncodingOptions>;
  /** B6 attack options; see {@link DEFAULT_SYNTHETIC_RISK_OPTIONS}. */
  synthetic?: Partial<SyntheticRiskOptions>;
  /** B5: a shared column links only if at least this share of output rows hold a value found in the raw column. Default 0.9. */
  comparableShare?: number;
  /** B1: raw identifier values shorter than this (after normalization) are not matched, so that placeholders like "0" do not flood the check. Default 2 characters. */
  minIdentifierLength?: number;
  /** B1 (embedded, split) and B2 (digit cipher) search options; see {@link DEFAULT_CONTENT_OPTIONS}. */
  content?: Partial<ContentOptions>;
  /**
   * False skips the content searches (embedded, split, digit ciphers, context salts), leaving the
   * audit as it was before them; only benchmarks compare the two. Default true.
   */
  contentChecks?: boolean;
}

/** Output column as the checks see it: its name, the SQL that renders it as VARCHAR, its label. */
export interface AuditColumn {
  name: string;
  /** SQL expression over the output table giving the value as VARCHAR (or NULL). */
  expr: string;
  label: string;
  /** DuckDB type name. */
  type: string;
  /** Short alias used in unpivoted temp tables. */
  alias: string;
}

const FLOAT_TYPES = /^(FLOAT|DOUBLE|REAL|DECIMAL)/;

/**
 * Renders a column as VARCHAR for identifier matching. Whole floats and decimals
 * print without a fraction, so that a mobile number stored as DOUBLE still meets
 * its raw string; booleans cannot carry an identifier and are skipped (null).
 */
function varcharExpr(name: string, type: string): string | null {
  const c = quoteIdent(name);
  if (type === 'BOOLEAN') return null;
  if (FLOAT_TYPES.test(type)) {
    return `CASE WHEN isfinite(${c}::DOUBLE) AND ${c} = trunc(${c}) AND abs(${c}::DOUBLE) < 1e30 THEN CAST(CAST(${c} AS HUGEINT) AS VARCHAR) ELSE CAST(${c} AS VARCHAR) END`;
  }
  if (type === 'VARCHAR') {
    // A CSV read as written (all VARCHAR) holds numbers as the writer printed them: a mobile that
    // was a DOUBLE reads "13912345678.0" or "1.3912345678E10". Whole numbers print without them.
    return `CASE WHEN length(${c}) <= 40 AND (contains(${c}, '.') OR contains(${c}, 'E') OR contains(${c}, 'e')) AND regexp_full_match(${c}, '[+-]?\\d+(\\.\\d*)?([eE][+-]?\\d+)?')
      AND TRY_CAST(${c} AS DOUBLE) = trunc(TRY_CAST(${c} AS DOUBLE)) AND abs(TRY_CAST(${c} AS DOUBLE)) < 1e30 THEN CAST(CAST(TRY_CAST(${c} AS DOUBLE) AS HUGEINT) AS VARCHAR) ELSE ${c} END`;
  }
  return `CAST(${c} AS VARCHAR)`;
}

function statusOf(fail: boolean, review: boolean): Status {
  return fail ? 'fail' : review ? 'review' : 'pass';
}

async function one<T>(conn: DuckDBConnection, sql: string): Promise<T> {
  const rows = await queryJson<T>(conn, sql);
  return rows[0]!;
}

/** Columns of a table or view, with DuckDB types; SLUICE_ERR_INPUT_INVALID naming the table if it is missing. */
export async function describeTable(conn: DuckDBConnection, table: string, field: string): Promise<Map<string, string>> {
  try {
    const rows = await queryJson<{ column_name: string; column_type: string }>(conn, `DESCRIBE ${quoteIdent(table)}`);
    return new Map(rows.map((r) => [r.column_name, r.column_type]));
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${field}: expected a table or view in the audit connection; found none named ${JSON.stringify(table)}`, { cause: e });
  }
}

function requireColumns(have: Map<string, string>, wanted: string[], field: string): void {
  const missing = wanted.filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${field}: expected columns of the table; ${missing.length} not found: ${missing.join(', ')}`);
  }
}

/**
 * Audits a staged row-level extract against its raw lineage (AUDIT.md B1–B5, and
 * B6 when `input.synthetic`). Returns one {@link CheckResult} per check, in id
 * order; each names columns, counts and shares, never a value.
 *
 * - B1: every non-boolean output value, normalized (full-width → ASCII, trimmed,
 *   spaces and hyphens removed, upper case), is hash-joined against one
 *   deduplicated table of normalized raw direct-identifier values; and matched
 *   against the PII detectors of `pii-sql.ts`. Fails on any hit.
 * - B2: see `encodings.ts` (reversal, hex, base64, unsalted/known/in-output
 *   salted MD5/SHA-1/SHA-256, dictionary of small raw domains).
 * - B3: k-anonymity on declared plus inferred quasi-identifiers; fail < B3.failBelow, review < B3.reviewBelow.
 * - B4: distinct ℓ-diversity of each declared sensitive column within the B3 classes.
 * - B5: share of output rows whose values on the columns shared with a raw table
 *   (same name, comparable values, not tokens) match exactly one raw row.
 * - B6: see `singling-out.ts`.
 *
 * Temporary tables are created under a random prefix and dropped before return.
 * Throws SLUICE_ERR_INPUT_INVALID naming the field when a table or column is missing.
 */
export async function auditExtract(
  conn: DuckDBConnection,
  input: ExtractAuditInput,
  thresholds: Readonly<ExtractThresholds> = DEFAULT_THRESHOLDS,
  options: ExtractAuditOptions = {},
): Promise<CheckResult[]> {
  const outTypes = await describeTable(conn, input.output, 'output');
  requireColumns(outTypes, input.outputColumns.map((c) => c.name), 'outputColumns');
  requireColumns(outTypes, input.declaredQuasiIdentifiers, 'declaredQuasiIdentifiers');
  requireColumns(outTypes, input.sensitive, 'sensitive');
  const rawTypes: Map<string, string>[] = [];
  for (const [i, r] of input.raw.entries()) {
    const types = await describeTable(conn, r.table, `raw[${i}].table`);
    requireColumns(types, [...r.directIdentifiers, ...r.quasiIdentifiers, ...r.sensitive], `raw[${i}]`);
    rawTypes.push(types);
  }
  // A provider may have classed an ID number or phone column `other`: raw columns whose values are
  // mostly PII patterns (on a seeded sample) are treated as direct identifiers all the same.
  const raws: RawSource[] = [];
  const inferredRawIds: string[] = [];
  for (const [i, r] of input.raw.entries()) {
    const extraIds: string[] = [];
    for (const [c, type] of rawTypes[i]!) {
      if (r.directIdentifiers.includes(c) || type === 'BOOLEAN' || /^(DATE|TIME|FLOAT|DOUBLE|REAL|DECIMAL|TINYINT|SMALLINT|INTEGER)/.test(type)) continue;
      const v = `CAST(${quoteIdent(c)} AS VARCHAR)`;
      const { share } = await one<{ share: number }>(conn,
        `SELECT coalesce(avg(CASE WHEN ${piiDetectorSql('nv')} IS NOT NULL THEN 1 ELSE 0 END), 0)::DOUBLE AS share
         FROM (SELECT ${normalizeSql('v')} AS nv FROM (SELECT ${v} AS v FROM ${quoteIdent(r.table)} WHERE ${quoteIdent(c)} IS NOT NULL LIMIT 2000))`);
      if (Number(share) >= 0.5) extraIds.push(c);
    }
    inferredRawIds.push(...extraIds.map((c) => `${r.table}.${c}`));
    raws.push(extraIds.length === 0 ? r : { ...r, directIdentifiers: [...r.directIdentifiers, ...extraIds], quasiIdentifiers: r.quasiIdentifiers.filter((c) => !extraIds.includes(c)), sensitive: r.sensitive.filter((c) => !extraIds.includes(c)) });
  }
  input = { ...input, raw: raws };
  const labelOf = new Map(input.outputColumns.map((c) => [c.name, c.label]));
  const columns: AuditColumn[] = [];
  for (const [name, type] of outTypes) {
    const expr = varcharExpr(name, type);
    if (expr !== null) columns.push({ name, expr, label: labelOf.get(name) ?? 'unknown', type, alias: `c${columns.length}` });
  }

  const p = `__sluice_audit_${randomBytes(6).toString('hex')}`;
  const out = quoteIdent(input.output);
  const created: string[] = [];
  const temp = async (name: string, sql: string): Promise<string> => {
    const t = `${p}_${name}`;
    created.push(t);
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${t} AS ${sql}`);
    return t;
  };
  try {
    // Distinct records, each with how many rows repeat it: B3, B4, B5, B6 and the QI inference count
    // records, so that emitting every row twice, three times or in another order changes no verdict.
    const recT = await temp('rec', `SELECT *, count(*)::BIGINT AS __sluice_rows FROM ${out} GROUP BY ALL`);
    const rec = recT;
    const { n: nRows, r: nRecords } = await one<{ n: number; r: number }>(conn, `SELECT coalesce(sum(__sluice_rows), 0)::BIGINT AS n, count(*)::BIGINT AS r FROM ${rec}`);
    // One pass over the records: every column's distinct values with their row and record counts. B1,
    // B2 and the QI inference all work on this (distinct values, not rows), which makes 1M rows cheap.
    const vals = columns.length === 0
      ? await temp('vals', `SELECT NULL::VARCHAR AS col, NULL::VARCHAR AS v, 0::BIGINT AS n, 0::BIGINT AS nrec WHERE false`)
      : await temp('vals', `SELECT col, v, sum(__sluice_rows)::BIGINT AS n, count(*)::BIGINT AS nrec FROM (UNPIVOT (SELECT ${columns.map((c) => `${c.expr} AS ${c.alias}`).join(', ')}, __sluice_rows FROM ${rec}) ON COLUMNS(* EXCLUDE (__sluice_rows)) INTO NAME col VALUE v) GROUP BY ALL`);
    const minLen = options.minIdentifierLength ?? 2;
    // Raw identifier values once, as stored (trimmed) and normalized: B1 joins the normalized
    // form, B2 hashes and decodes both (hashers differ in which form they hash).
    const idParts = input.raw.flatMap((r) =>
      r.directIdentifiers.map((c) => {
        const v = trimSql(`CAST(${quoteIdent(c)} AS VARCHAR)`);
        return `SELECT v, ${normalizeSql('v')} AS nv, ${quoteLiteral(`${r.table}.${c}`)} AS src FROM (SELECT DISTINCT ${v} AS v FROM ${quoteIdent(r.table)} WHERE ${quoteIdent(c)} IS NOT NULL)`;
      }),
    );
    const rawIds = await temp('rawids', idParts.length === 0
      ? `SELECT NULL::VARCHAR AS v, NULL::VARCHAR AS nv, NULL::VARCHAR AS src WHERE false`
      : `SELECT * FROM (${idParts.join(' UNION ALL ')}) WHERE length(nv) >= ${minLen}`);
    const rid = await temp('rid', `SELECT DISTINCT nv AS v, src FROM ${rawIds}`);
    // Only output values as long as some raw identifier can equal one; the filter keeps millions
    // of 64-character tokens out of the joins.
    const ridLens = (await queryJson<{ l: number }>(conn, `SELECT DISTINCT length(v) AS l FROM ${rid}`)).map((r) => Number(r.l));
    // Normalization only drops spaces and hyphens and maps full-width forms one to one, so a value
    // more than three times longer than the longest raw identifier or PII pattern (19 digits) can
    // only match with two separators per character; such values (tokens, digests, free text) are
    // not normalized, except that e-mail addresses are looked for in text of any length.
    const maxLen = 3 * Math.max(19, ...ridLens);
    const on = options.contentChecks !== false;
    // With the content checks, every short value is normalized once with its value kept (vn): B1's
    // column-combination profile and the digit-cipher candidates read it instead of normalizing again.
    const vn = on ? await temp('vn', `SELECT col, v, n, ${normalizeSql('v')} AS nv FROM ${vals} WHERE length(v) <= ${maxLen} OR contains(v, '@')`) : undefined;
    const nv = await temp('nv', vn !== undefined
      ? `SELECT col, nv, sum(n)::BIGINT AS n FROM ${vn} GROUP BY ALL`
      : `SELECT col, ${normalizeSql('v')} AS nv, sum(n)::BIGINT AS n FROM ${vals} WHERE length(v) <= ${maxLen} OR contains(v, '@') GROUP BY ALL`);
    const byAlias = new Map(columns.map((c) => [c.alias, c]));
    const nameOf = (alias: string): string => byAlias.get(alias)?.name ?? alias;

    const contentOptions: ContentOptions = { ...DEFAULT_CONTENT_OPTIONS, ...options.content };
    const literals = input.context?.literals ?? [];
    const cctx: ContentContext = { prefix: p, created, vals, vn: vn ?? '', vnMaxLen: maxLen, rid, ridLens, records: rec, columns, literals };
    const none = { hits: [] as ContentHit[], metrics: {} as Record<string, number> };
    const embedded = on ? await embeddedIdentifiers(conn, cctx, contentOptions) : none;
    const split = on ? await splitIdentifiers(conn, cctx, contentOptions) : none;
    const colStats = await queryJson<{ col: string; nd: number; numeric: boolean; l11: number; l1319: number; l18: number }>(conn,
      `SELECT col, count(*)::BIGINT AS nd, bool_and(regexp_full_match(v, '[+-]?\\d+(\\.\\d+)?')) AS numeric,
         count(*) FILTER (WHERE regexp_full_match(v, '1\\d{10}'))::BIGINT AS l11, count(*) FILTER (WHERE regexp_full_match(v, '[2-6]\\d{12,18}'))::BIGINT AS l1319,
         count(*) FILTER (WHERE length(v) = 18)::BIGINT AS l18
       FROM ${vals} WHERE v IS NOT NULL GROUP BY col`);
    const results: CheckResult[] = [];
    results.push(await checkIdentifiers(conn, { nv, rid, ridLens, nameOf, nRows, thresholds, idColumns: idParts.length, minLen, extra: [...embedded.hits, ...split.hits], extraMetrics: { ...embedded.metrics, ...split.metrics }, colStats, alpha: contentOptions.alpha }));
    const encOptions: EncodingOptions = { ...DEFAULT_ENCODING_OPTIONS, ...options.encodings };
    const ciphers = on ? await digitCiphers(conn, cctx, contentOptions) : none;
    const rawColumnNames = rawTypes.flatMap((t) => [...t.keys()]);
    const salts = on ? contextSalts(literals, [...columns.map((c) => c.name), ...rawColumnNames], encOptions.maxContextSalts) : [];
    results.push(await checkReversibleEncodings(conn, { prefix: p, output: out, columns, vals, nv, rid, ridLens, rawIds, raw: input.raw, nRows: Number(nRecords), thresholds, created, salts, extra: ciphers.hits, extraMetrics: ciphers.metrics }, encOptions));

    const uniq = await queryJson<{ col: string; unique_records: number; distinct_values: number }>(conn,
      `SELECT col, coalesce(sum(nrec) FILTER (WHERE nrec = 1), 0)::BIGINT AS unique_records, count(*)::BIGINT AS distinct_values FROM ${vals} GROUP BY col`);
    const uniqueShare = new Map(uniq.map((u) => [nameOf(u.col), nRecords === 0 ? 0 : Number(u.unique_records) / nRecords]));
    // A per-person token (an HMAC of the ID number) is unique per row, so it would always be
    // "inferred" as a QI and force k = 1. It is left out on purpose: without the key a token
    // cannot be joined to any raw or outside table, and re-identification through a token that
    // is a keyless hash is B2's job, which runs on every column whatever its label. Counting
    // tokens here would fail every tokenized extract and add no protection.
    const inferred = columns
      .filter((c) => c.label !== 'token' && !input.declaredQuasiIdentifiers.includes(c.name))
      .filter((c) => (uniqueShare.get(c.name) ?? 0) > thresholds.quasiIdentifiers.uniqueShare)
      .map((c) => c.name);
    // Booleans are not in `columns` but may still be declared QIs; keep the declared list as given.
    const qis = [...input.declaredQuasiIdentifiers, ...inferred];
    let sourceRows = 0;
    for (const r of input.raw) sourceRows += Number((await one<{ n: number }>(conn, `SELECT count(*)::BIGINT AS n FROM ${quoteIdent(r.table)}`)).n);
    const b3 = await checkKAnonymity(conn, rec, qis, inferred, Number(nRecords), thresholds);
    // More rows than the sources hold, or repeated records, cannot come from desensitizing them:
    // the reviewer is told, with the counts (the verdicts, counted on records, do not move).
    b3.metrics['outputRows'] = Number(nRows);
    b3.metrics['outputRecords'] = Number(nRecords);
    b3.metrics['repeatedRows'] = Number(nRows) - Number(nRecords);
    b3.metrics['sourceRows'] = sourceRows;
    b3.metrics['rowsExceedSources'] = input.raw.length > 0 && Number(nRows) > sourceRows;
    if (input.raw.length > 0 && Number(nRows) > sourceRows) b3.summary += `; the output has ${Number(nRows)} rows, more than the ${sourceRows} rows of its sources (${Number(nRecords)} distinct records)`;
    else if (Number(nRows) > Number(nRecords)) b3.summary += `; ${Number(nRows) - Number(nRecords)} row(s) repeat another (${Number(nRecords)} distinct records counted)`;
    results.push(b3);
    results.push(await checkLDiversity(conn, rec, qis, input.sensitive, Number(nRecords), thresholds));
    results.push(await checkLinkage(conn, { out: rec, columns, vals, raw: input.raw, rawTypes, nRows: Number(nRecords), thresholds, comparableShare: options.comparableShare ?? 0.9, nameOf, prefix: p, created }));
    if (input.synthetic === true) {
      const synOptions: SyntheticRiskOptions = { ...DEFAULT_SYNTHETIC_RISK_OPTIONS, ...options.synthetic };
      const raw0 = input.raw[0];
      const exclude = new Set([...(raw0?.directIdentifiers ?? []), ...columns.filter((c) => c.label === 'token').map((c) => c.name)]);
      results.push(await checkSyntheticRisk(conn, {
        synthetic: rec,
        original: raw0?.table ?? null,
        control: input.control ?? null,
        columns: [...outTypes.keys()].filter((c) => !exclude.has(c) && (rawTypes[0]?.has(c) ?? false)),
        knownColumns: input.declaredQuasiIdentifiers,
        secrets: input.sensitive,
      }, thresholds, synOptions));
    }
    return results;
  } finally {
    for (const t of created.reverse()) await conn.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  }
}

interface IdentifierContext {
  nv: string;
  rid: string;
  ridLens: number[];
  nameOf: (alias: string) => string;
  nRows: number;
  thresholds: Readonly<ExtractThresholds>;
  idColumns: number;
  minLen: number;
  /** Findings of the content checks (embedded in text, split over columns). */
  extra: ContentHit[];
  extraMetrics: Record<string, number>;
  /** Per column alias: distinct values, whether all are numbers, and how many have a phone / card / 18-character shape. */
  colStats: { col: string; nd: number; numeric: boolean; l11: number; l1319: number; l18: number }[];
  alpha: number;
}

/** Chance that a number of the pattern's shape passes it (prefix ranges, check digit), for numeric columns. */
const NUMERIC_CHANCE: Record<string, true> = { mobile: true, 'bank-card': true, uscc: true };

/**
 * Whether pattern hits in a column of numbers count: a column of amounts or
 * record numbers holds 11- or 16-digit values of which some pass a mobile
 * prefix or a Luhn check by accident. They count when they are at least half
 * the column's distinct values (raw phones and cards are found exactly anyway).
 */
function numericPatternCounts(det: string, hits: number, stats: IdentifierContext['colStats'][number] | undefined, _alpha: number): boolean {
  const c = NUMERIC_CHANCE[det];
  if (!stats?.numeric || c === undefined) return true;
  // Amounts are not uniform digits (a range of 1.4e10–1.4e11 puts every 11-digit value at "14…19"),
  // so no chance model holds: a column of numbers is a column of phones or cards when they make up half of it.
  return hits * 2 >= stats.nd;
}

/** B1: exact matches of raw direct identifiers and PII patterns, per column and detector. */
async function checkIdentifiers(conn: DuckDBConnection, ctx: IdentifierContext): Promise<CheckResult> {
  const exact = await queryJson<{ col: string; src: string; rows: number; vals: number }>(conn,
    `SELECT o.col, r.src, sum(o.n)::BIGINT AS rows, count(*)::BIGINT AS vals FROM (SELECT * FROM ${ctx.nv} WHERE length(nv) IN (${[0, ...ctx.ridLens].join(', ')})) o JOIN ${ctx.rid} r ON o.nv = r.v GROUP BY ALL ORDER BY ALL`);
  const statsOf = new Map(ctx.colStats.map((c) => [c.col, c]));
  const pii = (await queryJson<{ col: string; det: string; rows: number; vals: number }>(conn,
    `SELECT col, det, sum(n)::BIGINT AS rows, count(*)::BIGINT AS vals FROM (SELECT col, n, ${piiDetectorSql('nv')} AS det FROM ${ctx.nv}) WHERE det IS NOT NULL GROUP BY ALL ORDER BY ALL`))
    .filter((q) => numericPatternCounts(q.det, Number(q.vals), statsOf.get(q.col), ctx.alpha));
  const { ids } = await one<{ ids: number }>(conn, `SELECT count(*)::BIGINT AS ids FROM ${ctx.rid}`);
  const metrics: CheckResult['metrics'] = { rows: ctx.nRows, rawIdentifierValues: Number(ids) };
  const flagged = new Set<string>();
  for (const e of exact) {
    const col = ctx.nameOf(e.col);
    flagged.add(col);
    metrics[`${col}|raw-identifier:${e.src}`] = Number(e.rows);
  }
  for (const q of pii) {
    const col = ctx.nameOf(q.col);
    flagged.add(col);
    metrics[`${col}|pattern:${q.det}`] = Number(q.rows);
  }
  for (const h of ctx.extra) {
    // Split findings name their columns joined by '+'; each is flagged.
    const names = h.kind === 'split' ? h.col : ctx.nameOf(h.col);
    for (const n of names.split('+')) flagged.add(h.kind === 'split' ? n : names);
    metrics[`${names}|${h.kind}:${h.src}`] = h.values;
  }
  Object.assign(metrics, ctx.extraMetrics);
  metrics['embeddedFindings'] = ctx.extra.filter((h) => h.kind !== 'split').length;
  metrics['splitFindings'] = ctx.extra.filter((h) => h.kind === 'split').length;
  const exactRows = exact.reduce((s, e) => s + Number(e.rows), 0);
  const piiRows = pii.reduce((s, q) => s + Number(q.rows), 0);
  metrics['exactMatchCells'] = exactRows;
  metrics['patternMatchCells'] = piiRows;
  metrics['columnsFlagged'] = flagged.size;
  const columns = [...flagged].sort();
  const fail = flagged.size > 0;
  return {
    id: 'B1',
    name: 'identifiers',
    status: fail ? ctx.thresholds.B1.status : 'pass',
    summary: fail
      ? `${columns.length} column(s) hold raw direct identifiers or PII patterns: ${columns.join(', ')} (${exactRows} exact, ${piiRows} pattern cells${ctx.extra.length > 0 ? `; ${ctx.extra.map((h) => `${h.kind === 'split' ? h.col : ctx.nameOf(h.col)} ${h.kind}`).join(', ')}` : ''})`
      : `no output value equals one of ${Number(ids)} raw identifier values or matches a PII pattern`,
    columns,
    metrics,
    parameters: {
      status: ctx.thresholds.B1.status,
      normalization: 'full-width→ASCII, every Unicode decimal digit, circled/parenthesized digits, Chinese numerals → ASCII digits, drop whitespace, dashes, underscores, slashes, brackets, upper case',
      embedded: 'digit runs in text (PII patterns), windows of each value\'s digits (raw identifiers, Poisson test)',
      split: 'ordered pairs and triples of columns concatenated, on a sample of distinct records',
      detectors: 'id-number(GB 11643), uscc(GB 32100), mobile, bank-card(Luhn, IIN 2-6), email',
      rawIdentifierColumns: ctx.idColumns,
      minIdentifierLength: ctx.minLen,
    },
  };
}

function groupBy(cols: string[]): string {
  return cols.map(quoteIdent).join(', ');
}

/** B3: the smallest equivalence class on the quasi-identifiers. */
async function checkKAnonymity(conn: DuckDBConnection, out: string, qis: string[], inferred: string[], nRows: number, t: Readonly<ExtractThresholds>): Promise<CheckResult> {
  const parameters = { failBelow: t.B3.failBelow, reviewBelow: t.B3.reviewBelow, inferredUniqueShare: t.quasiIdentifiers.uniqueShare, quasiIdentifiers: qis.join(',') };
  if (qis.length === 0 || nRows === 0) {
    return { id: 'B3', name: 'k-anonymity', status: 'pass', summary: qis.length === 0 ? 'no declared or inferred quasi-identifiers' : 'the output is empty', columns: [], metrics: { rows: nRows, k: nRows, classes: nRows === 0 ? 0 : 1, quasiIdentifiers: 0 }, parameters };
  }
  const r = await one<{ k: number; classes: number; fail_classes: number; fail_rows: number; review_classes: number; review_rows: number }>(conn,
    `SELECT min(sz)::BIGINT AS k, count(*)::BIGINT AS classes,
      count(*) FILTER (WHERE sz < ${t.B3.failBelow})::BIGINT AS fail_classes, coalesce(sum(sz) FILTER (WHERE sz < ${t.B3.failBelow}), 0)::BIGINT AS fail_rows,
      count(*) FILTER (WHERE sz < ${t.B3.reviewBelow})::BIGINT AS review_classes, coalesce(sum(sz) FILTER (WHERE sz < ${t.B3.reviewBelow}), 0)::BIGINT AS review_rows
     FROM (SELECT count(*) AS sz FROM ${out} GROUP BY ${groupBy(qis)})`);
  const k = Number(r.k);
  const status = statusOf(k < t.B3.failBelow, k < t.B3.reviewBelow);
  // For the reviewer's page: how many classes of each size (1–9 exact, then by
  // decade), and how many records at each prosecutor risk (1 / class size).
  const classes = `(SELECT count(*) AS sz FROM ${out} GROUP BY ${groupBy(qis)})`;
  const sizes = await queryJson<{ bin: number; n: number }>(conn,
    `SELECT (CASE WHEN sz < 10 THEN sz WHEN sz < 100 THEN sz // 10 * 10 WHEN sz < 1000 THEN sz // 100 * 100 ELSE 1000 END)::DOUBLE AS bin, count(*)::DOUBLE AS n FROM ${classes} GROUP BY 1 ORDER BY 1`);
  const risks = await queryJson<{ bin: number; n: number }>(conn,
    `SELECT (floor(least(1.0 / sz, 0.999) * 10) / 10)::DOUBLE AS bin, sum(sz)::DOUBLE AS n FROM ${classes} GROUP BY 1 ORDER BY 1`);
  return {
    series: {
      classSizeHistogram: sizes.map((x) => [Number(x.bin), Number(x.n)] as [number, number]),
      riskHistogram: risks.map((x) => [Number(x.bin), Number(x.n)] as [number, number]),
    },
    id: 'B3',
    name: 'k-anonymity',
    status,
    summary: `smallest class on ${qis.length} quasi-identifier(s) has ${k} row(s)${inferred.length > 0 ? ` (inferred: ${inferred.join(', ')})` : ''}; ${Number(r.fail_classes)} class(es) below ${t.B3.failBelow}, ${Number(r.review_classes)} below ${t.B3.reviewBelow}`,
    columns: qis,
    metrics: {
      rows: nRows, k, classes: Number(r.classes), quasiIdentifiers: qis.length, inferredQuasiIdentifiers: inferred.length,
      classesBelowFail: Number(r.fail_classes), rowsBelowFail: Number(r.fail_rows), shareBelowFail: Number(r.fail_rows) / nRows,
      classesBelowReview: Number(r.review_classes), rowsBelowReview: Number(r.review_rows),
    },
    parameters,
  };
}

/**
 * B4: distinct ℓ-diversity of each declared sensitive column within the QI classes.
 * ℓ cannot exceed what the attribute offers: a column with d distinct values
 * overall is held to min(asked ℓ, d) (a two-valued attribute well mixed in every
 * class passes; a class with a single value of it still fails). The report names
 * the asked and the applied bars per column.
 */
async function checkLDiversity(conn: DuckDBConnection, out: string, qis: string[], sensitive: string[], nRows: number, t: Readonly<ExtractThresholds>): Promise<CheckResult> {
  const parameters = { failBelow: t.B4.failBelow, reviewBelow: t.B4.reviewBelow, quasiIdentifiers: qis.join(',') };
  if (sensitive.length === 0 || nRows === 0) {
    return { id: 'B4', name: 'l-diversity', status: 'pass', summary: sensitive.length === 0 ? 'no declared sensitive columns' : 'the output is empty', columns: [], metrics: { rows: nRows, sensitiveColumns: sensitive.length }, parameters };
  }
  const metrics: CheckResult['metrics'] = { rows: nRows, sensitiveColumns: sensitive.length };
  let worst = Infinity;
  const flagged: string[] = [];
  const statuses: Status[] = [];
  const adapted: string[] = [];
  for (const s of sensitive) {
    const by = qis.length === 0 ? '' : `GROUP BY ${groupBy(qis)}`;
    const { d } = await one<{ d: number }>(conn, `SELECT count(DISTINCT ${quoteIdent(s)})::BIGINT AS d FROM ${out}`);
    const distinct = Number(d);
    const failBelow = Math.min(t.B4.failBelow, distinct);
    const reviewBelow = Math.min(t.B4.reviewBelow, distinct);
    const r = await one<{ l: number; fail_classes: number; fail_rows: number; review_classes: number }>(conn,
      `SELECT min(l)::BIGINT AS l, count(*) FILTER (WHERE l < ${failBelow})::BIGINT AS fail_classes,
        coalesce(sum(sz) FILTER (WHERE l < ${failBelow}), 0)::BIGINT AS fail_rows, count(*) FILTER (WHERE l < ${reviewBelow})::BIGINT AS review_classes
       FROM (SELECT count(DISTINCT ${quoteIdent(s)}) AS l, count(*) AS sz FROM ${out} ${by})`);
    const l = Number(r.l);
    metrics[`${s}|l`] = l;
    metrics[`${s}|distinctOverall`] = distinct;
    metrics[`${s}|askedFailBelow`] = t.B4.failBelow;
    metrics[`${s}|askedReviewBelow`] = t.B4.reviewBelow;
    metrics[`${s}|appliedFailBelow`] = failBelow;
    metrics[`${s}|appliedReviewBelow`] = reviewBelow;
    metrics[`${s}|classesBelowFail`] = Number(r.fail_classes);
    metrics[`${s}|rowsBelowFail`] = Number(r.fail_rows);
    metrics[`${s}|classesBelowReview`] = Number(r.review_classes);
    const status = statusOf(l < failBelow, l < reviewBelow);
    statuses.push(status);
    if (status !== 'pass') flagged.push(s);
    if (reviewBelow < t.B4.reviewBelow) {
      adapted.push(`${s}: ℓ ${reviewBelow} applied (asked ${t.B4.reviewBelow}; the column has ${distinct} distinct value${distinct === 1 ? '' : 's'} overall)`);
    }
    worst = Math.min(worst, l);
  }
  metrics['l'] = worst;
  const status = worstStatus(statuses);
  return {
    id: 'B4',
    name: 'l-diversity',
    status,
    summary: `smallest number of distinct sensitive values in a class is ${worst}${flagged.length > 0 ? ` (${flagged.join(', ')})` : ''}${adapted.length > 0 ? `; ${adapted.join('; ')}` : ''}`,
    columns: flagged,
    metrics,
    parameters,
  };
}

interface LinkageContext {
  out: string;
  columns: AuditColumn[];
  vals: string;
  raw: RawSource[];
  rawTypes: Map<string, string>[];
  nRows: number;
  thresholds: Readonly<ExtractThresholds>;
  comparableShare: number;
  nameOf: (alias: string) => string;
  prefix: string;
  created: string[];
}

/**
 * B5: for each raw table, the output columns that share a name with one of its
 * columns, are not tokens, and whose values mostly occur in the raw column (so a
 * generalized "1980-1989" does not pose as a birth date) form the link key; the
 * share of output rows whose key matches exactly one raw row is the linkage risk.
 * Comparison is on the VARCHAR rendering with NULL = NULL, which is how a
 * linker holding both files would join them.
 */
async function checkLinkage(conn: DuckDBConnection, ctx: LinkageContext): Promise<CheckResult> {
  const t = ctx.thresholds;
  const metrics: CheckResult['metrics'] = { rows: ctx.nRows };
  let worstShare = 0;
  let worstCols: string[] = [];
  for (const [i, r] of ctx.raw.entries()) {
    const types = ctx.rawTypes[i]!;
    const shared = ctx.columns.filter((c) => c.label !== 'token' && types.has(c.name));
    const key: AuditColumn[] = [];
    for (const c of shared) {
      const rawExpr = varcharExpr(c.name, types.get(c.name)!) ?? `CAST(${quoteIdent(c.name)} AS VARCHAR)`;
      const row = await one<{ found: number; total: number }>(conn,
        `SELECT coalesce(sum(o.n) FILTER (WHERE r.v IS NOT NULL), 0)::BIGINT AS found, coalesce(sum(o.n), 0)::BIGINT AS total
         FROM (SELECT v, n FROM ${ctx.vals} WHERE col = ${quoteLiteral(c.alias)}) o
         LEFT JOIN (SELECT DISTINCT ${rawExpr} AS v FROM ${quoteIdent(r.table)}) r ON o.v = r.v`);
      const share = Number(row.total) === 0 ? 0 : Number(row.found) / Number(row.total);
      metrics[`${r.table}.${c.name}|comparableShare`] = share;
      if (share >= ctx.comparableShare) key.push(c);
    }
    if (key.length === 0) {
      metrics[`${r.table}|linkedShare`] = 0;
      continue;
    }
    const oKey = key.map((c, j) => `${c.expr} AS k${j}`).join(', ');
    const rKey = key.map((c, j) => `${varcharExpr(c.name, types.get(c.name)!) ?? `CAST(${quoteIdent(c.name)} AS VARCHAR)`} AS k${j}`).join(', ');
    const on = key.map((_, j) => `o.k${j} IS NOT DISTINCT FROM r.k${j}`).join(' AND ');
    const ks = key.map((_, j) => `k${j}`).join(', ');
    const row = await one<{ linked: number }>(conn,
      `SELECT coalesce(sum(o.oc) FILTER (WHERE r.rc = 1), 0)::BIGINT AS linked
       FROM (SELECT ${ks}, count(*) AS oc FROM (SELECT ${oKey} FROM ${ctx.out}) GROUP BY ALL) o
       JOIN (SELECT ${ks}, count(*) AS rc FROM (SELECT ${rKey} FROM ${quoteIdent(r.table)}) GROUP BY ALL) r ON ${on}`);
    const share = ctx.nRows === 0 ? 0 : Number(row.linked) / ctx.nRows;
    metrics[`${r.table}|linkedRows`] = Number(row.linked);
    metrics[`${r.table}|linkedShare`] = share;
    metrics[`${r.table}|keyColumns`] = key.length;
    if (share >= worstShare) {
      worstShare = share;
      worstCols = key.map((c) => c.name);
    }
  }
  metrics['linkedShare'] = worstShare;
  const fail = worstShare > t.B5.maxShare;
  return {
    id: 'B5',
    name: 'linkage',
    status: fail ? 'fail' : 'pass',
    summary: worstCols.length === 0
      ? 'no comparable non-token column shared with the raw data'
      : `${(worstShare * 100).toFixed(2)}% of output rows link to exactly one raw row on ${worstCols.join(', ')}`,
    columns: worstCols,
    metrics,
    parameters: { maxShare: t.B5.maxShare, comparableShare: ctx.comparableShare },
  };
}
