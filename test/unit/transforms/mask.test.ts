import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openDuck, queryJson, queryRows, quoteLiteral, type Duck } from '../../../lib/duck.js';
import {
  MASK_PRESETS,
  compileDateShift,
  compileMask,
  compileNoise,
  compileRedact,
  compileShiftDays,
  compileTruncate,
  dateShiftDays,
  maskValue,
} from '../../../transforms/mask.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210', 'hex');

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
});
afterAll(() => duck.close());

async function evalOver(values: readonly (string | null)[], exprOf: (v: string) => string): Promise<(string | null)[]> {
  const rows = values.map((v, i) => `(${i}, ${v === null ? 'NULL' : quoteLiteral(v)})`).join(', ');
  const out = await queryRows<{ r: string | null }>(duck.conn, `SELECT ${exprOf('v')} AS r FROM (VALUES ${rows}) t(i, v) ORDER BY i`);
  return out.map((o) => o.r);
}

describe('compileMask', () => {
  it('masks a mobile as 138****5678 and an ID number as 331002********123X', async () => {
    expect(await evalOver(['13812345678'], (v) => compileMask(v))).toEqual(['138****5678']);
    expect(await evalOver(['33100219900101123X'], (v) => compileMask(v, MASK_PRESETS.idNumber))).toEqual(['331002********123X']);
  });

  it('equals the JS reference, keeps the length and never shows a masked position (property)', async () => {
    const value = fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).chain((a) =>
      fc.constantFrom(a, a + '中文字符', '浙江' + a),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(value, { minLength: 1, maxLength: 20 }),
        fc.nat({ max: 8 }),
        fc.nat({ max: 8 }),
        fc.constantFrom('*', '#', '×'),
        fc.boolean(),
        async (values, keepStart, keepEnd, maskChar, keepSeparators) => {
          const opts = { keepStart, keepEnd, maskChar, keepSeparators };
          const got = await evalOver(values, (v) => compileMask(v, opts));
          expect(got).toEqual(values.map((v) => maskValue(v, opts)));
          for (let i = 0; i < values.length; i++) {
            const inChars = [...values[i]!];
            const outChars = [...got[i]!];
            expect(outChars).toHaveLength(inChars.length);
            const shortValue = inChars.length <= keepStart + keepEnd;
            for (let j = 0; j < inChars.length; j++) {
              const kept = !shortValue && (j < keepStart || j >= inChars.length - keepEnd);
              if (kept) expect(outChars[j]).toBe(inChars[j]);
              else if (!keepSeparators || /[\p{L}\p{N}]/u.test(inChars[j]!)) expect(outChars[j]).toBe(maskChar);
            }
          }
        },
      ),
      { seed: 11, numRuns: 60 },
    );
  });

  it('hides the middle digits of every mobile (positive and negative control)', async () => {
    const mobiles = Array.from({ length: 200 }, (_, i) => `13${(i % 10).toString()}${String((i * 7919) % 10 ** 8).padStart(8, '0')}`);
    const masked = await evalOver(mobiles, (v) => compileMask(v));
    for (let i = 0; i < mobiles.length; i++) {
      expect(masked[i]!.slice(3, 7)).toBe('****');
      expect(masked[i]).not.toBe(mobiles[i]);
    }
    // Negative control: a mask keeping everything shows the raw values, which a test like this would catch.
    const unmasked = await evalOver(mobiles, (v) => compileMask(v, { keepStart: 11, keepEnd: 11 }));
    expect(unmasked.filter((m, i) => m === mobiles[i]).length).toBe(0);
  });

  it('masks a value no longer than keepStart + keepEnd entirely', async () => {
    expect(await evalOver(['1234567', '12', ''], (v) => compileMask(v))).toEqual(['*******', '**', '']);
  });

  it('keeps separators when asked', async () => {
    expect(await evalOver(['138-1234-5678'], (v) => compileMask(v, { keepSeparators: true }))).toEqual(['138-****-5678']);
    expect(await evalOver(['138-1234-5678'], (v) => compileMask(v))).toEqual(['138******5678']);
  });

  it('keeps NULL as NULL and rejects bad options', async () => {
    expect(await evalOver([null], (v) => compileMask(v))).toEqual([null]);
    expect(() => compileMask('v', { maskChar: '**' })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(() => compileMask('v', { keepStart: -1 })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
  });
});

