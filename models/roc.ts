/**
 * Tie-aware ROC analysis for membership-inference attacks (AUDIT.md C4, C5).
 *
 * Scores: higher means "more likely a member" (a positive). Records with equal
 * scores form one group, and the curve moves from one group's point to the next
 * in a single straight (diagonal) step: an attacker who meets a tie can only
 * flip a coin, so every point on that segment is reachable by randomizing at the
 * threshold, and none above it. This matters for trained models, where many
 * members and non-members share confidence 1.0.
 *
 * Conventions, chosen to match scikit-learn's `roc_curve` and `roc_auc_score`:
 * - the curve starts at (0, 0) (threshold +Infinity) and has one point per
 *   distinct score, in decreasing score order, ending at (1, 1);
 * - FPR and TPR are counts divided by the class totals (the same doubles as
 *   scikit-learn's `fps / fps[-1]`);
 * - with `dropIntermediate`, interior points collinear with both neighbours in
 *   count space are dropped exactly as `roc_curve(drop_intermediate=True)` does;
 * - the AUC is the Mann–Whitney U / (n⁺ n⁻), ties counted ½, which is the
 *   trapezoid area under the tie-aware curve.
 */
import { SluiceError } from '../lib/errors.js';
import { aucNullSigma, normalSf } from '../lib/stats.js';

/** A ROC curve: parallel arrays of points, from (0, 0) to (1, 1). */
export interface RocCurve {
  /** False-positive rate of each point. */
  fpr: Float64Array;
  /** True-positive rate of each point. */
  tpr: Float64Array;
  /** Score threshold of each point ("member iff score ≥ threshold"); +Infinity for the first point. */
  thresholds: Float64Array;
  /** Number of positives (members). */
  nPositive: number;
  /** Number of negatives (non-members). */
  nNegative: number;
}

/** Options of {@link rocCurve}. */
export interface RocOptions {
  /** Drop interior points collinear with their neighbours, as scikit-learn's default does. Default false (one point per distinct score). */
  dropIntermediate?: boolean;
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INPUT_INVALID', message);
}

interface Groups {
  /** Distinct scores, decreasing. */
  scores: number[];
  /** Cumulative positives at or above each distinct score. */
  tps: number[];
  /** Cumulative negatives at or above each distinct score. */
  fps: number[];
  nPositive: number;
  nNegative: number;
}

function groupScores(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): Groups {
  const n = scores.length;
  if (positive.length !== n) throw invalid(`roc: scores and labels differ in length (${n} and ${positive.length})`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    if (Number.isNaN(s)) throw invalid(`roc: score ${i} is NaN`);
    order[i] = i;
  }
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const out: Groups = { scores: [], tps: [], fps: [], nPositive: 0, nNegative: 0 };
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    if (positive[i]) tp++;
    else fp++;
    const s = scores[i]!;
    // Close a group only where the next score differs: ties move the curve in one diagonal step.
    if (j === n - 1 || scores[order[j + 1]!]! !== s) {
      out.scores.push(s);
      out.tps.push(tp);
      out.fps.push(fp);
    }
  }
  out.nPositive = tp;
  out.nNegative = fp;
  return out;
}

function requireBothClasses(g: Groups, what: string): void {
  if (g.nPositive === 0 || g.nNegative === 0) {
    throw invalid(`${what}: needs at least one member and one non-member; found ${g.nPositive} and ${g.nNegative}`);
  }
}

/**
 * The tie-aware ROC curve of `scores` against `positive` (truthy = member).
 * One point per distinct score plus the origin; see the module doc for the
 * conventions. Throws SLUICE_ERR_INPUT_INVALID when a class is empty, the
 * lengths differ or a score is NaN.
 */
