/**
 * RMIA, the robust membership-inference attack of Zarifzadeh et al. (2024),
 * with reference models retrained by the audited recipe (AUDIT.md C5), and an
 * empirical lower bound on the ε of differential privacy from its ROC (the
 * way TF Privacy and privacy-auditing work read ε off an attack).
 *
 * Protocol (the paper's offline setting, a = 1):
 * - the population pool P (rows never used to train the target) is split into
 *   random halves; each pair of reference models is trained on the two halves
 *   of one split (an odd count is rounded up to pairs), so every pool row is
 *   "out" of one model of every pair;
 * - Pr(x) = mean over the pairs of p_ref(y_x | x) for one model of the pair
 *   that x is out of (a seeded coin picks when x is out of both, as the
 *   target's members always are), so members, non-members and population
 *   samples all average the same number of reference models — with unequal
 *   counts the spread of Pr(x) alone would separate them;
 * - the likelihood ratio of a candidate x against a population sample z is
 *   LR(x, z) = [p_θ(y_x|x) / Pr(x)] / [p_θ(y_z|z) / Pr(z)]; the score of x is the
 *   share of population samples z with LR(x, z) > γ (γ = 1 by default);
 * - members are the target's training rows, non-members held-out rows that
 *   are not in the population pool;
 * - ties count half: a z with LR(x, z) = γ adds ½ to x's score, so that a
 *   model's many tied outputs (confidence 1.0) neither all beat nor all lose.
 *
 * Reference models are trained on half the pool drawn without replacement
 * (capped at the target's training size): a bootstrap up to the target's size
 * would repeat each row several times and make the references fit their rows
 * more tightly than the target fitted its distinct rows.
 */
import { SluiceError } from '../../lib/errors.js';
import { clopperPearson } from '../../lib/stats.js';
import { SeededRandom, deriveSeed, mix32, subset, type Dataset } from '../dataset.js';
import { evaluateAttack, type AttackEvaluation, type RocCurve } from '../roc.js';
import { MIN_PROBABILITY, modelOutputs, pooled, trueLabelProbability, type QueryableModel } from './loss-threshold.js';

/** Trains one reference model on `data` with the audited recipe and the given seed. */
export type ReferenceTrainer = (data: Dataset, seed: number) => Promise<QueryableModel>;

/** Input of {@link rmiaAttack}. */
export interface RmiaInput {
  /** The audited model. */
  model: QueryableModel;
  /** Its training rows (members). */
  members: Dataset;
  /** Held-out rows (non-members). */
  nonMembers: Dataset;
  /**
   * Population rows, disjoint from both `members` and `nonMembers`: the
   * reference models' training data and the z samples. (Drawing the
   * non-member candidates from the same pool would bias them: a pool row's
   * "out" model is trained on the complement of its own half, which holds
   * slightly fewer rows like it — with a model's discrete outputs that shift
   * alone moves whole blocks of tied scores.)
   */
  population: Dataset;
  /** Retrains the recipe on reference data. */
  trainReference: ReferenceTrainer;
  /** Declared target records (e.g. inserted canaries and held-out twins), scored as a second candidate set. */
  targets?: { members: Dataset; nonMembers: Dataset };
}

/** Options of {@link rmiaAttack}. */
export interface RmiaOptions {
  /** Number of reference models, ≥ 2. Default 2. */
  referenceModels?: number;
  /** γ of the likelihood-ratio test. Default 1. */
  gamma?: number;
  /** FPRs at which TPR is read. Default [0.01, 0.001]. */
  fprs?: readonly number[];
  /** At most this many population samples z (a seeded random subset). Default 5000. */
  maxPopulationSamples?: number;
  /** Seed of the splits, the reference trainings and the z subset. Default 0. */
  seed?: number;
  /** Confidence of the Clopper–Pearson bounds of the ε lower bound. Default 0.95. */
  confidence?: number;
}

/** An empirical lower bound on ε (see {@link empiricalEpsilonLowerBound}). */
export interface EpsilonBound {
  /** The largest lower bound over the thresholds tried (0 when none is positive). */
  epsilon: number;
  /** Which inequality gave it: `tpr/fpr` or `tnr/fnr`. */
  direction: 'tpr/fpr' | 'tnr/fnr' | 'none';
  /** Point estimates at the chosen threshold. */
  tpr: number;
  fpr: number;
  /** Clopper–Pearson bounds used there. */
  tprLow: number;
  fprHigh: number;
  /** How many thresholds were evaluated. */
  thresholdsTried: number;
}

/** Result of {@link rmiaAttack}. */
export interface RmiaResult {
  evaluation: AttackEvaluation;
  epsilon: EpsilonBound;
  memberScores: Float64Array;
  nonMemberScores: Float64Array;
  referenceModels: number;
  referenceTrainingRows: number[];
  populationSamples: number;
  /** The attack on the declared targets, when given. */
  targets?: { evaluation: AttackEvaluation; epsilon: EpsilonBound };
}

