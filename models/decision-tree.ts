// Over 500 lines because the CART trainer, its split search and the portable artifact form are one algorithm.
/**
 * CART decision trees on typed arrays (the algorithm of scikit-learn's
 * DecisionTreeClassifier), with histogram-based split finding: each feature
 * is first cut into at most `max_bins` bins (one bin per distinct value when a
 * feature has no more than that, so the search is then exhaustive, as in
 * scikit-learn; otherwise bins at quantiles of the values), and a node's best
 * split on a feature is found from a per-bin class histogram in O(rows + bins)
 * instead of a sort (small nodes sort only the bins they use; when every
 * feature is searched at every node, a large child's histograms are its
 * parent's minus its smaller sibling's). Rows stay in ascending order within
 * each node, so bin columns are read front to back. Thresholds are midpoints
 * between the largest training value left and the smallest right of the
 * split, as scikit-learn places them. Features to search are drawn as in
 * scikit-learn (max_features of them, counting features constant in the
 * node, and more while none was splittable); ties go to the first drawn.
 *
 * Every node stores its training class counts (weighted by bootstrap
 * multiplicity inside a forest) and its number of distinct training rows, so
 * structure checks can read leaf sizes. `min_samples_leaf` is a hard
 * guarantee: no leaf has fewer distinct training rows.
 */
import { SluiceError } from '../lib/errors.js';
import { SeededRandom } from './dataset.js';

/** Hyperparameters of a tree (names and defaults as in scikit-learn, plus `max_bins`). */
export interface TreeParams {
  /** Split quality: Gini impurity or entropy (information gain). Default 'gini'. */
  criterion: 'gini' | 'entropy';
  /** Depth limit (root = depth 0); null = grow until leaves are pure or too small. Default null. */
  max_depth: number | null;
  /** A node with fewer distinct training rows is not split. Default 2. */
  min_samples_split: number;
  /** No leaf gets fewer distinct training rows than this. Default 1. */
  min_samples_leaf: number;
  /**
   * Features drawn (without replacement) per split: 'sqrt' (⌊√d⌋), 'log2'
   * (⌊log₂ d⌋), 'all', an integer count ≥ 1, or a fraction in (0, 1) of d.
   * As in scikit-learn, more are drawn when all drawn so far are constant in
   * the node. Default 'all' for a tree, 'sqrt' in a forest.
   */
  max_features: number | 'sqrt' | 'log2' | 'all';
  /** Bins per feature at most, 2..65535. Default 255. */
  max_bins: number;
}

/** The defaults of {@link TreeParams} for a single tree. */
export const TREE_DEFAULTS: Readonly<TreeParams> = Object.freeze({
  criterion: 'gini',
  max_depth: null,
  min_samples_split: 2,
  min_samples_leaf: 1,
  max_features: 'all',
  max_bins: 255,
});

/** Above this many rows the bin edges are computed from a seeded sample of this many rows. */
export const BIN_SAMPLE_ROWS = 200_000;

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', message);
}

/** Checks tree hyperparameters; returns the defaults-filled values. */
export function resolveTreeParams(given: Partial<TreeParams>, defaults: Readonly<TreeParams> = TREE_DEFAULTS): TreeParams {
  const p: TreeParams = { ...defaults, ...given };
  if (p.criterion !== 'gini' && p.criterion !== 'entropy') throw invalid("tree: hyperparameter criterion must be 'gini' or 'entropy'");
  if (p.max_depth !== null && (!Number.isInteger(p.max_depth) || p.max_depth < 1)) {
    throw invalid('tree: hyperparameter max_depth must be an integer ≥ 1 (omit it for no limit)');
  }
  if (!Number.isInteger(p.min_samples_split) || p.min_samples_split < 2) throw invalid('tree: hyperparameter min_samples_split must be an integer ≥ 2');
  if (!Number.isInteger(p.min_samples_leaf) || p.min_samples_leaf < 1) throw invalid('tree: hyperparameter min_samples_leaf must be an integer ≥ 1');
  const mf = p.max_features;
  if (!(mf === 'sqrt' || mf === 'log2' || mf === 'all' || (typeof mf === 'number' && mf > 0 && (mf < 1 || Number.isInteger(mf))))) {
    throw invalid("tree: hyperparameter max_features must be 'sqrt', 'log2', 'all', an integer ≥ 1 or a fraction in (0, 1)");
  }
  if (!Number.isInteger(p.max_bins) || p.max_bins < 2 || p.max_bins > 65535) throw invalid('tree: hyperparameter max_bins must be an integer in 2..65535');
  return p;
}

