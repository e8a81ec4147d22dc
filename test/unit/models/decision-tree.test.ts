import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecisionTreeModel, binFeatures, fitDecisionTree } from '../../../models/decision-tree.js';
import { SeededRandom } from '../../../models/dataset.js';
import { train } from '../../../models/train.js';

function randomData(n: number, d: number, k: number, levels: number, seed: number): { X: Float64Array; y: Int32Array } {
  const rng = new SeededRandom(seed);
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n * d; i++) X[i] = levels > 0 ? rng.int(levels) : rng.next() * 100 - 50;
  for (let i = 0; i < n; i++) y[i] = rng.int(k);
  return { X, y };
}

function accuracy(m: DecisionTreeModel, X: Float64Array, y: Int32Array): number {
  const p = m.predictProba(X, y.length);
  let ok = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < m.k; c++) if (p[i * m.k + c]! > p[i * m.k + best]!) best = c;
    if (best === y[i]) ok++;
  }
  return ok / y.length;
}

describe('decision tree', () => {
  it('honours min_samples_leaf: no leaf has fewer training rows (property, random data and parameters)', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 300 }),
          d: fc.integer({ min: 1, max: 6 }),
          k: fc.integer({ min: 2, max: 4 }),
          levels: fc.constantFrom(0, 2, 5, 40),
          msl: fc.integer({ min: 1, max: 40 }),
          depth: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
          maxFeatures: fc.constantFrom('all', 'sqrt', 1) as fc.Arbitrary<'all' | 'sqrt' | 1>,
          criterion: fc.constantFrom('gini', 'entropy') as fc.Arbitrary<'gini' | 'entropy'>,
          maxBins: fc.constantFrom(2, 16, 255),
          seed: fc.integer({ min: 0, max: 1_000_000 }),
        }),
        ({ n, d, k, levels, msl, depth, maxFeatures, criterion, maxBins, seed }) => {
          const { X, y } = randomData(n, d, k, levels, seed);
          const m = fitDecisionTree(X, n, d, y, k, {
            min_samples_leaf: msl,
            max_features: maxFeatures,
            criterion,
            max_bins: maxBins,
            ...(depth === undefined ? {} : { max_depth: depth }),
          }, seed);
          const leaves = m.leaves();
          const smallest = Math.min(...leaves.map((l) => l.samples));
          // A root that cannot be split is a single leaf holding all n rows (n may be below msl).
          expect(leaves.length === 1 ? leaves[0]!.samples === n : smallest >= msl).toBe(true);
          // Leaf sizes are consistent: every row lands in exactly one leaf, and the counts add up.
          expect(leaves.reduce((a, l) => a + l.samples, 0)).toBe(n);
          const landed = new Map<number, number>();
          for (const leaf of m.apply(X, n)) landed.set(leaf, (landed.get(leaf) ?? 0) + 1);
          for (const l of leaves) {
            expect(landed.get(l.node) ?? 0).toBe(l.samples);
            let s = 0;
            for (let c = 0; c < k; c++) s += m.counts[l.node * k + c]!;
            expect(s).toBe(l.samples);
          }
          if (depth !== undefined) expect(m.depth()).toBeLessThanOrEqual(depth);
        },
      ),
      { numRuns: 150, seed: 20240601 },
    );
  });

  it('with min_samples_leaf = 1 and no depth limit fits a training set with distinct rows perfectly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 400 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e6 }), (n, d, seed) => {
        const { X: raw, y } = randomData(n, d, 3, 0, seed);
        // Distinct rows: make the first feature unique per row (continuous values are distinct with probability 1, and we force it).
        const X = raw.slice();
        for (let i = 0; i < n; i++) X[i * d] = i + (raw[i * d]! + 50) / 101;
        const m = fitDecisionTree(X, n, d, y, 3, { min_samples_leaf: 1, max_bins: 65535 }, seed);
        expect(accuracy(m, X, y)).toBe(1);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it('a depth-limited tree stays within its depth and a deep tree learns XOR', () => {
    const n = 400;
    const rng = new SeededRandom(3);
    const X = new Float64Array(n * 2);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      X[i * 2] = rng.next();
      X[i * 2 + 1] = rng.next();
      y[i] = (X[i * 2]! > 0.5) !== (X[i * 2 + 1]! > 0.5) ? 1 : 0;
    }
    const stump = fitDecisionTree(X, n, 2, y, 2, { max_depth: 1 });
    expect(stump.depth()).toBe(1);
    expect(stump.leaves().length).toBe(2);
    const deep = fitDecisionTree(X, n, 2, y, 2, { max_depth: 8 });
    expect(accuracy(deep, X, y)).toBeGreaterThan(0.97);
  });

  it('places thresholds at midpoints between neighbouring training values, as scikit-learn does', () => {
    const X = Float64Array.from([1, 2, 4, 8]);
    const y = Int32Array.from([0, 0, 1, 1]);
    const m = fitDecisionTree(X, 4, 1, y, 2);
    expect(m.feature[0]).toBe(0);
    expect(m.threshold[0]).toBe(3);
  });

  it('bins a column with more distinct values than max_bins into at most max_bins bins of similar size', () => {
    const n = 10_000;
    const X = Float64Array.from({ length: n }, (_, i) => (i * 7919) % n);
    const b = binFeatures(X, n, 1, 50);
    expect(b.nBins[0]).toBeLessThanOrEqual(50);
    const sizes = new Array<number>(b.nBins[0]!).fill(0);
    for (const v of b.bins) sizes[v]!++;
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * (n / 50));
  });

  it('round-trips through JSON with identical predictions and refuses a malformed tree', () => {
    const { X, y } = randomData(300, 4, 3, 0, 11);
    const m = fitDecisionTree(X, 300, 4, y, 3, { max_depth: 6 });
    const json = JSON.parse(JSON.stringify(m.toJSON()));
    const back = DecisionTreeModel.fromJSON(json);
    expect(Array.from(back.predictProba(X, 300))).toEqual(Array.from(m.predictProba(X, 300)));
    expect(() => DecisionTreeModel.fromJSON({ ...json, left: json.left.map(() => 0) })).toThrow(/children/);
  });

  it('train() honours min_samples_leaf and refuses an unknown criterion', async () => {
    const { X, y } = randomData(500, 3, 2, 0, 12);
    const ds = { n: 500, d: 3, X, y, classes: ['a', 'b'], features: [] };
    const m = await train({ kind: 'tree', hyperparameters: { min_samples_leaf: 25 }, seed: 1 }, ds);
    const json = m.toJSON() as { feature: number[]; samples: number[] };
    const leafSizes = json.samples.filter((_, i) => json.feature[i]! < 0);
    expect(Math.min(...leafSizes)).toBeGreaterThanOrEqual(25);
    await expect(train({ kind: 'tree', hyperparameters: { criterion: 'mse' }, seed: 1 }, ds)).rejects.toThrow(/criterion/);
  });
});
