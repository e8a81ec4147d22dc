/**
 * Content checks of the extract audit that find identifiers wherever a column
 * carries them, whatever the column's declared class or label, and whatever the
 * row multiplicity: every query works on distinct values or distinct records.
 *
 * - B1, embedded: identifiers inside free text (after folding width, digit
 *   scripts, circled digits and case), as bounded digit runs checked by the PII
 *   patterns, and as windows of the text's digits joined with the raw
 *   identifiers (a Poisson test against chance keeps long digit strings from
 *   matching by accident);
 * - B1, split: two or three columns concatenated (either order, separators
 *   dropped) that equal a raw identifier, on a seeded sample of distinct records;
 * - B2, digit ciphers: a column of digit strings that maps, position by
 *   position, onto a raw identifier by a shift (+k mod 10, or a repeating key of
 *   up to three digits), by a digit substitution (learned by aligning values on
 *   their pattern of repeated digits), or by a substitution or key written as a
 *   literal in the spec.
 *
 * Nothing here reads a data value into JavaScript; only counts leave DuckDB.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryJson, quoteIdent, quoteLiteral } from '../lib/duck.js';
import { foldSql, normalizeSql } from './pii-sql.js';
import { idNumberSql, mobileSql, bankCardSql } from './pii-sql.js';

/** Options of the content checks; defaults in {@link DEFAULT_CONTENT_OPTIONS}. */
export interface ContentOptions {
  /** A finding by chance must be less likely than this (Poisson / binomial tail). */
  alpha: number;
  /** Distinct records sampled for the column-combination search. */
  splitSample: number;
  /** Most ordered column combinations (pairs and triples) tried. */
  maxCombinations: number;
  /** Digit-string values sampled per candidate column for the cipher search. */
  cipherSample: number;
  /** Share of sampled values a cipher must decode onto raw identifiers to be reported. */
  cipherShare: number;
  /** Longest text (characters) whose digits are scanned in full; longer values are cut. */
  maxTextLength: number;
  /** Seed of every sample. */
  seed: number;
}

/** Defaults of {@link ContentOptions}. */
export const DEFAULT_CONTENT_OPTIONS: Readonly<ContentOptions> = Object.freeze({
  alpha: 1e-6,
  splitSample: 5_000,
  maxCombinations: 160,
  cipherSample: 256,
  cipherShare: 0.2,
  maxTextLength: 4096,
  seed: 20240917,
});

/** A finding: output column(s), what matched, which raw source, distinct values (or sampled records) that matched. */
export interface ContentHit {
  col: string;
  kind: string;
  src: string;
  values: number;
}

/** What the content checks need from the extract audit. */
export interface ContentContext {
  /** Prefix of temporary table names. */
  prefix: string;
  /** Temp tables created here are appended so that the caller drops them. */
  created: string[];
  /** Temp table (col alias, v VARCHAR, n) of the distinct values of every output column. */
  vals: string;
  /**
   * Temp table (col, v, n, nv normalized) of the rows of `vals` whose value is at most `vnMaxLen`
   * characters long (or holds an '@'): values normalized once for every content search.
   */
  vn: string;
  vnMaxLen: number;
  /** The distinct lengths (characters) of the values in `rid`. */
  ridLens: number[];
  /** Temp table (v normalized, src) of raw identifier values. */
  rid: string;
  /** Distinct records of the output (a table or view), columns as in the output. */
  records: string;
  /** Output columns with their VARCHAR rendering and alias in `vals`. */
  columns: { name: string; expr: string; label: string; alias: string }[];
  /** String literals of the context (spec, SQL): substitution alphabets and keys are looked for among them. */
  literals: string[];
}

/** `vn` when it holds every value of at most `len` characters, else `vals` normalized here (col, v, nv). */
function shortValues(ctx: ContentContext, len: number): string {
  return ctx.vn !== '' && len <= ctx.vnMaxLen ? ctx.vn : `(SELECT col, v, ${normalizeSql('v')} AS nv FROM ${ctx.vals} WHERE length(v) <= ${len})`;
}

