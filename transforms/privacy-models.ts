/**
 * Privacy models as predicates over one equivalence class: its size and, for
 * ℓ-diversity and t-closeness, the histogram of its sensitive values
 * (`hist[v]` = records of the class with sensitive code v).
 *
 * Monotonicity (if a level vector satisfies the model, so does every
 * generalization of it) matters to the optimal search:
 * - without suppression every model here is monotone: a class of a
 *   generalization is a union of classes that each pass, and each predicate
 *   holds for a union of passing classes;
 * - with suppression (records of failing classes removed up to a limit) only
 *   k-anonymity and distinct ℓ-diversity stay monotone: a class that fails
 *   after merging is a union of classes that all failed before, so the
 *   suppressed count never grows. For entropy and recursive ℓ-diversity and
 *   both t-closeness variants a passing class merged with a failing one can
 *   fail, so more records may need suppression; the search does not prune by
 *   them when the suppression limit is above zero.
 */

/** A privacy model's predicate over one class. */
export interface ClassPredicate {
  /** `hist` may hold many classes; `offset` is where this class's counts start. */
  (size: number, hist: ArrayLike<number>, offset: number): boolean;
}

/** k-anonymity: the class has at least k records. Monotone, also with suppression. */
export function kAnonymous(size: number, k: number): boolean {
  return size >= k;
}

/** Distinct ℓ-diversity: at least ℓ distinct sensitive values. Monotone, also with suppression. */
export function distinctLDiverse(hist: ArrayLike<number>, l: number, offset = 0, length = hist.length - offset): boolean {
  let distinct = 0;
  for (let i = offset; i < offset + length; i++) if (hist[i]! > 0 && ++distinct >= l) return true;
  return distinct >= l;
}

/**
 * Entropy ℓ-diversity: −Σ p·ln p ≥ ln ℓ over the class's sensitive values.
 * Monotone without suppression (entropy is concave), not with suppression.
 */
export function entropyLDiverse(hist: ArrayLike<number>, l: number, offset = 0, length = hist.length - offset): boolean {
  let total = 0;
  for (let i = offset; i < offset + length; i++) total += hist[i]!;
  if (total === 0) return false;
  let h = 0;
  for (let i = offset; i < offset + length; i++) {
    const c = hist[i]!;
    if (c > 0) h -= (c / total) * Math.log(c / total);
  }
  // a tiny tolerance so that a uniform class over exactly ℓ values passes despite rounding
  return h >= Math.log(l) - 1e-12;
}

/**
 * Recursive (c,ℓ)-diversity: with counts sorted descending r1 ≥ r2 ≥ …,
 * r1 < c · (r_ℓ + r_{ℓ+1} + … + r_m). Fails when fewer than ℓ values occur.
 * Monotone without suppression, not with suppression.
 */
export function recursiveCLDiverse(hist: ArrayLike<number>, c: number, l: number, offset = 0, length = hist.length - offset): boolean {
  const counts: number[] = [];
  for (let i = offset; i < offset + length; i++) if (hist[i]! > 0) counts.push(hist[i]!);
  if (counts.length < l) return false;
  counts.sort((a, b) => b - a);
  let tail = 0;
  for (let i = l - 1; i < counts.length; i++) tail += counts[i]!;
  return counts[0]! < c * tail;
}

/**
 * Earth mover's distance with equal ground distance (categorical values):
 * ½ Σ |p_i − q_i|, where p is the class distribution and q the global one
 * (`global` are counts over the whole table).
 */
export function equalDistanceEmd(hist: ArrayLike<number>, global: ArrayLike<number>, offset = 0, length = global.length): number {
  let tc = 0;
  let tg = 0;
  for (let i = 0; i < length; i++) {
    tc += hist[offset + i]!;
    tg += global[i]!;
  }
  if (tc === 0 || tg === 0) return 0;
  let s = 0;
  for (let i = 0; i < length; i++) s += Math.abs(hist[offset + i]! / tc - global[i]! / tg);
  return s / 2;
}

/**
 * Earth mover's distance with ordered ground distance (values in their order,
 * m values, neighbouring values 1/(m−1) apart): (1/(m−1)) Σ_i |Σ_{j≤i} (p_j − q_j)|.
 */
export function orderedDistanceEmd(hist: ArrayLike<number>, global: ArrayLike<number>, offset = 0, length = global.length): number {
  if (length <= 1) return 0;
  let tc = 0;
  let tg = 0;
  for (let i = 0; i < length; i++) {
    tc += hist[offset + i]!;
    tg += global[i]!;
  }
  if (tc === 0 || tg === 0) return 0;
  let cum = 0;
  let s = 0;
  for (let i = 0; i < length - 1; i++) {
    cum += hist[offset + i]! / tc - global[i]! / tg;
    s += Math.abs(cum);
  }
  return s / (length - 1);
}

/** t-closeness: the class's EMD to the global distribution is at most t (with a 1e-12 rounding tolerance). */
export function tClose(
  hist: ArrayLike<number>,
  global: ArrayLike<number>,
  t: number,
  variant: 'equal' | 'ordered',
  offset = 0,
): boolean {
  const d = variant === 'equal' ? equalDistanceEmd(hist, global, offset) : orderedDistanceEmd(hist, global, offset);
  return d <= t + 1e-12;
}

/** The privacy models a table must satisfy (ℓ and t apply to every sensitive attribute). */
export interface PrivacyModels {
  k: number;
  l?: { variant: 'distinct' | 'entropy' | 'recursive'; l: number; c?: number };
  t?: { variant: 'equal' | 'ordered'; t: number };
}

/** True when every model is monotone under generalization with suppression (k-anonymity, distinct ℓ). */
export function monotoneWithSuppression(m: PrivacyModels): boolean {
  return m.t === undefined && (m.l === undefined || m.l.variant === 'distinct');
}

/**
 * Builds one predicate for a class: size ≥ k, and for each sensitive
 * attribute i (its counts at `hist[base + offsets[i] .. + globals[i].length)`,
 * `base` being the predicate's third argument)
 * the ℓ and t models. `globals[i]` are attribute i's counts over the table.
 */
export function classPredicate(m: PrivacyModels, globals: readonly ArrayLike<number>[], offsets: readonly number[]): ClassPredicate {
  const { k, l, t } = m;
  const c = l?.c ?? 1;
  return (size, hist, base) => {
    if (size < k) return false;
    for (let a = 0; a < globals.length; a++) {
      const off = base + offsets[a]!;
      const len = globals[a]!.length;
      if (l !== undefined) {
        const ok =
          l.variant === 'distinct'
            ? distinctLDiverse(hist, l.l, off, len)
            : l.variant === 'entropy'
              ? entropyLDiverse(hist, l.l, off, len)
              : recursiveCLDiverse(hist, c, l.l, off, len);
        if (!ok) return false;
      }
      if (t !== undefined && !tClose(hist, globals[a]!, t.t, t.variant, off)) return false;
    }
    return true;
  };
}