/** How many features a split draws for a given max_features and d features. */
export function resolveMaxFeatures(mf: TreeParams['max_features'], d: number): number {
  const v =
    mf === 'all' ? d : mf === 'sqrt' ? Math.floor(Math.sqrt(d)) : mf === 'log2' ? Math.floor(Math.log2(Math.max(d, 1))) : mf < 1 ? Math.floor(mf * d) : mf;
  return Math.max(1, Math.min(d, v));
}

/** Features cut into bins: what the split search reads. */
export interface BinnedFeatures {
  n: number;
  d: number;
  /** Feature-major d×n bin indices: feature f of row i is `bins[f * n + i]`. May live on a SharedArrayBuffer. */
  bins: Uint16Array;
  /** Bins of each feature. */
  nBins: Int32Array;
  /** Per feature, per bin: the smallest training value in the bin (+Infinity if empty). */
  lo: Float64Array[];
  /** Per feature, per bin: the largest training value in the bin (−Infinity if empty). */
  hi: Float64Array[];
}

/**
 * Cuts each of the d columns of a row-major n×d matrix into at most maxBins
 * bins: one per distinct value when there are ≤ maxBins of them, else bins of
 * about equal row counts (edges from a seeded sample of {@link BIN_SAMPLE_ROWS}
 * rows when n is larger). With `shared` the bin matrix is allocated on a
 * SharedArrayBuffer so worker threads can read it without a copy. Throws
 * SLUICE_ERR_MODEL_INVALID on a non-finite value (naming the row and feature).
 */
export function binFeatures(X: Float64Array, n: number, d: number, maxBins: number, shared = false): BinnedFeatures {
  if (X.length < n * d) throw invalid(`tree: X has ${X.length} values; expected n·d = ${n * d}`);
  const bins = shared ? new Uint16Array(new SharedArrayBuffer(n * d * 2)) : new Uint16Array(n * d);
  const nBins = new Int32Array(d);
  const lo: Float64Array[] = [];
  const hi: Float64Array[] = [];
  let sampleRows: Int32Array | null = null;
  let col: Float64Array | null = null;
  for (let f = 0; f < d; f++) {
    const base = f * n;
    // Fast path for the common case (one-hot and small integer columns): at most maxBins distinct values, one bin each.
    const distinct = new Map<number, number>();
    let last = NaN;
    let few = true;
    for (let i = 0; i < n; i++) {
      const v = X[i * d + f]!;
      if (v === last) continue;
      last = v;
      if (distinct.has(v)) continue;
      if (!Number.isFinite(v)) throw invalid(`tree: X row ${i} feature ${f} is not a finite number`);
      if (distinct.size === maxBins) {
        few = false;
        break;
      }
      distinct.set(v, 0);
    }
    if (few) {
      const values = Float64Array.from(distinct.keys()).sort();
      const nb = Math.max(1, values.length);
      values.forEach((v, b) => distinct.set(v, b));
      let lastV = NaN;
      let lastB = 0;
      for (let i = 0; i < n; i++) {
        const v = X[i * d + f]!;
        if (v !== lastV) {
          lastV = v;
          lastB = distinct.get(v)!;
        }
        bins[base + i] = lastB;
      }
      nBins[f] = nb;
      lo.push(values.length > 0 ? values : new Float64Array(1).fill(Infinity));
      hi.push(values.length > 0 ? values : new Float64Array(1).fill(-Infinity));
      continue;
    }
    sampleRows ??= n > BIN_SAMPLE_ROWS ? sampleIndices(n, BIN_SAMPLE_ROWS) : null;
    col ??= new Float64Array(sampleRows ? sampleRows.length : n);
    if (sampleRows) {
      for (let s = 0; s < sampleRows.length; s++) col[s] = X[sampleRows[s]! * d + f]!;
    } else {
      for (let i = 0; i < n; i++) col[i] = X[i * d + f]!;
    }
    col.sort();
    const edges = binEdges(col, maxBins);
    const nb = edges.length + 1;
    nBins[f] = nb;
    const l = new Float64Array(nb).fill(Infinity);
    const h = new Float64Array(nb).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      const v = X[i * d + f]!;
      if (!Number.isFinite(v)) throw invalid(`tree: X row ${i} feature ${f} is not a finite number`);
      // The first bin whose upper edge is ≥ v.
      let a = 0;
      let b = edges.length;
      while (a < b) {
        const m = (a + b) >>> 1;
        if (edges[m]! < v) a = m + 1;
        else b = m;
      }
      bins[base + i] = a;
      if (v < l[a]!) l[a] = v;
      if (v > h[a]!) h[a] = v;
    }
    lo.push(l);
    hi.push(h);
  }
  return { n, d, bins, nBins, lo, hi };
}