/**
 * Raw identifiers of 7+ characters that are digit strings (an ID number's final X allowed), with their
 * length, from `rid` (distinct per source): built once for the window search and the digit ciphers.
 */
async function digitIdentifiers(conn: DuckDBConnection, ctx: ContentContext): Promise<string> {
  const t = `${ctx.prefix}_ridd`;
  if (!ctx.created.includes(t)) {
    ctx.created.push(t);
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${t} AS SELECT v, src, length(v) AS l FROM ${ctx.rid} WHERE length(v) >= 7 AND regexp_full_match(v, '\\d+X?')`);
  }
  return t;
}

function poissonSf(hits: number, mean: number): number {
  // P(X >= hits) for X ~ Poisson(mean).
  if (hits <= 0) return 1;
  if (mean <= 0) return 0;
  let term = Math.exp(-mean);
  let cdf = term;
  for (let k = 1; k < hits; k++) {
    term *= mean / k;
    cdf += term;
  }
  return Math.max(0, 1 - cdf);
}

function binomialTail(hits: number, n: number, p: number): number {
  // P(X >= hits), X ~ Bin(n, p), by the normal approximation with continuity correction
  // (exact enough for a 1e-6 decision; n is at most a few million).
  if (hits <= 0) return 1;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const mu = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  if (hits <= mu) return 1;
  const z = (hits - 0.5 - mu) / sd;
  // Upper tail of the standard normal (Abramowitz–Stegun 26.2.17).
  const t = 1 / (1 + 0.2316419 * z);
  const d = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  return d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
}

/** Runs of digits inside text, with single separators between the digits (not dots: decimals stay apart). */
const RUN_RE = `\\d(?:[ \\t\\-_/·\\x{2010}-\\x{2015}\\x{2212}]?\\d)*(?:[ \\-]?X)?`;

/** Chance that a random value of the detector's shape passes it (check digit, prefix ranges). */
const SHAPES: { det: string; shape: string; p: number; test: (v: string) => string }[] = [
  { det: 'id-number', shape: `regexp_full_match(r, '\\d{17}[0-9X]')`, p: 1e-3, test: idNumberSql },
  { det: 'mobile', shape: `regexp_full_match(r, '(86)?1\\d{10}')`, p: 0.7, test: (v) => mobileSql(v) },
  { det: 'bank-card', shape: `regexp_full_match(r, '[2-6]\\d{12,18}')`, p: 0.1, test: bankCardSql },
];

/**
 * B1 inside text: bounded digit runs checked by the PII patterns, and windows of
 * every value's digits joined with the raw identifiers that are digit strings.
 * A (column, pattern) is reported when its hits are not explained by chance:
 * every eligible run matched, or a binomial tail below `alpha`; in a numeric
 * column (all values numbers) "every eligible" must also be at least half the
 * column's values, so an amount that happens to look like a phone is not one.
 * A (column, raw source) window match is reported when a Poisson tail of the
 * expected chance matches (windows × raw values / 10^length) is below `alpha`.
 */
export async function embeddedIdentifiers(conn: DuckDBConnection, ctx: ContentContext, o: Readonly<ContentOptions>): Promise<{ hits: ContentHit[]; metrics: Record<string, number> }> {
  const t = `${ctx.prefix}_tx`;
  ctx.created.push(t, `${t}_runs`, `${t}_rw`, `${t}_w`);
  // Tokens and digests (hex, base64) are B2's: their digit runs are random, and there are millions.
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${t} AS
    SELECT col, v, f FROM (SELECT col, v, ${foldSql('v0')} AS f FROM (SELECT col, v, left(v, ${o.maxTextLength}) AS v0 FROM ${ctx.vals}
      WHERE v IS NOT NULL AND length(v) >= 6 AND NOT (length(v) IN (32, 40, 64, 128) AND regexp_full_match(v, '[0-9A-Fa-f]+') AND NOT regexp_full_match(v, '\\d+'))
        AND NOT (length(v) IN (22, 24, 27, 28, 43, 44, 86, 88) AND regexp_full_match(v, '[A-Za-z0-9+/_-]+={0,2}') AND regexp_matches(v, '[a-z]') AND regexp_matches(v, '[A-Z]'))))
    WHERE regexp_matches(f, '\\d')`);
  // (Values of a digest's length and alphabet are left out: their digit runs are random and there are millions of them.)
  const total = await queryJson<{ col: string; nd: number; numeric: boolean }>(conn,
    `SELECT col, count(*)::BIGINT AS nd, bool_and(regexp_full_match(v, '[+-]?\\d+(\\.\\d+)?([eE][+-]?\\d+)?')) AS numeric FROM ${ctx.vals} WHERE v IS NOT NULL GROUP BY col`);
  const colInfo = new Map(total.map((r) => [r.col, { nd: Number(r.nd), numeric: r.numeric }]));
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${t}_runs AS
    SELECT DISTINCT col, v, regexp_replace(r, '[^0-9X]', '', 'g') AS r FROM (SELECT col, v, unnest(regexp_extract_all(f, '${RUN_RE}')) AS r FROM ${t})`);
  const hits: ContentHit[] = [];
  const metrics: Record<string, number> = {};
  const pat = await queryJson<{ col: string; det: string; eligible: number; hits: number }>(conn, SHAPES.map((s) =>
    `SELECT col, ${quoteLiteral(s.det)} AS det, count(DISTINCT v)::BIGINT AS eligible, count(DISTINCT v) FILTER (WHERE ${s.test('r')})::BIGINT AS hits FROM ${t}_runs WHERE ${s.shape} GROUP BY col`).join(' UNION ALL '));
  for (const r of pat) {
    const h = Number(r.hits);
    const e = Number(r.eligible);
    if (h === 0) continue;
    const p = SHAPES.find((s) => s.det === r.det)!.p;
    const info = colInfo.get(r.col) ?? { nd: e, numeric: false };
    // A column of numbers is the whole-value check's (a run there is the value itself).
    if (info.numeric) continue;
    const whole = h === e;
    if (whole || binomialTail(h, e, p) < o.alpha) hits.push({ col: r.col, kind: `embedded-pattern:${r.det}`, src: 'pattern', values: h });
  }
  // Windows of the digits of each value (any separator, letters, dots) against raw digit identifiers.
  const ridd = await digitIdentifiers(conn, ctx);
  // One row per digit string w with the sources holding it: the count per length is then count(*).
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${t}_rw AS SELECT CASE WHEN suffix(v, 'X') THEN left(v, -1) ELSE v END AS w, list(DISTINCT src) AS srcs FROM ${ridd} GROUP BY 1`);
  const lens = await queryJson<{ l: number; n: number }>(conn, `SELECT length(w) AS l, count(*)::BIGINT AS n FROM ${t}_rw GROUP BY 1`);
  if (lens.length > 0) {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${t}_w AS
      SELECT col, v, d FROM (SELECT col, v, regexp_replace(f, '[^0-9]', '', 'g') AS d FROM ${t}) WHERE length(d) >= ${Math.min(...lens.map((x) => Number(x.l)))}`);
    const win = await queryJson<{ col: string; src: string; hits: number }>(conn,
      `SELECT col, src, count(DISTINCT v)::BIGINT AS hits FROM (SELECT w.col, w.v, unnest(r.srcs) AS src FROM (
         SELECT col, v, substr(d, i, l) AS s, l FROM (SELECT col, v, d, l FROM ${t}_w, (SELECT unnest([${lens.map((x) => Number(x.l)).join(', ')}]) AS l) WHERE length(d) >= l),
           LATERAL (SELECT unnest(range(1, length(d) - l + 2)) AS i)) w
       JOIN ${t}_rw r ON r.w = w.s AND length(r.w) = w.l) GROUP BY ALL`);
    if (win.length > 0) {
      const windows = await queryJson<{ col: string; l: number; n: number }>(conn,
        `SELECT col, l, sum(length(d) - l + 1)::DOUBLE AS n FROM ${t}_w, (SELECT unnest([${lens.map((x) => Number(x.l)).join(', ')}]) AS l) WHERE length(d) >= l GROUP BY ALL`);
      for (const w of win) {
        const expected = windows.filter((x) => x.col === w.col).reduce((s, x) => s + Number(x.n) * Number(lens.find((y) => Number(y.l) === Number(x.l))!.n) / 10 ** Number(x.l), 0);
        if (poissonSf(Number(w.hits), expected) < o.alpha) hits.push({ col: w.col, kind: 'embedded', src: w.src, values: Number(w.hits) });
      }
    }
  }
  metrics['textValuesScanned'] = Number((await queryJson<{ n: number }>(conn, `SELECT count(*)::BIGINT AS n FROM ${t}`))[0]!.n);
  return { hits, metrics };
}

/**
 * B1 across columns: on a seeded sample of distinct records, every ordered pair
 * and triple of short, non-token columns whose value lengths can add up to a
 * raw identifier's is concatenated (normalized, so separators in the pieces
 * vanish) and joined with the raw identifiers. A combination is reported when
 * a digit identifier of 7+ characters is restored at least once beyond chance,
 * or any identifier for at least 1% of the sample (three records at least).
 */
export async function splitIdentifiers(conn: DuckDBConnection, ctx: ContentContext, o: Readonly<ContentOptions>): Promise<{ hits: ContentHit[]; metrics: Record<string, number> }> {
  const ridLens = ctx.ridLens;
  const maxLen = Math.max(0, ...ridLens);
  const metrics: Record<string, number> = { combinationsTried: 0, splitSampleRecords: 0 };
  if (maxLen === 0) return { hits: [], metrics };
  const prof = await queryJson<{ col: string; lens: number[] }>(conn,
    `SELECT col, list(DISTINCT length(nv)) AS lens FROM ${shortValues(ctx, maxLen + 5)} WHERE v IS NOT NULL AND length(v) < ${maxLen} + 6 GROUP BY col HAVING max(length(v)) < ${maxLen} + 6`);
  const cands = ctx.columns.filter((c) => c.label !== 'token' && prof.some((p) => p.col === c.alias));
  const lensOf = new Map(prof.map((p) => [p.col, new Set(p.lens.map(Number).filter((l) => l > 0))]));
  const sums = (cols: string[]): Set<number> => cols.reduce((acc, c) => {
    const out = new Set<number>();
    for (const a of acc) for (const b of lensOf.get(c) ?? []) if (a + b <= maxLen) out.add(a + b);
    return out;
  }, new Set([0]));
  const target = new Set(ridLens);
  const combos: string[][] = [];
  for (const a of cands) for (const b of cands) {
    if (a === b) continue;
    if ([...sums([a.alias, b.alias])].some((l) => target.has(l))) combos.push([a.alias, b.alias]);
  }
  for (const a of cands) for (const b of cands) for (const c of cands) {
    if (a === b || b === c || a === c) continue;
    if ([...sums([a.alias, b.alias, c.alias])].some((l) => target.has(l))) combos.push([a.alias, b.alias, c.alias]);
  }
  const tried = combos.slice(0, o.maxCombinations);
  metrics['combinationsTried'] = tried.length;
  metrics['combinationsSkipped'] = combos.length - tried.length;
  if (tried.length === 0) return { hits: [], metrics };
  const used = [...new Set(tried.flat())];
  const byAlias = new Map(ctx.columns.map((c) => [c.alias, c]));
  const s = `${ctx.prefix}_split`;
  ctx.created.push(s);
  // Records are sampled by a seeded hash of the whole record (its columns as stored, so only the sample
  // is rendered as text): the same distinct records, however often repeated or ordered.
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${s} AS SELECT ${used.map((a) => `coalesce(${normalizeSql(a)}, '') AS ${a}`).join(', ')}
    FROM (SELECT ${used.map((a) => `${byAlias.get(a)!.expr} AS ${a}`).join(', ')} FROM (SELECT ${used.map((a) => quoteIdent(byAlias.get(a)!.name)).join(', ')} FROM ${ctx.records} ORDER BY hash(${ctx.columns.map((c) => quoteIdent(c.name)).join(', ')}, ${o.seed}) LIMIT ${o.splitSample}))`);
  const n = Number((await queryJson<{ n: number }>(conn, `SELECT count(*)::BIGINT AS n FROM ${s}`))[0]!.n);
  metrics['splitSampleRecords'] = n;
  const rows = await queryJson<{ k: number; src: string; hits: number; l: number }>(conn,
    `SELECT x.k, r.src, count(*)::BIGINT AS hits, any_value(length(r.v)) AS l FROM (${tried.map((cs, k) => `SELECT ${k} AS k, ${cs.join(' || ')} AS v FROM ${s} WHERE length(${cs.join(' || ')}) IN (${ridLens.join(', ')})`).join(' UNION ALL ')}) x
     JOIN ${ctx.rid} r ON r.v = x.v GROUP BY ALL`);
  const rawCount = new Map((await queryJson<{ src: string; l: number; n: number }>(conn, `SELECT src, length(v) AS l, count(*)::BIGINT AS n FROM ${ctx.rid} GROUP BY ALL`)).map((r) => [`${r.src}|${r.l}`, Number(r.n)]));
  const hits: ContentHit[] = [];
  for (const r of rows) {
    const h = Number(r.hits);
    const l = Number(r.l);
    const digitLike = l >= 7;
    const chance = digitLike ? poissonSf(h, (n * (rawCount.get(`${r.src}|${l}`) ?? 0)) / 10 ** l) : 1;
    if ((digitLike && chance < o.alpha) || (h >= 3 && h >= 0.01 * n)) {
      hits.push({ col: tried[Number(r.k)]!.map((a) => byAlias.get(a)!.name).join('+'), kind: 'split', src: r.src, values: h });
    }
  }
  return { hits, metrics };
}

