import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openDuck, queryJson, queryRows, type Duck } from '../../../lib/duck.js';
import { compileSample, type SampleSpec } from '../../../transforms/sample.js';

const N = 20000;
const CREATE = `CREATE TABLE people AS SELECT i AS id, 'name-' || (i % 7000)::VARCHAR AS name,
  (['a','b','c','d'])[(i % 4) + 1] AS region, CASE WHEN i % 1000 = 0 THEN 'rare' ELSE 'common' END AS kind
  FROM range(${N}) t(i)`;

let duck: Duck;
let single: Duck;
beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
  single = await openDuck({ threads: 1 });
  await duck.conn.run(CREATE);
  await single.conn.run(CREATE);
});
afterAll(() => {
  duck.close();
  single.close();
});

async function ids(spec: SampleSpec, d: Duck = duck, source = 'SELECT * FROM people'): Promise<number[]> {
  const rows = await queryRows<{ id: bigint }>(d.conn, `SELECT id FROM (${compileSample(source, spec)}) ORDER BY id`);
  return rows.map((r) => Number(r.id));
}

function overlap(a: number[], b: number[]): number {
  const s = new Set(a);
  return b.filter((x) => s.has(x)).length;
}

describe('bernoulli', () => {
  it('keeps a fraction within binomial bounds (5 sd) for many fractions and seeds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.integer({ min: -1e9, max: 1e9 }), async (fraction, seed) => {
        const n = (await ids({ method: 'bernoulli', fraction, seed })).length;
        const sd = Math.sqrt(N * fraction * (1 - fraction));
        expect(Math.abs(n - N * fraction)).toBeLessThanOrEqual(5 * sd);
      }),
      { seed: 5, numRuns: 15 },
    );
  });

  it('is reproducible for a seed, whatever the thread count, and changes with the seed', async () => {
    const spec: SampleSpec = { method: 'bernoulli', fraction: 0.5, seed: 42 };
    const a = await ids(spec);
    expect(await ids(spec)).toEqual(a);
    expect(await ids(spec, single)).toEqual(a);
    // Independent samples at 50% share about 25% of the rows; identical or disjoint would mean the seed is ignored.
    for (const other of [43, 44, 1042]) {
      const b = await ids({ ...spec, seed: other });
      const o = overlap(a, b) / N;
      expect(o).toBeGreaterThan(0.23);
      expect(o).toBeLessThan(0.27);
    }
  });

  it('keeps nothing at fraction 0 and everything at fraction 1, with the same columns', async () => {
    expect(await ids({ method: 'bernoulli', fraction: 0, seed: 1 })).toHaveLength(0);
    expect(await ids({ method: 'bernoulli', fraction: 1, seed: 1 })).toHaveLength(N);
    const cols = await queryJson<{ column_name: string }>(duck.conn, `DESCRIBE ${compileSample('SELECT * FROM people', { method: 'bernoulli', fraction: 0.3, seed: 1 })}`);
    expect(cols.map((c) => c.column_name)).toEqual(['id', 'name', 'region', 'kind']);
  });

  it('decides on the key columns only when keyColumns is given', async () => {
    const rows = await queryRows<{ name: string; n: bigint; k: bigint }>(
      duck.conn,
      `SELECT p.name, count(*) AS n, count(s.id) AS k FROM people p LEFT JOIN (${compileSample('SELECT * FROM people', { method: 'bernoulli', fraction: 0.5, seed: 9, keyColumns: ['name'] })}) s ON p.id = s.id GROUP BY p.name`,
    );
    // All rows of one person (name) are in or out together.
    for (const r of rows) expect(r.k === 0n || r.k === r.n).toBe(true);
    expect(rows.some((r) => r.k > 0n) && rows.some((r) => r.k === 0n)).toBe(true);
  });
});