/** A fixed, seeded sample of m distinct row indices out of n, ascending. */
function sampleIndices(n: number, m: number): Int32Array {
  const rng = new SeededRandom(0x5eed);
  const pick = new Uint8Array(n);
  let got = 0;
  while (got < m) {
    const i = rng.int(n);
    if (!pick[i]) {
      pick[i] = 1;
      got++;
    }
  }
  const out = new Int32Array(m);
  let j = 0;
  for (let i = 0; i < n; i++) if (pick[i]) out[j++] = i;
  return out;
}

/** Upper bin edges (ascending, strictly between distinct values) for sorted values. */
function binEdges(sorted: Float64Array, maxBins: number): Float64Array {
  const len = sorted.length;
  const values: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < len; i++) {
    const v = sorted[i]!;
    if (values.length === 0 || v !== values[values.length - 1]) {
      values.push(v);
      ends.push(i + 1);
    } else ends[ends.length - 1] = i + 1;
  }
  const edges: number[] = [];
  if (values.length <= maxBins) {
    for (let u = 0; u + 1 < values.length; u++) edges.push(mid(values[u]!, values[u + 1]!));
  } else {
    // Close a bin after the distinct value at which the cumulative count reaches the next quantile target.
    let target = 1;
    for (let u = 0; u + 1 < values.length && edges.length < maxBins - 1; u++) {
      if (ends[u]! >= (target * len) / maxBins) {
        edges.push(mid(values[u]!, values[u + 1]!));
        while (target < maxBins && ends[u]! >= (target * len) / maxBins) target++;
      }
    }
  }
  return Float64Array.from(edges);
}

/** The midpoint of a < b, kept strictly below b (adjacent doubles would round up to b). */
function mid(a: number, b: number): number {
  const m = a / 2 + b / 2;
  return m >= b || m < a ? a : m;
}

/** Per-bin class weights (bins×k) and distinct-row counts of one node, for all features. */
interface NodeHist {
  w: Float64Array;
  c: Int32Array;
}

/** Resolved parameters of {@link growTree}. */
export interface GrowParams {
  entropy: boolean;
  /** Depth limit; Infinity for none. */
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Features drawn per split (≥ 1). */
  maxFeatures: number;
}

