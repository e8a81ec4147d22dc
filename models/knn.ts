/**
 * k-nearest-neighbours classification (scikit-learn's KNeighborsClassifier
 * with uniform weights and Euclidean distance). The model IS its training
 * rows: it keeps every encoded training row and label, and its JSON form
 * carries them. It exists so the release gate can be seen to refuse a model
 * that stores personal rows.
 *
 * Distances are ‖x‖² − 2x·q + ‖q‖² with x·q summed over q's non-zero features
 * through a column index of the training rows, which makes one-hot data
 * (mostly zeros) cheap. Ties are broken towards the lower training row.
 */
import { SluiceError } from '../lib/errors.js';

/** Hyperparameters of {@link fitKnn} (names as in scikit-learn). */
export interface KnnParams {
  /** Neighbours that vote. Default 5. */
  n_neighbors: number;
}

/** The defaults of {@link KnnParams}. */
export const KNN_DEFAULTS: Readonly<KnnParams> = Object.freeze({ n_neighbors: 5 });

/** The JSON form: the parameters and the full training matrix and labels. */
export interface KnnJSON {
  params: KnnParams;
  nFeatures: number;
  nClasses: number;
  /** Training rows. */
  n: number;
  /** Row-major n×nFeatures training matrix. */
  X: number[];
  /** Training class indices. */
  y: number[];
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', message);
}

/** A fitted (that is: stored) k-NN classifier. */
export class KnnModel {
  private index: { start: Int32Array; rows: Int32Array; vals: Float64Array; sq: Float64Array } | null = null;

  constructor(
    readonly params: KnnParams,
    readonly d: number,
    readonly k: number,
    readonly n: number,
    /** The training rows, row-major n×d. */
    readonly X: Float64Array,
    /** The training labels. */
    readonly y: Int32Array,
  ) {}

  /** Column-major non-zeros of the training matrix and the rows' squared norms, built on first use. */
  private columns(): { start: Int32Array; rows: Int32Array; vals: Float64Array; sq: Float64Array } {
    if (this.index) return this.index;
    const { n, d, X } = this;
    const start = new Int32Array(d + 1);
    const sq = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = X[i * d + j]!;
        if (v !== 0) {
          start[j + 1] = start[j + 1]! + 1;
          sq[i] = sq[i]! + (v * v);
        }
      }
    }
    for (let j = 0; j < d; j++) start[j + 1] = start[j + 1]! + (start[j]!);
    const fill = start.slice(0, d);
    const rows = new Int32Array(start[d]!);
    const vals = new Float64Array(start[d]!);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = X[i * d + j]!;
        if (v !== 0) {
          const p = fill[j]!;
          fill[j] = p + 1;
          rows[p] = i;
          vals[p] = v;
        }
      }
    }
    this.index = { start, rows, vals, sq };
    return this.index;
  }

  /** The n_neighbors nearest training rows of each query row, nearest first (n×n_neighbors row ids). */
  kneighbors(Q: Float64Array, m: number): Int32Array {
    const { d, n } = this;
    const kk = this.params.n_neighbors;
    if (Q.length < m * d) throw invalid(`knn: X has ${Q.length} values; expected n·d = ${m * d}`);
    const { start, rows, vals, sq } = this.columns();
    const dist = new Float64Array(n);
    const bestD = new Float64Array(kk);
    const bestI = new Int32Array(kk);
    const out = new Int32Array(m * kk);
    for (let q = 0; q < m; q++) {
      dist.set(sq);
      const o = q * d;
      for (let j = 0; j < d; j++) {
        const v = Q[o + j]!;
        if (v === 0) continue;
        const t = 2 * v;
        for (let p = start[j]!, e = start[j + 1]!; p < e; p++) dist[rows[p]!] = dist[rows[p]!]! - (t * vals[p]!);
      }
      let filled = 0;
      for (let i = 0; i < n; i++) {
        const di = dist[i]!;
        if (filled === kk && di >= bestD[kk - 1]!) continue;
        // Insertion after equal distances keeps the lower row first on ties.
        let pos = filled < kk ? filled++ : kk - 1;
        while (pos > 0 && bestD[pos - 1]! > di) {
          bestD[pos] = bestD[pos - 1]!;
          bestI[pos] = bestI[pos - 1]!;
          pos--;
        }
        bestD[pos] = di;
        bestI[pos] = i;
      }
      out.set(bestI, q * kk);
    }
    return out;
  }

  /** Class probabilities: each class's share of the n_neighbors votes, n×k row-major. */
  predictProba(X: Float64Array, n: number): Float64Array {
    const kk = this.params.n_neighbors;
    const nb = this.kneighbors(X, n);
    const out = new Float64Array(n * this.k);
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < kk; t++) {
        const o = i * this.k + this.y[nb[i * kk + t]!]!;
        out[o] = out[o]! + 1 / kk;
      }
    }
    return out;
  }

  /** The JSON form, training rows included (see {@link KnnJSON}). */
  toJSON(): KnnJSON {
    return { params: { ...this.params }, nFeatures: this.d, nClasses: this.k, n: this.n, X: Array.from(this.X), y: Array.from(this.y) };
  }

  /** Rebuilds a model from {@link KnnModel.toJSON}; throws SLUICE_ERR_MODEL_INVALID when malformed. */
  static fromJSON(json: KnnJSON): KnnModel {
    const { nFeatures: d, nClasses: k, n } = json;
    if (!Number.isInteger(d) || d < 0 || !Number.isInteger(k) || k < 2 || !Number.isInteger(n) || n < 1) {
      throw invalid('knn model: nFeatures/nClasses/n are malformed');
    }
    if (!Array.isArray(json.X) || json.X.length !== n * d || !Array.isArray(json.y) || json.y.length !== n) {
      throw invalid(`knn model: expected ${n * d} matrix values and ${n} labels`);
    }
    if (!json.y.every((c) => Number.isInteger(c) && c >= 0 && c < k)) throw invalid('knn model: labels must be class indices');
    return fitKnn(Float64Array.from(json.X), n, d, Int32Array.from(json.y), k, json.params ?? {});
  }
}

/** "Fits" k-NN: checks the parameters and keeps copies of the n training rows (row-major n×d) and labels. */
export function fitKnn(X: Float64Array, n: number, d: number, y: Int32Array, k: number, params: Partial<KnnParams> = {}): KnnModel {
  const p: KnnParams = { ...KNN_DEFAULTS, ...params };
  if (!Number.isInteger(p.n_neighbors) || p.n_neighbors < 1) throw invalid('knn: hyperparameter n_neighbors must be an integer ≥ 1');
  if (p.n_neighbors > n) throw invalid(`knn: n_neighbors (${p.n_neighbors}) exceeds the ${n} training rows`);
  if (X.length < n * d || y.length !== n) throw invalid(`knn: expected ${n}×${d} values and ${n} labels`);
  return new KnnModel(p, d, k, n, X.slice(0, n * d), y.slice());
}
