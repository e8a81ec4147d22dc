/**
 * L2-regularized logistic regression on typed arrays, the same objective as
 * scikit-learn's `LogisticRegression(solver='lbfgs')`: minimize
 * `C · Σᵢ loss(xᵢ, yᵢ) + ½‖W‖²` (the intercept is not penalized), with the
 * binary logistic loss for 2 classes and the multinomial (softmax) loss with
 * one weight vector per class for more. Solved with L-BFGS (10 correction
 * pairs, Armijo backtracking line search) and stopped like SciPy's L-BFGS-B:
 * when the largest gradient component is ≤ tol, when the relative decrease of
 * the objective falls below 2.2e-9, or after max_iter iterations. The
 * objective is strictly convex, so on the same (standardized) data the
 * solution is scikit-learn's up to those tolerances.
 */
import { SluiceError } from '../lib/errors.js';

/** Hyperparameters of {@link fitLogisticRegression} (names as in scikit-learn). */
export interface LogisticParams {
  /** Inverse L2 regularization strength (> 0). Default 1.0. */
  C: number;
  /** Iterations of L-BFGS at most. Default 100. */
  max_iter: number;
  /** Stop when the largest absolute gradient component of the objective is ≤ tol. Default 1e-4. */
  tol: number;
  /** Fit an (unpenalized) intercept per class. Default true. */
  fit_intercept: boolean;
}

/** The defaults of {@link LogisticParams}. */
export const LOGISTIC_DEFAULTS: Readonly<LogisticParams> = Object.freeze({ C: 1.0, max_iter: 100, tol: 1e-4, fit_intercept: true });

/** The JSON form of a fitted model (the `model` part of an artifact). */
export interface LogisticJSON {
  params: LogisticParams;
  nFeatures: number;
  nClasses: number;
  /** m weight rows of nFeatures each; m = 1 for 2 classes (the weights of class 1), else m = nClasses. */
  coef: number[][];
  /** m intercepts (0 without fit_intercept). */
  intercept: number[];
  /** L-BFGS iterations run. */
  nIter: number;
  /** Whether a stopping tolerance was met before max_iter. */
  converged: boolean;
}

const MEMORY = 10;
const FTOL = 2.220446049250313e-9;

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', message);
}

/** A fitted logistic regression. */
export class LogisticRegressionModel {
  /** m×d weights, row-major (m = 1 for binary, else k). */
  readonly coef: Float64Array;
  /** m intercepts. */
  readonly intercept: Float64Array;

  constructor(
    readonly params: LogisticParams,
    readonly d: number,
    readonly k: number,
    coef: Float64Array,
    intercept: Float64Array,
    readonly nIter: number,
    readonly converged: boolean,
  ) {
    this.coef = coef;
    this.intercept = intercept;
  }