/** A grown tree in bin space (thresholds as bin pairs), preorder node numbering; leaves have feature −1. */
export interface GrownTree {
  feature: Int32Array;
  /** Rows go left when their bin ≤ leftBin. */
  leftBin: Int32Array;
  /** The smallest non-empty bin on the right in the node (for threshold placement). */
  rightBin: Int32Array;
  left: Int32Array;
  right: Int32Array;
  /** Distinct training rows reaching each node. */
  samples: Int32Array;
  /** nodes×k weighted class counts. */
  counts: Float64Array;
}

/** GrowParams from TreeParams for d features. */
export function growParams(p: TreeParams, d: number): GrowParams {
  return {
    entropy: p.criterion === 'entropy',
    maxDepth: p.max_depth ?? Infinity,
    minSamplesSplit: p.min_samples_split,
    minSamplesLeaf: p.min_samples_leaf,
    maxFeatures: resolveMaxFeatures(p.max_features, d),
  };
}

/**
 * Grows one tree on binned features, depth first. `weights[i]` is row i's
 * multiplicity (a bootstrap count; rows with 0 take no part) and multiplies
 * its class counts; leaf size limits count distinct rows, as in
 * scikit-learn. `rng` orders the features drawn at each node. Bins must be
 * < 65536 and labels in 0..k-1 (callers validate).
 */
