import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';

/**
 * The thresholds of the non-restoration audit (AUDIT.md sections A, B and C),
 * as configuration. Every field names its source and the direction in which a
 * job spec may move it ("tighter"): an agreement may set any valid value, a
 * spec may only make the audit stricter.
 */
export interface Thresholds {
  A1: {
    /** AUDIT.md A1 (ACRO / OpenSAFELY minimum cell count): a cell must count at least T distinct persons or entities. Default 10. Tighter: higher. Also the T of A9. */
    threshold: number;
  };
  A2: {
    /** AUDIT.md A2 (OpenSAFELY rounding): published counts must be rounded. Default on. Tighter: on. */
    enabled: boolean;
    /** AUDIT.md A2: the rounding base, applied after suppression. Default 5. Tighter: a multiple of the base in force (counts rounded to 10 are also rounded to 5). */
    base: number;
  };
  A3: {
    /** AUDIT.md A3 ((n,k) dominance, ACRO): how many top contributors are summed. Default 2. Tighter: higher (a larger top-n share fails sooner). */
    n: number;
    /** AUDIT.md A3: the share of the cell total the top n may not reach (fails at ≥ k). Default 0.9. Tighter: lower. */
    k: number;
  };
  A4: {
    /** AUDIT.md A4 (p% rule, ACRO): (total − x1 − x2) / x1 must be at least p. Default 0.10. Tighter: higher. */
    p: number;
  };
  A5: {
    /** AUDIT.md A5 (ACRO negative/missing values): status when a contribution is negative or missing. Default review. Tighter: fail. */
    status: 'review' | 'fail';
  };
  A6: {
    /** AUDIT.md A6 (ACRO class disclosure): status of a zero cell or a single-category row, unless declared structural. Default fail. Tighter: fail. */
    status: 'review' | 'fail';
  };
  A7: {
    /** AUDIT.md A7 (ACRO extremes): status when a published min, max or percentile equals one unit's value. Default fail. Tighter: fail. */
    status: 'review' | 'fail';
  };
  A8: {
    /** AUDIT.md A8 (ACRO degrees of freedom): minimum residual degrees of freedom of a fitted statistic. Default 10. Tighter: higher. */
    minDof: number;
  };
  A9: {
    /** AUDIT.md A9 (differencing against earlier releases): status when a difference isolates fewer than A1.threshold units. Default review. Tighter: fail. */
    status: 'review' | 'fail';
  };
  A10: {
    /** AUDIT.md A10 (OpenSAFELY Airlock file gates): allowed file types of a released table. Default csv, parquet, json. Tighter: a subset. */
    allowedFileTypes: string[];
    /** AUDIT.md A10 (Airlock): maximum rows of a released table. Default 5,000. Tighter: lower. */
    maxRows: number;
    /** AUDIT.md A10 (Airlock): maximum bytes of a released table file. Default 16 MiB = 16,777,216. Tighter: lower. */
    maxBytes: number;
  };
  B1: {
    /** AUDIT.md B1 (direct identifiers and PII patterns): status on a hit. Default fail. Fixed: a spec may not change it. */
    status: 'fail';
  };
  B2: {
    /** AUDIT.md B2 (keyless reversible encodings): status on a hit. Default fail. Fixed. */
    status: 'fail';
  };
  B3: {
    /** AUDIT.md B3 (k-anonymity, ARX / Sweeney): smallest equivalence class below this fails. Default 5. Tighter: higher. */
    failBelow: number;
    /** AUDIT.md B3: smallest equivalence class below this needs review. Default 10. Tighter: higher. */
    reviewBelow: number;
  };
  B4: {
    /** AUDIT.md B4 (distinct ℓ-diversity, Machanavajjhala et al.): fewer distinct sensitive values in a class fails. Default 2. Tighter: higher. */
    failBelow: number;
    /** AUDIT.md B4: fewer distinct sensitive values in a class needs review. Default 3. Tighter: higher. */
    reviewBelow: number;
  };
  B5: {
    /** AUDIT.md B5 (linkage): share of output records linking to exactly one raw record above which the check fails. Default 0.05. Tighter: lower. */
    maxShare: number;
  };
  B6: {
    /** AUDIT.md B6 (Anonymeter, Giomi et al. 2023): risk point estimate at or above which the check fails. Default 0.10. Tighter: lower. */
    failRisk: number;
    /** AUDIT.md B6: upper Wilson bound at or above which the check fails. Default 0.20. Tighter: lower. */
    failUpper: number;
    /** AUDIT.md B6: upper Wilson bound at or above which the check needs review. Default 0.05. Tighter: lower. */
    reviewUpper: number;
    /** AUDIT.md B6: confidence of the Wilson interval. Default 0.95. Tighter: higher (a wider interval). */
    confidence: number;
  };
  quasiIdentifiers: {
    /** AUDIT.md B (after the table): an output column whose values are unique for more than this share of rows is treated as a quasi-identifier. Default 0.5. Tighter: lower. */
    uniqueShare: number;
  };
  C1: {
    /** AUDIT.md C1 (SACRO-ML stored rows): status for an instance-based model or a training row found in the artifact. Default fail. Fixed. */
    status: 'fail';
  };
  C2: {
    /** AUDIT.md C2 (SACRO-ML hyperparameter rules): minimum samples per tree leaf. Default 5. Tighter: higher. */
    minLeafSize: number;
    /** AUDIT.md C2: a random forest must use bootstrap sampling. Default on. Tighter: on. */
    requireBootstrap: boolean;
  };
  C3: {
    /** AUDIT.md C3 (SACRO-ML structural checks): a leaf with fewer training rows fails. Default 5. Tighter: higher. */
    leafFailBelow: number;
    /** AUDIT.md C3: a leaf with fewer training rows needs review. Default 10. Tighter: higher. */
    leafReviewBelow: number;
    /** AUDIT.md C3: minimum residual degrees of freedom. Default 10. Tighter: higher. */
    minDof: number;
  };
  C4: {
    /** AUDIT.md C4 (SACRO-ML worst-case attack): repetitions of each attack. Default 10. Tighter: higher. */
    repetitions: number;
    /** AUDIT.md C4: mean AUC above which the check fails. Default 0.65. Tighter: lower. */
    aucFail: number;
    /** AUDIT.md C4: share of repetitions significant at `pValue` above which the check needs review. Default 0.10. Tighter: lower. */
    significantShareReview: number;
    /** AUDIT.md C4: significance level of one repetition. Default 0.05. Tighter: higher (more repetitions count as significant). */
    pValue: number;
    /** AUDIT.md C4 (Carlini et al. 2022, TPR at low FPR): the false-positive rate at which TPR is read. Default 0.01. Fixed: a definition, not a bar. */
    fpr: number;
    /** AUDIT.md C4: median TPR at `fpr` at or above which the check fails. Default 0.05. Tighter: lower. */
    tprFail: number;
  };
  C5: {
    /** AUDIT.md C5 (RMIA, Zarifzadeh et al. 2024): minimum number of reference models. Default 2. Tighter: higher. */
    minReferenceModels: number;
    /** AUDIT.md C5: AUC above which the check fails. Default 0.65. Tighter: lower. */
    aucFail: number;
    /** AUDIT.md C5: false-positive rate at which TPR is read. Default 0.01. Fixed. */
    fpr: number;
    /** AUDIT.md C5: TPR at `fpr` at or above which the check fails. Default 0.05. Tighter: lower. */
    tprFail: number;
    /** AUDIT.md C5 (TF Privacy empirical ε): lower bound on ε above which the check fails. Default 2. Tighter: lower. */
    epsilonFail: number;
  };
  C6: {
    /** AUDIT.md C6 (SACRO-ML attribute inference): member/non-member correct-inference ratio above which the check fails (with the gain). Default 1.5. Tighter: lower. */
    ratioFail: number;
    /** AUDIT.md C6: minimum absolute gain (member − non-member rate) for a fail. Default 0.05. Tighter: lower. */
    gainFail: number;
    /** AUDIT.md C6: ratio above which the check needs review. Default 1.1. Tighter: lower. */
    ratioReview: number;
  };
}

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(o);
}