  /** Class probabilities, n×k row-major. */
  predictProba(X: Float64Array, n: number): Float64Array {
    const { d, k, coef, intercept } = this;
    checkMatrix(X, n, d);
    const out = new Float64Array(n * k);
    if (k === 2) {
      for (let i = 0; i < n; i++) {
        let z = intercept[0]!;
        const o = i * d;
        for (let j = 0; j < d; j++) z += coef[j]! * X[o + j]!;
        const p = sigmoid(z);
        out[i * 2] = 1 - p;
        out[i * 2 + 1] = p;
      }
      return out;
    }
    const z = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let mx = -Infinity;
      for (let c = 0; c < k; c++) {
        let s = intercept[c]!;
        const w = c * d;
        for (let j = 0; j < d; j++) s += coef[w + j]! * X[o + j]!;
        z[c] = s;
        if (s > mx) mx = s;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) sum += z[c] = Math.exp(z[c]! - mx);
      for (let c = 0; c < k; c++) out[i * k + c] = z[c]! / sum;
    }
    return out;
  }

  /** The JSON form (see {@link LogisticJSON}). */
  toJSON(): LogisticJSON {
    const m = this.intercept.length;
    const coef: number[][] = [];
    for (let c = 0; c < m; c++) coef.push(Array.from(this.coef.subarray(c * this.d, (c + 1) * this.d)));
    return {
      params: { ...this.params },
      nFeatures: this.d,
      nClasses: this.k,
      coef,
      intercept: Array.from(this.intercept),
      nIter: this.nIter,
      converged: this.converged,
    };
  }

  /** Rebuilds a model from {@link LogisticRegressionModel.toJSON}; throws SLUICE_ERR_MODEL_INVALID on a malformed value. */
  static fromJSON(json: LogisticJSON): LogisticRegressionModel {
    const { nFeatures: d, nClasses: k } = json;
    if (!Number.isInteger(d) || d < 0 || !Number.isInteger(k) || k < 2) throw invalid('logistic model: nFeatures/nClasses are malformed');
    const m = k === 2 ? 1 : k;
    if (!Array.isArray(json.coef) || json.coef.length !== m || !Array.isArray(json.intercept) || json.intercept.length !== m) {
      throw invalid(`logistic model: expected ${m} coefficient rows and intercepts`);
    }
    const coef = new Float64Array(m * d);
    json.coef.forEach((row, c) => {
      if (!Array.isArray(row) || row.length !== d || !row.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw invalid(`logistic model: coef[${c}] must hold ${d} finite numbers`);
      }
      coef.set(row, c * d);
    });
    if (!json.intercept.every((v) => typeof v === 'number' && Number.isFinite(v))) throw invalid('logistic model: intercept must hold finite numbers');
    return new LogisticRegressionModel({ ...LOGISTIC_DEFAULTS, ...json.params }, d, k, coef, Float64Array.from(json.intercept), json.nIter, json.converged);
  }
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function checkMatrix(X: Float64Array, n: number, d: number): void {
  if (!(X instanceof Float64Array)) throw invalid('logistic model: X must be a Float64Array');
  if (!Number.isInteger(n) || n < 0 || X.length < n * d) throw invalid(`logistic model: X has ${X.length} values; expected n·d = ${n * d}`);
}

/**
 * The objective and its gradient at θ (m blocks of d weights followed by m
 * intercepts): C·Σ loss + ½‖W‖², summed like scikit-learn ≥ 1.1's lbfgs path.
 */
function objective(
  theta: Float64Array,
  grad: Float64Array,
  X: Float64Array,
  y: Int32Array,
  n: number,
  d: number,
  m: number,
  C: number,
  fitIntercept: boolean,
  z: Float64Array,
): number {
  grad.fill(0);
  const b0 = m * d;
  let loss = 0;
  if (m === 1) {
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let s = fitIntercept ? theta[b0]! : 0;
      for (let j = 0; j < d; j++) s += theta[j]! * X[o + j]!;
      const t = y[i] === 1 ? 1 : 0;
      loss += softplus(s) - t * s;
      const r = sigmoid(s) - t;
      if (r !== 0) {
        for (let j = 0; j < d; j++) grad[j] = grad[j]! + (r * X[o + j]!);
        grad[b0] = grad[b0]! + r;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let mx = -Infinity;
      for (let c = 0; c < m; c++) {
        let s = fitIntercept ? theta[b0 + c]! : 0;
        const w = c * d;
        for (let j = 0; j < d; j++) s += theta[w + j]! * X[o + j]!;
        z[c] = s;
        if (s > mx) mx = s;
      }
      let sum = 0;
      for (let c = 0; c < m; c++) sum += Math.exp(z[c]! - mx);
      const lse = mx + Math.log(sum);
      const yi = y[i]!;
      loss += lse - z[yi]!;
      for (let c = 0; c < m; c++) {
        const r = Math.exp(z[c]! - lse) - (c === yi ? 1 : 0);
        const w = c * d;
        for (let j = 0; j < d; j++) grad[w + j] = grad[w + j]! + (r * X[o + j]!);
        grad[b0 + c] = grad[b0 + c]! + r;
      }
    }
  }
  let f = C * loss;
  for (let p = 0; p < b0; p++) {
    grad[p] = C * grad[p]! + theta[p]!;
    f += 0.5 * theta[p]! * theta[p]!;
  }
  for (let c = 0; c < m; c++) grad[b0 + c] = fitIntercept ? C * grad[b0 + c]! : 0;
  return f;
}

