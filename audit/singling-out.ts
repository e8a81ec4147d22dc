/**
 * B6 of the non-restoration audit: Anonymeter-style privacy risk of synthetic or
 * perturbed row-level data (Giomi et al. 2023). Two attacks are run against the
 * rows that were used for generation ("original") and, identically, against raw
 * rows held out from generation ("control"); the control success rate is what an
 * attacker achieves from the population alone, so only the excess counts:
 * risk = (attack − control) / (1 − control). Everything runs in DuckDB; samples
 * are chosen by seeded hashes, so a run is reproducible.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryJson, quoteIdent } from '../lib/duck.js';
import type { CheckResult } from './types.js';
import type { Thresholds } from './thresholds.js';
import { wilson } from '../lib/stats.js';
import { mulberry32 } from '../lib/random.js';

/** Attack options of {@link checkSyntheticRisk}; defaults in {@link DEFAULT_SYNTHETIC_RISK_OPTIONS}. */
export interface SyntheticRiskOptions {
  /** Singling-out predicates drawn (before keeping those unique in the synthetic data). Default 2000. */
  attacks: number;
  /** Columns per singling-out predicate (Anonymeter's multivariate mode). Default 3. */
  predicateColumns: number;
  /** Distinct random column subsets the predicates are spread over. Default 12. */
  predicateSubsets: number;
  /** Targets per side (original, control) of the inference attack. Default 500. */
  inferenceTargets: number;
  /** Most synthetic rows searched for the nearest neighbour. Default 20,000. */
  maxSynthetic: number;
  /** A numeric secret is inferred correctly within this relative tolerance. Default 0.05. */
  numericTolerance: number;
  /** Seed of every sample. */
  seed: number;
}

/** Defaults of {@link SyntheticRiskOptions}. */
export const DEFAULT_SYNTHETIC_RISK_OPTIONS: Readonly<SyntheticRiskOptions> = Object.freeze({
  attacks: 2000,
  predicateColumns: 3,
  predicateSubsets: 12,
  inferenceTargets: 500,
  maxSynthetic: 20_000,
  numericTolerance: 0.05,
  seed: 7,
});

/** Tables and columns of one B6 evaluation. */
export interface SyntheticRiskInput {
  /** Synthetic or perturbed output table. */
  synthetic: string;
  /** Raw rows used for generation (without the control rows); null when unknown. */
  original: string | null;
  /** Raw rows held out from generation; null when none was kept. */
  control: string | null;
  /** Columns shared by all three tables the attacks may use (no direct identifiers, no tokens). */
  columns: string[];
  /** Columns the inference attacker knows about a target (declared quasi-identifiers). */
  knownColumns: string[];
  /** Secret columns the inference attacker tries to learn (declared sensitive). */
  secrets: string[];
}

/** A risk estimate with its interval. */
export interface RiskEstimate {
  risk: number;
  low: number;
  high: number;
}

/**
 * Anonymeter's residual risk from attack and control successes: the Wilson
 * centres a and c at `confidence`, risk = (a − c)/(1 − c), and an interval from
 * first-order propagation of the two Wilson half-widths (∂r/∂a = 1/(1−c),
 * ∂r/∂c = (a−1)/(1−c)²), clamped to [0, 1]. A perfect control (c = 1) leaves no
 * room for risk: 0.
 */
export function residualRisk(attackSuccesses: number, attackN: number, controlSuccesses: number, controlN: number, confidence = 0.95): RiskEstimate {
  const a = wilson(attackSuccesses, attackN, confidence);
  const c = wilson(controlSuccesses, controlN, confidence);
  if (c.centre >= 1) return { risk: 0, low: 0, high: 0 };
  const den = 1 - c.centre;
  const risk = (a.centre - c.centre) / den;
  const err = Math.sqrt((a.halfWidth / den) ** 2 + ((c.halfWidth * (a.centre - 1)) / (den * den)) ** 2);
  return { risk, low: Math.min(1, Math.max(0, risk - err)), high: Math.min(1, Math.max(0, risk + err)) };
}