/**
 * B2, digit ciphers. Candidates are output columns whose distinct values are
 * mostly digit strings (an ID number's final X allowed) of the length of some
 * raw identifier that is a digit string. For each, a seeded sample of values is
 * decoded under every hypothesis and joined with the raw identifiers; the best
 * hypothesis of each family is reported when it decodes at least `cipherShare`
 * of the sample (and three values):
 * - shifts: +k mod 10 at every position, and repeating keys of period 2 and 3
 *   (1,110 keys), plus every digit-string literal of the context as a key;
 * - substitution: a bijection of the ten digits, learned by aligning each
 *   sampled value with the raw identifiers that have the same pattern of
 *   repeated digits and taking, for each output digit, the raw digit it most
 *   often stands for; plus every pair of ten-character literals as a
 *   translate() alphabet.
 */
export async function digitCiphers(conn: DuckDBConnection, ctx: ContentContext, o: Readonly<ContentOptions>): Promise<{ hits: ContentHit[]; metrics: Record<string, number> }> {
  const p = `${ctx.prefix}_cip`;
  const metrics: Record<string, number> = { cipherCandidateColumns: 0 };
  ctx.created.push(`${p}_s`, `${p}_keys`, `${p}_n`);
  // rid is distinct per (v, src), so its digit identifiers need no DISTINCT.
  const raw = await digitIdentifiers(conn, ctx);
  const rawLens = (await queryJson<{ l: number }>(conn, `SELECT DISTINCT l FROM ${raw}`)).map((r) => Number(r.l));
  if (rawLens.length === 0) return { hits: [], metrics };
  const maxRaw = Math.max(...rawLens);
  const cand = await queryJson<{ col: string; l: number }>(conn,
    `SELECT c.col, c.l FROM (SELECT col, length(nv) AS l, count(*) AS k FROM (SELECT col, nv FROM ${shortValues(ctx, maxRaw * 3)} WHERE v IS NOT NULL AND length(v) <= ${maxRaw * 3})
       WHERE regexp_full_match(nv, '\\d+X?') GROUP BY ALL) c
     JOIN (SELECT col, count(*) AS tot FROM ${ctx.vals} WHERE v IS NOT NULL GROUP BY col) t USING (col)
     WHERE c.k * 10 >= t.tot * 9 AND c.l IN (${rawLens.join(', ')})`);
  const cols = cand.filter((c) => ctx.columns.find((x) => x.alias === c.col)?.label !== 'token');
  metrics['cipherCandidateColumns'] = cols.length;
  if (cols.length === 0) return { hits: [], metrics };
  // Sample: distinct digit values per candidate, by a seeded hash (multiplicity-free).
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${p}_s AS SELECT col, nv, l FROM (
      SELECT col, nv, length(nv) AS l, row_number() OVER (PARTITION BY col ORDER BY hash(nv, ${o.seed}), nv) AS rn
      FROM (SELECT DISTINCT col, ${normalizeSql('v')} AS nv FROM ${ctx.vals} WHERE col IN (${cols.map((c) => quoteLiteral(c.col)).join(', ')})) WHERE regexp_full_match(nv, '\\d+X?'))
    WHERE rn <= ${o.cipherSample} AND l IN (${rawLens.join(', ')})`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${p}_n AS SELECT col, count(*) AS tried FROM ${p}_s GROUP BY col`);
  // Shift keys: every key of period 1–3 as an 18-digit string, and digit literals of the context, each used subtracting and adding.
  const digitLits = [...new Set(ctx.literals.filter((s) => /^\d{1,32}$/.test(s)))].slice(0, 200);
  const keyRows = [
    `SELECT 'shift' AS fam, repeat(CAST(i AS VARCHAR), 32) AS k FROM range(1, 10) t(i)`,
    `SELECT 'repeating key' AS fam, repeat(lpad(CAST(i AS VARCHAR), 2, '0'), 16) AS k FROM range(0, 100) t(i) WHERE i % 11 <> 0`,
    `SELECT 'repeating key' AS fam, left(repeat(lpad(CAST(i AS VARCHAR), 3, '0'), 11), 32) AS k FROM range(0, 1000) t(i) WHERE i % 111 <> 0`,
    ...digitLits.map((s) => `SELECT 'key from the spec' AS fam, left(repeat(${quoteLiteral(s)}, ${Math.ceil(32 / s.length)}), 32) AS k`),
  ];
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${p}_keys AS ${keyRows.join(' UNION ALL ')}`);
  const digitAt = (v: string, i: string): string => `(ascii(substr(${v}, ${i}, 1)) - 48)`;
  const decodeShift = (sign: 1 | -1): string =>
    `list_reduce(list_transform(range(1, length(s.nv) + 1), lambda i: CASE WHEN substr(s.nv, i, 1) = 'X' THEN 'X' ELSE CAST(((${digitAt('s.nv', 'i')} ${sign > 0 ? '-' : '+'} ${digitAt('k.k', 'i')} + 20) % 10) AS VARCHAR) END), lambda a, b: a || b)`;
  const shift = await queryJson<{ col: string; fam: string; src: string; hits: number; tried: number }>(conn,
    `WITH d AS (SELECT s.col, s.nv, k.fam, k.k, ${decodeShift(1)} AS dv FROM ${p}_s s, ${p}_keys k
                UNION ALL SELECT s.col, s.nv, k.fam, k.k, ${decodeShift(-1)} AS dv FROM ${p}_s s, ${p}_keys k WHERE k.fam = 'key from the spec'),
          per AS (SELECT d.col, d.fam, d.k, r.src, count(DISTINCT d.nv) AS hits FROM d JOIN ${raw} r ON r.v = d.dv GROUP BY ALL)
     SELECT col, fam, src, max(hits)::BIGINT AS hits, any_value(n.tried)::BIGINT AS tried FROM per JOIN ${p}_n n USING (col) GROUP BY col, fam, src`);
  // Substitution: align on the pattern of repeated digits, vote, decode.
  const pattern = (v: string): string => `list_transform(string_split(${v}, ''), lambda c: list_position(string_split(${v}, ''), c))::VARCHAR`;
  const subst = await queryJson<{ col: string; src: string; hits: number; tried: number }>(conn,
    `WITH sp AS (SELECT col, nv, ${pattern('nv')} AS pt FROM ${p}_s),
          rp AS (SELECT v, src, ${pattern('v')} AS pt FROM ${raw} WHERE l IN (SELECT DISTINCT l FROM ${p}_s)),
          pairs AS (SELECT sp.col, sp.nv, rp.v, rp.src FROM sp JOIN rp ON sp.pt = rp.pt),
          votes AS (SELECT col, src, e, d, count(*) AS c FROM (SELECT col, src, substr(nv, i, 1) AS e, substr(v, i, 1) AS d FROM pairs, LATERAL (SELECT unnest(range(1, length(nv) + 1)) AS i)) WHERE e <> 'X' GROUP BY ALL),
          best AS (SELECT col, src, e, arg_max(d, c) AS d FROM votes GROUP BY ALL),
          alpha AS (SELECT col, src, string_agg(e, '' ORDER BY e) AS f, string_agg(d, '' ORDER BY e) AS t FROM best GROUP BY ALL),
          dec AS (SELECT s.col, a.src, s.nv, translate(s.nv, a.f, a.t) AS dv FROM ${p}_s s JOIN alpha a USING (col))
     SELECT dec.col, dec.src, count(DISTINCT dec.nv)::BIGINT AS hits, any_value(n.tried)::BIGINT AS tried
     FROM dec JOIN ${raw} r ON r.v = dec.dv AND r.src = dec.src JOIN ${p}_n n ON n.col = dec.col GROUP BY ALL`);
  // Alphabets written in the spec: translate(x, '0123456789', '5830…') or the reverse.
  const alphabets = [...new Set(ctx.literals.filter((s) => /^\d{10}$/.test(s) && new Set(s).size === 10))].slice(0, 40);
  const lit: { col: string; src: string; hits: number; tried: number }[] = [];
  if (alphabets.length > 1) {
    const pairsSql = alphabets.flatMap((a) => alphabets.filter((b) => b !== a).map((b) => `SELECT ${quoteLiteral(a)} AS f, ${quoteLiteral(b)} AS t`)).join(' UNION ALL ');
    lit.push(...await queryJson<{ col: string; src: string; hits: number; tried: number }>(conn,
      `SELECT x.col, x.src, max(x.h)::BIGINT AS hits, any_value(n.tried)::BIGINT AS tried FROM (
         SELECT s.col, a.f, a.t, r.src, count(DISTINCT s.nv) AS h FROM ${p}_s s CROSS JOIN (${pairsSql}) a JOIN ${raw} r ON r.v = translate(s.nv, a.f, a.t) GROUP BY ALL) x
       JOIN ${p}_n n USING (col) GROUP BY x.col, x.src`));
  }
  const hits: ContentHit[] = [];
  const report = (col: string, kind: string, src: string, h: number, tried: number): void => {
    if (h >= 3 && h >= o.cipherShare * tried) hits.push({ col, kind, src, values: h });
  };
  for (const r of shift) report(r.col, `digit cipher (${r.fam})`, r.src, Number(r.hits), Number(r.tried));
  for (const r of subst) report(r.col, 'digit cipher (substitution)', r.src, Number(r.hits), Number(r.tried));
  for (const r of lit) report(r.col, 'digit cipher (alphabet from the spec)', r.src, Number(r.hits), Number(r.tried));
  metrics['cipherSampledValues'] = Number((await queryJson<{ n: number }>(conn, `SELECT count(*)::BIGINT AS n FROM ${p}_s`))[0]!.n);
  return { hits, metrics };
}

/**
 * Every string a careless or adversarial operator might use as a salt or key,
 * from the audit's context: the given literals (spec and SQL string literals,
 * dataset, agreement, spec, step and output names) and every column name, each
 * as written, lower- and upper-cased. Deduplicated, at most `max`.
 */
export function contextSalts(literals: readonly string[], columnNames: readonly string[], max: number): string[] {
  const out = new Set<string>();
  for (const s of [...literals, ...columnNames]) {
    if (s.length === 0 || s.length > 128) continue;
    out.add(s);
    out.add(s.toLowerCase());
    out.add(s.toUpperCase());
  }
  return [...out].slice(0, max);
}

/** The string literals of an SQL text ('…' with '' as an escaped quote), for {@link contextSalts}. */
export function sqlStringLiterals(sql: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^']|'')*)'/g;
  for (const m of sql.matchAll(re)) out.push(m[1]!.replaceAll("''", "'"));
  // Bare numbers too: a shift key or a constant salt may be written as a number.
  for (const m of sql.matchAll(/\b\d{1,32}\b/g)) out.push(m[0]);
  return out;
}
