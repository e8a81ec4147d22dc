import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openDuck, queryRows, quoteLiteral, type Duck } from '../../../lib/duck.js';
import {
  addressPattern,
  ageBandFromBirthDate,
  compileAddressGeneralize,
  compileAgeAt,
  compileAreaCodeGeneralize,
  compileGeneralize,
  compileNumberBand,
} from '../../../transforms/generalize-sql.js';

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
});
afterAll(() => duck.close());

/** Evaluates `exprOf(v)` over values given as SQL literals. */
async function evalSql(literals: readonly string[], exprOf: (v: string) => string): Promise<(string | null)[]> {
  const rows = literals.map((l, i) => `(${i}, ${l})`).join(', ');
  const out = await queryRows<{ r: unknown }>(duck.conn, `SELECT ${exprOf('v')} AS r FROM (VALUES ${rows}) t(i, v) ORDER BY i`);
  return out.map((o) => (o.r === null ? null : String(o.r)));
}
const text = (vs: readonly string[]): string[] => vs.map(quoteLiteral);

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

describe('dates', () => {
  it('generalizes to month, quarter and year like the JS reference (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 11, 31) }), { minLength: 1, maxLength: 40 }), async (times) => {
        const days = times.map(isoDay);
        const lits = days.map((d) => `DATE '${d}'`);
        expect(await evalSql(lits, (v) => compileGeneralize(v, 'month'))).toEqual(days.map((d) => d.slice(0, 7)));
        expect(await evalSql(lits, (v) => compileGeneralize(v, 'quarter'))).toEqual(
          days.map((d) => `${d.slice(0, 4)}-Q${Math.floor((Number(d.slice(5, 7)) - 1) / 3) + 1}`),
        );
        expect(await evalSql(lits, (v) => compileGeneralize(v, 'year'))).toEqual(days.map((d) => d.slice(0, 4)));
      }),
      { seed: 3, numRuns: 20 },
    );
  });

  it('works on timestamps, keeps NULL, suppresses with *', async () => {
    expect(await evalSql(["TIMESTAMP '2024-03-31 23:59:59'", 'NULL::TIMESTAMP'], (v) => compileGeneralize(v, 'month'))).toEqual(['2024-03', null]);
    expect(await evalSql(["DATE '2024-03-31'", 'NULL::DATE'], (v) => compileGeneralize(v, '*'))).toEqual(['*', null]);
  });
});