export function growTree(
  data: { bins: Uint16Array; n: number; d: number; nBins: Int32Array },
  y: Int32Array,
  k: number,
  weights: Float64Array,
  params: GrowParams,
  rng: SeededRandom,
): GrownTree {
  const { bins, n, d, nBins } = data;
  let m = 0;
  for (let i = 0; i < n; i++) if (weights[i]! > 0) m++;
  const rows = new Int32Array(m);
  // Labels and weights travel with the row ids through partitioning, so histogram passes read them in order.
  const ry = new Int32Array(m);
  const rw = new Float64Array(m);
  for (let i = 0, j = 0; i < n; i++) {
    if (weights[i]! > 0) {
      rows[j] = i;
      ry[j] = y[i]!;
      rw[j++] = weights[i]!;
    }
  }

  let maxNb = 1;
  for (let f = 0; f < d; f++) if (nBins[f]! > maxNb) maxNb = nBins[f]!;
  const tmpRows = new Int32Array(m);
  const tmpY = new Int32Array(m);
  const tmpW = new Float64Array(m);
  const hist = new Float64Array(maxNb * k);
  const histN = new Int32Array(maxNb);
  const order = new Int32Array(maxNb);
  const cnt = new Float64Array(k);
  const leftC = new Float64Array(k);
  const feats = new Int32Array(d);
  for (let f = 0; f < d; f++) feats[f] = f;
  // constAt[f] = depth of the ancestor that found feature f constant (NO_MARK: none). Drawing such a feature
  // still counts as a visit, as in scikit-learn, but costs no histogram pass.
  const NO_MARK = 0x7fffffff;
  const constAt = new Int32Array(d).fill(NO_MARK);
  const { entropy, maxDepth, minSamplesSplit, minSamplesLeaf: msl, maxFeatures } = params;
  const gini2 = !entropy && k === 2;

  // When every feature is searched at every node (max_features covers all d), a child's histograms are its
  // parent's minus its sibling's, so only the smaller child is scanned. Node histograms for all features
  // live side by side: feature f's bins start at offs[f].
  const subtract = maxFeatures >= d;
  const offs = new Int32Array(d + 1);
  for (let f = 0; f < d; f++) offs[f + 1] = offs[f]! + nBins[f]!;
  const totalBins = offs[d]!;
  const scanAll = (start: number, end: number): NodeHist => {
    const hw = new Float64Array(totalBins * k);
    const hc = new Int32Array(totalBins);
    for (let f = 0; f < d; f++) {
      const base = f * n;
      const off = offs[f]!;
      for (let r = start; r < end; r++) {
        const b = off + bins[base + rows[r]!]!;
        hc[b] = hc[b]! + 1;
        const hb = b * k + ry[r]!;
        hw[hb] = hw[hb]! + rw[r]!;
      }
    }
    return { w: hw, c: hc };
  };
  const canSplit = (size: number, depth: number): boolean => depth < maxDepth && size >= minSamplesSplit && size >= 2 * msl;
  // Below this many rows a direct pass over the node's rows is cheaper than allocating and subtracting histograms.
  const worthIt = (size: number): boolean => subtract && size * d >= 4 * totalBins * (k + 1);

  const feature: number[] = [];
  const leftBin: number[] = [];
  const rightBin: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const samples: number[] = [];
  const counts: number[] = [];

  /** Σ over one child of w·impurity: Gini w − Σc²/w; entropy w·ln w − Σ c·ln c. */
  const childCost = (c: Float64Array | null, other: Float64Array | null, w: number): number => {
    let s = 0;
    if (entropy) {
      for (let j = 0; j < k; j++) {
        const v = c ? c[j]! : cnt[j]! - other![j]!;
        if (v > 0) s += v * Math.log(v);
      }
      return w * Math.log(w) - s;
    }
    for (let j = 0; j < k; j++) {
      const v = c ? c[j]! : cnt[j]! - other![j]!;
      s += v * v;
    }
    return w - s / w;
  };

  // Stack of [start, end, depth, parent, side (0 root, 1 left, 2 right)].
  const stack: number[] = [0, m, 0, -1, 0];
  const hstack: (NodeHist | null)[] = [null];
  while (stack.length > 0) {
    const own = hstack.pop()!;
    const side = stack.pop()!;
    const parent = stack.pop()!;
    const depth = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const id = feature.length;
    if (side === 1) left[parent] = id;
    else if (side === 2) right[parent] = id;

    cnt.fill(0);
    let w = 0;
    for (let r = start; r < end; r++) {
      const wr = rw[r]!;
      const c = ry[r]!;
      cnt[c] = cnt[c]! + wr;
      w += wr;
    }
    const nS = end - start;
    feature.push(-1);
    leftBin.push(-1);
    rightBin.push(-1);
    left.push(-1);
    right.push(-1);
    samples.push(nS);
    for (let j = 0; j < k; j++) counts.push(cnt[j]!);

    const parentCost = childCost(cnt, null, w);
    if (depth >= maxDepth || nS < minSamplesSplit || nS < 2 * msl || parentCost <= 1e-7 * w) continue;
    // Depth-first order: marks at this depth or deeper were made by nodes that are not ancestors of this one.
    for (let f = 0; f < d; f++) if (constAt[f]! >= depth) constAt[f] = NO_MARK;

    const H = own ?? (worthIt(nS) ? scanAll(start, end) : null);
    let bestF = -1;
    let bestL = -1;
    let bestR = -1;
    let bestCost = Infinity;
    let visited = 0;
    let foundSplittable = false;
    for (let i = 0; i < d && (visited < maxFeatures || !foundSplittable); i++) {
      const j = i + rng.int(d - i);
      const f = feats[j]!;
      feats[j] = feats[i]!;
      feats[i] = f;
      visited++;
      const nb = nBins[f]!;
      if (nb < 2 || constAt[f]! < depth) continue;
      let srcW: Float64Array = hist;
      let srcC: Int32Array = histN;
      let off = 0;
      // The node's non-empty bins in ascending order.
      let used = 0;
      if (H) {
        srcW = H.w;
        srcC = H.c;
        off = offs[f]!;
        for (let b = 0; b < nb; b++) if (srcC[off + b]! > 0) order[used++] = b;
      } else {
        // hist and histN are all zeros here and are cleared again below, touching only the bins used.
        const base = f * n;
        for (let r = start; r < end; r++) {
          const b = bins[base + rows[r]!]!;
          if (histN[b] === 0) order[used++] = b;
          histN[b] = histN[b]! + 1;
          const hb = b * k + ry[r]!;
          hist[hb] = hist[hb]! + rw[r]!;
        }
        // Sorting the few used bins beats sweeping all of them when the node is small.
        if (used * 8 < nb) order.subarray(0, used).sort();
        else {
          used = 0;
          for (let b = 0; b < nb; b++) if (histN[b]! > 0) order[used++] = b;
        }
      }
      leftC.fill(0);
      let leftN = 0;
      let leftW = 0;
      let prev = -1;
      let first = -1;
      for (let t = 0; t < used; t++) {
        const b = order[t]!;
        const hn = srcC[off + b]!;
        if (first < 0) first = b;
        if (prev >= 0) {
          // A feature counts as splittable once it has two values in the node, as scikit-learn counts non-constant features.
          foundSplittable = true;
          if (leftN >= msl && nS - leftN >= msl) {
            let cost: number;
            if (gini2) {
              // The common case inlined: Gini with two classes.
              const l0 = leftC[0]!;
              const l1 = leftC[1]!;
              const r0 = cnt[0]! - l0;
              const r1 = cnt[1]! - l1;
              const wr = w - leftW;
              cost = leftW - (l0 * l0 + l1 * l1) / leftW + (wr - (r0 * r0 + r1 * r1) / wr);
            } else cost = childCost(leftC, null, leftW) + childCost(null, leftC, w - leftW);
            if (cost < bestCost) {
              bestCost = cost;
              bestF = f;
              bestL = prev;
              bestR = b;
            }
          }
        }
        leftN += hn;
        const o = (off + b) * k;
        for (let c = 0; c < k; c++) {
          const v = srcW[o + c]!;
          leftC[c] = leftC[c]! + v;
          leftW += v;
        }
        prev = b;
      }
      if (!H) {
        for (let t = 0; t < used; t++) {
          const b = order[t]!;
          histN[b] = 0;
          hist.fill(0, b * k, b * k + k);
        }
      }
      if (first === prev) constAt[f] = depth;
    }
    if (bestF < 0) continue;

    feature[id] = bestF;
    leftBin[id] = bestL;
    rightBin[id] = bestR;
    // Stable partition: rows stay in ascending order within every node, so each histogram pass reads a
    // feature's bin column front to back (cache- and prefetch-friendly on large tables).
    const base = bestF * n;
    let a = start;
    let spill = 0;
    for (let r = start; r < end; r++) {
      const row = rows[r]!;
      if (bins[base + row]! <= bestL) {
        rows[a] = row;
        ry[a] = ry[r]!;
        rw[a++] = rw[r]!;
      } else {
        tmpRows[spill] = row;
        tmpY[spill] = ry[r]!;
        tmpW[spill++] = rw[r]!;
      }
    }
    rows.set(tmpRows.subarray(0, spill), a);
    ry.set(tmpY.subarray(0, spill), a);
    rw.set(tmpW.subarray(0, spill), a);
    let hl: NodeHist | null = null;
    let hr: NodeHist | null = null;
    const leftSmaller = a - start <= end - a;
    const largeSize = leftSmaller ? end - a : a - start;
    if (H && canSplit(largeSize, depth + 1) && worthIt(largeSize)) {
      const small = leftSmaller ? scanAll(start, a) : scanAll(a, end);
      // Reuse the parent's arrays for the larger child; counts are integers (weights are bootstrap counts), so exact.
      for (let i = 0; i < H.w.length; i++) H.w[i] = H.w[i]! - small.w[i]!;
      for (let i = 0; i < H.c.length; i++) H.c[i] = H.c[i]! - small.c[i]!;
      const smallKept = canSplit(leftSmaller ? a - start : end - a, depth + 1) ? small : null;
      hl = leftSmaller ? smallKept : H;
      hr = leftSmaller ? H : smallKept;
    }
    // Right pushed first so the left child is numbered next (preorder).
    stack.push(a, end, depth + 1, id, 2);
    hstack.push(hr);
    stack.push(start, a, depth + 1, id, 1);
    hstack.push(hl);
  }
  return {
    feature: Int32Array.from(feature),
    leftBin: Int32Array.from(leftBin),
    rightBin: Int32Array.from(rightBin),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    samples: Int32Array.from(samples),
    counts: Float64Array.from(counts),
  };
}

