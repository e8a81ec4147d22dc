import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RandomForestModel, closeForestPool, fitRandomForest } from '../../../models/random-forest.js';
import { SeededRandom } from '../../../models/dataset.js';
import { train } from '../../../models/train.js';

afterAll(async () => {
  await closeForestPool();
});

/** A planted rule (class 1 when x0 + x1 > 0 or the category in x2 is 3) with 10% label noise. */
function planted(n: number, seed: number): { X: Float64Array; y: Int32Array; d: number } {
  const rng = new SeededRandom(seed);
  const d = 5;
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    X[o] = rng.next() * 2 - 1;
    X[o + 1] = rng.next() * 2 - 1;
    X[o + 2] = rng.int(5);
    X[o + 3] = rng.next();
    X[o + 4] = rng.int(2);
    const label = X[o]! + X[o + 1]! > 0 || X[o + 2] === 3 ? 1 : 0;
    y[i] = rng.next() < 0.1 ? 1 - label : label;
  }
  return { X, y, d };
}

function accuracy(m: RandomForestModel, X: Float64Array, y: Int32Array): number {
  const p = m.predictProba(X, y.length);
  let ok = 0;
  for (let i = 0; i < y.length; i++) if ((p[i * 2 + 1]! > p[i * 2]! ? 1 : 0) === y[i]) ok++;
  return ok / y.length;
}

describe('random forest', () => {
  it('is identical for a seed with 1 and 2 threads, and differs for another seed', async () => {
    const { X, y, d } = planted(3000, 1);
    const params = { n_estimators: 12, min_samples_leaf: 3 };
    const one = await fitRandomForest(X, 3000, d, y, 2, params, 42, 1);
    const two = await fitRandomForest(X, 3000, d, y, 2, params, 42, 2);
    expect(JSON.stringify(two.toJSON())).toBe(JSON.stringify(one.toJSON()));
    const other = await fitRandomForest(X, 3000, d, y, 2, params, 43, 2);
    expect(JSON.stringify(other.toJSON())).not.toBe(JSON.stringify(one.toJSON()));
    // The caller's arrays are untouched (nothing was transferred away or reordered).
    expect(X.length).toBe(3000 * d);
    expect(planted(3000, 1).X).toEqual(X);
  });

  it('learns the planted rule and generalizes to fresh rows', async () => {
    const { X, y, d } = planted(4000, 2);
    const test = planted(2000, 3);
    const m = await fitRandomForest(X, 4000, d, y, 2, { n_estimators: 30, min_samples_leaf: 5 }, 1, 2);
    expect(m.trees.length).toBe(30);
    // Noise is 10%, so about 0.9 is the best achievable.
    expect(accuracy(m, test.X, test.y)).toBeGreaterThan(0.85);
  });

  it('honours min_samples_leaf in every bootstrapped tree (distinct in-bag rows per leaf)', () => {
    return fc.assert(
      fc.asyncProperty(fc.integer({ min: 20, max: 400 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }), async (n, msl, bootstrap, seed) => {
        const { X, y, d } = planted(n, seed);
        const m = await fitRandomForest(X, n, d, y, 2, { n_estimators: 4, min_samples_leaf: msl, bootstrap }, seed, 1);
        for (const t of m.trees) {
          const leaves = t.leaves();
          if (leaves.length > 1) expect(Math.min(...leaves.map((l) => l.samples))).toBeGreaterThanOrEqual(msl);
          // Class counts carry the bootstrap multiplicities; without bootstrap they equal the leaf sizes.
          for (const l of leaves) {
            const s = t.counts[l.node * 2]! + t.counts[l.node * 2 + 1]!;
            if (bootstrap) expect(s).toBeGreaterThanOrEqual(l.samples);
            else expect(s).toBe(l.samples);
          }
        }
      }),
      { numRuns: 40, seed: 99 },
    );
  });

  it('round-trips through JSON with identical predictions', async () => {
    const { X, y, d } = planted(800, 4);
    const m = await fitRandomForest(X, 800, d, y, 2, { n_estimators: 5 }, 3, 1);
    const back = RandomForestModel.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(Array.from(back.predictProba(X, 800))).toEqual(Array.from(m.predictProba(X, 800)));
  });

  it('train() passes threads through and refuses bad forest hyperparameters', async () => {
    const { X, y, d } = planted(500, 5);
    const ds = { n: 500, d, X, y, classes: ['no', 'yes'], features: [] };
    const a = await train({ kind: 'forest', hyperparameters: { n_estimators: 6, max_features: 2 }, seed: 9 }, ds, { threads: 2 });
    const b = await train({ kind: 'forest', hyperparameters: { n_estimators: 6, max_features: 2 }, seed: 9 }, ds, { threads: 1 });
    expect(Array.from(a.predict(X, 500))).toEqual(Array.from(b.predict(X, 500)));
    await expect(train({ kind: 'forest', hyperparameters: { n_estimators: 0 }, seed: 1 }, ds)).rejects.toThrow(/n_estimators/);
    await expect(train({ kind: 'forest', hyperparameters: { bootstrap: 'yes' }, seed: 1 }, ds)).rejects.toThrow(/bootstrap/);
    await expect(train({ kind: 'forest', hyperparameters: { n_estimators: 2 }, seed: 1 }, ds, { threads: 0 })).rejects.toThrow(/threads/);
  });
});