describe('compileRedact and compileTruncate', () => {
  it('redacts every non-NULL value to the constant', async () => {
    expect(await evalOver(['张三', '', null], (v) => compileRedact(v))).toEqual(['***', '***', null]);
    expect(await evalOver(['张三'], (v) => compileRedact(v, "it's hidden"))).toEqual(["it's hidden"]);
  });

  it('truncates to the first n characters', async () => {
    expect(await evalOver(['浙江省台州市', 'ab', null], (v) => compileTruncate(v, 3))).toEqual(['浙江省', 'ab', null]);
    expect(() => compileTruncate('v', -2)).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
  });
});

describe('compileNoise', () => {
  const N = 20000;
  const table = `(SELECT i AS id, (i % 100)::DOUBLE AS x FROM range(${N}) t(i)) AS s`;
  async function noisy(opts: Partial<Parameters<typeof compileNoise>[1]> = {}, d: Duck = duck): Promise<number[]> {
    const expr = compileNoise('s.x', { scale: 10, seed: 1, rowKey: 's.id', ...opts });
    const rows = await queryRows<{ d: number }>(d.conn, `SELECT ${expr} - s.x AS d FROM ${table} ORDER BY s.id`);
    return rows.map((r) => Number(r.d));
  }

  it('is deterministic per seed and row key, and independent of the thread count', async () => {
    const single = await openDuck({ threads: 1 });
    try {
      const a = await noisy();
      expect(await noisy()).toEqual(a);
      expect(await noisy({}, single)).toEqual(a);
      const b = await noisy({ seed: 2 });
      expect(b.filter((v, i) => v === a[i]).length).toBe(0);
      const c = await noisy({ salt: 'another secret' });
      expect(c.filter((v, i) => v === a[i]).length).toBe(0);
    } finally {
      single.close();
    }
  });

  it('adds Laplace noise with mean 0 and mean |noise| = scale', async () => {
    const d = await noisy({ scale: 10 });
    const mean = d.reduce((s, v) => s + v, 0) / N;
    const meanAbs = d.reduce((s, v) => s + Math.abs(v), 0) / N;
    // sd of Laplace(10) is 14.1; of the mean 0.1; of |X| 10 → of its mean 0.07.
    expect(Math.abs(mean)).toBeLessThan(0.6);
    expect(Math.abs(meanAbs - 10)).toBeLessThan(0.4);
    expect(d.filter((v) => v === 0).length).toBe(0);
  });

  it('adds uniform noise within ±scale, spread over the whole range', async () => {
    const d = await noisy({ scale: 5, distribution: 'uniform' });
    expect(Math.max(...d)).toBeLessThanOrEqual(5);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(-5);
    expect(Math.max(...d)).toBeGreaterThan(4.9);
    expect(Math.min(...d)).toBeLessThan(-4.9);
    const mean = d.reduce((s, v) => s + v, 0) / N;
    expect(Math.abs(mean)).toBeLessThan(0.15);
  });

  it('rounds to BIGINT for integer columns and keeps NULL', async () => {
    const expr = compileNoise('x', { scale: 3, seed: 1, rowKey: 'id', integer: true });
    const rows = await queryJson<{ r: string | number | null; t: string }>(duck.conn, `SELECT ${expr} AS r, typeof(${expr}) AS t FROM (VALUES (1, 40), (2, NULL)) v(id, x) ORDER BY id`);
    expect(rows[0]?.t).toBe('BIGINT');
    expect(Number.isInteger(Number(rows[0]?.r))).toBe(true);
    expect(Math.abs(Number(rows[0]?.r) - 40)).toBeLessThan(100);
    expect(rows[1]?.r).toBeNull();
    expect(() => compileNoise('x', { scale: 0, seed: 1, rowKey: 'id' })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
  });
});

describe('compileDateShift', () => {
  const people = Array.from({ length: 300 }, (_, i) => `33100219${String(50 + (i % 50))}0101${String(i).padStart(4, '0')}`);

  it('shifts by the JS reference, in ±maxDays and never by 0', async () => {
    const got = await evalOver(people, (v) => compileShiftDays(v, { maxDays: 30, key: KEY }));
    const expected = people.map((p) => dateShiftDays(p, KEY, 30));
    expect(got.map(Number)).toEqual(expected);
    for (const s of expected) {
      expect(Math.abs(s)).toBeGreaterThanOrEqual(1);
      expect(Math.abs(s)).toBeLessThanOrEqual(30);
    }
    // Both signs and the extremes are reachable.
    expect(expected.some((s) => s < 0) && expected.some((s) => s > 0)).toBe(true);
    const many = Array.from({ length: 3000 }, (_, i) => dateShiftDays(`p${i}`, KEY, 3));
    expect(new Set(many)).toEqual(new Set([-3, -2, -1, 1, 2, 3]));
  });

  it('shifts the same person the same way across rows and tables, and keeps their intervals', async () => {
    await duck.conn.run(`CREATE OR REPLACE TABLE visits AS SELECT * FROM (VALUES ('P1', DATE '2024-01-10'), ('P1', DATE '2024-03-01'), ('P2', DATE '2024-01-10'), ('P3', NULL), (NULL, DATE '2024-01-10')) v(person, d)`);
    await duck.conn.run(`CREATE OR REPLACE TABLE births AS SELECT * FROM (VALUES ('P1', DATE '1980-05-05'), ('P2', DATE '1990-06-06')) v(person, d)`);
    const shift = (t: string): string => compileDateShift(`${t}.d`, `${t}.person`, { maxDays: 60, key: KEY });
    const visits = await queryJson<{ person: string | null; d: string | null; s: string | null }>(duck.conn, `SELECT person, d, ${shift('visits')} AS s FROM visits`);
    const births = await queryJson<{ person: string; d: string; s: string }>(duck.conn, `SELECT person, d, ${shift('births')} AS s FROM births`);
    const days = (a: string, b: string): number => (Date.parse(b) - Date.parse(a)) / 86_400_000;
    for (const r of [...visits, ...births]) {
      if (r.person === null || r.d === null) {
        expect(r.s).toBeNull();
        continue;
      }
      expect(days(r.d, r.s!)).toBe(dateShiftDays(r.person, KEY, 60));
    }
    const p1 = visits.filter((r) => r.person === 'P1');
    expect(days(p1[0]!.s!, p1[1]!.s!)).toBe(days(p1[0]!.d!, p1[1]!.d!));
  });

  it('shifts timestamps by whole days and depends on the key', async () => {
    const sql = compileDateShift('t', 'p', { maxDays: 10, key: KEY, kind: 'timestamp' });
    const rows = await queryJson<{ r: string }>(duck.conn, `SELECT ${sql} AS r FROM (VALUES ('P1', TIMESTAMP '2024-01-10 08:30:00')) v(p, t)`);
    const expected = new Date(Date.parse('2024-01-10T08:30:00Z') + dateShiftDays('P1', KEY, 10) * 86_400_000).toISOString().replace('T', ' ').slice(0, 19);
    expect(rows[0]?.r).toBe(expected);
    const a = people.map((p) => dateShiftDays(p, KEY, 365));
    const b = people.map((p) => dateShiftDays(p, OTHER_KEY, 365));
    expect(a.filter((s, i) => s === b[i]).length).toBeLessThan(10);
    expect(() => compileDateShift('t', 'p', { maxDays: 0, key: KEY })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
  });
});