/** The JSON form of a fitted tree: flat node arrays in preorder (node 0 is the root). */
export interface DecisionTreeJSON {
  params: TreeParams;
  nFeatures: number;
  nClasses: number;
  /** Split feature per node; −1 marks a leaf. */
  feature: number[];
  /** Rows with `x[feature] ≤ threshold` go left (0 at leaves). */
  threshold: number[];
  /** Left and right child node ids (−1 at leaves). */
  left: number[];
  right: number[];
  /** Distinct training rows that reached each node (a leaf's size). */
  samples: number[];
  /** Training class counts per node (bootstrap-weighted inside a forest). */
  counts: number[][];
}

/** A fitted decision tree. */
export class DecisionTreeModel {
  constructor(
    readonly params: TreeParams,
    readonly d: number,
    readonly k: number,
    readonly feature: Int32Array,
    readonly threshold: Float64Array,
    readonly left: Int32Array,
    readonly right: Int32Array,
    readonly samples: Int32Array,
    /** nodes×k class counts. */
    readonly counts: Float64Array,
  ) {}

  /** Number of nodes. */
  get nodeCount(): number {
    return this.feature.length;
  }

  /** The leaf each of n rows lands in. */
  apply(X: Float64Array, n: number): Int32Array {
    const { d, feature, threshold, left, right } = this;
    if (X.length < n * d) throw invalid(`tree: X has ${X.length} values; expected n·d = ${n * d}`);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let node = 0;
      const o = i * d;
      for (let f = feature[0]!; f >= 0; f = feature[node]!) node = X[o + f]! <= threshold[node]! ? left[node]! : right[node]!;
      out[i] = node;
    }
    return out;
  }

  /** Class probabilities (the leaf's class shares), n×k row-major. */
  predictProba(X: Float64Array, n: number): Float64Array {
    const { k, counts } = this;
    const leaf = this.apply(X, n);
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const o = leaf[i]! * k;
      let s = 0;
      for (let c = 0; c < k; c++) s += counts[o + c]!;
      for (let c = 0; c < k; c++) out[i * k + c] = s > 0 ? counts[o + c]! / s : 1 / k;
    }
    return out;
  }

  /** The leaves' node ids and sizes (distinct training rows). */
  leaves(): { node: number; samples: number }[] {
    const out: { node: number; samples: number }[] = [];
    for (let i = 0; i < this.feature.length; i++) if (this.feature[i]! < 0) out.push({ node: i, samples: this.samples[i]! });
    return out;
  }

  /** Depth of the deepest leaf (root alone = 0). */
  depth(): number {
    let best = 0;
    const st = [0, 0];
    while (st.length > 0) {
      const dp = st.pop()!;
      const nd = st.pop()!;
      if (dp > best) best = dp;
      if (this.feature[nd]! >= 0) st.push(this.left[nd]!, dp + 1, this.right[nd]!, dp + 1);
    }
    return best;
  }

  /** The JSON form (see {@link DecisionTreeJSON}). */
  toJSON(): DecisionTreeJSON {
    const counts: number[][] = [];
    for (let i = 0; i < this.feature.length; i++) counts.push(Array.from(this.counts.subarray(i * this.k, (i + 1) * this.k)));
    return {
      params: { ...this.params },
      nFeatures: this.d,
      nClasses: this.k,
      feature: Array.from(this.feature),
      threshold: Array.from(this.threshold),
      left: Array.from(this.left),
      right: Array.from(this.right),
      samples: Array.from(this.samples),
      counts,
    };
  }

  /** Rebuilds a tree from {@link DecisionTreeModel.toJSON}, checking its structure; throws SLUICE_ERR_MODEL_INVALID when malformed. */
  static fromJSON(json: DecisionTreeJSON): DecisionTreeModel {
    const { nFeatures: d, nClasses: k } = json;
    if (!Number.isInteger(d) || d < 0 || !Number.isInteger(k) || k < 2) throw invalid('tree model: nFeatures/nClasses are malformed');
    const m = json.feature?.length;
    if (!Number.isInteger(m) || m < 1) throw invalid('tree model: a tree needs at least one node');
    for (const key of ['threshold', 'left', 'right', 'samples', 'counts'] as const) {
      if (!Array.isArray(json[key]) || json[key].length !== m) throw invalid(`tree model: ${key} must have one entry per node (${m})`);
    }
    const counts = new Float64Array(m * k);
    for (let i = 0; i < m; i++) {
      const f = json.feature[i]!;
      const l = json.left[i]!;
      const r = json.right[i]!;
      if (!Number.isInteger(f) || f < -1 || f >= d) throw invalid(`tree model: feature[${i}] is not a feature index or −1`);
      if (f >= 0 && (!Number.isInteger(l) || !Number.isInteger(r) || l <= i || r <= i || l >= m || r >= m)) {
        throw invalid(`tree model: children of node ${i} must be later nodes`);
      }
      if (typeof json.threshold[i] !== 'number' || !Number.isFinite(json.threshold[i])) throw invalid(`tree model: threshold[${i}] must be a finite number`);
      const row = json.counts[i];
      if (!Array.isArray(row) || row.length !== k || !row.every((v) => typeof v === 'number' && v >= 0)) {
        throw invalid(`tree model: counts[${i}] must hold ${k} non-negative numbers`);
      }
      counts.set(row, i * k);
    }
    return new DecisionTreeModel(
      resolveTreeParams(json.params ?? {}),
      d,
      k,
      Int32Array.from(json.feature),
      Float64Array.from(json.threshold),
      Int32Array.from(json.left),
      Int32Array.from(json.right),
      Int32Array.from(json.samples),
      counts,
    );
  }
}