/**
 * An empirical lower bound on the ε of (ε, 0)-differential privacy from an
 * attack's ROC: for every threshold, with Clopper–Pearson bounds at
 * `confidence` (two-sided, so each one-sided bound holds at (1 + confidence)/2
 * and both together at `confidence`), DP would require TPR ≤ e^ε FPR and
 * 1 − FPR ≤ e^ε (1 − TPR), so ε ≥ ln(TPR_low / FPR_high) and
 * ε ≥ ln((1 − FPR_high) / (1 − TPR_low)). The largest over the thresholds is
 * returned. Choosing the best threshold on the same data makes the bound
 * optimistic for the attacker — conservative for the audit. At most
 * `maxThresholds` (default 400) thresholds are tried: when the curve has more
 * vertices, the most promising by point estimate in each direction plus an even
 * spread.
 */
export function empiricalEpsilonLowerBound(curve: RocCurve, confidence = 0.95, maxThresholds = 400): EpsilonBound {
  const nP = curve.nPositive;
  const nN = curve.nNegative;
  const m = curve.fpr.length;
  const tp = Array.from(curve.tpr, (t) => Math.round(t * nP));
  const fp = Array.from(curve.fpr, (f) => Math.round(f * nN));
  let idx = Array.from({ length: m }, (_, i) => i);
  if (m > maxThresholds) {
    const q = Math.floor(maxThresholds / 4);
    const up = (i: number): number => Math.log((tp[i]! + 0.5) / nP / ((fp[i]! + 0.5) / nN));
    const down = (i: number): number => Math.log((nN - fp[i]! + 0.5) / nN / ((nP - tp[i]! + 0.5) / nP));
    const pick = new Set<number>();
    [...idx].sort((a, b) => up(b) - up(a)).slice(0, q).forEach((i) => pick.add(i));
    [...idx].sort((a, b) => down(b) - down(a)).slice(0, q).forEach((i) => pick.add(i));
    const spread = maxThresholds - pick.size;
    for (let s = 0; s < spread; s++) pick.add(Math.round((s * (m - 1)) / Math.max(1, spread - 1)));
    idx = [...pick].sort((a, b) => a - b);
  }
  const alpha = 1 - confidence;
  const best: EpsilonBound = { epsilon: 0, direction: 'none', tpr: 0, fpr: 0, tprLow: 0, fprHigh: 1, thresholdsTried: idx.length };
  for (const i of idx) {
    const tprLow = clopperPearson(tp[i]!, nP, alpha).low;
    const fprHigh = clopperPearson(fp[i]!, nN, alpha).high;
    const e1 = fprHigh > 0 && tprLow > 0 ? Math.log(tprLow / fprHigh) : -Infinity;
    const e2 = tprLow < 1 && fprHigh < 1 ? Math.log((1 - fprHigh) / (1 - tprLow)) : -Infinity;
    const e = Math.max(e1, e2);
    if (e > best.epsilon) {
      Object.assign(best, { epsilon: e, direction: e1 >= e2 ? 'tpr/fpr' : 'tnr/fnr', tpr: curve.tpr[i]!, fpr: curve.fpr[i]!, tprLow, fprHigh });
    }
  }
  return best;
}

function randomHalf(n: number, rng: SeededRandom): Uint8Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const inA = new Uint8Array(n);
  for (let i = 0; i < n >> 1; i++) inA[order[i]!] = 1;
  return inA;
}

function trueProbs(model: QueryableModel, ds: Dataset): Float64Array {
  const o = modelOutputs(model, ds);
  return Float64Array.from({ length: ds.n }, (_, i) => Math.max(MIN_PROBABILITY, trueLabelProbability(o, i)));
}

/**
 * Pr(x) for each of n candidates: the mean over reference-model pairs of one
 * model of the pair that the candidate is out of (`out(r, i)`), chosen by a
 * seeded coin when it is out of both. Every candidate — member, non-member or
 * population sample — thus averages the same number of models, so that the
 * spread of Pr(x) does not itself tell members from non-members.
 */
function prOut(refP: Float64Array[], n: number, out: (r: number, i: number) => boolean, salt: number): Float64Array {
  const pr = new Float64Array(n);
  const pairs = refP.length >> 1;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let q = 0; q < pairs; q++) {
      const a = 2 * q;
      const b = a + 1;
      const outA = out(a, i);
      const outB = out(b, i);
      const coin = (mix32(salt ^ mix32(i * pairs + q)) & 1) === 0;
      const r = outA && outB ? (coin ? a : b) : outA ? a : outB ? b : coin ? a : b;
      s += refP[r]![i]!;
    }
    pr[i] = s / pairs;
  }
  return pr;
}