/** The defaults of AUDIT.md, one per field of {@link Thresholds}. */
export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = deepFreeze({
  A1: { threshold: 10 },
  A2: { enabled: true, base: 5 },
  A3: { n: 2, k: 0.9 },
  A4: { p: 0.1 },
  A5: { status: 'review' },
  A6: { status: 'fail' },
  A7: { status: 'fail' },
  A8: { minDof: 10 },
  A9: { status: 'review' },
  A10: { allowedFileTypes: ['csv', 'parquet', 'json'], maxRows: 5000, maxBytes: 16 * 1024 * 1024 },
  B1: { status: 'fail' },
  B2: { status: 'fail' },
  B3: { failBelow: 5, reviewBelow: 10 },
  B4: { failBelow: 2, reviewBelow: 3 },
  B5: { maxShare: 0.05 },
  B6: { failRisk: 0.1, failUpper: 0.2, reviewUpper: 0.05, confidence: 0.95 },
  quasiIdentifiers: { uniqueShare: 0.5 },
  C1: { status: 'fail' },
  C2: { minLeafSize: 5, requireBootstrap: true },
  C3: { leafFailBelow: 5, leafReviewBelow: 10, minDof: 10 },
  C4: { repetitions: 10, aucFail: 0.65, significantShareReview: 0.1, pValue: 0.05, fpr: 0.01, tprFail: 0.05 },
  C5: { minReferenceModels: 2, aucFail: 0.65, fpr: 0.01, tprFail: 0.05, epsilonFail: 2 },
  C6: { ratioFail: 1.5, gainFail: 0.05, ratioReview: 1.1 },
} satisfies Thresholds);

