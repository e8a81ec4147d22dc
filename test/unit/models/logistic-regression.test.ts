import { describe, expect, it } from 'vitest';
import { LogisticRegressionModel, fitLogisticRegression } from '../../../models/logistic-regression.js';
import { SeededRandom } from '../../../models/dataset.js';
import { train } from '../../../models/train.js';
import { SluiceError } from '../../../lib/errors.js';

/** Rows with a planted linear signal: class = argmax of W·x + noise. */
function planted(n: number, d: number, k: number, seed: number): { X: Float64Array; y: Int32Array } {
  const rng = new SeededRandom(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const W = Array.from({ length: k * d }, () => gauss());
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) X[i * d + j] = gauss();
    let best = 0;
    let bestS = -Infinity;
    for (let c = 0; c < k; c++) {
      let s = gauss() * 0.5;
      for (let j = 0; j < d; j++) s += W[c * d + j]! * X[i * d + j]!;
      if (s > bestS) {
        bestS = s;
        best = c;
      }
    }
    y[i] = best;
  }
  return { X, y };
}

/** scikit-learn's lbfgs objective: C·Σ log-loss + ½‖W‖² (intercept unpenalized). */
function objective(m: LogisticRegressionModel, X: Float64Array, y: Int32Array, n: number, C: number): number {
  const p = m.predictProba(X, n);
  let loss = 0;
  for (let i = 0; i < n; i++) loss -= Math.log(p[i * m.k + y[i]!]!);
  let pen = 0;
  for (const w of m.coef) pen += w * w;
  return C * loss + 0.5 * pen;
}

function accuracy(p: Float64Array, y: Int32Array, k: number): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + best]!) best = c;
    if (best === y[i]) ok++;
  }
  return ok / y.length;
}

describe('logistic regression', () => {
  it('binary: converges to the minimizer of C·Σloss + ½‖w‖² (no coordinate move lowers it)', () => {
    const n = 600;
    const d = 5;
    const { X, y } = planted(n, d, 2, 1);
    const C = 0.5;
    const m = fitLogisticRegression(X, n, d, y, 2, { C, max_iter: 500, tol: 1e-8 });
    expect(m.converged).toBe(true);
    const f0 = objective(m, X, y, n, C);
    for (let j = 0; j <= d; j++) {
      for (const h of [1e-3, -1e-3]) {
        const coef = m.coef.slice();
        const icpt = m.intercept.slice();
        if (j < d) coef[j] = coef[j]! + h;
        else icpt[0] = icpt[0]! + h;
        const moved = new LogisticRegressionModel(m.params, d, 2, coef, icpt, 0, true);
        expect(objective(moved, X, y, n, C)).toBeGreaterThan(f0 - 1e-9);
      }
    }
    expect(accuracy(m.predictProba(X, n), y, 2)).toBeGreaterThan(0.85);
  });

  it('multinomial for 3 classes: probabilities sum to 1 and the planted signal is learnt', () => {
    const n = 900;
    const d = 4;
    const { X, y } = planted(n, d, 3, 2);
    const m = fitLogisticRegression(X, n, d, y, 3, { max_iter: 300 });
    expect(m.coef.length).toBe(3 * d);
    const p = m.predictProba(X, n);
    for (let i = 0; i < n; i++) expect(p[i * 3]! + p[i * 3 + 1]! + p[i * 3 + 2]!).toBeCloseTo(1, 12);
    expect(accuracy(p, y, 3)).toBeGreaterThan(0.8);
  });

  it('a smaller C shrinks the weights; fit_intercept: false leaves the intercept at 0', () => {
    const { X, y } = planted(400, 3, 2, 3);
    const norm = (c: Float64Array): number => Math.hypot(...c);
    const strong = fitLogisticRegression(X, 400, 3, y, 2, { C: 0.001 });
    const weak = fitLogisticRegression(X, 400, 3, y, 2, { C: 10 });
    expect(norm(strong.coef)).toBeLessThan(norm(weak.coef) / 5);
    expect(Array.from(fitLogisticRegression(X, 400, 3, y, 2, { fit_intercept: false }).intercept)).toEqual([0]);
  });

  it('sparse (one-hot-like) and dense data give the same solution', () => {
    const n = 300;
    const rng = new SeededRandom(4);
    const X = new Float64Array(n * 6);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const a = rng.int(3);
      const b = rng.int(3);
      X[i * 6 + a] = 1;
      X[i * 6 + 3 + b] = 1;
      y[i] = rng.next() < (a === 0 ? 0.8 : 0.3) ? 1 : 0;
    }
    const sparse = fitLogisticRegression(X, n, 6, y, 2, { max_iter: 500, tol: 1e-10 });
    // Adding a dense column of small noise forces the dense path; with its weight near 0 the rest must agree.
    const Xd = new Float64Array(n * 7);
    for (let i = 0; i < n; i++) {
      Xd.set(X.subarray(i * 6, i * 6 + 6), i * 7);
      Xd[i * 7 + 6] = 1e-9 * (rng.next() + 1);
    }
    for (let i = 0; i < n * 7; i++) if (Xd[i] === 0) Xd[i] = 1e-12;
    const dense = fitLogisticRegression(Xd, n, 7, y, 2, { max_iter: 500, tol: 1e-10 });
    for (let j = 0; j < 6; j++) expect(dense.coef[j]).toBeCloseTo(sparse.coef[j]!, 5);
  });

  it('round-trips through JSON with identical predictions', () => {
    const { X, y } = planted(200, 3, 3, 5);
    const m = fitLogisticRegression(X, 200, 3, y, 3);
    const back = LogisticRegressionModel.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(Array.from(back.predictProba(X, 200))).toEqual(Array.from(m.predictProba(X, 200)));
  });

  it('refuses bad hyperparameters naming the field', async () => {
    const { X, y } = planted(50, 2, 2, 6);
    const ds = { n: 50, d: 2, X, y, classes: ['a', 'b'], features: [] };
    await expect(train({ kind: 'logistic', hyperparameters: { C: -1 }, seed: 0 }, ds)).rejects.toThrow(/hyperparameters\.C/);
    await expect(train({ kind: 'logistic', hyperparameters: { penalty: 'l1' }, seed: 0 }, ds)).rejects.toThrow(/unknown hyperparameter\(s\) penalty/);
    await expect(train({ kind: 'logistic', hyperparameters: { max_iter: 'many' }, seed: 0 }, ds)).rejects.toBeInstanceOf(SluiceError);
  });
});