/** Turns a grown tree (bin space) into a model with real thresholds. */
export function treeFromGrown(g: GrownTree, binned: Pick<BinnedFeatures, 'lo' | 'hi'>, params: TreeParams, d: number, k: number): DecisionTreeModel {
  const m = g.feature.length;
  const threshold = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const f = g.feature[i]!;
    if (f < 0) continue;
    threshold[i] = mid(binned.hi[f]![g.leftBin[i]!]!, binned.lo[f]![g.rightBin[i]!]!);
  }
  return new DecisionTreeModel(params, d, k, g.feature, threshold, g.left, g.right, g.samples, g.counts);
}

/**
 * Fits one decision tree to n rows of X (row-major n×d) with class indices y
 * in 0..k-1. Missing hyperparameters take {@link TREE_DEFAULTS}; `seed`
 * orders the features tried at each node (which matters only for ties and
 * with max_features below d).
 */
export function fitDecisionTree(
  X: Float64Array,
  n: number,
  d: number,
  y: Int32Array,
  k: number,
  params: Partial<TreeParams> = {},
  seed = 0,
): DecisionTreeModel {
  const p = resolveTreeParams(params);
  if (y.length !== n) throw invalid(`tree: y has ${y.length} entries; expected n = ${n}`);
  if (n < 1) throw invalid('tree: at least one training row is needed');
  if (!Number.isInteger(k) || k < 2) throw invalid('tree: at least 2 classes are needed');
  for (let i = 0; i < n; i++) if (!(y[i]! >= 0 && y[i]! < k)) throw invalid(`tree: y[${i}] is not a class index in 0..${k - 1}`);
  const binned = binFeatures(X, n, d, p.max_bins);
  const g = growTree(binned, y, k, new Float64Array(n).fill(1), growParams(p, d), new SeededRandom(seed));
  return treeFromGrown(g, binned, p, d, k);
}
