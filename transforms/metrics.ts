/**
 * Information-loss metrics and re-identification risk, defined as ARX defines
 * them so results can be compared with ARX: discernibility, average class
 * size, number of classes, suppressed records, ARX's default "Loss", and
 * prosecutor risk.
 *
 * A partition is the equivalence classes of the released records on the
 * quasi-identifiers plus the suppressed records (every quasi-identifier `*`).
 */

/** Equivalence classes of kept records plus the number of suppressed records. */
export interface ClassPartition {
  /** Total number of records N (kept + suppressed). */
  n: number;
  /** Sizes of the classes of kept records. */
  sizes: ArrayLike<number>;
  /** Records suppressed (all quasi-identifiers `*`). */
  suppressed: number;
}

/**
 * Discernibility: Σ over kept classes of size², plus N for each suppressed
 * record (a suppressed record is indistinguishable from every record).
 */
export function discernibility(p: ClassPartition): number {
  let s = 0;
  for (let i = 0; i < p.sizes.length; i++) s += p.sizes[i]! * p.sizes[i]!;
  return s + p.suppressed * p.n;
}

/** Number of classes as ARX counts them: kept classes, plus one if any record is suppressed. */
export function classCount(p: ClassPartition): number {
  let c = 0;
  for (let i = 0; i < p.sizes.length; i++) if (p.sizes[i]! > 0) c++;
  return c + (p.suppressed > 0 ? 1 : 0);
}

/** Average class size (ARX's AECS): N / {@link classCount}; 0 for an empty table. */
export function averageClassSize(p: ClassPartition): number {
  const c = classCount(p);
  return c === 0 ? 0 : p.n / c;
}

/**
 * One quasi-identifier's input to {@link arxLoss}: `domainSize` = |D_a|, the
 * number of rows of its hierarchy; `shareNumerator` = Σ over records of
 * (hierarchy rows mapped to the record's released value), with a suppressed
 * record counting |D_a|. Then S_a = shareNumerator / |D_a|. Keeping the
 * numerator an integer makes the metric exactly reproducible.
 */
export interface LossAttribute {
  domainSize: number;
  shareNumerator: number;
}

/**
 * ARX's default "Loss" in [0, 1]: for each quasi-identifier a,
 * L_a = max(0, (S_a − N/|D_a|) / (N − N/|D_a|)) (0 when |D_a| = 1), and
 * Loss = Π_a (L_a + 1)^(1/d) − 1 over the d quasi-identifiers.
 * Non-decreasing in every `shareNumerator`.
 */
export function arxLoss(n: number, attributes: readonly LossAttribute[]): number {
  const d = attributes.length;
  if (d === 0 || n === 0) return 0;
  let prod = 1;
  for (const a of attributes) prod *= arxLossFactor(n, a, d);
  return prod - 1;
}

/** One quasi-identifier's factor (L_a + 1)^(1/d) of {@link arxLoss}; exposed so a search can precompute it bit-identically. */
export function arxLossFactor(n: number, a: LossAttribute, d: number): number {
  const base = n / a.domainSize;
  const denom = n - base;
  const la = denom <= 0 ? 0 : Math.max(0, (a.shareNumerator / a.domainSize - base) / denom);
  return Math.pow(la + 1, 1 / d);
}

/** Prosecutor re-identification risk of a partition. */
export interface ProsecutorRisk {
  /** Highest risk of any record: 1 / smallest class (suppressed records form one class). */
  max: number;
  /** Average risk over records: classes / N. */
  average: number;
  /** The threshold used for `aboveThreshold`. */
  threshold: number;
  /** Share of records whose risk (1 / class size) exceeds `threshold`. */
  aboveThreshold: number;
  /** Records alone in their class (sample uniques), and their share of N. */
  sampleUniques: number;
  sampleUniquesShare: number;
}

/**
 * Prosecutor risk. Suppressed records are one class of size `suppressed` (they
 * all read `*`), as an attacker sees the release. `threshold` defaults to 0.2
 * (classes smaller than 5).
 */
export function prosecutorRisk(p: ClassPartition, threshold = 0.2): ProsecutorRisk {
  let minSize = Infinity;
  let classes = 0;
  let above = 0;
  let uniques = 0;
  const visit = (s: number): void => {
    if (s <= 0) return;
    classes++;
    if (s < minSize) minSize = s;
    if (1 / s > threshold) above += s;
    if (s === 1) uniques++;
  };
  for (let i = 0; i < p.sizes.length; i++) visit(p.sizes[i]!);
  visit(p.suppressed);
  const n = p.n;
  return {
    max: classes === 0 ? 0 : 1 / minSize,
    average: n === 0 ? 0 : classes / n,
    threshold,
    aboveThreshold: n === 0 ? 0 : above / n,
    sampleUniques: uniques,
    sampleUniquesShare: n === 0 ? 0 : uniques / n,
  };
}

/** Metrics and risk of one table (before or after anonymization). */
export interface RiskAndMetrics {
  records: number;
  classes: number;
  suppressed: number;
  smallestClass: number;
  averageClassSize: number;
  discernibility: number;
  /** ARX Loss; 0 for the raw table. */
  loss: number;
  risk: ProsecutorRisk;
}

/** Computes every metric of {@link RiskAndMetrics} for a partition; `loss` is given (see {@link arxLoss}). */
export function riskAndMetrics(p: ClassPartition, loss: number, threshold = 0.2): RiskAndMetrics {
  let smallest = Infinity;
  for (let i = 0; i < p.sizes.length; i++) if (p.sizes[i]! > 0 && p.sizes[i]! < smallest) smallest = p.sizes[i]!;
  if (p.suppressed > 0 && p.suppressed < smallest) smallest = p.suppressed;
  return {
    records: p.n,
    classes: classCount(p),
    suppressed: p.suppressed,
    smallestClass: smallest === Infinity ? 0 : smallest,
    averageClassSize: averageClassSize(p),
    discernibility: discernibility(p),
    loss,
    risk: prosecutorRisk(p, threshold),
  };
}