describe('fixed size', () => {
  it('returns exactly size distinct source rows, reproducibly across thread counts', async () => {
    for (const size of [0, 1, 123, 5000]) {
      const spec: SampleSpec = { method: 'fixed', size, seed: 3 };
      const a = await ids(spec);
      expect(a).toHaveLength(size);
      expect(new Set(a).size).toBe(size);
      expect(await ids(spec, single)).toEqual(a);
    }
    expect(await ids({ method: 'fixed', size: N + 10, seed: 3 })).toHaveLength(N);
  });

  it('behaves like a uniform sample: other seeds overlap as expected and each region is near its share', async () => {
    const a = await ids({ method: 'fixed', size: 4000, seed: 1 });
    const b = await ids({ method: 'fixed', size: 4000, seed: 2 });
    // Expected overlap 4000²/20000 = 800, sd ≈ 25.
    expect(Math.abs(overlap(a, b) - 800)).toBeLessThan(150);
    const perRegion = [0, 1, 2, 3].map((r) => a.filter((id) => id % 4 === r).length);
    for (const c of perRegion) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });

  it('is deterministic with non-unique key columns (ties broken by the whole row)', async () => {
    const spec: SampleSpec = { method: 'fixed', size: 777, seed: 8, keyColumns: ['region'] };
    const a = await ids(spec);
    expect(a).toHaveLength(777);
    expect(await ids(spec, single)).toEqual(a);
  });
});

describe('stratified', () => {
  it('honours the minimum per stratum and takes round(fraction·n) otherwise', async () => {
    const spec: SampleSpec = { method: 'stratified', by: ['kind'], fraction: 0.01, minPerStratum: 5, seed: 4 };
    const rows = await queryRows<{ kind: string; n: bigint }>(duck.conn, `SELECT kind, count(*) AS n FROM (${compileSample('SELECT * FROM people', spec)}) GROUP BY kind ORDER BY kind`);
    // 'rare' has 20 rows: 1% would be 0, the minimum gives 5. 'common' has 19980: 1% is 200.
    expect(rows).toEqual([{ kind: 'common', n: 200n }, { kind: 'rare', n: 5n }]);
    // Negative control: without a minimum the rare stratum vanishes.
    const none = await queryRows<{ n: bigint }>(duck.conn, `SELECT count(*) AS n FROM (${compileSample('SELECT * FROM people', { ...spec, minPerStratum: 0 })}) WHERE kind = 'rare'`);
    expect(none[0]?.n).toBe(0n);
  });

  it('takes every row of a stratum smaller than the minimum, on several columns', async () => {
    const spec: SampleSpec = { method: 'stratified', by: ['region', 'kind'], fraction: 0.1, minPerStratum: 50, seed: 4 };
    const rows = await queryRows<{ region: string; kind: string; n: bigint; total: bigint }>(
      duck.conn,
      `SELECT p.region, p.kind, count(s.id) AS n, count(*) AS total FROM people p LEFT JOIN (${compileSample('SELECT * FROM people', spec)}) s ON p.id = s.id GROUP BY ALL`,
    );
    for (const r of rows) {
      const expected = Math.max(Math.round(0.1 * Number(r.total)), Math.min(50, Number(r.total)));
      expect(Number(r.n)).toBe(expected);
    }
    expect(await ids(spec, single)).toEqual(await ids(spec));
    const cols = await queryJson<{ column_name: string }>(duck.conn, `DESCRIBE ${compileSample('SELECT * FROM people', spec)}`);
    expect(cols.map((c) => c.column_name)).toEqual(['id', 'name', 'region', 'kind']);
  });
});

describe('spec validation', () => {
  it('rejects invalid specs with SLUICE_ERR_TRANSFORM_INVALID naming the field', () => {
    const bad: unknown[] = [
      { method: 'bernoulli', fraction: 1.5, seed: 1 },
      { method: 'fixed', size: -1, seed: 1 },
      { method: 'stratified', by: [], fraction: 0.1, minPerStratum: 1, seed: 1 },
      { method: 'bernoulli', fraction: 0.1, seed: 0.5 },
      { method: 'reservoir', size: 3, seed: 1 },
    ];
    for (const spec of bad) {
      expect(() => compileSample('SELECT 1', spec as SampleSpec)).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    }
    expect(() => compileSample('SELECT 1', { method: 'bernoulli', fraction: 2, seed: 1 })).toThrow(/sample\.fraction/);
  });
});
