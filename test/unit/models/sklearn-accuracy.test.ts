/**
 * Sluice's trainers against scikit-learn on generated Adult-like data
 * (synthetic/adult-like.ts, Adult's columns and size; target salary-class, 70/30
 * stratified split, seed 42): the same encoded matrices go to
 * bench/sklearn_models.py under /usr/bin/python3, and test accuracy must agree
 * within 1 percentage point for the same hyperparameters (forests: averaged
 * over seeds, since their random streams differ). Runs where python3-sklearn
 * is installed; otherwise the file says in one line that it skipped and why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adultLikeDataset } from '../../../models/load-adult.js';
import { trainTestSplit } from '../../../models/dataset.js';
import type { Dataset } from '../../../models/dataset.js';
import { train } from '../../../models/train.js';
import type { TrainRecipe } from '../../../models/train.js';
import { closeForestPool } from '../../../models/random-forest.js';
import { runSklearn } from '../../../bench/models.bench.js';
import type { SklearnResult } from '../../../bench/models.bench.js';
import { skipWithoutSklearn } from '../../helpers/optional-data.js';

const NO_SKLEARN = skipWithoutSklearn('accuracy against scikit-learn');
const FOREST_SEEDS = [1, 2];
let split: { train: Dataset; test: Dataset };
let encoded: ReturnType<typeof adultLikeDataset>;
const sk = new Map<string, SklearnResult>();

afterAll(async () => {
  await closeForestPool();
});

function accuracy(pred: Int32Array, y: Int32Array): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) ok++;
  return ok / y.length;
}

async function ours(recipe: TrainRecipe): Promise<{ acc: number; proba: Float64Array }> {
  const m = await train(recipe, split.train, { threads: 2 });
  return { acc: accuracy(m.predict(split.test.X, split.test.n), split.test.y), proba: m.predictProba(split.test.X, split.test.n) };
}

describe.skipIf(NO_SKLEARN)('accuracy against scikit-learn on Adult-like data', () => {
  beforeAll(async () => {
    encoded = adultLikeDataset({ target: 'salary-class' });
    split = trainTestSplit(encoded.dataset, 0.3, 42, true);
    const { results } = await runSklearn(split.train, split.test, [
      { name: 'logistic', kind: 'logistic', params: { C: 1.0 }, proba: true },
      { name: 'logistic-converged', kind: 'logistic', params: { C: 1.0, max_iter: 2000, tol: 1e-8 }, proba: true },
      { name: 'tree', kind: 'tree', params: { max_depth: 10, min_samples_leaf: 5, random_state: 0 } },
      ...FOREST_SEEDS.map((s) => ({ name: `forest-${s}`, kind: 'forest' as const, params: { n_estimators: 100, min_samples_leaf: 10, random_state: s, n_jobs: 2 } })),
      { name: 'knn', kind: 'knn', params: { n_neighbors: 5 } },
    ]);
    for (const r of results) sk.set(r.name, r);
  }, 600_000);

  it('the split is a stratified 70/30 of every row, one-hot over every category seen', () => {
    const { dataset, rows } = encoded;
    expect(split.train.n + split.test.n).toBe(dataset.n);
    const perClass = dataset.classes.map((_, c) => dataset.y.filter((y) => y === c).length);
    expect(perClass.every((k) => k > 0)).toBe(true);
    expect(split.test.n).toBe(perClass.reduce((s, k) => s + Math.ceil(0.3 * k), 0));
    // age is one numeric feature; every other column but the target one feature per distinct value
    const categories = Object.keys(rows[0]!)
      .filter((c) => c !== 'age' && c !== 'salary-class')
      .reduce((s, c) => s + new Set(rows.map((r) => r[c])).size, 0);
    expect(split.train.d).toBe(1 + categories);
  });

  it('LogisticRegression(C=1.0): accuracy within 1 pp; converged, the same objective value and probabilities', async () => {
    const a = await ours({ kind: 'logistic', hyperparameters: { C: 1.0 }, seed: 0 });
    expect(Math.abs(a.acc - sk.get('logistic')!.test_accuracy!)).toBeLessThanOrEqual(0.01);

    // Both solvers stop on the same L-BFGS-B rules (gradient ≤ tol or a relative decrease ≤ 2.2e-9), so neither
    // reaches the exact optimum: on this data each is within about 2e-3 of Newton's solution in probability.
    const m = await train({ kind: 'logistic', hyperparameters: { C: 1.0, max_iter: 2000, tol: 1e-8 }, seed: 0 }, split.train);
    const json = m.toJSON() as { coef: number[][]; intercept: number[]; converged: boolean };
    expect(json.converged).toBe(true);
    const ref = sk.get('logistic-converged')!;
    const objective = (w: number[], b: number): number => {
      const { n, d, X, y } = split.train;
      let f = 0;
      for (let i = 0; i < n; i++) {
        let z = b;
        for (let j = 0; j < d; j++) z += w[j]! * X[i * d + j]!;
        f += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - (y[i] === 1 ? z : 0);
      }
      return f + 0.5 * w.reduce((s, v) => s + v * v, 0);
    };
    const fOurs = objective(json.coef[0]!, json.intercept[0]!);
    const fSk = objective(ref.coef![0]!, ref.intercept![0]!);
    expect(Math.abs(fOurs - fSk) / fSk).toBeLessThan(1e-6);
    const p = ref.proba_test!;
    const q = m.predictProba(split.test.X, split.test.n);
    let worst = 0;
    for (let i = 0; i < split.test.n; i++) worst = Math.max(worst, Math.abs(q[i * 2 + 1]! - p[i * 2 + 1]!));
    expect(worst).toBeLessThan(5e-3);
  }, 300_000);

  it('DecisionTreeClassifier(max_depth=10, min_samples_leaf=5): accuracy within 1 pp', async () => {
    const a = await ours({ kind: 'tree', hyperparameters: { max_depth: 10, min_samples_leaf: 5 }, seed: 0 });
    expect(Math.abs(a.acc - sk.get('tree')!.test_accuracy!)).toBeLessThanOrEqual(0.01);
  }, 300_000);

  it('RandomForestClassifier(n_estimators=100, min_samples_leaf=10): mean accuracy over seeds within 1 pp', async () => {
    let mine = 0;
    let theirs = 0;
    for (const s of FOREST_SEEDS) {
      mine += (await ours({ kind: 'forest', hyperparameters: { n_estimators: 100, min_samples_leaf: 10 }, seed: s })).acc;
      theirs += sk.get(`forest-${s}`)!.test_accuracy!;
    }
    expect(Math.abs(mine - theirs) / FOREST_SEEDS.length).toBeLessThanOrEqual(0.01);
  }, 600_000);

  it('KNeighborsClassifier(5): accuracy within 1 pp', async () => {
    const a = await ours({ kind: 'knn', hyperparameters: { n_neighbors: 5 }, seed: 0 });
    expect(Math.abs(a.acc - sk.get('knn')!.test_accuracy!)).toBeLessThanOrEqual(0.01);
  }, 300_000);
});