const prng = mulberry32;

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL)/;

/**
 * B6: singling-out and inference risk of a synthetic output.
 *
 * - Original and control are cut to the same size (seeded), because the chance
 *   that a predicate matches exactly one row depends on the table size.
 * - Singling out: predicates are equalities on `predicateColumns` random columns,
 *   taken from synthetic rows whose combination is unique in the synthetic data;
 *   success = the predicate matches exactly one original (resp. control) row.
 * - Inference, per declared secret: the attacker knows the target's known
 *   columns, takes the nearest synthetic row (mismatch count for categories,
 *   range-scaled absolute difference for numbers and dates) and guesses its
 *   secret; success = equal, or within `numericTolerance` for a numeric secret.
 *
 * Status: fail when any risk ≥ B6.failRisk or its upper bound ≥ B6.failUpper;
 * review when an upper bound ≥ B6.reviewUpper, or when no control or original
 * is available (the baseline cannot be estimated).
 */
export async function checkSyntheticRisk(
  conn: DuckDBConnection,
  input: SyntheticRiskInput,
  thresholds: Readonly<Pick<Thresholds, 'B6'>>,
  options: Readonly<SyntheticRiskOptions> = DEFAULT_SYNTHETIC_RISK_OPTIONS,
): Promise<CheckResult> {
  const t = thresholds.B6;
  const parameters = {
    failRisk: t.failRisk, failUpper: t.failUpper, reviewUpper: t.reviewUpper, confidence: t.confidence,
    attacks: options.attacks, predicateColumns: options.predicateColumns, inferenceTargets: options.inferenceTargets, seed: options.seed,
  };
  if (input.original === null || input.control === null || input.columns.length === 0) {
    const why = input.control === null ? 'no control set of held-out raw rows was given' : input.original === null ? 'no raw lineage table was given' : 'the output shares no column with the raw data';
    return { id: 'B6', name: 'singling out / inference', status: 'review', summary: `risk not estimated: ${why}`, columns: [], metrics: {}, parameters };
  }
  const seed = Math.trunc(options.seed);
  const cols = input.columns;
  const types = new Map((await queryJson<{ column_name: string; column_type: string }>(conn, `DESCRIBE ${quoteIdent(input.synthetic)}`)).map((r) => [r.column_name, r.column_type]));
  const vc = (c: string): string => `coalesce(CAST(${quoteIdent(c)} AS VARCHAR), chr(1) || 'null')`;
  const rowHash = (extra: number): string => `hash(${extra}, ${cols.map(vc).join(', ')})`;
  const p = `__sluice_b6_${randomBytes(6).toString('hex')}`;
  const created: string[] = [];
  const temp = async (name: string, sql: string): Promise<string> => {
    const tn = `${p}_${name}`;
    created.push(tn);
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${tn} AS ${sql}`);
    return tn;
  };
  try {
    const count = async (tbl: string): Promise<number> => Number((await queryJson<{ n: number }>(conn, `SELECT count(*)::BIGINT AS n FROM ${tbl}`))[0]!.n);
    const nO = await count(quoteIdent(input.original));
    const nC = await count(quoteIdent(input.control));
    const m = Math.min(nO, nC);
    const sel = cols.map((c) => `${quoteIdent(c)}`).join(', ');
    const orig = await temp('orig', `SELECT ${sel} FROM ${quoteIdent(input.original)} ORDER BY ${rowHash(seed)} LIMIT ${m}`);
    const ctrl = await temp('ctrl', `SELECT ${sel} FROM ${quoteIdent(input.control)} ORDER BY ${rowHash(seed)} LIMIT ${m}`);
    const syn = await temp('syn', `SELECT ${sel} FROM ${quoteIdent(input.synthetic)}`);
    const metrics: CheckResult['metrics'] = { originalRows: nO, controlRows: nC, evaluatedRows: m, syntheticRows: await count(syn) };
    const estimates: { name: string; est: RiskEstimate }[] = [];

    // Singling out.
    const rand = prng(seed);
    const k = Math.min(options.predicateColumns, cols.length);
    const subsets = new Map<string, string[]>();
    for (let i = 0; i < options.predicateSubsets * 4 && subsets.size < options.predicateSubsets; i++) {
      const pool = [...cols];
      const pick: string[] = [];
      while (pick.length < k) pick.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
      pick.sort();
      subsets.set(pick.join('\u0000'), pick);
    }
    const per = Math.max(1, Math.ceil(options.attacks / subsets.size));
    let soN = 0, soA = 0, soC = 0;
    let si = 0;
    for (const sub of subsets.values()) {
      si++;
      const keys = sub.map((c, j) => `${vc(c)} AS k${j}`).join(', ');
      const ks = sub.map((_, j) => `k${j}`).join(', ');
      const on = (a: string, b: string): string => sub.map((_, j) => `${a}.k${j} = ${b}.k${j}`).join(' AND ');
      const r = (await queryJson<{ n: number; a: number; c: number }>(conn, `
        WITH q AS (SELECT ${ks} FROM (SELECT ${ks} FROM (SELECT ${keys} FROM ${syn}) GROUP BY ${ks} HAVING count(*) = 1) ORDER BY hash(${seed + si}, ${ks}), ${ks} LIMIT ${per}),
             o AS (SELECT ${ks}, count(*) AS c FROM (SELECT ${keys} FROM ${orig}) GROUP BY ALL),
             x AS (SELECT ${ks}, count(*) AS c FROM (SELECT ${keys} FROM ${ctrl}) GROUP BY ALL)
        SELECT count(*)::BIGINT AS n, count(*) FILTER (WHERE o.c = 1)::BIGINT AS a, count(*) FILTER (WHERE x.c = 1)::BIGINT AS c
        FROM q LEFT JOIN o ON ${on('q', 'o')} LEFT JOIN x ON ${on('q', 'x')}`))[0]!;
      soN += Number(r.n); soA += Number(r.a); soC += Number(r.c);
    }
    metrics['singlingOut|predicates'] = soN;
    metrics['singlingOut|attackSuccesses'] = soA;
    metrics['singlingOut|controlSuccesses'] = soC;
    if (soN > 0) {
      const est = residualRisk(soA, soN, soC, soN, t.confidence);
      estimates.push({ name: 'singlingOut', est });
    }

    // Inference, one attack per declared secret present in all three tables.
    for (const secret of input.secrets.filter((s) => cols.includes(s))) {
      let known = input.knownColumns.filter((c) => cols.includes(c) && c !== secret);
      if (known.length === 0) known = cols.filter((c) => c !== secret);
      if (known.length === 0) continue;
      const ranges = (await queryJson<Record<string, number | null>>(conn,
        `SELECT ${known.map((c, j) => (isNumericLike(types.get(c)) ? `(max(${num(c, types.get(c))}) - min(${num(c, types.get(c))}))::DOUBLE AS r${j}` : `NULL AS r${j}`)).join(', ')} FROM ${syn}`))[0]!;
      const dist = known.map((c, j) => {
        if (isNumericLike(types.get(c))) {
          const range = Math.max(Number(ranges[`r${j}`] ?? 0), 1e-12);
          return `coalesce(abs(${num(`t.${quoteIdent(c)}`, types.get(c), true)} - ${num(`s.${quoteIdent(c)}`, types.get(c), true)}) / ${range}, 1)`;
        }
        return `CASE WHEN t.${quoteIdent(c)} IS NOT DISTINCT FROM s.${quoteIdent(c)} THEN 0 ELSE 1 END`;
      }).join(' + ');
      const numericSecret = NUMERIC.test(types.get(secret) ?? '');
      const correct = numericSecret
        ? `abs(pred::DOUBLE - truth::DOUBLE) <= ${options.numericTolerance} * abs(truth::DOUBLE)`
        : `pred IS NOT DISTINCT FROM truth`;
      const synSample = `(SELECT *, row_number() OVER (ORDER BY ${rowHash(seed + 101)}) AS sid FROM ${syn} ORDER BY ${rowHash(seed + 101)} LIMIT ${options.maxSynthetic})`;
      const attack = async (tbl: string): Promise<{ n: number; ok: number }> => (await queryJson<{ n: number; ok: number }>(conn, `
        WITH t AS (SELECT *, row_number() OVER () AS tid FROM (SELECT * FROM ${tbl} ORDER BY ${rowHash(seed + 202)} LIMIT ${options.inferenceTargets})),
             g AS (SELECT t.tid, any_value(t.${quoteIdent(secret)}) AS truth, arg_min(s.${quoteIdent(secret)}, {'d': ${dist}, 's': s.sid}) AS pred
                   FROM t CROSS JOIN ${synSample} s GROUP BY t.tid)
        SELECT count(*)::BIGINT AS n, count(*) FILTER (WHERE ${correct})::BIGINT AS ok FROM g`))[0]!;
      const a = await attack(orig);
      const c = await attack(ctrl);
      metrics[`inference:${secret}|targets`] = Number(a.n);
      metrics[`inference:${secret}|attackSuccesses`] = Number(a.ok);
      metrics[`inference:${secret}|controlSuccesses`] = Number(c.ok);
      if (Number(a.n) > 0 && Number(c.n) > 0) estimates.push({ name: `inference:${secret}`, est: residualRisk(Number(a.ok), Number(a.n), Number(c.ok), Number(c.n), t.confidence) });
    }

    for (const e of estimates) {
      metrics[`${e.name}|risk`] = e.est.risk;
      metrics[`${e.name}|low`] = e.est.low;
      metrics[`${e.name}|high`] = e.est.high;
    }
    const worst = estimates.reduce<{ name: string; est: RiskEstimate } | null>((w, e) => (w === null || e.est.high > w.est.high ? e : w), null);
    const failing = estimates.filter((e) => e.est.risk >= t.failRisk || e.est.high >= t.failUpper);
    const reviewing = estimates.filter((e) => e.est.high >= t.reviewUpper);
    const status = failing.length > 0 ? 'fail' : reviewing.length > 0 || worst === null ? 'review' : 'pass';
    metrics['risk'] = worst?.est.risk ?? null;
    metrics['high'] = worst?.est.high ?? null;
    return {
      id: 'B6',
      name: 'singling out / inference',
      status,
      summary: worst === null
        ? 'no attack could be evaluated'
        : `highest risk ${worst.name}: ${worst.est.risk.toFixed(3)} (95% upper ${worst.est.high.toFixed(3)}) over ${estimates.length} attack(s)`,
      columns: failing.length > 0 ? [...new Set(failing.flatMap((e) => (e.name.startsWith('inference:') ? [e.name.slice('inference:'.length)] : [])))] : [],
      metrics,
      parameters,
    };
  } finally {
    for (const tn of created.reverse()) await conn.run(`DROP TABLE IF EXISTS ${tn}`).catch(() => undefined);
  }
}

function isNumericLike(type: string | undefined): boolean {
  return type !== undefined && (NUMERIC.test(type) || type === 'DATE' || type.startsWith('TIMESTAMP'));
}

/** A numeric (DOUBLE) rendering of a numeric or temporal column for distances. */
function num(expr: string, type: string | undefined, qualified = false): string {
  const e = qualified ? expr : quoteIdent(expr);
  if (type === 'DATE' || type?.startsWith('TIMESTAMP')) return `epoch(${e})::DOUBLE`;
  return `${e}::DOUBLE`;
}
