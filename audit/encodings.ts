/**
 * B2 of the non-restoration audit: does an output column equal a raw identifier
 * under a transform anyone can repeat without a key? Reversible encodings
 * (reversal, hex, base64) are decoded on the output side and joined with every
 * raw identifier; one-way hashes (MD5, SHA-1, SHA-256, as hex or base64 digests)
 * are attacked the way an outsider would: hash candidate raw values, with no
 * salt, known salts, or salts the output itself carries, and join.
 */
import { createHash } from 'node:crypto';
import { DuckDBScalarFunction, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { queryJson, quoteIdent, quoteLiteral } from '../lib/duck.js';
import type { CheckResult } from './types.js';
import type { Thresholds } from './thresholds.js';
import { normalizeSql, trimSql } from './pii-sql.js';

/** Search options of {@link checkReversibleEncodings}; defaults in {@link DEFAULT_ENCODING_OPTIONS}. */
export interface EncodingOptions {
  /** Salts an attacker would try first (public defaults, leaked configs). The empty salt is always tried. */
  knownSalts: string[];
  /** Separators tried between a salt and the value. */
  separators: string[];
  /** A raw quasi-identifier or sensitive column with at most this many distinct values is hashed in full (dictionary attack). */
  smallDomainMax: number;
  /**
   * Expected hits the raw-side sample is sized for: a column that hashes every
   * output row's identifier is missed with probability about e^-targetHits.
   */
  targetHits: number;
  /** Least raw identifier values hashed per source column (all of them when fewer). */
  minRawSample: number;
  /** Most hash evaluations spent on per-row salts (salt in another column of the same row). */
  perRowBudget: number;
  /** Most (hash column, salt column) pairs tried for per-row salts. */
  maxPerRowPairs: number;
  /** Seed of the raw-side and row samples. */
  seed: number;
  /** Most context salts (spec literals, names, column names) tried. */
  maxContextSalts: number;
  /** Least raw identifier values hashed per source under each salt (the unsalted sample is larger). */
  saltedMinSample: number;
  /** Most raw identifier values hashed per source under each salt. */
  saltedMaxSample: number;
}

/** Defaults of {@link EncodingOptions}. */
export const DEFAULT_ENCODING_OPTIONS: Readonly<EncodingOptions> = Object.freeze({
  knownSalts: ['salt', 'secret'],
  separators: ['', ':', '|', '-', '_', '#', ' ', '.'],
  smallDomainMax: 100_000,
  targetHits: 20,
  minRawSample: 5_000,
  perRowBudget: 2_000_000,
  maxPerRowPairs: 4,
  seed: 20240601,
  maxContextSalts: 96,
  saltedMinSample: 128,
  saltedMaxSample: 4_000,
});

/** What {@link checkReversibleEncodings} needs from the extract audit (temp tables already built). */
export interface EncodingContext {
  /** Prefix of temporary table names. */
  prefix: string;
  /** The output table, already quoted. */
  output: string;
  /** Output columns with their VARCHAR rendering and alias in `vals`. */
  columns: { name: string; expr: string; label: string; alias: string }[];
  /** Temp table (col alias, v VARCHAR, n rows) of the output's distinct values. */
  vals: string;
  /** Temp table (col alias, nv normalized VARCHAR, n rows) of the output's distinct normalized values. */
  nv: string;
  /** Temp table (v normalized, src) of raw direct-identifier values. */
  rid: string;
  /** The distinct lengths (characters) of the values in `rid`. */
  ridLens: number[];
  /** Temp table (v as stored and trimmed, nv normalized, src) of raw direct-identifier values. */
  rawIds: string;
  /** Raw lineage tables. */
  raw: { table: string; directIdentifiers: string[]; quasiIdentifiers: string[]; sensitive: string[] }[];
  nRows: number;
  thresholds: Readonly<Pick<Thresholds, 'B2'>>;
  /** Temp tables created here are appended so that the caller drops them. */
  created: string[];
  /** Salts from the audit's context (spec literals, names, column names); never reported, only counted. */
  salts?: string[];
  /** Findings of other keyless-transform searches (digit ciphers) to report under B2. */
  extra?: { col: string; kind: string; src: string; values: number }[];
  extraMetrics?: Record<string, number>;
}

const HASHES: Record<number, 'md5' | 'sha1' | 'sha256' | 'sluice_sha512'> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sluice_sha512' };
const ALGO_NAME: Record<string, string> = { md5: 'md5', sha1: 'sha1', sha256: 'sha256', sluice_sha512: 'sha512' };

const registered = new WeakSet<DuckDBConnection>();
/**
 * DuckDB has MD5, SHA-1 and SHA-256 but no SHA-512: a scalar function
 * `sluice_sha512(VARCHAR) → hex` backed by node:crypto is registered on the
 * connection (once). It runs on the JS thread (≈15 µs a value), so B2 calls it
 * only when the output holds SHA-512-shaped digests, and on samples.
 */
export function registerSha512(conn: DuckDBConnection): void {
  if (registered.has(conn)) return;
  conn.registerScalarFunction(DuckDBScalarFunction.create({
    name: 'sluice_sha512',
    returnType: VARCHAR,
    parameterTypes: [VARCHAR],
    mainFunction: (_info, input, output) => {
      const v = input.getColumnVector(0);
      for (let i = 0; i < input.rowCount; i++) {
        const x = v.getItem(i);
        output.setItem(i, x === null ? null : createHash('sha512').update(String(x)).digest('hex'));
      }
      output.flush();
    },
  }));
  registered.add(conn);
}

/**
 * A digest in lower-case hex from a VARCHAR `t`: itself when it is 32/40/64 hex
 * characters, or the hex of a base64 string that decodes to 16/20/32 bytes; NULL
 * otherwise. Lengths are tested first so the regular expressions run on few values.
 */
function digestSql(t: string): string {
  // Base64 of 16/20/32/64 bytes, padded or not, standard or URL-safe alphabet.
  const b64 = `replace(replace(rtrim(${t}, '='), '-', '+'), '_', '/')`;
  return `CASE WHEN length(${t}) IN (32, 40, 64, 128) THEN (CASE WHEN regexp_full_match(${t}, '[0-9A-Fa-f]+') THEN lower(${t}) END)
    WHEN length(${t}) IN (22, 24, 27, 28, 43, 44, 86, 88) THEN (CASE WHEN regexp_full_match(${t}, '[A-Za-z0-9+/_-]+={0,2}') AND length(rtrim(${t}, '=')) IN (22, 27, 43, 86)
      THEN lower(hex(from_base64(${b64} || repeat('=', ((4 - length(${b64}) % 4) % 4)::INTEGER)))) END) END`;
}

/**
 * DuckDB's own `hash()` (a UBIGINT) as an output may render it: its decimal
 * digits (15–20), the signed reading of the same 64 bits, or 16 hex digits.
 * Returns the UBIGINT, or NULL.
 */
function duckHashSql(t: string): string {
  return `CASE WHEN length(${t}) BETWEEN 15 AND 20 AND regexp_full_match(${t}, '\\d+') THEN TRY_CAST(${t} AS UBIGINT)
    WHEN length(${t}) BETWEEN 16 AND 20 AND regexp_full_match(${t}, '-\\d+') THEN TRY_CAST(TRY_CAST(${t} AS HUGEINT) + 18446744073709551616::HUGEINT AS UBIGINT)
    WHEN length(${t}) = 16 AND regexp_full_match(${t}, '[0-9A-Fa-f]+') THEN TRY_CAST(('0x' || ${t}) AS UBIGINT) END`;
}

interface Hit {
  col: string;
  tf: string;
  src: string;
  rows: number;
}

/**
 * B2: fails when any output column equals a raw value under a keyless transform.
 *
 * - reversal: normalized reversed output value equals a raw identifier of ≥ 6
 *   characters that is not a palindrome of itself (short names reverse into
 *   other real names by chance);
 * - hex and base64 (standard, URL-safe, unpadded): the decoded bytes equal a raw
 *   identifier as stored or normalized;
 * - MD5 / SHA-1 / SHA-256 digests (hex of any case, or base64): the hash of a raw
 *   identifier, or of any value of a raw quasi-identifier or sensitive column
 *   with ≤ `smallDomainMax` distinct values, with no salt, a known salt, or the
 *   value of an output column that is constant, before or after the value with
 *   each separator (small domains: unsalted only). Raw identifiers are sampled (seeded) so that a column hashing
 *   all its rows yields ≈ `targetHits` expected hits; small domains are complete;
 * - per-row salts: a sample of output rows is tested against raw identifiers
 *   salted with another mostly-unique, non-token column of the same row, within
 *   `perRowBudget` hash evaluations. If the budget gives < 3 expected hits the
 *   check is `review` with `perRowUnderpowered` set rather than a silent pass.
 *
 * Metrics are rows per `column|transform|raw source`; no value, salt or hash is reported.
 */
export async function checkReversibleEncodings(
  conn: DuckDBConnection,
  ctx: EncodingContext,
  options: Readonly<EncodingOptions> = DEFAULT_ENCODING_OPTIONS,
): Promise<CheckResult> {
  const p = ctx.prefix;
  const temp = async (name: string, sql: string): Promise<string> => {
    const t = `${p}_b2_${name}`;
    ctx.created.push(t);
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${t} AS ${sql}`);
    return t;
  };
  const nameOf = new Map(ctx.columns.map((c) => [c.alias, c.name]));
  const hits: Hit[] = [];
  const seed = Math.trunc(options.seed);

  const rawIds = ctx.rawIds;
  // Raw identifiers as bytes, both as stored and normalized, for the decoders.
  // Only output values whose length fits the byte length of some raw identifier can decode to
  // one; filtering on length first keeps the regular expressions and the byte join off the
  // millions of tokens and digests an extract usually carries.
  const lens = (await queryJson<{ l: number }>(conn,
    `SELECT DISTINCT l FROM (SELECT octet_length(encode(v)) AS l FROM ${rawIds} UNION SELECT octet_length(encode(nv)) FROM ${rawIds})`)).map((r) => Number(r.l));
  // An identifier may have been encoded with separators in it ("139 1234 5678"): decoded values up to
  // six bytes longer than a digit identifier are also decoded, normalized and compared.
  const digitLens = (await queryJson<{ l: number }>(conn, `SELECT DISTINCT length(nv) AS l FROM ${rawIds} WHERE length(nv) >= 7 AND regexp_full_match(nv, '\\d+X?')`)).map((r) => Number(r.l));
  for (const l of digitLens) for (let k = 1; k <= 6; k++) if (!lens.includes(l + k)) lens.push(l + k);
  const hexLens = [...new Set(lens.map((l) => 2 * l))];
  const b64Lens = [...new Set(lens.map((l) => Math.ceil((4 * l) / 3)))];
  const b64Padded = [...new Set(lens.map((l) => 4 * Math.ceil(l / 3)))];
  const decoded: Hit[] = [];
  const revHits = await queryJson<Hit>(conn, `
      SELECT o.col, 'reverse' AS tf, r.src, sum(o.n)::BIGINT AS rows
      FROM (SELECT col, n, reverse(nv) AS rv FROM ${ctx.nv} WHERE length(nv) IN (${[0, ...ctx.ridLens].join(', ')}) AND length(nv) >= 6 AND reverse(nv) <> nv) o
      JOIN ${ctx.rid} r ON o.rv = r.v GROUP BY ALL`);
  decoded.push(...revHits);
  // Candidates first: building the byte table of every raw identifier is the costly part, and
  // most outputs (tokens, generalized values) have no value of a decodable length at all.
  if (lens.length > 0) {
    const cand = await temp('dec_cand', `
      WITH t AS (SELECT * FROM (SELECT col, n, ${trimSql('v')} AS t FROM ${ctx.vals}) WHERE length(t) IN (${[...new Set([...hexLens, ...b64Lens, ...b64Padded])].join(', ')}))
      SELECT col, n, 'hex' AS tf, unhex(t) AS b FROM t WHERE length(t) IN (${hexLens.join(', ')}) AND regexp_full_match(t, '[0-9A-Fa-f]+')
      UNION ALL
      SELECT col, n, 'base64' AS tf, from_base64(x || repeat('=', ((4 - length(x) % 4) % 4)::INTEGER)) AS b
      FROM (SELECT col, n, replace(replace(rtrim(t, '='), '-', '+'), '_', '/') AS x FROM t WHERE length(rtrim(t, '=')) IN (${b64Lens.join(', ')}))
      WHERE length(x) % 4 <> 1 AND regexp_full_match(x, '[A-Za-z0-9+/]+')`);
    const byteLens = (await queryJson<{ l: number }>(conn, `SELECT DISTINCT octet_length(b) AS l FROM ${cand}`)).map((r) => Number(r.l));
    if (byteLens.length > 0) {
      const ridb = await temp('ridb', `SELECT DISTINCT encode(v) AS b, src FROM (SELECT v, src FROM ${rawIds} UNION ALL SELECT nv, src FROM ${rawIds}) WHERE strlen(v) IN (${byteLens.join(', ')})`);
      decoded.push(...await queryJson<Hit>(conn, `SELECT o.col, o.tf, r.src, sum(o.n)::BIGINT AS rows FROM ${cand} o JOIN ${ridb} r ON o.b = r.b GROUP BY ALL`));
      decoded.push(...await queryJson<Hit>(conn, `SELECT o.col, o.tf || ' (normalized)' AS tf, r.src, sum(o.n)::BIGINT AS rows
        FROM (SELECT col, n, tf, ${normalizeSql('s')} AS t FROM (SELECT col, n, tf, try(decode(b)) AS s FROM ${cand}) WHERE s IS NOT NULL) o
        JOIN ${ctx.rid} r ON o.t = r.v GROUP BY ALL`));
    }
  }
  hits.push(...decoded);

  // Digest-shaped values and which columns are mostly digests.
  const dig = await temp('dig', `SELECT col, n, d, length(d) AS dl FROM (
      SELECT col, n, ${digestSql('t')} AS d FROM (SELECT col, n, ${trimSql('v')} AS t FROM ${ctx.vals}) WHERE length(t) IN (22, 24, 27, 28, 32, 40, 43, 44, 64, 86, 88, 128))
    WHERE length(d) IN (32, 40, 64, 128)`);
  // DuckDB hash() values: a column mostly made of them is attacked like a digest column.
  const dh = await temp('dh', `SELECT col, n, h FROM (SELECT col, n, ${duckHashSql('t')} AS h FROM (SELECT col, n, ${trimSql('v')} AS t FROM ${ctx.vals}) WHERE length(t) BETWEEN 15 AND 20) WHERE h IS NOT NULL`);
  const dhCols = await queryJson<{ col: string; nd: number }>(conn,
    `SELECT h.col, count(*)::BIGINT AS nd FROM ${dh} h JOIN (SELECT col, count(*) AS total FROM ${ctx.vals} GROUP BY col) t USING (col) GROUP BY h.col HAVING count(*) * 2 > any_value(t.total)`);
  const profile = await queryJson<{ col: string; dl: number; nd: number; total: number }>(conn,
    `SELECT g.col, g.dl, count(*)::BIGINT AS nd, any_value(t.total)::BIGINT AS total FROM ${dig} g
     JOIN (SELECT col, count(*) AS total FROM ${ctx.vals} GROUP BY col) t USING (col) GROUP BY g.col, g.dl`);
  const hashCols = profile.filter((r) => Number(r.nd) * 2 > Number(r.total));
  const algos = [...new Set(profile.map((r) => Number(r.dl)))].sort((a, b) => a - b);
  if (algos.includes(128)) registerSha512(conn);
  let sampledIds = 0;
  let smallDomainValues = 0;
  let perRowTested = 0;
  let perRowExpected = Infinity;
  let perRowUnderpowered = false;
  if (algos.length > 0 || dhCols.length > 0) {
    const maxDigests = Math.max(1, ...profile.map((r) => Number(r.nd)), ...dhCols.map((r) => Number(r.nd)));
    // Raw-side sample: hashing is the costly part (≈ 1–2 µs per SHA-256 here), and a column
    // that hashes the identifier of every output row meets the sample in proportion to its
    // size, so a sample of targetHits · |raw| / |digests| values suffices.
    // rawIds holds each source's distinct stored values once, so count(*) is the distinct count.
    const srcCounts = await queryJson<{ src: string; nd: number }>(conn, `SELECT src, count(*)::BIGINT AS nd FROM ${rawIds} GROUP BY src`);
    // A seeded hash threshold instead of ORDER BY … LIMIT: one filter pass, no sort of millions.
    const sampleParts = srcCounts.map((s) => {
      const nd = Number(s.nd);
      const size = Math.min(nd, Math.max(options.minRawSample, Math.ceil((options.targetHits * nd) / Math.max(1, maxDigests))));
      const cut = Math.ceil((size / nd) * 1_000_000);
      return `SELECT v, src FROM ${rawIds} WHERE src = ${quoteLiteral(s.src)} AND hash(v, ${seed}) % 1000000 < ${cut}`;
    });
    const smallParts: string[] = [];
    for (const r of ctx.raw) {
      for (const c of [...r.quasiIdentifiers, ...r.sensitive]) {
        const { nd } = (await queryJson<{ nd: number }>(conn, `SELECT approx_count_distinct(${quoteIdent(c)})::BIGINT AS nd FROM ${quoteIdent(r.table)}`))[0]!;
        if (Number(nd) <= options.smallDomainMax) {
          smallParts.push(`SELECT DISTINCT ${trimSql(`CAST(${quoteIdent(c)} AS VARCHAR)`)} AS v, ${quoteLiteral(`${r.table}.${c} (small domain)`)} AS src FROM ${quoteIdent(r.table)} WHERE ${quoteIdent(c)} IS NOT NULL`);
        }
      }
    }
    const idSample = await temp('ids_sample', sampleParts.length === 0
      ? `SELECT NULL::VARCHAR AS v, NULL::VARCHAR AS src WHERE false`
      : `SELECT DISTINCT v, src FROM (${sampleParts.map((s) => `(${s})`).join(' UNION ALL ')})`);
    // Identifiers also as normalized (an ID number's "x" as "X"): hashers differ in the form they hash.
    const rs = await temp('rs', `SELECT DISTINCT v, src, small FROM (
        SELECT v, src, false AS small FROM ${idSample}
        UNION ALL SELECT i.nv, i.src, false FROM ${rawIds} i SEMI JOIN ${idSample} s ON i.v = s.v AND i.src = s.src
        ${smallParts.map((s) => `UNION ALL SELECT *, true FROM (${s})`).join(' ')})`);
    sampledIds = Number((await queryJson<{ n: number }>(conn, `SELECT count(*)::BIGINT AS n FROM ${idSample}`))[0]!.n);
    smallDomainValues = Number((await queryJson<{ n: number }>(conn, `SELECT count(*)::BIGINT AS n FROM ${rs} WHERE src LIKE '%(small domain)'`))[0]!.n);

    // Salts: none, known ones, and every constant output column's value (kept inside DuckDB).
    const constCols = await queryJson<{ col: string }>(conn, `SELECT col FROM ${ctx.vals} GROUP BY col HAVING count(*) = 1`);
    const knownSet = new Set(options.knownSalts);
    const saltRows = [
      ...options.knownSalts.map((s, i) => `SELECT ${quoteLiteral(`known salt #${i + 1}`)} AS label, ${quoteLiteral(s)} AS s`),
      // Context salts are labelled by number only: a literal of the spec may itself be sensitive.
      ...(ctx.salts ?? []).filter((s) => !knownSet.has(s)).slice(0, options.maxContextSalts).map((s, i) => `SELECT ${quoteLiteral(`context salt #${i + 1}`)} AS label, ${quoteLiteral(s)} AS s`),
      ...constCols.map((c) => `SELECT ${quoteLiteral(`salt from column ${nameOf.get(c.col) ?? c.col}`)} AS label, any_value(v) AS s FROM ${ctx.vals} WHERE col = ${quoteLiteral(c.col)}`),
    ];
    const seps = options.separators.map((s) => `SELECT ${quoteLiteral(s)} AS sep`).join(' UNION ALL ');
    // Small domains are hashed unsalted only: salting a sex or a birth date with every salt would
    // multiply the costliest step, and a salted small domain is still listed by B1/B3 risks.
    const affix = await temp('affix', `SELECT 'no salt' AS label, '' AS pre, '' AS post
      ${saltRows.length === 0 ? '' : `UNION ALL SELECT label || ', prefix' || CASE WHEN sep = '' THEN '' ELSE ' + "' || sep || '"' END, s || sep, '' FROM (${saltRows.join(' UNION ALL ')}) CROSS JOIN (${seps})
      UNION ALL SELECT label || ', suffix' || CASE WHEN sep = '' THEN '' ELSE ' + "' || sep || '"' END, '', sep || s FROM (${saltRows.join(' UNION ALL ')}) CROSS JOIN (${seps})`}`);
    // Under each salt a smaller sample: a column hashing every row under that salt still meets it
    // targetHits times, and the salts multiply the work by hundreds.
    const maxNd = Math.max(1, ...srcCounts.map((x) => Number(x.nd)));
    const saltedN = Math.min(options.saltedMaxSample, Math.max(options.saltedMinSample, Math.ceil((options.targetHits * maxNd) / maxDigests)));
    const rss = await temp('rss', `SELECT v, src FROM ${rs} WHERE NOT small QUALIFY row_number() OVER (PARTITION BY src ORDER BY hash(v, ${seed + 7}), v) <= ${saltedN}`);
    const hashed = (fn: (x: string) => string): string =>
      `SELECT ${fn("a.pre || r.v || a.post")} AS h, r.src, a.label FROM ${rs} r, (SELECT * FROM ${affix} WHERE label = 'no salt') a
       UNION ALL SELECT ${fn("a.pre || r.v || a.post")} AS h, r.src, a.label FROM ${rss} r, (SELECT * FROM ${affix} WHERE label <> 'no salt') a`;
    for (const dl of algos) {
      const algo = HASHES[dl]!;
      const found = await queryJson<Hit>(conn,
        `SELECT g.col, ${quoteLiteral(ALGO_NAME[algo]!)} || '(' || h.label || ')' AS tf, h.src, sum(g.n)::BIGINT AS rows
         FROM (${hashed((x) => `${algo}(${x})`)}) h
         JOIN (SELECT * FROM ${dig} WHERE dl = ${dl}) g ON g.d = h.h GROUP BY ALL`);
      hits.push(...found);
    }
    if (dhCols.length > 0) {
      // DuckDB's hash() of the value as text, and of a digit identifier as a BIGINT (a mobile held as a number).
      const found = await queryJson<Hit>(conn,
        `SELECT g.col, 'duckdb hash(' || h.label || ')' AS tf, h.src, sum(g.n)::BIGINT AS rows
         FROM (${hashed((x) => `hash(${x})`)} UNION ALL SELECT hash(TRY_CAST(v AS BIGINT)), src, 'no salt, as a number' FROM ${rs} WHERE regexp_full_match(v, '\\d{1,18}')) h
         JOIN (SELECT * FROM ${dh} WHERE col IN (${dhCols.map((c) => quoteLiteral(c.col)).join(', ')})) g ON g.h = h.h GROUP BY ALL`);
      hits.push(...found);
    }

    // Per-row salts: another column of the same row, mostly unique, not a declared token.
    const flagged = new Set(hits.map((h) => h.col));
    const perRowCandidates = await queryJson<{ col: string }>(conn,
      `SELECT col FROM ${ctx.vals} GROUP BY col HAVING count(*) * 2 > ${Math.max(1, ctx.nRows)} ORDER BY col`);
    const pairs: [string, string, number][] = [];
    for (const h of hashCols) {
      if (flagged.has(h.col)) continue;
      for (const c of perRowCandidates) {
        const label = ctx.columns.find((x) => x.alias === c.col)?.label;
        if (c.col === h.col || label === 'token') continue;
        pairs.push([h.col, c.col, Number(h.dl)]);
      }
    }
    const tested = pairs.slice(0, options.maxPerRowPairs);
    if (pairs.length > tested.length) perRowUnderpowered = true;
    if (tested.length > 0) {
      const idCount = Number((await queryJson<{ n: number }>(conn, `SELECT count(*)::BIGINT AS n FROM ${idSample}`))[0]!.n);
      const perPair = Math.floor(options.perRowBudget / tested.length);
      const rawN = Math.max(1, Math.min(idCount, Math.floor(perPair / 2)));
      const rowsN = Math.max(1, Math.floor(perPair / (2 * rawN)));
      // Probability that a sampled row's own identifier is among the raw values tried, per source.
      const coverage = Math.min(...srcCounts.map((s) => Math.min(1, rawN / Math.max(1, srcCounts.length) / Math.max(1, Number(s.nd)))));
      for (const [hAlias, sAlias] of tested) {
        const hCol = ctx.columns.find((x) => x.alias === hAlias)!;
        const sCol = ctx.columns.find((x) => x.alias === sAlias)!;
        const algo = HASHES[tested.find((t) => t[0] === hAlias)![2]]!;
        if (algo === 'sluice_sha512') registerSha512(conn);
        const found = await queryJson<{ rows: number; tried: number }>(conn,
          `WITH o AS (SELECT d, s FROM (SELECT ${digestSql(trimSql(hCol.expr))} AS d, ${sCol.expr} AS s FROM ${ctx.output}) WHERE d IS NOT NULL AND s IS NOT NULL ORDER BY hash(d, ${seed}), d LIMIT ${rowsN}),
                r AS (SELECT v FROM ${idSample} ORDER BY hash(v, ${seed + 1}), v LIMIT ${rawN})
           SELECT count(DISTINCT o.d) FILTER (WHERE ${algo}(o.s || r.v) = o.d OR ${algo}(r.v || o.s) = o.d)::BIGINT AS rows, count(DISTINCT o.d)::BIGINT AS tried FROM o CROSS JOIN r`);
        const row = found[0]!;
        perRowTested += Number(row.tried);
        const expected = Number(row.tried) * coverage;
        perRowExpected = Math.min(perRowExpected, expected);
        if (expected < 3) perRowUnderpowered = true;
        if (Number(row.rows) > 0) hits.push({ col: hAlias, tf: `${ALGO_NAME[algo]}(per-row salt from column ${sCol.name})`, src: 'raw identifiers (sample)', rows: Number(row.rows) });
      }
    }
  }

  const metrics: CheckResult['metrics'] = {
    rows: ctx.nRows,
    hashShapedColumns: hashCols.length,
    sampledRawIdentifiers: sampledIds,
    smallDomainValues,
    perRowSaltRowsTested: perRowTested,
    perRowSaltExpectedHits: Number.isFinite(perRowExpected) ? perRowExpected : null,
    perRowUnderpowered,
  };
  for (const e of ctx.extra ?? []) hits.push({ col: e.col, tf: e.kind, src: e.src, rows: e.values });
  Object.assign(metrics, ctx.extraMetrics ?? {});
  metrics['contextSalts'] = Math.min((ctx.salts ?? []).length, options.maxContextSalts);
  const failing = new Map<string, Set<string>>();
  for (const h of hits) {
    const col = nameOf.get(h.col) ?? h.col;
    const key = `${col}|${h.tf}|${h.src}`;
    metrics[key] = (Number(metrics[key] ?? 0)) + Number(h.rows);
    if (!failing.has(col)) failing.set(col, new Set());
    failing.get(col)!.add(h.tf);
  }
  const columns = [...failing.keys()].sort();
  const fail = columns.length > 0;
  const status = fail ? ctx.thresholds.B2.status : perRowUnderpowered ? 'review' : 'pass';
  return {
    id: 'B2',
    name: 'reversible encodings',
    status,
    summary: fail
      ? `${columns.length} column(s) equal raw values under a keyless transform: ${columns.map((c) => `${c} (${[...failing.get(c)!].sort().join('; ')})`).join(', ')}`
      : perRowUnderpowered
        ? `no keyless transform found, but the per-row salt test was underpowered for ${hashCols.length} digest column(s)`
        : `no column equals a raw value under reversal, hex, base64 or an unkeyed hash (${hashCols.length} digest-shaped column(s) attacked)`,
    columns,
    metrics,
    parameters: {
      status: ctx.thresholds.B2.status,
      transforms: 'reverse, hex, base64, md5, sha1, sha256, sha512, duckdb hash(), digit shift / repeating key / substitution',
      knownSalts: options.knownSalts.length,
      separators: options.separators.length,
      smallDomainMax: options.smallDomainMax,
      targetHits: options.targetHits,
      minRawSample: options.minRawSample,
      perRowBudget: options.perRowBudget,
      seed,
    },
  };
}