/** A flattened threshold key such as `A1.threshold`. */
export type ThresholdKey = {
  [G in keyof Thresholds]: `${G}.${keyof Thresholds[G] & string}`;
}[keyof Thresholds];

/**
 * Which way a threshold may move under a spec:
 * - `higher` / `lower`: the stricter number;
 * - `on`: a boolean that may be switched on, never off;
 * - `fail`: a status that may go from review to fail, never back;
 * - `multiple`: a positive integer multiple of the value in force;
 * - `subset`: a subset of the list in force;
 * - `fixed`: a definition a spec may not change at all.
 */
export type TighterDirection = 'higher' | 'lower' | 'on' | 'fail' | 'multiple' | 'subset' | 'fixed';

/** The direction of "tighter" for every threshold (see the field docs of {@link Thresholds}). */
export const TIGHTER: Readonly<Record<ThresholdKey, TighterDirection>> = Object.freeze({
  'A1.threshold': 'higher',
  'A2.enabled': 'on',
  'A2.base': 'multiple',
  'A3.n': 'higher',
  'A3.k': 'lower',
  'A4.p': 'higher',
  'A5.status': 'fail',
  'A6.status': 'fail',
  'A7.status': 'fail',
  'A8.minDof': 'higher',
  'A9.status': 'fail',
  'A10.allowedFileTypes': 'subset',
  'A10.maxRows': 'lower',
  'A10.maxBytes': 'lower',
  'B1.status': 'fixed',
  'B2.status': 'fixed',
  'B3.failBelow': 'higher',
  'B3.reviewBelow': 'higher',
  'B4.failBelow': 'higher',
  'B4.reviewBelow': 'higher',
  'B5.maxShare': 'lower',
  'B6.failRisk': 'lower',
  'B6.failUpper': 'lower',
  'B6.reviewUpper': 'lower',
  'B6.confidence': 'higher',
  'quasiIdentifiers.uniqueShare': 'lower',
  'C1.status': 'fixed',
  'C2.minLeafSize': 'higher',
  'C2.requireBootstrap': 'on',
  'C3.leafFailBelow': 'higher',
  'C3.leafReviewBelow': 'higher',
  'C3.minDof': 'higher',
  'C4.repetitions': 'higher',
  'C4.aucFail': 'lower',
  'C4.significantShareReview': 'lower',
  'C4.pValue': 'higher',
  'C4.fpr': 'fixed',
  'C4.tprFail': 'lower',
  'C5.minReferenceModels': 'higher',
  'C5.aucFail': 'lower',
  'C5.fpr': 'fixed',
  'C5.tprFail': 'lower',
  'C5.epsilonFail': 'lower',
  'C6.ratioFail': 'lower',
  'C6.gainFail': 'lower',
  'C6.ratioReview': 'lower',
});

const count = z.number().int().min(1);
const share = z.number().gt(0).lt(1);
const shareIncl = z.number().gt(0).max(1);
const reviewOrFail = z.enum(['review', 'fail']);
const failOnly = z.literal('fail');

