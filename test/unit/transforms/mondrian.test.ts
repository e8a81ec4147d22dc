import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closeMondrianPool, mondrian, recodeMondrian } from '../../../transforms/mondrian.js';
import type { MondrianInput, MondrianResult } from '../../../transforms/mondrian.js';
import { SluiceError } from '../../../lib/errors.js';
import { mulberry32 } from '../../../lib/random.js';

afterAll(async () => {
  await closeMondrianPool();
});

const rng = mulberry32;

function table(cols: number[][], cards?: number[]): MondrianInput {
  return {
    n: cols[0]?.length ?? 0,
    columns: cols.map((codes, c) => ({
      name: `q${c}`,
      codes: Int32Array.from(codes),
      cardinality: cards?.[c] ?? Math.max(1, ...codes.map((v) => v + 1)),
    })),
  };
}

/**
 * Every property the released classes must have; returns the violations found
 * (empty = fine). Checked: each row in exactly one class, sizes ≥ k and
 * consistent, each row's codes inside its class's range, ranges tight; strict
 * classes never overlap; and no class could have been split further (so a
 * result that lumps everything into one class is caught too).
 */
function violations(input: MondrianInput, k: number, relaxed: boolean, r: MondrianResult): string[] {
  const out: string[] = [];
  const { n, columns } = input;
  const d = columns.length;
  if (r.classOf.length !== n) out.push(`classOf has ${r.classOf.length} entries for ${n} rows`);
  const counted = new Array<number>(r.classes.length).fill(0);
  const members: number[][] = r.classes.map(() => []);
  for (let i = 0; i < r.classOf.length; i++) {
    const id = r.classOf[i]!;
    if (!(id >= 0 && id < r.classes.length)) {
      out.push(`row ${i} has no class`);
      continue;
    }
    counted[id]!++;
    members[id]!.push(i);
  }
  r.classes.forEach((cl, id) => {
    if (cl.size !== counted[id]) out.push(`class ${id} says ${cl.size} rows but holds ${counted[id]}`);
    if (cl.size < k) out.push(`class ${id} has ${cl.size} < k rows`);
    for (let c = 0; c < d; c++) {
      const codes = columns[c]!.codes;
      const vals = members[id]!.map((i) => codes[i]!);
      if (vals.some((v) => v < cl.lo[c]! || v > cl.hi[c]!)) out.push(`class ${id} column ${c}: a row lies outside lo..hi`);
      if (vals.length > 0 && (Math.min(...vals) !== cl.lo[c] || Math.max(...vals) !== cl.hi[c])) {
        out.push(`class ${id} column ${c}: range not tight`);
      }
    }
    const size = members[id]!.length;
    if (relaxed) {
      const wide = Array.from({ length: d }, (_, c) => cl.hi[c]! > cl.lo[c]!).some(Boolean);
      if (size >= 2 * k && wide) out.push(`class ${id} (relaxed) could still be halved`);
    } else {
      for (let c = 0; c < d; c++) {
        const codes = columns[c]!.codes;
        for (let t = cl.lo[c]!; t < cl.hi[c]!; t++) {
          const left = members[id]!.filter((i) => codes[i]! <= t).length;
          if (left >= k && size - left >= k) {
            out.push(`class ${id} (strict) admits a cut in column ${c}`);
            break;
          }
        }
      }
    }
  });
  if (!relaxed) {
    for (let a = 0; a < r.classes.length; a++) {
      for (let b = a + 1; b < r.classes.length; b++) {
        const A = r.classes[a]!;
        const B = r.classes[b]!;
        let overlap = true;
        for (let c = 0; c < d && overlap; c++) overlap = A.lo[c]! <= B.hi[c]! && B.lo[c]! <= A.hi[c]!;
        if (overlap) out.push(`strict classes ${a} and ${b} overlap`);
      }
    }
  }
  return out;
}

const tableArb = fc
  .record({ n: fc.integer({ min: 1, max: 160 }), cards: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }) })
  .chain(({ n, cards }) =>
    fc.record({
      input: fc
        .tuple(...cards.map((card) => fc.array(fc.integer({ min: 0, max: card - 1 }), { minLength: n, maxLength: n })))
        .map((cols) => table(cols, cards)),
      k: fc.oneof(fc.integer({ min: 1, max: Math.min(n, 8) }), fc.integer({ min: 1, max: n })),
      relaxed: fc.boolean(),
    }),
  );