export function rocCurve(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>, options: RocOptions = {}): RocCurve {
  const g = groupScores(scores, positive);
  requireBothClasses(g, 'rocCurve');
  let keep: number[];
  if (options.dropIntermediate && g.scores.length > 2) {
    // A point stays when the second difference of either count is non-zero there (a change of slope).
    keep = [0];
    for (let i = 1; i < g.scores.length - 1; i++) {
      const dF = g.fps[i + 1]! - 2 * g.fps[i]! + g.fps[i - 1]!;
      const dT = g.tps[i + 1]! - 2 * g.tps[i]! + g.tps[i - 1]!;
      if (dF !== 0 || dT !== 0) keep.push(i);
    }
    keep.push(g.scores.length - 1);
  } else {
    keep = g.scores.map((_, i) => i);
  }
  const m = keep.length + 1;
  const fpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  const thresholds = new Float64Array(m);
  thresholds[0] = Infinity;
  for (let j = 0; j < keep.length; j++) {
    const i = keep[j]!;
    fpr[j + 1] = g.fps[i]! / g.nNegative;
    tpr[j + 1] = g.tps[i]! / g.nPositive;
    thresholds[j + 1] = g.scores[i]!;
  }
  return { fpr, tpr, thresholds, nPositive: g.nPositive, nNegative: g.nNegative };
}

/**
 * Area under the tie-aware ROC curve: the Mann–Whitney U statistic divided by
 * n⁺ n⁻, a tie between a member and a non-member counting ½. Computed from
 * integer counts with one final division, so it equals scikit-learn's
 * `roc_auc_score` to rounding. 0.5 is chance; 1 is perfect separation.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number {
  const g = groupScores(scores, positive);
  requireBothClasses(g, 'rocAuc');
  // Each group's negatives beat nothing above them, tie with the group's positives (½) and lose to earlier positives.
  let twiceU = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let i = 0; i < g.scores.length; i++) {
    const dp = g.tps[i]! - prevTp;
    const dn = g.fps[i]! - prevFp;
    twiceU += dn * (2 * prevTp + dp);
    prevTp = g.tps[i]!;
    prevFp = g.fps[i]!;
  }
  return twiceU / (2 * g.nPositive * g.nNegative);
}

/** The area under a curve's points by the trapezoid rule (for curves built by {@link rocCurve}). */
export function curveArea(curve: RocCurve): number {
  let a = 0;
  for (let i = 1; i < curve.fpr.length; i++) a += ((curve.fpr[i]! - curve.fpr[i - 1]!) * (curve.tpr[i]! + curve.tpr[i - 1]!)) / 2;
  return a;
}

/**
 * TPR at a false-positive rate `fpr` (0 ≤ fpr ≤ 1) on the tie-aware curve.
 * Convention: the largest TPR any point of the piecewise-linear curve reaches
 * with FPR ≤ `fpr` — linear interpolation between the two vertices that
 * bracket `fpr`, and at a vertex with exactly that FPR the highest TPR there.
 * Interpolation is what a randomized threshold achieves, so this is the
 * attacker's best TPR at that FPR. Between vertices it equals NumPy's
 * `np.interp(fpr, roc_fpr, roc_tpr)` on scikit-learn's curve. It is at least the
 * step value `max{tpr_i : fpr_i ≤ fpr}` used by Carlini et al. (2022).
 */
export function tprAtFpr(curve: RocCurve, fpr: number): number {
  if (!(fpr >= 0 && fpr <= 1)) throw invalid(`tprAtFpr: fpr must be in [0, 1]; found ${fpr}`);
  const f = curve.fpr;
  const t = curve.tpr;
  // First vertex strictly beyond fpr; the one before it is the last vertex with FPR ≤ fpr.
  let lo = 0;
  let hi = f.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (f[mid]! > fpr) hi = mid;
    else lo = mid + 1;
  }
  const j = lo;
  if (j >= f.length) return t[f.length - 1]!;
  const a = j - 1;
  if (f[a]! === fpr) return t[a]!;
  return t[a]! + ((fpr - f[a]!) * (t[j]! - t[a]!)) / (f[j]! - f[a]!);
}

