/**
 * The learned membership attack without shadow models (SACRO-ML's "worst-case"
 * attack, TF Privacy's trained attack on sorted probabilities), and the
 * repetition protocol of AUDIT.md C4 that also runs the loss-threshold attack.
 *
 * Features of a record: the model's class probabilities sorted in decreasing
 * order, plus the cross-entropy loss of the true label. The attack model is an
 * L2-regularized logistic regression (fitted by Newton–Raphson / IRLS on
 * standardized features), trained on a random half of the member/non-member
 * pool (each group halved separately) and evaluated on the other half. Each of
 * the `repetitions` draws a new split; the loss-threshold attack is evaluated
 * on the same evaluation halves so the two are comparable.
 */
import { SeededRandom, deriveSeed } from '../dataset.js';
import { evaluateAttack, type AttackEvaluation } from '../roc.js';
import { lossScores, MIN_PROBABILITY, pooled, trueLabelProbability, type ModelOutputs } from './loss-threshold.js';

/** Feature matrix of the learned attack: `n` rows of `d` = k + 1 features (sorted probabilities, then the loss). */
export interface AttackFeatures {
  n: number;
  d: number;
  X: Float64Array;
}

/** The attack features of every row of `o` (see the module doc). */
export function attackFeatures(o: ModelOutputs): AttackFeatures {
  const d = o.k + 1;
  const X = new Float64Array(o.n * d);
  const row = new Float64Array(o.k);
  for (let i = 0; i < o.n; i++) {
    for (let c = 0; c < o.k; c++) row[c] = o.proba[i * o.k + c]!;
    row.sort();
    for (let c = 0; c < o.k; c++) X[i * d + c] = row[o.k - 1 - c]!;
    X[i * d + o.k] = -Math.log(Math.max(MIN_PROBABILITY, trueLabelProbability(o, i)));
  }
  return { n: o.n, d, X };
}

/** A fitted logistic regression attack model on standardized features. */
export interface LogisticAttackModel {
  mean: Float64Array;
  scale: Float64Array;
  /** Weights; the last entry is the intercept. */
  w: Float64Array;
}

function solveSymmetric(A: Float64Array, b: Float64Array, m: number): Float64Array {
  // Gaussian elimination with partial pivoting on a small (m ≤ ~20) system.
  const M = Float64Array.from(A);
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(M[r * m + c]!) > Math.abs(M[p * m + c]!)) p = r;
    if (p !== c) {
      for (let j = 0; j < m; j++) {
        const t = M[c * m + j]!;
        M[c * m + j] = M[p * m + j]!;
        M[p * m + j] = t;
      }
      const t = x[c]!;
      x[c] = x[p]!;
      x[p] = t;
    }
    const piv = M[c * m + c]!;
    if (Math.abs(piv) < 1e-300) continue;
    for (let r = c + 1; r < m; r++) {
      const f = M[r * m + c]! / piv;
      if (f === 0) continue;
      for (let j = c; j < m; j++) M[r * m + j] = M[r * m + j]! - f * M[c * m + j]!;
      x[r] = x[r]! - f * x[c]!;
    }
  }
  for (let c = m - 1; c >= 0; c--) {
    let s = x[c]!;
    for (let j = c + 1; j < m; j++) s -= M[c * m + j]! * x[j]!;
    const piv = M[c * m + c]!;
    x[c] = Math.abs(piv) < 1e-300 ? 0 : s / piv;
  }
  return x;
}

/**
 * Fits the attack's logistic regression on the rows `rows` of `f` with labels
 * `isMember` (indexed like `f`). `l2` (default 1, on standardized features; the
 * intercept is not penalized) keeps the weights finite when members and
 * non-members separate perfectly.
 */