describe('mondrian: properties over random tables', () => {
  it('every class has ≥ k rows, every row is in one class within its ranges, and no class could be split further', async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, async ({ input, k, relaxed }) => {
        const r = await mondrian(input, { k, relaxed, threads: 1 });
        expect(violations(input, k, relaxed, r)).toEqual([]);
      }),
      { seed: 20240501, numRuns: 150 },
    );
  });

  it('is deterministic, and 1 thread and a 2-thread pool give the same classes', async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, async ({ input, k, relaxed }) => {
        const a = await mondrian(input, { k, relaxed, threads: 1 });
        const b = await mondrian(input, { k, relaxed, threads: 1 });
        const c = await mondrian(input, { k, relaxed, threads: 2 });
        expect(b).toEqual(a);
        expect(c).toEqual(a);
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it('released (recoded) tuples: every distinct generalized row occurs ≥ k times', async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, async ({ input, k, relaxed }) => {
        const r = await mondrian(input, { k, relaxed, threads: 1 });
        const labels = input.columns.map((col) => Array.from({ length: col.cardinality }, (_, v) => `v${v}`));
        const rec = recodeMondrian(r, labels);
        const counts = new Map<string, number>();
        for (let i = 0; i < input.n; i++) {
          const key = rec.map((col) => col[i]).join('|');
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(k);
      }),
      { seed: 99, numRuns: 80 },
    );
  });
});

describe('mondrian: the invariant checker catches bad partitions (positive controls)', () => {
  const input = table([[0, 0, 0, 1, 1, 1]]);
  it('flags a class smaller than k', () => {
    const bad: MondrianResult = {
      classOf: Int32Array.from([0, 0, 1, 1, 1, 1]),
      classes: [
        { size: 2, lo: Int32Array.from([0]), hi: Int32Array.from([0]) },
        { size: 4, lo: Int32Array.from([0]), hi: Int32Array.from([1]) },
      ],
    };
    expect(violations(input, 3, false, bad).join('\n')).toMatch(/class 0 has 2 < k rows/);
  });
  it('flags a row outside its class range and a lazy single class', () => {
    const lazy: MondrianResult = {
      classOf: Int32Array.from([0, 0, 0, 0, 0, 0]),
      classes: [{ size: 6, lo: Int32Array.from([0]), hi: Int32Array.from([0]) }],
    };
    const v = violations(input, 3, false, lazy).join('\n');
    expect(v).toMatch(/outside lo\.\.hi/);
    const wide: MondrianResult = { ...lazy, classes: [{ size: 6, lo: Int32Array.from([0]), hi: Int32Array.from([1]) }] };
    expect(violations(input, 3, false, wide).join('\n')).toMatch(/admits a cut/);
    expect(violations(input, 3, true, wide).join('\n')).toMatch(/could still be halved/);
  });
  it('passes the real result (negative control)', async () => {
    const r = await mondrian(input, { k: 3, threads: 1 });
    expect(violations(input, 3, false, r)).toEqual([]);
    expect(r.classes.map((c) => c.size)).toEqual([3, 3]);
  });
});