function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Runs RMIA against `input.model` (see the module doc) and evaluates it with
 * the tie-aware ROC and {@link empiricalEpsilonLowerBound}. Trains
 * `referenceModels` models (rounded up to an even count) with
 * `input.trainReference`; the population must hold at least 4 rows and share
 * no row with the members or the non-member candidates.
 */
export async function rmiaAttack(input: RmiaInput, options: RmiaOptions = {}): Promise<RmiaResult> {
  // Reference models come in complementary pairs (see prOut), so an odd count is rounded up.
  const R = 2 * Math.ceil(Math.max(2, options.referenceModels ?? 2) / 2);
  const gamma = options.gamma ?? 1;
  const fprs = options.fprs ?? [0.01, 0.001];
  const seed = options.seed ?? 0;
  const confidence = options.confidence ?? 0.95;
  const maxZ = options.maxPopulationSamples ?? 5000;
  const pop = input.population;
  const nP = pop.n;
  if (nP < 4 || input.members.n < 1 || input.nonMembers.n < 1) {
    throw new SluiceError(
      'SLUICE_ERR_INPUT_INVALID',
      `rmia: needs at least 4 population rows and one member and non-member; found ${nP}, ${input.members.n} and ${input.nonMembers.n}`,
    );
  }
  // inRef[r][j] = 1 when population row j trained reference model r.
  const inRef: Uint8Array[] = [];
  const rng = new SeededRandom(deriveSeed(seed, 0x52a1));
  for (let r = 0; r < R; r += 2) {
    const a = randomHalf(nP, rng);
    inRef.push(a, Uint8Array.from(a, (v) => 1 - v));
  }
  const cap = input.members.n;
  const refRows: number[] = [];
  const refs: QueryableModel[] = [];
  for (let r = 0; r < R; r++) {
    const rows: number[] = [];
    for (let j = 0; j < nP; j++) if (inRef[r]![j]) rows.push(j);
    // Capped at the target's size by a seeded prefix of a shuffle, so the cap never changes which half is used.
    const take = rows.length > cap ? shuffledPrefix(rows, cap, new SeededRandom(deriveSeed(seed, 100 + r))) : rows;
    if (take.length !== rows.length) {
      const kept = new Uint8Array(nP);
      for (const j of take) kept[j] = 1;
      inRef[r] = kept;
    }
    refRows.push(take.length);
    refs.push(await input.trainReference(subset(pop, take), deriveSeed(seed, 200 + r)));
  }
  // Population samples z: a seeded subset of the pool.
  const zIdx = pop.n > maxZ ? shuffledPrefix(Array.from({ length: nP }, (_, j) => j), maxZ, new SeededRandom(deriveSeed(seed, 300))) : Array.from({ length: nP }, (_, j) => j);
  const zSet = subset(pop, zIdx);
  const zTarget = trueProbs(input.model, zSet);
  const zRef = refs.map((m) => trueProbs(m, zSet));
  const zPr = prOut(zRef, zSet.n, (r, i) => !inRef[r]![zIdx[i]!], deriveSeed(seed, 1));
  const zRatio = Float64Array.from(zTarget, (p, i) => p / Math.max(MIN_PROBABILITY, zPr[i]!));
  const zSorted = Float64Array.from(zRatio).sort();

  const score = (ds: Dataset, salt: number): Float64Array => {
    const pT = trueProbs(input.model, ds);
    const pR = refs.map((m) => trueProbs(m, ds));
    const pr = prOut(pR, ds.n, () => true, deriveSeed(seed, salt));
    const s = new Float64Array(ds.n);
    for (let i = 0; i < ds.n; i++) {
      // LR(x, z) > γ ⇔ ratio_z < ratio_x / γ; equality counts half.
      const cut = pT[i]! / Math.max(MIN_PROBABILITY, pr[i]!) / gamma;
      const below = lowerBound(zSorted, cut);
      const equal = upperBound(zSorted, cut) - below;
      s[i] = (below + equal / 2) / zSorted.length;
    }
    return s;
  };
  const memberScores = score(input.members, 2);
  const nonMemberScores = score(input.nonMembers, 3);
  const { scores, isMember } = pooled(memberScores, nonMemberScores);
  const evaluation = evaluateAttack(scores, isMember, fprs);
  const result: RmiaResult = {
    evaluation,
    epsilon: empiricalEpsilonLowerBound(evaluation.curve, confidence),
    memberScores,
    nonMemberScores,
    referenceModels: R,
    referenceTrainingRows: refRows,
    populationSamples: zSet.n,
  };
  if (input.targets) {
    const t = pooled(score(input.targets.members, 4), score(input.targets.nonMembers, 5));
    const te = evaluateAttack(t.scores, t.isMember, fprs);
    result.targets = { evaluation: te, epsilon: empiricalEpsilonLowerBound(te.curve, confidence) };
  }
  return result;
}

function shuffledPrefix(items: number[], take: number, rng: SeededRandom): number[] {
  const a = [...items];
  for (let i = 0; i < take; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, take).sort((x, y) => x - y);
}
