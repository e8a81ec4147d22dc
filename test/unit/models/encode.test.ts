import { describe, expect, it } from 'vitest';
import { encode, encodeFeatures, fitEncoding } from '../../../models/encode.js';
import { subset, trainTestSplit } from '../../../models/dataset.js';
import { SluiceError } from '../../../lib/errors.js';

const rows = [
  { age: 20, city: 'Wuhan', sex: 'F', label: 'no' },
  { age: 30, city: 'Beijing', sex: 'M', label: 'yes' },
  { age: 40, city: 'Wuhan', sex: 'M', label: 'no' },
  { age: 50, city: 'Chengdu', sex: 'F', label: 'yes' },
];
const opts = { target: 'label', numeric: ['age'], categorical: ['city', 'sex'] };

describe('fitEncoding / encode', () => {
  it('standardizes numeric columns like StandardScaler (population std) and one-hot encodes sorted categories', () => {
    const schema = fitEncoding(rows, opts);
    expect(schema.numeric).toEqual([{ column: 'age', mean: 35, std: Math.sqrt(125) }]);
    expect(schema.categorical).toEqual([
      { column: 'city', categories: ['Beijing', 'Chengdu', 'Wuhan'] },
      { column: 'sex', categories: ['F', 'M'] },
    ]);
    expect(schema.target).toEqual({ column: 'label', classes: ['no', 'yes'] });
    expect(schema.features.map((f) => f.name)).toEqual(['age', 'city=Beijing', 'city=Chengdu', 'city=Wuhan', 'sex=F', 'sex=M']);
    expect(schema.features[3]).toEqual({ name: 'city=Wuhan', source: 'city', kind: 'one-hot', category: 'Wuhan' });

    const ds = encode(rows, schema);
    expect(ds.n).toBe(4);
    expect(ds.d).toBe(6);
    expect(Array.from(ds.y)).toEqual([0, 1, 0, 1]);
    const z = (a: number): number => (a - 35) / Math.sqrt(125);
    expect(Array.from(ds.X.subarray(0, 6))).toEqual([z(20), 0, 0, 1, 1, 0]);
    expect(Array.from(ds.X.subarray(6, 12))).toEqual([z(30), 1, 0, 0, 0, 1]);
    let mean = 0;
    for (let i = 0; i < 4; i++) mean += ds.X[i * 6]!;
    expect(mean).toBeCloseTo(0, 12);
  });

  it('keeps raw numbers with standardize: false', () => {
    const schema = fitEncoding(rows, { ...opts, standardize: false });
    expect(schema.numeric[0]).toEqual({ column: 'age', mean: 0, std: 1 });
    expect(encode(rows, schema).X[6]).toBe(30);
  });

  it('gives the same matrix for a columnar table as for rows', () => {
    const cols = { age: rows.map((r) => r.age), city: rows.map((r) => r.city), sex: rows.map((r) => r.sex), label: rows.map((r) => r.label) };
    const a = encode(rows, fitEncoding(rows, opts));
    const b = encode(cols, fitEncoding(cols, opts));
    expect(Array.from(b.X)).toEqual(Array.from(a.X));
    expect(Array.from(b.y)).toEqual(Array.from(a.y));
  });

  it('encodes an unseen or missing category as an all-zero one-hot block', () => {
    const schema = fitEncoding(rows, opts);
    const { X } = encodeFeatures([{ age: 35, city: 'Shanghai', sex: 'F' }, { age: 35, city: null, sex: 'M' }], schema);
    expect(Array.from(X)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('refuses a non-finite numeric value naming column and row, never the value', () => {
    const schema = fitEncoding(rows, opts);
    const secret = 'SECRET-VALUE-123';
    let err: unknown;
    try {
      encode([...rows.slice(0, 2), { age: secret as unknown as number, city: 'Wuhan', sex: 'F', label: 'no' }], schema);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('SLUICE_ERR_MODEL_INVALID');
    expect((err as SluiceError).message).toContain('"age" row 2');
    expect(JSON.stringify((err as SluiceError).toJSON())).not.toContain(secret);
  });

  it('refuses an unknown target class without echoing it, and a missing column by name', () => {
    const schema = fitEncoding(rows, opts);
    const secret = 'Zhang San';
    const e1 = (() => {
      try {
        encode([{ age: 1, city: 'Wuhan', sex: 'F', label: secret }], schema);
      } catch (e) {
        return e as SluiceError;
      }
      return null;
    })();
    expect(e1?.message).toContain('row 0');
    expect(e1?.message).not.toContain(secret);
    expect(() => encode([{ age: 1, sex: 'F', label: 'no' }], schema)).toThrow(/column "city" is missing/);
  });

  it('refuses overlapping column lists and a single-class target', () => {
    expect(() => fitEncoding(rows, { target: 'label', numeric: ['age'], categorical: ['age'] })).toThrow(/listed twice/);
    expect(() => fitEncoding(rows.map((r) => ({ ...r, label: 'x' })), opts)).toThrow(/1 class/);
  });
});

describe('subset / trainTestSplit', () => {
  const n = 1000;
  const X = new Float64Array(n * 2).map((_, i) => i);
  const y = Int32Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 1 : 0));
  const ds = { n, d: 2, X, y, classes: ['a', 'b'], features: [] };

  it('splits reproducibly for a seed, disjointly and exhaustively, keeping class shares when stratified', () => {
    const a = trainTestSplit(ds, 0.3, 7, true);
    const b = trainTestSplit(ds, 0.3, 7, true);
    expect(Array.from(a.testRows)).toEqual(Array.from(b.testRows));
    expect(a.test.n).toBe(300);
    expect(a.train.n).toBe(700);
    const all = new Set([...a.trainRows, ...a.testRows]);
    expect(all.size).toBe(n);
    let pos = 0;
    for (const v of a.test.y) pos += v;
    expect(pos).toBe(30);
    expect(Array.from(a.test.X.subarray(0, 2))).toEqual([2 * a.testRows[0]!, 2 * a.testRows[0]! + 1]);
    const c = trainTestSplit(ds, 0.3, 8, true);
    expect(Array.from(c.testRows)).not.toEqual(Array.from(a.testRows));
  });

  it('subset copies the chosen rows and refuses an out-of-range index', () => {
    const s = subset(ds, [5, 5, 0]);
    expect(Array.from(s.X)).toEqual([10, 11, 10, 11, 0, 1]);
    expect(() => subset(ds, [n])).toThrow(SluiceError);
  });
});