export function fitLogisticAttack(f: AttackFeatures, isMember: Uint8Array, rows: Int32Array, l2 = 1): LogisticAttackModel {
  const { d } = f;
  const m = d + 1;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (const i of rows) for (let j = 0; j < d; j++) mean[j] = mean[j]! + f.X[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / Math.max(1, rows.length);
  for (const i of rows) for (let j = 0; j < d; j++) scale[j] = scale[j]! + (f.X[i * d + j]! - mean[j]!) ** 2;
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(scale[j]! / Math.max(1, rows.length));
    // A constant feature carries nothing; a unit scale keeps it at 0 after centring.
    scale[j] = sd > 1e-12 ? sd : 1;
  }
  const w = new Float64Array(m);
  const z = new Float64Array(m);
  z[d] = 1;
  for (let iter = 0; iter < 50; iter++) {
    const H = new Float64Array(m * m);
    const g = new Float64Array(m);
    for (const i of rows) {
      let eta = w[d]!;
      for (let j = 0; j < d; j++) {
        z[j] = (f.X[i * d + j]! - mean[j]!) / scale[j]!;
        eta += w[j]! * z[j]!;
      }
      const p = 1 / (1 + Math.exp(-eta));
      const r = (isMember[i] ? 1 : 0) - p;
      const wt = Math.max(p * (1 - p), 1e-12);
      for (let a = 0; a < m; a++) {
        g[a] = g[a]! + r * z[a]!;
        const za = wt * z[a]!;
        for (let b = a; b < m; b++) H[a * m + b] = H[a * m + b]! + za * z[b]!;
      }
    }
    for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) H[a * m + b] = H[b * m + a]!;
    for (let j = 0; j < d; j++) {
      H[j * m + j] = H[j * m + j]! + l2;
      g[j] = g[j]! - l2 * w[j]!;
    }
    const step = solveSymmetric(H, g, m);
    let maxStep = 0;
    for (let a = 0; a < m; a++) {
      w[a] = w[a]! + step[a]!;
      maxStep = Math.max(maxStep, Math.abs(step[a]!));
    }
    if (maxStep < 1e-8) break;
  }
  return { mean, scale, w };
}

/** The attack model's linear score (log-odds of membership) for every row of `f`. */
export function scoreLogisticAttack(model: LogisticAttackModel, f: AttackFeatures, rows?: Int32Array): Float64Array {
  const { d } = f;
  const idx = rows ?? Int32Array.from({ length: f.n }, (_, i) => i);
  const out = new Float64Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r]!;
    let eta = model.w[d]!;
    for (let j = 0; j < d; j++) eta += (model.w[j]! * (f.X[i * d + j]! - model.mean[j]!)) / model.scale[j]!;
    out[r] = eta;
  }
  return out;
}

/** Options of {@link repeatedMembershipAttacks}. */
export interface RepeatedAttackOptions {
  /** Number of random splits. Default 10 (AUDIT.md C4). */
  repetitions?: number;
  /** Seed of the splits. Default 0. */
  seed?: number;
  /** FPRs at which TPR is read. Default [0.01, 0.001]. */
  fprs?: readonly number[];
  /** A repetition is significant when its one-sided AUC p-value is below this. Default 0.05. */
  alpha?: number;
}

/** One repetition's numbers. */
export interface RepetitionResult {
  auc: number;
  pValue: number;
  tprAtFpr: number[];
  advantage: number;
}

/** The summary of one attack over all repetitions. */
export interface RepeatedAttackSummary {
  attack: 'loss-threshold' | 'learned';
  repetitions: number;
  meanAuc: number;
  minAuc: number;
  maxAuc: number;
  /** Repetitions with p-value < alpha. */
  nSignificant: number;
  /** nSignificant / repetitions. */
  significantShare: number;
  /** Median over repetitions of TPR at each requested FPR. */
  medianTprAtFpr: number[];
  /** Mean over repetitions of max(TPR − FPR). */
  meanAdvantage: number;
  perRepetition: RepetitionResult[];
  /** The repetition with the median AUC, with its evaluation scores (for the ROC plot and histograms). */
  representative: AttackEvaluation & { memberScores: Float64Array; nonMemberScores: Float64Array };
}