describe('mondrian: behaviour', () => {
  it('splits ten ages at the median into two bands of five and recodes them as ranges', async () => {
    const ages = Array.from({ length: 10 }, (_, i) => i);
    const input = table([ages, ages.map(() => 0)], [10, 1]);
    const r = await mondrian(input, { k: 5, threads: 1 });
    const labels = [ages.map((a) => String(20 + a)), ['F']];
    const [age, sex] = recodeMondrian(r, labels);
    expect(age).toEqual([...Array(5).fill('[20-24]'), ...Array(5).fill('[25-29]')]);
    expect(sex).toEqual(Array(10).fill('F'));
  });

  it('strict keeps tied median values together; relaxed divides them to balance the halves', async () => {
    const input = table([[0, 0, 0, 1, 1, 1, 1, 1, 1, 1]]);
    const strict = await mondrian(input, { k: 5, threads: 1 });
    expect(strict.classes.map((c) => c.size)).toEqual([10]);
    const relaxed = await mondrian(input, { k: 5, relaxed: true, threads: 1 });
    expect(relaxed.classes.map((c) => [c.size, c.lo[0], c.hi[0]])).toEqual([
      [5, 0, 1],
      [5, 1, 1],
    ]);
    expect(recodeMondrian(relaxed, [['a', 'b']])[0]).toEqual([...Array(5).fill('[a-b]'), ...Array(5).fill('b')]);
  });

  it('uses another dimension when the widest one admits no cut', async () => {
    // Column 0 is tried first (both span their whole range; ties go to the lower index) but has no cut with k = 4.
    const input = table([
      [0, 0, 0, 0, 0, 0, 0, 9],
      [0, 0, 0, 0, 1, 1, 1, 1],
    ]);
    const r = await mondrian(input, { k: 4, threads: 1 });
    expect(r.classes.map((c) => [c.size, c.lo[1], c.hi[1]])).toEqual([
      [4, 0, 0],
      [4, 1, 1],
    ]);
  });

  it('on 40,000 rows the pool (2 and 3 threads) matches the calling thread exactly, strict and relaxed', async () => {
    const next = rng(42);
    const n = 40_000;
    const cards = [101, 2, 9, 8];
    // Skewed codes (squared uniform) so medians fall on heavy ties.
    const input = table(cards.map((card) => Array.from({ length: n }, () => Math.floor(next() * next() * card))), cards);
    for (const relaxed of [false, true]) {
      const one = await mondrian(input, { k: 5, relaxed, threads: 1 });
      expect(await mondrian(input, { k: 5, relaxed, threads: 2 })).toEqual(one);
      expect(await mondrian(input, { k: 5, relaxed, threads: 3 })).toEqual(one);
      expect(Math.min(...one.classes.map((c) => c.size))).toBeGreaterThanOrEqual(5);
      expect(one.classes.length).toBeGreaterThan(n / 50);
    }
  });

  it('a lopsided first cut (the root halves split again in shared memory) still matches the calling thread, for 2 and 4 threads', async () => {
    const next = rng(7);
    const n = 30_000;
    // 85% of rows share the widest column's first code, so strict Mondrian's root cut puts most rows on one side.
    const a = Array.from({ length: n }, () => (next() < 0.85 ? 0 : 1 + Math.floor(next() * 40)));
    const b = Array.from({ length: n }, () => Math.floor(next() * 6));
    const input = table([a, b], [41, 6]);
    const one = await mondrian(input, { k: 4, threads: 1 });
    for (const threads of [2, 4]) {
      const r = await mondrian(input, { k: 4, threads });
      expect(r).toEqual(one);
      expect(violations(input, 4, false, r)).toEqual([]);
    }
  });

  it('never modifies, detaches or transfers the caller’s arrays, including views into a larger buffer', async () => {
    const next = rng(3);
    const n = 5_000;
    const big = new Int32Array(3 * n);
    for (let i = 0; i < big.length; i++) big[i] = Math.floor(next() * 7);
    const before = big.slice();
    const input: MondrianInput = {
      n,
      columns: [
        { name: 'a', codes: big.subarray(n, 2 * n), cardinality: 7 },
        { name: 'b', codes: big.subarray(2 * n, 3 * n), cardinality: 7 },
      ],
    };
    const r = await mondrian(input, { k: 3, threads: 2 });
    expect(big.buffer.byteLength).toBe(3 * n * 4);
    expect(big).toEqual(before);
    expect(violations(input, 3, false, r)).toEqual([]);
  });

  it('a table without quasi-identifiers is one class, in the calling thread and in the pool', async () => {
    for (const threads of [1, 2]) {
      const r = await mondrian({ n: 7, columns: [] }, { k: 3, threads });
      expect(r.classes.map((c) => c.size)).toEqual([7]);
      expect(Array.from(r.classOf)).toEqual(Array(7).fill(0));
    }
  });

  it('the default thread count works (machine parallelism)', async () => {
    const input = table([Array.from({ length: 200 }, (_, i) => i % 17)], [17]);
    const r = await mondrian(input, { k: 10 });
    expect(r).toEqual(await mondrian(input, { k: 10, threads: 1 }));
  });
});

describe('mondrian: input errors name fields and counts, never values', () => {
  const five = table([[0, 1, 2, 3, 4]]);
  it('k > n throws SLUICE_ERR_TRANSFORM_INVALID naming k and n', async () => {
    const err = await mondrian(five, { k: 7 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('SLUICE_ERR_TRANSFORM_INVALID');
    expect((err as SluiceError).message).toMatch(/k \(7\).*n \(5\)/);
    expect((err as SluiceError).details).toEqual({ k: 7, n: 5 });
  });
  it('k = n is fine: one class of all rows (negative control)', async () => {
    const r = await mondrian(five, { k: 5, threads: 1 });
    expect(r.classes).toHaveLength(1);
    expect(Array.from(r.classOf)).toEqual([0, 0, 0, 0, 0]);
  });
  it('a code outside the cardinality is reported by column name and row index, not by value', async () => {
    const input = table([[0, 1, 987654, 3]], [5]);
    input.columns[0]!.name = 'age';
    const err = (await mondrian(input, { k: 2 }).catch((e: unknown) => e)) as SluiceError;
    expect(err.code).toBe('SLUICE_ERR_TRANSFORM_INVALID');
    expect(err.message).toMatch(/columns\[0\] \("age"\)\.codes\[2\]/);
    expect(err.message).not.toContain('987654');
    expect(JSON.stringify(err.toJSON())).not.toContain('987654');
  });
  it('rejects wrong lengths, bad k and bad thread counts', async () => {
    const short: MondrianInput = { n: 5, columns: [{ name: 'x', codes: new Int32Array(4), cardinality: 1 }] };
    await expect(mondrian(short, { k: 1 })).rejects.toThrow(/codes has 4 entries; expected n = 5/);
    await expect(mondrian(five, { k: 0 })).rejects.toThrow(/options\.k must be an integer ≥ 1/);
    await expect(mondrian(five, { k: 1.5 })).rejects.toThrow(/options\.k/);
    await expect(mondrian(five, { k: 1, threads: 0 })).rejects.toThrow(/options\.threads/);
  });
  it('recodeMondrian refuses too few labels', async () => {
    const r = await mondrian(five, { k: 2, threads: 1 });
    expect(() => recodeMondrian(r, [['a', 'b']])).toThrow(SluiceError);
    expect(() => recodeMondrian(r, [])).toThrow(/labels has 0 columns; expected 1/);
  });
});