describe('numbers and ages', () => {
  it('bands integers as lo-hi with lo = floor(x/w)·w (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -500, max: 500 }), { minLength: 1, maxLength: 40 }), fc.constantFrom(5, 10, 20), async (xs, w) => {
        const level = `band${w}` as 'band5' | 'band10' | 'band20';
        const got = await evalSql(xs.map((x) => `${x}::INTEGER`), (v) => compileGeneralize(v, level));
        expect(got).toEqual(xs.map((x) => {
          const lo = Math.floor(x / w) * w;
          return `${lo}-${lo + w - 1}`;
        }));
        // Each value lies in its band.
        got.forEach((b, i) => {
          const [lo, hi] = b!.split(/(?<=\d)-/).map(Number);
          expect(xs[i]!).toBeGreaterThanOrEqual(lo!);
          expect(xs[i]!).toBeLessThanOrEqual(hi!);
        });
      }),
      { seed: 4, numRuns: 25 },
    );
  });

  it('gives 60-69 for ages 60 and 69, and 70-79 for 70', async () => {
    expect(await evalSql(['60', '69', '70', 'NULL::INTEGER'], (v) => compileGeneralize(v, 'band10'))).toEqual(['60-69', '60-69', '70-79', null]);
  });

  it('writes half-open intervals for non-integer input or width', async () => {
    expect(await evalSql(['1234.5::DOUBLE'], (v) => compileGeneralize(v, 'interval', { width: 1000, integer: false }))).toEqual(['[1000.0,2000.0)']);
    expect(await evalSql(['2500::INTEGER', '2499::INTEGER'], (v) => compileNumberBand(v, 1000))).toEqual(['2000-2999', '2000-2999']);
    expect(() => compileGeneralize('v', 'interval')).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(() => compileNumberBand('v', 0)).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
  });

  it('computes the age at a fixed reference date, with birthdays not yet reached (property)', async () => {
    const asOf = '2025-02-28';
    const ageAt = (birth: string): number => {
      const [by, bm, bd] = birth.split('-').map(Number) as [number, number, number];
      return 2025 - by - (bm * 100 + bd > 228 ? 1 : 0);
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: Date.UTC(1920, 0, 1), max: Date.UTC(2025, 1, 28) }), { minLength: 1, maxLength: 40 }), async (times) => {
        const births = times.map(isoDay);
        const lits = births.map((b) => `DATE '${b}'`);
        expect((await evalSql(lits, (v) => compileAgeAt(v, asOf))).map(Number)).toEqual(births.map(ageAt));
        expect(await evalSql(lits, (v) => ageBandFromBirthDate(v, 10, asOf))).toEqual(births.map((b) => {
          const lo = Math.floor(ageAt(b) / 10) * 10;
          return `${lo}-${lo + 9}`;
        }));
      }),
      { seed: 6, numRuns: 20 },
    );
    // The day before and the day of a birthday; 29 February in a common year.
    expect((await evalSql(["DATE '1965-03-01'", "DATE '1965-02-28'", "DATE '1964-02-29'"], (v) => compileAgeAt(v, asOf))).map(Number)).toEqual([59, 60, 60]);
    expect((await evalSql(["DATE '1964-02-29'"], (v) => compileAgeAt(v, '2025-03-01'))).map(Number)).toEqual([61]);
  });

  it('needs a valid asOf date and never reads the clock', () => {
    expect(() => ageBandFromBirthDate('v', 10, '2025-02-30')).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(() => ageBandFromBirthDate('v', 10, 'today')).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(ageBandFromBirthDate('v', 10, '2025-01-01')).not.toMatch(/current_date|now\(|today\(/i);
  });
});

describe('area codes', () => {
  it('keeps the county, zeroes to the city and province, and suppresses non-codes', async () => {
    const codes = text(['331002', '331081', '110105', '33100', 'abcdef', '3310021']);
    expect(await evalSql(codes, (v) => compileAreaCodeGeneralize(v, 'county'))).toEqual(['331002', '331081', '110105', '*', '*', '*']);
    expect(await evalSql(codes, (v) => compileAreaCodeGeneralize(v, 'city'))).toEqual(['331000', '331000', '110100', '*', '*', '*']);
    expect(await evalSql(codes, (v) => compileAreaCodeGeneralize(v, 'province'))).toEqual(['330000', '330000', '110000', '*', '*', '*']);
    expect(await evalSql(['331002::INTEGER', 'NULL::INTEGER'], (v) => compileAreaCodeGeneralize(v, 'city'))).toEqual(['331000', null]);
    expect(await evalSql(['NULL::VARCHAR'], (v) => compileAreaCodeGeneralize(v, 'province'))).toEqual([null]);
  });

  it('merges counties into fewer cities and provinces (generalization reduces distinct values)', async () => {
    const counties = Array.from({ length: 60 }, (_, i) => String(330000 + (i % 6) * 100 + (i % 10) + 1));
    const distinct = async (level: 'county' | 'city' | 'province'): Promise<number> =>
      new Set(await evalSql(text(counties), (v) => compileAreaCodeGeneralize(v, level))).size;
    const [county, city, province] = [await distinct('county'), await distinct('city'), await distinct('province')];
    expect(county).toBeGreaterThan(city);
    expect(city).toBeGreaterThan(province);
    expect(province).toBe(1);
  });
});

