import { describe, expect, it } from 'vitest';
import { SeededRandom, type Dataset, type FeatureInfo } from '../../../models/dataset.js';
import { train } from '../../../models/train.js';
import { modelStructure, scanSerialized } from '../../../models/structure.js';

const FEATURES: FeatureInfo[] = [
  { name: 'age', source: 'age', kind: 'numeric' },
  ...['a', 'b', 'c', 'd'].map((c): FeatureInfo => ({ name: `job=${c}`, source: 'job', kind: 'one-hot', category: c })),
  ...['x', 'y'].map((c): FeatureInfo => ({ name: `sex=${c}`, source: 'sex', kind: 'one-hot', category: c })),
];

function data(n: number, seed: number): Dataset {
  const r = new SeededRandom(seed);
  const d = FEATURES.length;
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    X[i * d] = Math.round((r.next() * 4 - 2) * 1e6) / 1e6;
    const job = r.int(4);
    X[i * d + 1 + job] = 1;
    X[i * d + 5 + r.int(2)] = 1;
    y[i] = r.next() < (job < 2 ? 0.8 : 0.2) ? 1 : 0;
  }
  return { n, d, X, y, classes: ['no', 'yes'], features: FEATURES };
}

const ds = data(600, 1);
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('scanSerialized (C1)', () => {
  it('finds every training row in a serialized kNN (positive control)', async () => {
    const knn = await train({ kind: 'knn', hyperparameters: { n_neighbors: 1 }, seed: 1 }, ds);
    const scan = scanSerialized(plain({ model: knn.toJSON() }), ds);
    expect(scan.trainingRowsSearched).toBe(600);
    expect(scan.trainingRowsFound).toBe(600);
  });

  it('finds rows stored as nested arrays or a serialized typed array, and only the rows stored', () => {
    const d = ds.d;
    const rows = [3, 17, 42].map((i) => Array.from(ds.X.subarray(i * d, i * d + d)));
    expect(scanSerialized({ lookup: rows }, ds).trainingRowsFound).toBe(3);
    const typed = JSON.parse(JSON.stringify({ cache: Float64Array.from(rows.flat()) }));
    expect(scanSerialized(typed, ds).trainingRowsFound).toBe(3);
    // A prefix of a row is not the row.
    expect(scanSerialized({ partial: rows[0]!.slice(0, d - 1) }, ds).trainingRowsFound).toBe(0);
  });

  it('finds no training row in a logistic regression, a tree or a forest (negative control)', async () => {
    for (const recipe of [
      { kind: 'logistic' as const, hyperparameters: {}, seed: 1 },
      { kind: 'tree' as const, hyperparameters: { min_samples_leaf: 5 }, seed: 1 },
      { kind: 'forest' as const, hyperparameters: { n_estimators: 5, min_samples_leaf: 5 }, seed: 1 },
    ]) {
      const m = await train(recipe, ds, { threads: 1 });
      const scan = scanSerialized(plain({ model: m.toJSON() }), ds);
      expect(scan.trainingRowsFound, recipe.kind).toBe(0);
      expect(scan.identifiersFound, recipe.kind).toBe(0);
    }
  });

  it('counts identifier-shaped values (valid check digits only) in strings, keys and whole numbers', () => {
    const scan = scanSerialized(
      {
        note: 'owner 11010519491231002X; call 13812345678',
        contact: 13912345678,
        'a@example.com': 1,
        card: '4111111111111111',
        credit: '91350100M000100Y43',
        wrongCheck: '110105194912310021',
        shortNumber: 1381234,
      },
      ds,
    );
    expect(scan.identifiers['resident-id']).toBe(1);
    expect(scan.identifiers.mobile).toBe(2);
    expect(scan.identifiers.email).toBe(1);
    expect(scan.identifiers['bank-card']).toBe(1);
    expect(scan.identifiers['credit-code']).toBe(1);
    expect(scan.identifiersFound).toBe(6);
  });
});

describe('modelStructure (C2, C3)', () => {
  it('routes the training rows of a single tree into exactly the leaf sizes it records', async () => {
    const m = await train({ kind: 'tree', hyperparameters: { min_samples_leaf: 7 }, seed: 1 }, ds);
    const s = modelStructure('tree', plain(m.toJSON()), ds, 2);
    expect(s.trees).toHaveLength(1);
    expect(s.trees[0]!.routed).toEqual(s.trees[0]!.recorded);
    expect(s.trees[0]!.routed.reduce((a, b) => a + b, 0)).toBe(600);
    expect(s.minLeafRouted).toBeGreaterThanOrEqual(7);
    expect(s.recordedMinSamplesLeaf).toBe(7);
    const leaves = s.trees[0]!.leaves;
    expect(s.parameters).toBe(2 * (leaves - 1) + leaves);
    expect(s.degreesOfFreedom).toBe(600 - s.parameters);
  });

  it('counts all training rows (in-bag and out-of-bag) in a bootstrap forest’s leaves, at least what each leaf records', async () => {
    const m = await train({ kind: 'forest', hyperparameters: { n_estimators: 6, min_samples_leaf: 5 }, seed: 2 }, ds, { threads: 1 });
    const s = modelStructure('forest', plain(m.toJSON()), ds, 2);
    expect(s.trees).toHaveLength(6);
    for (const t of s.trees) {
      t.routed.forEach((r, i) => expect(r).toBeGreaterThanOrEqual(t.recorded[i]!));
      expect(t.routed.reduce((a, b) => a + b, 0)).toBe(600);
    }
    expect(s.recordedBootstrap).toBe(true);
    expect(s.parameters).toBeCloseTo(s.parametersSummed / 6, 9);
  });

  it('counts a logistic regression’s weights and intercept, and a kNN’s stored values', async () => {
    const lr = await train({ kind: 'logistic', hyperparameters: {}, seed: 1 }, ds);
    const s = modelStructure('logistic', plain(lr.toJSON()), ds, 2);
    expect(s.parameters).toBe(ds.d + 1);
    expect(s.instanceBased).toBe(false);
    const knn = await train({ kind: 'knn', hyperparameters: {}, seed: 1 }, ds);
    const k = modelStructure('knn', plain(knn.toJSON()), ds, 2);
    expect(k.instanceBased).toBe(true);
    expect(k.parameters).toBe(600 * ds.d + 600);
    expect(k.degreesOfFreedom).toBeLessThan(0);
  });
});
