/**
 * Attribute inference on a declared sensitive attribute (AUDIT.md C6, after
 * SACRO-ML's attribute attack). The attacker knows a record's other features
 * and its true label; for every candidate value of the sensitive attribute it
 * queries the model with that value substituted and guesses the value under
 * which the model gives the true label the highest probability. A unique best
 * value is the guess; when several values tie for the best the attacker
 * abstains (counted as not inferred), since a tie reveals nothing. The check
 * compares the correct-inference rate on members with that on non-members:
 * a model that lets the attribute be inferred better for its training rows has
 * memorized them.
 */
import { SluiceError } from '../../lib/errors.js';
import { SeededRandom, deriveSeed, type Dataset } from '../dataset.js';
import type { QueryableModel } from './loss-threshold.js';

/** Options of {@link attributeInference}. */
export interface AttributeInferenceOptions {
  /** At most this many members and this many non-members (seeded random subsets). Default 5000. */
  maxRows?: number;
  /** Seed of the subsets. Default 0. */
  seed?: number;
}

/** Result of {@link attributeInference}: counts and rates only. */
export interface AttributeInferenceResult {
  /** The sensitive source column. */
  source: string;
  /** Candidate values tried (one per one-hot column, plus "none of them" when some row has no column set). */
  candidates: number;
  nMembers: number;
  nNonMembers: number;
  memberCorrect: number;
  nonMemberCorrect: number;
  memberAbstained: number;
  nonMemberAbstained: number;
  memberRate: number;
  nonMemberRate: number;
  /** memberRate / nonMemberRate; Infinity when only members are inferred, 1 when neither is. */
  ratio: number;
  /** memberRate − nonMemberRate. */
  gain: number;
  /** Share of non-members holding the most common value: the rate of always guessing it. */
  baselineRate: number;
}

function sample(n: number, max: number, rng: SeededRandom): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  if (n <= max) return a;
  for (let i = 0; i < max; i++) {
    const j = i + rng.int(n - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, max).sort();
}

interface Group {
  columns: number[];
  /** Whether the all-zero pattern is a value (a dropped reference category or a missing value). */
  hasNone: boolean;
}

function valueOf(ds: Dataset, i: number, cols: number[]): number {
  for (let c = 0; c < cols.length; c++) if (ds.X[i * ds.d + cols[c]!] === 1) return c;
  return cols.length;
}

function inferRates(model: QueryableModel, ds: Dataset, rows: Int32Array, g: Group): { correct: number; abstained: number; truth: number[] } {
  const m = rows.length;
  const { d } = ds;
  const nValues = g.columns.length + (g.hasNone ? 1 : 0);
  const X = new Float64Array(m * d);
  for (let r = 0; r < m; r++) X.set(ds.X.subarray(rows[r]! * d, rows[r]! * d + d), r * d);
  const truth = Array.from(rows, (i) => valueOf(ds, i, g.columns));
  const best = new Float64Array(m).fill(-1);
  const bestValue = new Int32Array(m).fill(-1);
  const tied = new Uint8Array(m);
  for (let v = 0; v < nValues; v++) {
    for (let r = 0; r < m; r++) for (let c = 0; c < g.columns.length; c++) X[r * d + g.columns[c]!] = c === v ? 1 : 0;
    const p = model.predictProba(X, m);
    const k = p.length / Math.max(1, m);
    for (let r = 0; r < m; r++) {
      const q = p[r * k + ds.y[rows[r]!]!]!;
      if (q > best[r]!) {
        best[r] = q;
        bestValue[r] = v;
        tied[r] = 0;
      } else if (q === best[r]!) tied[r] = 1;
    }
  }
  let correct = 0;
  let abstained = 0;
  for (let r = 0; r < m; r++) {
    if (tied[r]) abstained++;
    else if (bestValue[r] === truth[r]) correct++;
  }
  return { correct, abstained, truth };
}

/**
 * Runs the attribute-inference attack for the sensitive source column `source`
 * (a group of one-hot columns of the encoded data) on members and
 * non-members. Throws SLUICE_ERR_INPUT_INVALID when `source` has no one-hot
 * columns (numeric attributes are not supported by this attack).
 */
export function attributeInference(
  model: QueryableModel,
  members: Dataset,
  nonMembers: Dataset,
  source: string,
  options: AttributeInferenceOptions = {},
): AttributeInferenceResult {
  const columns = members.features.flatMap((f, j) => (f.source === source && f.kind === 'one-hot' ? [j] : []));
  if (columns.length === 0) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `attribute inference: sensitive column ${source} has no one-hot encoded feature (found ${members.features.filter((f) => f.source === source).length} numeric)`, {
      details: { source },
    });
  }
  const maxRows = options.maxRows ?? 5000;
  const rng = new SeededRandom(deriveSeed(options.seed ?? 0, 0xa771));
  const mRows = sample(members.n, maxRows, rng);
  const nRows = sample(nonMembers.n, maxRows, rng);
  let hasNone = false;
  for (const i of mRows) if (valueOf(members, i, columns) === columns.length) hasNone = true;
  for (const i of nRows) if (valueOf(nonMembers, i, columns) === columns.length) hasNone = true;
  const g: Group = { columns, hasNone };
  const a = inferRates(model, members, mRows, g);
  const b = inferRates(model, nonMembers, nRows, g);
  const memberRate = mRows.length ? a.correct / mRows.length : 0;
  const nonMemberRate = nRows.length ? b.correct / nRows.length : 0;
  const counts = new Map<number, number>();
  for (const v of b.truth) counts.set(v, (counts.get(v) ?? 0) + 1);
  const top = Math.max(0, ...counts.values());
  return {
    source,
    candidates: columns.length + (hasNone ? 1 : 0),
    nMembers: mRows.length,
    nNonMembers: nRows.length,
    memberCorrect: a.correct,
    nonMemberCorrect: b.correct,
    memberAbstained: a.abstained,
    nonMemberAbstained: b.abstained,
    memberRate,
    nonMemberRate,
    ratio: nonMemberRate > 0 ? memberRate / nonMemberRate : memberRate > 0 ? Infinity : 1,
    gain: memberRate - nonMemberRate,
    baselineRate: nRows.length ? top / nRows.length : 0,
  };
}