/**
 * Zod schema of a partial override of {@link Thresholds}, as an agreement or a
 * job spec writes it (nested: `{ A1: { threshold: 20 } }`). Unknown groups or
 * fields are rejected so that a misspelt threshold is not silently ignored.
 */
export const thresholdOverridesSchema = z.strictObject({
  A1: z.strictObject({ threshold: count }).partial(),
  A2: z.strictObject({ enabled: z.boolean(), base: count }).partial(),
  A3: z.strictObject({ n: count, k: shareIncl }).partial(),
  A4: z.strictObject({ p: z.number().gt(0).max(1) }).partial(),
  A5: z.strictObject({ status: reviewOrFail }).partial(),
  A6: z.strictObject({ status: reviewOrFail }).partial(),
  A7: z.strictObject({ status: reviewOrFail }).partial(),
  A8: z.strictObject({ minDof: count }).partial(),
  A9: z.strictObject({ status: reviewOrFail }).partial(),
  A10: z
    .strictObject({
      allowedFileTypes: z.array(z.string().regex(/^[a-z0-9]+$/)).min(1),
      maxRows: count,
      maxBytes: count,
    })
    .partial(),
  B1: z.strictObject({ status: failOnly }).partial(),
  B2: z.strictObject({ status: failOnly }).partial(),
  B3: z.strictObject({ failBelow: count, reviewBelow: count }).partial(),
  B4: z.strictObject({ failBelow: count, reviewBelow: count }).partial(),
  B5: z.strictObject({ maxShare: z.number().min(0).max(1) }).partial(),
  B6: z.strictObject({ failRisk: shareIncl, failUpper: shareIncl, reviewUpper: shareIncl, confidence: share }).partial(),
  quasiIdentifiers: z.strictObject({ uniqueShare: shareIncl }).partial(),
  C1: z.strictObject({ status: failOnly }).partial(),
  C2: z.strictObject({ minLeafSize: count, requireBootstrap: z.boolean() }).partial(),
  C3: z.strictObject({ leafFailBelow: count, leafReviewBelow: count, minDof: count }).partial(),
  C4: z
    .strictObject({
      repetitions: count,
      aucFail: z.number().min(0.5).max(1),
      significantShareReview: z.number().min(0).max(1),
      pValue: share,
      fpr: share,
      tprFail: shareIncl,
    })
    .partial(),
  C5: z
    .strictObject({
      minReferenceModels: count,
      aucFail: z.number().min(0.5).max(1),
      fpr: share,
      tprFail: shareIncl,
      epsilonFail: z.number().gt(0),
    })
    .partial(),
  C6: z.strictObject({ ratioFail: z.number().gt(1), gainFail: z.number().min(0).max(1), ratioReview: z.number().gt(1) }).partial(),
}).partial();

/** A partial override of {@link Thresholds} (the input type of {@link thresholdOverridesSchema}). */
export type ThresholdOverrides = z.input<typeof thresholdOverridesSchema>;

type Value = number | boolean | string | string[];