/** Compressed sparse rows of a dense row-major matrix. */
interface Csr {
  start: Int32Array;
  col: Int32Array;
  val: Float64Array;
}

function toCsr(X: Float64Array, n: number, d: number, nnz: number): Csr {
  const start = new Int32Array(n + 1);
  const col = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const v = X[o + j]!;
      if (v !== 0) {
        col[p] = j;
        val[p++] = v;
      }
    }
    start[i + 1] = p;
  }
  return { start, col, val };
}

/** {@link objective} over a CSR matrix: the same sums in the same row order, skipping zeros. */
function objectiveSparse(
  theta: Float64Array,
  grad: Float64Array,
  A: Csr,
  y: Int32Array,
  n: number,
  d: number,
  m: number,
  C: number,
  fitIntercept: boolean,
  z: Float64Array,
): number {
  grad.fill(0);
  const { start, col, val } = A;
  const b0 = m * d;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const a = start[i]!;
    const e = start[i + 1]!;
    if (m === 1) {
      let s = fitIntercept ? theta[b0]! : 0;
      for (let p = a; p < e; p++) s += theta[col[p]!]! * val[p]!;
      const t = y[i] === 1 ? 1 : 0;
      loss += softplus(s) - t * s;
      const r = sigmoid(s) - t;
      for (let p = a; p < e; p++) {
        const j = col[p]!;
        grad[j] = grad[j]! + r * val[p]!;
      }
      grad[b0] = grad[b0]! + r;
      continue;
    }
    let mx = -Infinity;
    for (let c = 0; c < m; c++) {
      let s = fitIntercept ? theta[b0 + c]! : 0;
      const w = c * d;
      for (let p = a; p < e; p++) s += theta[w + col[p]!]! * val[p]!;
      z[c] = s;
      if (s > mx) mx = s;
    }
    let sum = 0;
    for (let c = 0; c < m; c++) sum += Math.exp(z[c]! - mx);
    const lse = mx + Math.log(sum);
    const yi = y[i]!;
    loss += lse - z[yi]!;
    for (let c = 0; c < m; c++) {
      const r = Math.exp(z[c]! - lse) - (c === yi ? 1 : 0);
      const w = c * d;
      for (let p = a; p < e; p++) {
        const j = w + col[p]!;
        grad[j] = grad[j]! + r * val[p]!;
      }
      grad[b0 + c] = grad[b0 + c]! + r;
    }
  }
  let f = C * loss;
  for (let p = 0; p < b0; p++) {
    grad[p] = C * grad[p]! + theta[p]!;
    f += 0.5 * theta[p]! * theta[p]!;
  }
  for (let c = 0; c < m; c++) grad[b0 + c] = fitIntercept ? C * grad[b0 + c]! : 0;
  return f;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > s) s = v;
  }
  return s;
}

/**
 * Fits a logistic regression to n rows of X (row-major n×d) with class
 * indices y in 0..k-1 (k ≥ 2). Missing hyperparameters take
 * {@link LOGISTIC_DEFAULTS}. Deterministic (no randomness).
 */