describe('addresses', () => {
  const ADDRESSES = [
    '浙江省台州市椒江区白云街道葭沚社区12号',
    '浙江省台州市临海市古城街道东湖社区5号',
    '浙江省台州市天台县平桥镇西岙村3号',
    '浙江省台州市黄岩区新前街道后洋村101号',
    '北京市朝阳区望京街道花家地社区8号',
  ];

  it('cuts the address at each level suffix', async () => {
    const lits = text(ADDRESSES);
    expect(await evalSql(lits, (v) => compileGeneralize(v, 'community'))).toEqual([
      '浙江省台州市椒江区白云街道葭沚社区',
      '浙江省台州市临海市古城街道东湖社区',
      '浙江省台州市天台县平桥镇西岙村',
      '浙江省台州市黄岩区新前街道后洋村',
      '北京市朝阳区望京街道花家地社区',
    ]);
    expect(await evalSql(lits, (v) => compileGeneralize(v, 'street'))).toEqual([
      '浙江省台州市椒江区白云街道',
      '浙江省台州市临海市古城街道',
      '浙江省台州市天台县平桥镇',
      '浙江省台州市黄岩区新前街道',
      '北京市朝阳区望京街道',
    ]);
    expect(await evalSql(lits, (v) => compileGeneralize(v, 'county', { hierarchy: 'address' }))).toEqual([
      '浙江省台州市椒江区',
      '浙江省台州市临海市',
      '浙江省台州市天台县',
      '浙江省台州市黄岩区',
      '北京市朝阳区',
    ]);
    expect(await evalSql(lits, (v) => compileGeneralize(v, 'city', { hierarchy: 'address' }))).toEqual([
      '浙江省台州市', '浙江省台州市', '浙江省台州市', '浙江省台州市', '北京市',
    ]);
    expect(await evalSql(lits, (v) => compileAddressGeneralize(v, 'province'))).toEqual(['浙江省', '浙江省', '浙江省', '浙江省', '*']);
  });

  it('never keeps the house number, and each level is a prefix of the one below (property)', async () => {
    const county = fc.constantFrom('椒江区', '黄岩区', '路桥区', '临海市', '温岭市', '天台县', '仙居县');
    const street = fc.constantFrom('白云街道', '海门街道', '下各镇', '横溪镇', '平桥乡');
    const community = fc.constantFrom('东山社区', '西岙村', '南门居委会');
    const address = fc.tuple(county, street, community, fc.integer({ min: 1, max: 9999 })).map(([c, s, m, n]) => `浙江省台州市${c}${s}${m}${n}号`);
    await fc.assert(
      fc.asyncProperty(fc.array(address, { minLength: 1, maxLength: 20 }), async (addrs) => {
        const lits = text(addrs);
        const levels = ['community', 'street', 'county', 'city', 'province'] as const;
        const out = await Promise.all(levels.map((l) => evalSql(lits, (v) => compileAddressGeneralize(v, l))));
        addrs.forEach((a, i) => {
          let below = a;
          for (const perLevel of out) {
            const g = perLevel[i]!;
            expect(g).not.toBe('*');
            expect(g).not.toMatch(/\d/);
            expect(below.startsWith(g)).toBe(true);
            expect(g.length).toBeLessThan(below.length);
            below = g;
          }
        });
      }),
      { seed: 8, numRuns: 15 },
    );
  });

  it('suppresses what the grammar does not parse, keeps NULL', async () => {
    expect(await evalSql(text(['某地某处', '浙江省台州市']).concat('NULL::VARCHAR'), (v) => compileAddressGeneralize(v, 'county'))).toEqual(['*', '*', null]);
    expect(addressPattern('county').startsWith('^')).toBe(true);
  });
});

describe('compileGeneralize dispatch', () => {
  it('decides area code or address per value for county/city without a hierarchy', async () => {
    const lits = text(['331002', '浙江省台州市椒江区白云街道葭沚社区12号']);
    expect(await evalSql(lits, (v) => compileGeneralize(v, 'city'))).toEqual(['331000', '浙江省台州市']);
    expect(await evalSql(lits, (v) => compileGeneralize(v, 'province'))).toEqual(['330000', '浙江省']);
  });

  it('refuses a level outside the given hierarchy', () => {
    expect(() => compileGeneralize('v', 'year', { hierarchy: 'number' })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(() => compileGeneralize('v', 'street', { hierarchy: 'area-code' })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(() => compileGeneralize('v', 'city', { hierarchy: 'date' })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
  });
});