/** Result of {@link repeatedMembershipAttacks}. */
export interface RepeatedAttackResult {
  loss: RepeatedAttackSummary;
  learned: RepeatedAttackSummary;
  /** The same attacks aimed at declared target records (canaries), when given. */
  targets?: { loss: RepeatedAttackSummary; learned: RepeatedAttackSummary };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface RepRecord extends RepetitionResult {
  evaluation: AttackEvaluation;
  memberScores: Float64Array;
  nonMemberScores: Float64Array;
}

function summarize(attack: 'loss-threshold' | 'learned', reps: RepRecord[], alpha: number, nF: number): RepeatedAttackSummary {
  const aucs = reps.map((r) => r.auc);
  const nSignificant = reps.filter((r) => r.pValue < alpha).length;
  const order = reps.map((_, i) => i).sort((a, b) => reps[a]!.auc - reps[b]!.auc);
  const rep = reps[order[(order.length - 1) >> 1]!]!;
  return {
    attack,
    repetitions: reps.length,
    meanAuc: aucs.reduce((a, b) => a + b, 0) / reps.length,
    minAuc: Math.min(...aucs),
    maxAuc: Math.max(...aucs),
    nSignificant,
    significantShare: nSignificant / reps.length,
    medianTprAtFpr: Array.from({ length: nF }, (_, j) => median(reps.map((r) => r.tprAtFpr[j]!))),
    meanAdvantage: reps.reduce((a, r) => a + r.advantage, 0) / reps.length,
    perRepetition: reps.map(({ auc, pValue, tprAtFpr, advantage }) => ({ auc, pValue, tprAtFpr, advantage })),
    representative: { ...rep.evaluation, memberScores: rep.memberScores, nonMemberScores: rep.nonMemberScores },
  };
}

function record(memberScores: Float64Array, nonMemberScores: Float64Array, fprs: readonly number[]): RepRecord {
  const { scores, isMember } = pooled(memberScores, nonMemberScores);
  const evaluation = evaluateAttack(scores, isMember, fprs);
  return { auc: evaluation.auc, pValue: evaluation.pValue, tprAtFpr: evaluation.tprAtFpr, advantage: evaluation.advantage, evaluation, memberScores, nonMemberScores };
}

function shuffled(n: number, rng: SeededRandom): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

function concatOutputs(a: ModelOutputs, b: ModelOutputs): ModelOutputs {
  const proba = new Float64Array(a.proba.length + b.proba.length);
  proba.set(a.proba, 0);
  proba.set(b.proba, a.proba.length);
  const y = new Int32Array(a.n + b.n);
  y.set(a.y, 0);
  y.set(b.y, a.n);
  return { n: a.n + b.n, k: a.k, proba, y };
}

/**
 * AUDIT.md C4's protocol: `repetitions` random half/half splits of the
 * member/non-member pool (each group split separately, so both halves keep the
 * pool's member share). In each, the learned attack is fitted on one half and
 * both it and the loss-threshold attack are evaluated on the other. With
 * `targets` (declared target records such as inserted canaries and their
 * held-out twins), each repetition's fitted attack model and the loss
 * threshold are also evaluated on them. Each group needs at least 2 rows.
 */
export function repeatedMembershipAttacks(
  members: ModelOutputs,
  nonMembers: ModelOutputs,
  options: RepeatedAttackOptions = {},
  targets?: { members: ModelOutputs; nonMembers: ModelOutputs },
): RepeatedAttackResult {
  const repetitions = options.repetitions ?? 10;
  const fprs = options.fprs ?? [0.01, 0.001];
  const alpha = options.alpha ?? 0.05;
  const seed = options.seed ?? 0;
  const all = concatOutputs(members, nonMembers);
  const feats = attackFeatures(all);
  const loss = lossScores(all);
  const isMember = new Uint8Array(all.n);
  isMember.fill(1, 0, members.n);
  const tFeats = targets ? attackFeatures(concatOutputs(targets.members, targets.nonMembers)) : undefined;
  const tLossM = targets ? lossScores(targets.members) : undefined;
  const tLossN = targets ? lossScores(targets.nonMembers) : undefined;
  const lossReps: RepRecord[] = [];
  const learnedReps: RepRecord[] = [];
  const tLossReps: RepRecord[] = [];
  const tLearnedReps: RepRecord[] = [];
  for (let r = 0; r < repetitions; r++) {
    const rng = new SeededRandom(deriveSeed(seed, r));
    const pm = shuffled(members.n, rng);
    const pn = shuffled(nonMembers.n, rng);
    const hm = members.n >> 1;
    const hn = nonMembers.n >> 1;
    const train = new Int32Array(hm + hn);
    train.set(pm.subarray(0, hm), 0);
    for (let i = 0; i < hn; i++) train[hm + i] = members.n + pn[i]!;
    const evalM = pm.subarray(hm);
    const evalN = Int32Array.from(pn.subarray(hn), (i) => members.n + i);
    const model = fitLogisticAttack(feats, isMember, train);
    learnedReps.push(record(scoreLogisticAttack(model, feats, evalM), scoreLogisticAttack(model, feats, evalN), fprs));
    lossReps.push(record(Float64Array.from(evalM, (i) => loss[i]!), Float64Array.from(evalN, (i) => loss[i]!), fprs));
    if (targets && tFeats && tLossM && tLossN) {
      const s = scoreLogisticAttack(model, tFeats);
      tLearnedReps.push(record(s.slice(0, targets.members.n), s.slice(targets.members.n), fprs));
      tLossReps.push(record(tLossM, tLossN, fprs));
    }
  }
  const out: RepeatedAttackResult = {
    loss: summarize('loss-threshold', lossReps, alpha, fprs.length),
    learned: summarize('learned', learnedReps, alpha, fprs.length),
  };
  if (targets) out.targets = { loss: summarize('loss-threshold', tLossReps, alpha, fprs.length), learned: summarize('learned', tLearnedReps, alpha, fprs.length) };
  return out;
}