export function fitLogisticRegression(
  X: Float64Array,
  n: number,
  d: number,
  y: Int32Array,
  k: number,
  params: Partial<LogisticParams> = {},
): LogisticRegressionModel {
  const p: LogisticParams = { ...LOGISTIC_DEFAULTS, ...params };
  if (!(p.C > 0) || !Number.isFinite(p.C)) throw invalid('logistic: hyperparameter C must be a finite number > 0');
  if (!Number.isInteger(p.max_iter) || p.max_iter < 0) throw invalid('logistic: hyperparameter max_iter must be an integer ≥ 0');
  if (!(p.tol >= 0)) throw invalid('logistic: hyperparameter tol must be a number ≥ 0');
  checkMatrix(X, n, d);
  if (y.length !== n) throw invalid(`logistic: y has ${y.length} entries; expected n = ${n}`);
  if (!Number.isInteger(k) || k < 2) throw invalid('logistic: at least 2 classes are needed');
  const m = k === 2 ? 1 : k;
  const P = m * (d + 1);
  const z = new Float64Array(m);
  let nnz = 0;
  for (let i = 0; i < n * d; i++) if (X[i] !== 0) nnz++;
  // One-hot data is mostly zeros: a sparse copy makes each pass cost O(non-zeros) instead of O(n·d).
  const csr = nnz < 0.5 * n * d ? toCsr(X, n, d, nnz) : null;
  const fg = (theta: Float64Array, g: Float64Array): number =>
    csr ? objectiveSparse(theta, g, csr, y, n, d, m, p.C, p.fit_intercept, z) : objective(theta, g, X, y, n, d, m, p.C, p.fit_intercept, z);

  let theta = new Float64Array(P);
  let g = new Float64Array(P);
  let f = fg(theta, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(MEMORY);
  const dir = new Float64Array(P);
  let next = new Float64Array(P);
  let gNext = new Float64Array(P);
  let iter = 0;
  let converged = maxAbs(g) <= p.tol;
  while (!converged && iter < p.max_iter) {
    // Two-loop recursion: dir = −H·g with H the L-BFGS inverse-Hessian estimate.
    for (let i = 0; i < P; i++) dir[i] = -g[i]!;
    for (let h = S.length - 1; h >= 0; h--) {
      const a = rho[h]! * dot(S[h]!, dir);
      alpha[h] = a;
      const yh = Y[h]!;
      for (let i = 0; i < P; i++) dir[i] = dir[i]! - (a * yh[i]!);
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let i = 0; i < P; i++) dir[i] = dir[i]! * gamma;
    }
    for (let h = 0; h < S.length; h++) {
      const b = rho[h]! * dot(Y[h]!, dir);
      const sh = S[h]!;
      const a = alpha[h]!;
      for (let i = 0; i < P; i++) dir[i] = dir[i]! + ((a - b) * sh[i]!);
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < P; i++) dir[i] = -g[i]!;
      slope = dot(g, dir);
    }
    // The first step is scaled to unit length, as L-BFGS-B does; later steps try the full quasi-Newton step.
    let step = S.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(dir, dir))) : 1;
    let fNext = NaN;
    let accepted = false;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < P; i++) next[i] = theta[i]! + step * dir[i]!;
      fNext = fg(next, gNext);
      if (Number.isFinite(fNext) && fNext <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      // Minimizer of the quadratic through f, the slope and fNext, kept within [0.1, 0.5] of the step.
      const q = Number.isFinite(fNext) ? (-slope * step * step) / (2 * (fNext - f - slope * step)) : 0.1 * step;
      step = Math.min(0.5 * step, Math.max(0.1 * step, q));
    }
    iter++;
    if (!accepted) break;
    const s = new Float64Array(P);
    const yv = new Float64Array(P);
    for (let i = 0; i < P; i++) {
      s[i] = next[i]! - theta[i]!;
      yv[i] = gNext[i]! - g[i]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-10 * dot(yv, yv)) {
      if (S.length === MEMORY) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const fPrev = f;
    [theta, next] = [next, theta];
    [g, gNext] = [gNext, g];
    f = fNext;
    if (maxAbs(g) <= p.tol || (fPrev - f) / Math.max(Math.abs(fPrev), Math.abs(f), 1) <= FTOL) converged = true;
  }
  const coef = theta.slice(0, m * d);
  const intercept = theta.slice(m * d);
  return new LogisticRegressionModel(p, d, k, coef, intercept, iter, converged);
}
