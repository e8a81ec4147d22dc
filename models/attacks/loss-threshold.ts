/**
 * The loss-threshold membership attack (Yeom et al. 2018; TF Privacy's
 * "threshold attack" on the loss): members tend to have lower loss, so the
 * attack score is −(cross-entropy loss of the true label) = ln p(true label).
 * Also the one query step every attack shares: the model's class
 * probabilities on a set of records.
 */
import type { Dataset } from '../dataset.js';
import { evaluateAttack, type AttackEvaluation } from '../roc.js';

/** What the attacks need of a trained model; models/train.ts's TrainedModel satisfies it. */
export interface QueryableModel {
  /** n×k class probabilities, row-major. */
  predictProba(X: Float64Array, n: number): Float64Array;
  /** The predicted class index of each row. */
  predict(X: Float64Array, n: number): Int32Array;
}

/** A model's answers on a set of records: probabilities and the true labels. */
export interface ModelOutputs {
  /** Rows. */
  n: number;
  /** Classes. */
  k: number;
  /** n×k class probabilities, row-major. */
  proba: Float64Array;
  /** True class index of each row. */
  y: Int32Array;
}

/** Smallest probability used inside a logarithm, so that a confident wrong answer scores ln(1e-12) ≈ −27.6 and not −∞. */
export const MIN_PROBABILITY = 1e-12;

/** Queries `model` on every row of `ds` once. */
export function modelOutputs(model: QueryableModel, ds: Dataset): ModelOutputs {
  const proba = model.predictProba(ds.X, ds.n);
  const k = ds.n === 0 ? ds.classes.length : Math.round(proba.length / ds.n);
  return { n: ds.n, k, proba, y: ds.y };
}

/** The probability the model gives the true label of row i. */
export function trueLabelProbability(o: ModelOutputs, i: number): number {
  return o.proba[i * o.k + o.y[i]!]!;
}

/** Loss-threshold attack scores: ln max(p(true label), {@link MIN_PROBABILITY}) per row (0 = no loss, the most member-like). */
export function lossScores(o: ModelOutputs): Float64Array {
  const s = new Float64Array(o.n);
  for (let i = 0; i < o.n; i++) s[i] = Math.log(Math.max(MIN_PROBABILITY, trueLabelProbability(o, i)));
  return s;
}

/** Concatenates member and non-member scores with a membership mask (1 = member). */
export function pooled(memberScores: Float64Array, nonMemberScores: Float64Array): { scores: Float64Array; isMember: Uint8Array } {
  const scores = new Float64Array(memberScores.length + nonMemberScores.length);
  scores.set(memberScores, 0);
  scores.set(nonMemberScores, memberScores.length);
  const isMember = new Uint8Array(scores.length);
  isMember.fill(1, 0, memberScores.length);
  return { scores, isMember };
}

/**
 * The loss-threshold attack on all given members and non-members at once,
 * evaluated with the tie-aware ROC (AUC, p-value, TPR at `fprs`, advantage).
 * The repeated version on random halves, as C4 runs it, is in ./learned.ts.
 */
export function lossThresholdAttack(members: ModelOutputs, nonMembers: ModelOutputs, fprs: readonly number[] = [0.01, 0.001]): AttackEvaluation {
  const { scores, isMember } = pooled(lossScores(members), lossScores(nonMembers));
  return evaluateAttack(scores, isMember, fprs);
}
