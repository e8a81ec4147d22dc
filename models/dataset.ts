/**
 * The encoded training table every Sluice trainer reads: a dense row-major
 * Float64Array of features and an Int32Array of class indices, plus the names
 * that say what each column and class is. Also row subsetting, a seeded
 * (optionally stratified) train/test split and the seeded generator the
 * trainers share, so every result is reproducible from a seed.
 */
import { SluiceError } from '../lib/errors.js';

/** One column of the encoded matrix. */
export interface FeatureInfo {
  /** The encoded column's name: the source column, or `source=category` for a one-hot column. */
  name: string;
  /** The original (source) column it came from. */
  source: string;
  /** `numeric`: the (possibly standardized) value; `one-hot`: 1 when the source equals `category`, else 0. */
  kind: 'numeric' | 'one-hot';
  /** The category this one-hot column stands for (absent for numeric columns). */
  category?: string;
}

/** An encoded table: `n` rows, `d` features, `k = classes.length` classes. */
export interface Dataset {
  /** Rows. */
  n: number;
  /** Features (encoded columns). */
  d: number;
  /** Row-major n×d feature matrix, already encoded: row i, feature j is `X[i * d + j]`. */
  X: Float64Array;
  /** Class index 0..k-1 of each row. */
  y: Int32Array;
  /** Class labels; `classes[y[i]]` is row i's label. */
  classes: string[];
  /** What each of the d columns is. */
  features: FeatureInfo[];
}

/**
 * A small seeded pseudo-random generator (a 32-bit xorshift state advanced
 * with a Weyl sequence, output through an integer hash). Not cryptographic;
 * used for splits, bootstraps and feature sampling so results depend on the
 * seed only.
 */
export class SeededRandom {
  private x: number;
  private w: number;

  /** Any number is a valid seed; equal seeds give equal streams. */
  constructor(seed: number) {
    this.x = mix32((seed >>> 0) ^ 0x9e3779b9) || 0x1234567;
    this.w = mix32(((seed / 4294967296) >>> 0) + 0x85ebca6b);
  }

  /** The next unsigned 32-bit integer. */
  nextU32(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    this.w = (this.w + 0x6d2b79f5) >>> 0;
    return mix32(this.x ^ this.w);
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** An integer in [0, bound). `bound` ≥ 1. */
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }
}

/** An integer hash with good avalanche (a murmur3-style finalizer). */
export function mix32(v: number): number {
  let h = v >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seed derived from a parent seed and an index (e.g. tree i of a forest), independent of any other stream. */
export function deriveSeed(seed: number, index: number): number {
  return mix32(mix32((seed >>> 0) ^ 0x5bd1e995) ^ mix32(index + 0x27d4eb2f));
}

function invalid(message: string, details?: Record<string, unknown>): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', message, details ? { details } : {});
}

/**
 * The rows `rows` of `ds` (in the order given; repeats allowed) as a new
 * Dataset with its own copies of X and y. Throws SLUICE_ERR_MODEL_INVALID for
 * an index outside 0..n-1.
 */
export function subset(ds: Dataset, rows: Int32Array | number[]): Dataset {
  const m = rows.length;
  const { d } = ds;
  const X = new Float64Array(m * d);
  const y = new Int32Array(m);
  for (let r = 0; r < m; r++) {
    const i = rows[r]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) {
      throw invalid(`subset: rows[${r}] is not a row index in 0..${ds.n - 1}`, { position: r, n: ds.n });
    }
    X.set(ds.X.subarray(i * d, i * d + d), r * d);
    y[r] = ds.y[i]!;
  }
  return { n: m, d, X, y, classes: ds.classes, features: ds.features };
}

/**
 * Splits `ds` into a training and a test part: ⌈testFraction·n⌉ test rows
 * drawn with a generator seeded by `seed` (with `stratify`, default false,
 * ⌈testFraction·n_c⌉ from each class c, so class shares are kept). Row index
 * lists are returned sorted ascending, and the parts keep that order.
 * testFraction must be in (0, 1). Equal inputs and seed give equal splits.
 */
export function trainTestSplit(
  ds: Dataset,
  testFraction: number,
  seed: number,
  stratify = false,
): { train: Dataset; test: Dataset; trainRows: Int32Array; testRows: Int32Array } {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw invalid('trainTestSplit: testFraction must be a number in (0, 1)');
  }
  if (!Number.isFinite(seed)) throw invalid('trainTestSplit: seed must be a finite number');
  const rng = new SeededRandom(seed);
  const isTest = new Uint8Array(ds.n);
  const groups: number[][] = [];
  if (stratify) {
    for (let c = 0; c < ds.classes.length; c++) groups.push([]);
    for (let i = 0; i < ds.n; i++) groups[ds.y[i]!]!.push(i);
  } else {
    groups.push(Array.from({ length: ds.n }, (_, i) => i));
  }
  for (const g of groups) {
    const take = Math.min(g.length, Math.ceil(testFraction * g.length));
    // A partial Fisher–Yates shuffle: the first `take` positions are a uniform sample.
    for (let i = 0; i < take; i++) {
      const j = i + rng.int(g.length - i);
      const t = g[i]!;
      g[i] = g[j]!;
      g[j] = t;
      isTest[g[i]!] = 1;
    }
  }
  let nTest = 0;
  for (let i = 0; i < ds.n; i++) nTest += isTest[i]!;
  const trainRows = new Int32Array(ds.n - nTest);
  const testRows = new Int32Array(nTest);
  let a = 0;
  let b = 0;
  for (let i = 0; i < ds.n; i++) {
    if (isTest[i]) testRows[b++] = i;
    else trainRows[a++] = i;
  }
  return { train: subset(ds, trainRows), test: subset(ds, testRows), trainRows, testRows };
}