/** The attacker's advantage max(TPR − FPR) over the curve's vertices (TF Privacy's "attacker advantage"); 0 for a useless attack. */
export function maxAdvantage(curve: RocCurve): number {
  let best = 0;
  for (let i = 0; i < curve.fpr.length; i++) best = Math.max(best, curve.tpr[i]! - curve.fpr[i]!);
  return best;
}

/**
 * Standard deviation of the AUC under the null hypothesis of no signal:
 * σ0 = sqrt((n⁺ + n⁻ + 1) / (12 n⁺ n⁻)). 199 members and 86 non-members give
 * 0.03732, so 3σ spans 0.388–0.612.
 */
export function aucNullSd(nPositive: number, nNegative: number): number {
  return aucNullSigma(nPositive, nNegative);
}

/**
 * One-sided p-value of an AUC under the null (AUC = 0.5), by the normal
 * approximation: P(Z ≥ (auc − 0.5) / σ0). For n⁺ = 199, n⁻ = 86 and AUC
 * 0.56909548 it is 0.032046.
 */
export function aucPValue(auc: number, nPositive: number, nNegative: number): number {
  return normalSf((auc - 0.5) / aucNullSigma(nPositive, nNegative));
}

/** Everything the audit reports about one set of attack scores. */
export interface AttackEvaluation {
  auc: number;
  /** One-sided p-value of `auc` under the null (normal approximation). */
  pValue: number;
  /** σ0 of the AUC under the null. */
  sigma0: number;
  /** TPR at each requested FPR, in the order asked (see {@link tprAtFpr}). */
  tprAtFpr: number[];
  /** max(TPR − FPR). */
  advantage: number;
  nMembers: number;
  nNonMembers: number;
  /** The full tie-aware curve (not downsampled). */
  curve: RocCurve;
}

/**
 * Evaluates membership scores (higher = member): AUC, its null σ0 and p-value,
 * TPR at each of `fprs` (default 1% and 0.1%), the attacker advantage and the curve.
 */
export function evaluateAttack(
  scores: ArrayLike<number>,
  isMember: ArrayLike<boolean | number>,
  fprs: readonly number[] = [0.01, 0.001],
): AttackEvaluation {
  const curve = rocCurve(scores, isMember);
  const auc = rocAuc(scores, isMember);
  return {
    auc,
    pValue: aucPValue(auc, curve.nPositive, curve.nNegative),
    sigma0: aucNullSigma(curve.nPositive, curve.nNegative),
    tprAtFpr: fprs.map((f) => tprAtFpr(curve, f)),
    advantage: maxAdvantage(curve),
    nMembers: curve.nPositive,
    nNonMembers: curve.nNegative,
    curve,
  };
}

/**
 * At most `maxPoints` (default 200, at least 2) points of a curve for a plot, as
 * `[fpr, tpr]` pairs: the first and last vertices are kept and the rest chosen
 * evenly along the curve's length, so steep low-FPR stretches keep their detail.
 */
export function downsampleCurve(curve: RocCurve, maxPoints = 200): Array<[number, number]> {
  const n = curve.fpr.length;
  const pts: Array<[number, number]> = [];
  if (n <= maxPoints) {
    for (let i = 0; i < n; i++) pts.push([curve.fpr[i]!, curve.tpr[i]!]);
    return pts;
  }
  const cum = new Float64Array(n);
  for (let i = 1; i < n; i++) cum[i] = cum[i - 1]! + Math.hypot(curve.fpr[i]! - curve.fpr[i - 1]!, curve.tpr[i]! - curve.tpr[i - 1]!);
  const total = cum[n - 1]!;
  const slots = Math.max(2, maxPoints);
  let last = -1;
  let j = 0;
  for (let s = 0; s < slots; s++) {
    const target = (total * s) / (slots - 1);
    while (j < n - 1 && cum[j]! < target) j++;
    const i = s === slots - 1 ? n - 1 : j;
    if (i !== last) {
      pts.push([curve.fpr[i]!, curve.tpr[i]!]);
      last = i;
    }
  }
  return pts;
}