function describe(v: Value): string {
  return Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

function parseOverrides(raw: unknown, source: string): ThresholdOverrides {
  const parsed = thresholdOverridesSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  // Threshold values are configuration, not data, so naming the expectation is safe.
  const issues = parsed.error.issues.map((i) => `${[source, ...i.path.map(String)].join('.')}: ${i.message}`);
  throw new SluiceError('SLUICE_ERR_SPEC_INVALID', `invalid audit thresholds: ${issues.join('; ')}`, {
    details: { paths: parsed.error.issues.map((i) => [source, ...i.path.map(String)].join('.')) },
  });
}

function isTighterOrEqual(direction: TighterDirection, inForce: Value, asked: Value): boolean {
  switch (direction) {
    case 'higher':
      return (asked as number) >= (inForce as number);
    case 'lower':
      return (asked as number) <= (inForce as number);
    case 'on':
      return asked === true || inForce === false;
    case 'fail':
      return asked === 'fail' || inForce === asked;
    case 'multiple':
      return Number.isInteger((asked as number) / (inForce as number));
    case 'subset': {
      const allowed = new Set(inForce as string[]);
      return (asked as string[]).every((t) => allowed.has(t));
    }
    case 'fixed':
      return describe(asked) === describe(inForce);
  }
}

function tighterWord(direction: TighterDirection): string {
  switch (direction) {
    case 'higher':
      return 'a spec may only raise it';
    case 'lower':
      return 'a spec may only lower it';
    case 'on':
      return 'a spec may only switch it on';
    case 'fail':
      return 'a spec may only change review to fail';
    case 'multiple':
      return 'a spec may only use a multiple of it';
    case 'subset':
      return 'a spec may only narrow the list';
    case 'fixed':
      return 'a spec may not change it';
  }
}

function checkConsistency(t: Thresholds): void {
  const problems: string[] = [];
  if (t.B3.failBelow > t.B3.reviewBelow) problems.push(`B3.failBelow (${t.B3.failBelow}) exceeds B3.reviewBelow (${t.B3.reviewBelow})`);
  if (t.B4.failBelow > t.B4.reviewBelow) problems.push(`B4.failBelow (${t.B4.failBelow}) exceeds B4.reviewBelow (${t.B4.reviewBelow})`);
  if (t.B6.reviewUpper > t.B6.failUpper) problems.push(`B6.reviewUpper (${t.B6.reviewUpper}) exceeds B6.failUpper (${t.B6.failUpper})`);
  if (t.C3.leafFailBelow > t.C3.leafReviewBelow)
    problems.push(`C3.leafFailBelow (${t.C3.leafFailBelow}) exceeds C3.leafReviewBelow (${t.C3.leafReviewBelow})`);
  if (t.C6.ratioReview > t.C6.ratioFail) problems.push(`C6.ratioReview (${t.C6.ratioReview}) exceeds C6.ratioFail (${t.C6.ratioFail})`);
  if (problems.length > 0) throw new SluiceError('SLUICE_ERR_SPEC_INVALID', `inconsistent audit thresholds: ${problems.join('; ')}`);
}

function cloneThresholds(t: Readonly<Thresholds>): Thresholds {
  return structuredClone(t) as Thresholds;
}

/**
 * The thresholds in force for one job: the defaults, replaced field by field by
 * the agreement's values (which may move either way), then by the spec's values,
 * which may only tighten (see {@link TIGHTER}). Validates both overrides with
 * {@link thresholdOverridesSchema} (SLUICE_ERR_SPEC_INVALID naming the path) and
 * throws SLUICE_ERR_SPEC_SCOPE naming the field, the value in force and the value
 * asked when a spec tries to loosen one.
 */
export function resolveThresholds(agreementOverrides?: unknown, specOverrides?: unknown): Thresholds {
  const out = cloneThresholds(DEFAULT_THRESHOLDS);
  const table = out as unknown as Record<string, Record<string, Value>>;
  const agreement = parseOverrides(agreementOverrides, 'agreement.thresholds') as Record<string, Record<string, Value> | undefined>;
  for (const [group, fields] of Object.entries(agreement)) {
    for (const [field, v] of Object.entries(fields ?? {})) if (v !== undefined) table[group]![field] = structuredClone(v);
  }
  checkConsistency(out);
  const spec = parseOverrides(specOverrides, 'spec.thresholds') as Record<string, Record<string, Value> | undefined>;
  for (const [group, fields] of Object.entries(spec)) {
    for (const [field, asked] of Object.entries(fields ?? {})) {
      if (asked === undefined) continue;
      const key = `${group}.${field}` as ThresholdKey;
      const direction = TIGHTER[key];
      const inForce = table[group]![field]!;
      if (!isTighterOrEqual(direction, inForce, asked)) {
        throw new SluiceError(
          'SLUICE_ERR_SPEC_SCOPE',
          `spec.thresholds.${key} would loosen the audit: in force ${describe(inForce)}, asked ${describe(asked)}; ${tighterWord(direction)}`,
          { details: { field: key, inForce: describe(inForce), asked: describe(asked), direction } },
        );
      }
      table[group]![field] = structuredClone(asked);
    }
  }
  checkConsistency(out);
  return out;
}

/**
 * The thresholds as the report carries them: `A1.threshold` → 10; lists are
 * joined with commas (`A10.allowedFileTypes` → `csv,parquet,json`). Keys are in
 * the order of {@link TIGHTER}.
 */
export function flattenThresholds(t: Readonly<Thresholds>): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  const table = t as unknown as Record<string, Record<string, Value>>;
  for (const key of Object.keys(TIGHTER)) {
    const [group, field] = key.split('.') as [string, string];
    const v = table[group]?.[field];
    if (v === undefined) continue;
    out[key] = Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}
