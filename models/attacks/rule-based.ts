/**
 * The rule-based membership attack of Yeom et al. (2018): "a record is a member
 * iff the model classifies it correctly". Its TPR is the training accuracy, its
 * FPR the held-out accuracy, so its advantage (TPR − FPR) is exactly the
 * generalization gap — an identity the audit tests on every trainer.
 */
import type { Dataset } from '../dataset.js';
import type { QueryableModel } from './loss-threshold.js';

/** Result of {@link ruleBasedAttack}. Counts and rates only. */
export interface RuleBasedResult {
  /** Members classified correctly (= the attack's true positives). */
  memberCorrect: number;
  /** Non-members classified correctly (= the attack's false positives). */
  nonMemberCorrect: number;
  nMembers: number;
  nNonMembers: number;
  /** memberCorrect / nMembers: the training accuracy. */
  tpr: number;
  /** nonMemberCorrect / nNonMembers: the held-out accuracy. */
  fpr: number;
  /** tpr − fpr = train accuracy − test accuracy. */
  advantage: number;
}

function correctCount(model: QueryableModel, ds: Dataset): number {
  const pred = model.predict(ds.X, ds.n);
  let c = 0;
  for (let i = 0; i < ds.n; i++) if (pred[i] === ds.y[i]) c++;
  return c;
}

/**
 * Runs the "member iff correctly classified" attack with the model's own
 * `predict` (so it agrees with the accuracy a trainer reports) on `members`
 * (training rows) and `nonMembers` (held-out rows). Both must be non-empty.
 */
export function ruleBasedAttack(model: QueryableModel, members: Dataset, nonMembers: Dataset): RuleBasedResult {
  const memberCorrect = correctCount(model, members);
  const nonMemberCorrect = correctCount(model, nonMembers);
  const tpr = memberCorrect / members.n;
  const fpr = nonMemberCorrect / nonMembers.n;
  return { memberCorrect, nonMemberCorrect, nMembers: members.n, nNonMembers: nonMembers.n, tpr, fpr, advantage: tpr - fpr };
}
