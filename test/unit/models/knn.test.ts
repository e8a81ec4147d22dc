import { describe, expect, it } from 'vitest';
import { KnnModel, fitKnn } from '../../../models/knn.js';
import { SeededRandom } from '../../../models/dataset.js';
import { train } from '../../../models/train.js';

function data(n: number, d: number, seed: number, oneHot: boolean): { X: Float64Array; y: Int32Array } {
  const rng = new SeededRandom(seed);
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (oneHot) {
      X[i * d] = rng.next();
      X[i * d + 1 + rng.int(d - 1)] = 1;
    } else for (let j = 0; j < d; j++) X[i * d + j] = rng.next() * 10;
    y[i] = rng.int(3);
  }
  return { X, y };
}

/** Brute force: indices of the k nearest rows by exact squared distance, ties to the lower index. */
function brute(X: Float64Array, n: number, d: number, q: Float64Array, k: number): number[] {
  const dist = Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (X[i * d + j]! - q[j]!) ** 2;
    return [s, i] as const;
  });
  dist.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return dist.slice(0, k).map((x) => x[1]);
}

describe('k-nearest neighbours', () => {
  for (const oneHot of [false, true]) {
    it(`finds the same neighbours as brute force (${oneHot ? 'sparse one-hot' : 'dense'} data)`, () => {
      const n = 400;
      const d = 6;
      const { X, y } = data(n, d, oneHot ? 1 : 2, oneHot);
      const m = fitKnn(X, n, d, y, 3, { n_neighbors: 4 });
      const queries = data(30, d, 3, oneHot).X;
      const nb = m.kneighbors(queries, 30);
      for (let q = 0; q < 30; q++) {
        const want = brute(X, n, d, queries.subarray(q * d, q * d + d), 4);
        const got = Array.from(nb.subarray(q * 4, q * 4 + 4));
        // Equal distances may be ordered differently by rounding; compare the distance multisets.
        const dist = (i: number): number => {
          let s = 0;
          for (let j = 0; j < d; j++) s += (X[i * d + j]! - queries[q * d + j]!) ** 2;
          return s;
        };
        expect(got.map(dist).map((v) => v.toFixed(9))).toEqual(want.map(dist).map((v) => v.toFixed(9)));
      }
    });
  }

  it('with n_neighbors = 1 predicts every distinct training row correctly (it memorizes)', async () => {
    const { X, y } = data(300, 4, 4, false);
    const m = await train({ kind: 'knn', hyperparameters: { n_neighbors: 1 }, seed: 0 }, { n: 300, d: 4, X, y, classes: ['a', 'b', 'c'], features: [] });
    expect(Array.from(m.predict(X, 300))).toEqual(Array.from(y));
  });

  it('its serialized form carries every training row verbatim (what the gate must refuse)', () => {
    const { X, y } = data(50, 3, 5, false);
    const json = fitKnn(X, 50, 3, y, 3).toJSON();
    expect(json.X).toEqual(Array.from(X));
    expect(json.y).toEqual(Array.from(y));
    const back = KnnModel.fromJSON(JSON.parse(JSON.stringify(json)));
    expect(Array.from(back.predictProba(X, 50))).toEqual(Array.from(fitKnn(X, 50, 3, y, 3).predictProba(X, 50)));
  });

  it('refuses more neighbours than training rows', () => {
    const { X, y } = data(3, 2, 6, false);
    expect(() => fitKnn(X, 3, 2, y, 3, { n_neighbors: 4 })).toThrow(/n_neighbors/);
  });
});
