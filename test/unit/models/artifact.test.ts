import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildArtifact, canonicalJson, infer, loadModel, trainArtifact, verifyArtifact } from '../../../models/artifact.js';
import type { ModelArtifact } from '../../../models/artifact.js';
import { encode, encodeFeatures, fitEncoding } from '../../../models/encode.js';
import { SeededRandom } from '../../../models/dataset.js';
import { closeForestPool } from '../../../models/random-forest.js';
import type { ModelKind } from '../../../models/train.js';
import { SluiceError } from '../../../lib/errors.js';

afterAll(async () => {
  await closeForestPool();
});

const CITIES = ['Beijing', 'Chengdu', 'Wuhan', 'Xian'];
function rows(n: number, seed: number): Record<string, string | number>[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => {
    const age = 18 + rng.int(60);
    const city = CITIES[rng.int(4)]!;
    const edu = ['primary', 'middle', 'college'][rng.int(3)]!;
    const p = 0.15 + (age > 45 ? 0.3 : 0) + (edu === 'college' ? 0.35 : 0);
    return { age, city, edu, income: rng.next() < p ? 'high' : 'low' };
  });
}

const table = rows(600, 1);
const schema = fitEncoding(table, { target: 'income', numeric: ['age'], categorical: ['city', 'edu'] });
const dataset = encode(table, schema);
const recipes: Record<ModelKind, Record<string, number | string | boolean>> = {
  logistic: { C: 0.5 },
  tree: { max_depth: 5, min_samples_leaf: 5 },
  forest: { n_estimators: 8, min_samples_leaf: 5 },
  knn: { n_neighbors: 3 },
};

/** Every path in a JSON value that holds a number. */
function numberPaths(v: unknown, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (typeof v === 'number') out.push(path);
  else if (Array.isArray(v)) v.forEach((x, i) => numberPaths(x, [...path, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) numberPaths(x, [...path, k], out);
  return out;
}

function setAt(obj: unknown, path: (string | number)[], f: (x: number) => number): void {
  let o = obj as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  o[last] = f(o[last] as number);
}

describe('model artifact', () => {
  for (const kind of Object.keys(recipes) as ModelKind[]) {
    it(`${kind}: survives a JSON round trip, verifies, and predicts identically`, async () => {
      const { artifact, model } = await trainArtifact({
        recipe: { kind, hyperparameters: recipes[kind], seed: 5 },
        dataset,
        featureSchema: schema,
        testFraction: 0.3,
        splitSeed: 11,
        options: { threads: 1 },
      });
      expect(artifact.format).toBe('sluice-model/1');
      expect(artifact.training.rows).toBe(600);
      expect(artifact.recipe).toEqual({ kind, hyperparameters: recipes[kind], seed: 5 });
      expect(artifact.metrics.testAccuracy).toBeGreaterThan(0.5);
      const copy = JSON.parse(JSON.stringify(artifact)) as ModelArtifact;
      expect(verifyArtifact(copy)).toBe(true);
      const loaded = loadModel(copy);
      const fresh = rows(200, 2);
      const { n, X } = encodeFeatures(fresh, schema);
      expect(Array.from(loaded.predictProba(X, n))).toEqual(Array.from(model.predictProba(X, n)));
      const out = infer(copy, fresh);
      const pred = model.predict(X, n);
      out.forEach((o, i) => {
        expect(o.label).toBe(schema.target.classes[pred[i]!]);
        expect(o.proba.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      });
    });
  }

  it('editing any number (or a category) makes verifyArtifact false and loadModel refuse it', async () => {
    const { artifact } = await trainArtifact({ recipe: { kind: 'tree', hyperparameters: { max_depth: 3 }, seed: 1 }, dataset, featureSchema: schema, testFraction: 0.25, splitSeed: 3 });
    const paths = numberPaths(artifact);
    expect(paths.length).toBeGreaterThan(50);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: paths.length - 1 }), fc.constantFrom(1e-9, 1, -0.5), (i, delta) => {
        const t = JSON.parse(JSON.stringify(artifact)) as ModelArtifact;
        setAt(t, paths[i]!, (x) => (x + delta === x ? x * 2 + 1 : x + delta));
        expect(verifyArtifact(t)).toBe(false);
      }),
      { numRuns: 200, seed: 5 },
    );
    // Negative control: an unedited copy verifies; a renamed category does not.
    expect(verifyArtifact(JSON.parse(JSON.stringify(artifact)))).toBe(true);
    const t = JSON.parse(JSON.stringify(artifact)) as ModelArtifact;
    t.featureSchema.categorical[0]!.categories[0] = 'Shanghai';
    expect(verifyArtifact(t)).toBe(false);
    expect(() => loadModel(t)).toThrow(SluiceError);
    expect(verifyArtifact({ ...artifact, format: 'other/1' })).toBe(false);
    expect(verifyArtifact(null)).toBe(false);
  });

  it('hashes canonical JSON: key order does not matter, createdAt is covered', async () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] })).toBe('{"a":[2,{"c":4,"d":3}],"b":1}');
    const { artifact, model } = await trainArtifact({ recipe: { kind: 'logistic', hyperparameters: {}, seed: 1 }, dataset, featureSchema: schema, testFraction: 0.25, splitSeed: 3 });
    const reordered = Object.fromEntries(Object.entries(artifact).reverse()) as unknown as ModelArtifact;
    expect(verifyArtifact(reordered)).toBe(true);
    const dated = buildArtifact({ model, featureSchema: schema, training: artifact.training, metrics: artifact.metrics, createdAt: '2026-01-01T00:00:00Z' });
    expect(verifyArtifact(dated)).toBe(true);
    expect(verifyArtifact({ ...dated, createdAt: '2026-01-02T00:00:00Z' })).toBe(false);
  });

  it('refuses a model whose classes differ from the schema', async () => {
    const { model, artifact } = await trainArtifact({ recipe: { kind: 'logistic', hyperparameters: {}, seed: 1 }, dataset, featureSchema: schema, testFraction: 0.25, splitSeed: 3 });
    const other = { ...schema, target: { column: 'income', classes: ['a', 'b'] } };
    expect(() => buildArtifact({ model, featureSchema: other, training: artifact.training, metrics: artifact.metrics })).toThrow(/classes/);
  });
});
