import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openDuck, queryJson, queryRows, type Duck } from '../../../lib/duck.js';
import { compileDesensitize, type TableColumn } from '../../../transforms/desensitize.js';
import { deriveAgreementKey, hmacToken } from '../../../transforms/tokenize.js';
import { dateShiftDays } from '../../../transforms/mask.js';
import { ColumnTreatmentSchema, parseTreatments, type ColumnTreatment } from '../../../transforms/treatment-schema.js';
import { isSluiceError } from '../../../lib/errors.js';

const MASTER = Buffer.from('11'.repeat(32), 'hex');
const KEY = deriveAgreementKey(MASTER, 'agreement-1');
const OTHER_KEY = deriveAgreementKey(MASTER, 'agreement-2');
const CTX = { key: KEY, seed: 17, asOf: '2025-01-01' };
const ROWS = 2000;

/** Synthetic people with direct identifiers, quasi-identifiers and a few NULLs. */
const CREATE = `CREATE TABLE people AS SELECT
    i AS id,
    '3310' || lpad((i % 30)::VARCHAR, 2, '0') || strftime(DATE '1940-01-01' + (i * 97 % 25000)::INTEGER, '%Y%m%d')
      || lpad((i % 1000)::VARCHAR, 3, '0') || (['0','1','2','3','4','5','6','7','8','9','X'])[i % 11 + 1] AS id_number,
    CASE WHEN i % 50 = 0 THEN NULL ELSE '1' || (['3','5','8'])[i % 3 + 1] || lpad((i * 104729 % 1000000000)::VARCHAR, 9, '0') END AS mobile,
    (['张','王','李','赵'])[i % 4 + 1] || (['伟','芳','娜','敏','静'])[i % 5 + 1] || (i % 97)::VARCHAR AS name,
    DATE '1940-01-01' + (i * 97 % 25000)::INTEGER AS birth_date,
    '浙江省台州市' || (['椒江区','黄岩区','临海市','天台县'])[i % 4 + 1] || (['白云街道','新前街道','平桥镇'])[i % 3 + 1]
      || (['东山社区','西岙村'])[i % 2 + 1] || (i % 300 + 1)::VARCHAR || '号' AS address,
    '3310' || lpad((i % 9 + 1)::VARCHAR, 2, '0') AS area_code,
    (i % 90)::INTEGER AS age,
    (i * 37 % 10000)::DECIMAL(10, 2) AS income,
    DATE '2024-01-01' + (i % 300)::INTEGER AS visit_date,
    i % 7 = 0 AS flag
  FROM range(${ROWS}) t(i)`;

const COLUMNS: TableColumn[] = [
  { name: 'id', type: 'BIGINT' },
  { name: 'id_number', type: 'VARCHAR' },
  { name: 'mobile', type: 'VARCHAR' },
  { name: 'name', type: 'VARCHAR' },
  { name: 'birth_date', type: 'DATE' },
  { name: 'address', type: 'VARCHAR' },
  { name: 'area_code', type: 'VARCHAR' },
  { name: 'age', type: 'INTEGER' },
  { name: 'income', type: 'DECIMAL(10,2)' },
  { name: 'visit_date', type: 'DATE' },
  { name: 'flag', type: 'BOOLEAN' },
];
const INPUT = { sourceSql: 'SELECT * FROM people', columns: COLUMNS };

const TREATMENTS: Record<string, ColumnTreatment> = {
  id_number: { treatment: 'tokenize' },
  mobile: { treatment: 'mask' },
  name: { treatment: 'drop' },
  birth_date: { treatment: 'generalize', level: 'year' },
  address: { treatment: 'generalize', level: 'county', hierarchy: 'address' },
  area_code: { treatment: 'generalize', level: 'city' },
  age: { treatment: 'generalize', level: 'band10' },
  income: { treatment: 'noise', scale: 100 },
  visit_date: { treatment: 'shift-date', maxDays: 30, personColumn: 'id_number' },
};

let duck: Duck;
let raw: Record<string, unknown>[];
beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
  await duck.conn.run(CREATE);
  raw = await queryJson(duck.conn, 'SELECT * FROM people ORDER BY id');
});
afterAll(() => duck.close());

async function run(sql: string, d: Duck = duck): Promise<Record<string, unknown>[]> {
  return queryJson(d.conn, `SELECT * FROM (${sql}) ORDER BY id`);
}

/** How many output cells contain a raw identifier value (ID number, mobile, name) anywhere in them. */
function identifierHits(rows: Record<string, unknown>[]): number {
  const ids = new Set<string>();
  for (const r of raw) for (const c of ['id_number', 'mobile', 'name']) if (typeof r[c] === 'string') ids.add(r[c] as string);
  const lengths = [...new Set([...ids].map((id) => id.length))];
  const contains = (v: string): boolean =>
    lengths.some((len) => {
      for (let i = 0; i + len <= v.length; i++) if (ids.has(v.slice(i, i + len))) return true;
      return false;
    });
  let hits = 0;
  for (const r of rows) for (const v of Object.values(r)) if (typeof v === 'string' && contains(v)) hits++;
  return hits;
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isSluiceError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a SluiceError');
}

describe('compileDesensitize on a people table', () => {
  it('returns one SELECT whose columns, types and labels are as declared', async () => {
    const r = compileDesensitize(INPUT, TREATMENTS, CTX);
    expect(r.dropped).toEqual(['name']);
    expect(r.columns.map((c) => [c.name, c.type, c.label])).toEqual([
      ['id', 'BIGINT', 'raw'],
      ['id_number', 'VARCHAR', 'token'],
      ['mobile', 'VARCHAR', 'masked'],
      ['birth_date', 'VARCHAR', 'generalized'],
      ['address', 'VARCHAR', 'generalized'],
      ['area_code', 'VARCHAR', 'generalized'],
      ['age', 'VARCHAR', 'generalized'],
      ['income', 'DOUBLE', 'derived'],
      ['visit_date', 'DATE', 'derived'],
      ['flag', 'BOOLEAN', 'raw'],
    ]);
    const described = await queryJson<{ column_name: string; column_type: string }>(duck.conn, `DESCRIBE ${r.sql}`);
    expect(described.map((d) => [d.column_name, d.column_type])).toEqual(r.columns.map((c) => [c.name, c.type]));
    expect((r.sql.match(/\bFROM \(/g) ?? []).length).toBe(1);
  });

  it('applies each treatment row by row', async () => {
    const out = await run(compileDesensitize(INPUT, TREATMENTS, CTX).sql);
    expect(out).toHaveLength(ROWS);
    for (let i = 0; i < ROWS; i++) {
      const o = out[i]!;
      const r = raw[i]!;
      expect(o['id']).toBe(r['id']);
      expect(o['flag']).toBe(r['flag']);
      expect(o['id_number']).toBe(hmacToken(r['id_number'] as string, KEY));
      const mobile = r['mobile'] as string | null;
      expect(o['mobile']).toBe(mobile === null ? null : `${mobile.slice(0, 3)}****${mobile.slice(7)}`);
      expect(o['birth_date']).toBe((r['birth_date'] as string).slice(0, 4));
      expect(r['address'] as string).toContain(o['address'] as string);
      expect(o['address']).toMatch(/^浙江省台州市.{2}[区县市]$/);
      expect(o['area_code']).toBe('331000');
      const lo = Math.floor((r['age'] as number) / 10) * 10;
      expect(o['age']).toBe(`${lo}-${lo + 9}`);
      const shift = (Date.parse(o['visit_date'] as string) - Date.parse(r['visit_date'] as string)) / 86_400_000;
      expect(shift).toBe(dateShiftDays(r['id_number'] as string, KEY, 30));
      expect(o['name']).toBeUndefined();
    }
    const noise = out.map((o, i) => (o['income'] as number) - Number(raw[i]!['income']));
    expect(noise.filter((d) => d !== 0).length).toBe(ROWS);
    expect(Math.abs(noise.reduce((s, d) => s + d, 0) / ROWS)).toBeLessThan(15);
  });

  it('leaves no raw identifier in the output; the same check catches a pass-through (controls)', async () => {
    const safe = await run(compileDesensitize(INPUT, TREATMENTS, CTX).sql);
    expect(identifierHits(safe)).toBe(0);
    for (const o of safe) for (const v of Object.values(o)) if (typeof v === 'string') expect(v).not.toMatch(/^1[3-9]\d{9}$|^\d{17}[\dX]$/);
    // Positive control: mobile passed through raw is caught on every non-NULL row.
    const leaky = await run(compileDesensitize(INPUT, { ...TREATMENTS, mobile: { treatment: 'none' } }, CTX).sql);
    expect(identifierHits(leaky)).toBe(raw.filter((r) => r['mobile'] !== null).length);
  });

  it('gives the same tokens in another table under the same agreement, unrelated ones under another', async () => {
    await duck.conn.run('CREATE OR REPLACE TABLE visits AS SELECT id_number, visit_date FROM people WHERE id % 3 = 0');
    const visits = { sourceSql: 'SELECT * FROM visits', columns: [{ name: 'id_number', type: 'VARCHAR' }, { name: 'visit_date', type: 'DATE' }] };
    const t = { id_number: TREATMENTS['id_number']!, visit_date: TREATMENTS['visit_date']! };
    const a = compileDesensitize(INPUT, TREATMENTS, CTX).sql;
    const b = compileDesensitize(visits, t, CTX).sql;
    const joined = await queryRows<{ n: bigint; same: bigint }>(
      duck.conn,
      `SELECT count(*) AS n, count(*) FILTER (WHERE a.visit_date = b.visit_date) AS same FROM (${a}) a JOIN (${b}) b USING (id_number)`,
    );
    expect(Number(joined[0]?.n)).toBe(Math.ceil(ROWS / 3));
    expect(joined[0]?.same).toBe(joined[0]?.n);
    const other = compileDesensitize(visits, t, { ...CTX, key: OTHER_KEY }).sql;
    const cross = await queryRows<{ n: bigint }>(duck.conn, `SELECT count(*) AS n FROM (${a}) a JOIN (${other}) b USING (id_number)`);
    expect(cross[0]?.n).toBe(0n);
  });

  it('gives the same output whatever the thread count', async () => {
    const single = await openDuck({ threads: 1 });
    try {
      await single.conn.run(CREATE);
      const sql = compileDesensitize(INPUT, TREATMENTS, CTX).sql;
      expect(await run(sql, single)).toEqual(await run(sql));
    } finally {
      single.close();
    }
  });

  it('passes columns without a treatment through as raw', async () => {
    const r = compileDesensitize(INPUT, { name: { treatment: 'drop' } }, CTX);
    expect(r.columns.filter((c) => c.label !== 'raw')).toEqual([]);
    const out = await run(r.sql);
    expect(out.map((o) => o['mobile'])).toEqual(raw.map((x) => x['mobile']));
  });

  it('supports redact, truncate, tokenize length, age bands of birth dates and integer noise', async () => {
    const r = compileDesensitize(
      INPUT,
      {
        name: { treatment: 'redact' },
        address: { treatment: 'truncate', length: 6 },
        id_number: { treatment: 'tokenize', length: 16 },
        birth_date: { treatment: 'generalize', level: 'band20' },
        age: { treatment: 'noise', scale: 2, distribution: 'uniform' },
        income: { treatment: 'generalize', level: 'interval', width: 1000 },
      },
      CTX,
    );
    expect(r.columns.find((c) => c.name === 'age')?.type).toBe('BIGINT');
    const out = await run(r.sql);
    const described = await queryJson<{ column_type: string }>(duck.conn, `DESCRIBE ${r.sql}`);
    expect(described.map((d) => d.column_type)).toEqual(r.columns.map((c) => c.type));
    for (let i = 0; i < ROWS; i++) {
      const o = out[i]!;
      const x = raw[i]!;
      expect(o['name']).toBe('***');
      expect(o['address']).toBe('浙江省台州市');
      expect(o['id_number']).toBe(hmacToken(x['id_number'] as string, KEY, { length: 16 }));
      const b = x['birth_date'] as string;
      const age = 2025 - Number(b.slice(0, 4)) - (Number(b.slice(5, 7)) * 100 + Number(b.slice(8, 10)) > 101 ? 1 : 0);
      const lo = Math.floor(age / 20) * 20;
      expect(o['birth_date']).toBe(`${lo}-${lo + 19}`);
      expect(Math.abs(Number(o['age']) - (x['age'] as number))).toBeLessThanOrEqual(2);
      expect(o['income']).toMatch(/^\[\d+\.0,\d+\.0\)$/);
    }
  });

  it('compiles any valid treatment per column to SQL whose output types match the declared ones (property)', async () => {
    const byType: Record<string, ColumnTreatment[]> = {
      VARCHAR: [{ treatment: 'mask', keepStart: 1, keepEnd: 1 }, { treatment: 'redact' }, { treatment: 'truncate', length: 2 }, { treatment: 'tokenize' }, { treatment: 'drop' }, { treatment: 'none' }, { treatment: 'generalize', level: '*' }],
      DATE: [{ treatment: 'generalize', level: 'month' }, { treatment: 'generalize', level: 'quarter' }, { treatment: 'shift-date', maxDays: 5, personColumn: 'id' }, { treatment: 'tokenize' }, { treatment: 'generalize', level: 'band5' }],
      INTEGER: [{ treatment: 'noise', scale: 1 }, { treatment: 'generalize', level: 'band5' }, { treatment: 'mask' }, { treatment: 'redact' }],
      'DECIMAL(10,2)': [{ treatment: 'noise', scale: 1, distribution: 'uniform' }, { treatment: 'generalize', level: 'interval', width: 0.5 }, { treatment: 'tokenize', length: 8 }],
      BOOLEAN: [{ treatment: 'redact', with: 'x' }, { treatment: 'tokenize' }, { treatment: 'none' }],
    };
    const treatable = COLUMNS.filter((c) => c.name !== 'id' && byType[c.type] !== undefined);
    await fc.assert(
      fc.asyncProperty(fc.tuple(...treatable.map((c) => fc.constantFrom(...byType[c.type]!))), async (chosen) => {
        const treatments = Object.fromEntries(treatable.map((c, i) => [c.name, chosen[i]!]));
        const r = compileDesensitize(INPUT, treatments, CTX);
        const described = await queryJson<{ column_name: string; column_type: string }>(duck.conn, `DESCRIBE ${r.sql}`);
        expect(described.map((d) => [d.column_name, d.column_type])).toEqual(r.columns.map((c) => [c.name, c.type]));
        expect(r.dropped).toEqual(treatable.filter((_, i) => chosen[i]!.treatment === 'drop').map((c) => c.name));
      }),
      { seed: 99, numRuns: 30 },
    );
  });
});

describe('compileDesensitize errors', () => {
  it('names an unknown column', () => {
    const e = errorOf(() => compileDesensitize(INPUT, { phone_no: { treatment: 'mask' } }, CTX));
    expect(e.code).toBe('SLUICE_ERR_TRANSFORM_INVALID');
    expect(e.message).toContain('"phone_no"');
  });

  it('names column, treatment and type found when a treatment does not fit the type', () => {
    const cases: [Record<string, ColumnTreatment>, string, string, string][] = [
      [{ address: { treatment: 'generalize', level: 'year' } }, 'address', 'generalize year', 'VARCHAR'],
      [{ name: { treatment: 'noise', scale: 1 } }, 'name', 'noise', 'VARCHAR'],
      [{ birth_date: { treatment: 'mask' } }, 'birth_date', 'mask', 'DATE'],
      [{ age: { treatment: 'truncate', length: 1 } }, 'age', 'truncate', 'INTEGER'],
      [{ mobile: { treatment: 'shift-date', maxDays: 3, personColumn: 'id' } }, 'mobile', 'shift-date', 'VARCHAR'],
      [{ income: { treatment: 'generalize', level: 'street' } }, 'income', 'generalize street', 'DECIMAL(10,2)'],
      [{ flag: { treatment: 'generalize', level: 'band10' } }, 'flag', 'generalize band10', 'BOOLEAN'],
    ];
    for (const [t, column, treatment, type] of cases) {
      const e = errorOf(() => compileDesensitize(INPUT, t, CTX));
      expect(e.code).toBe('SLUICE_ERR_TRANSFORM_INVALID');
      expect(e.message).toContain(`"${column}"`);
      expect(e.message).toContain(`'${treatment}'`);
      expect(e.message).toContain(type);
    }
    // Negative control: the fitting treatments compile.
    expect(() => compileDesensitize(INPUT, { birth_date: { treatment: 'generalize', level: 'year' }, income: { treatment: 'noise', scale: 1 } }, CTX)).not.toThrow();
  });

  it('refuses a missing person column, a missing asOf, a level outside its hierarchy and an empty output', () => {
    expect(errorOf(() => compileDesensitize(INPUT, { visit_date: { treatment: 'shift-date', maxDays: 3, personColumn: 'person' } }, CTX)).message).toContain('"person"');
    expect(errorOf(() => compileDesensitize(INPUT, { birth_date: { treatment: 'generalize', level: 'band10' } }, { key: KEY, seed: 1 })).message).toContain('asOf');
    expect(errorOf(() => compileDesensitize(INPUT, { area_code: { treatment: 'generalize', level: 'city', hierarchy: 'date' } }, CTX)).message).toContain("hierarchy 'date'");
    const allDropped = Object.fromEntries(COLUMNS.map((c) => [c.name, { treatment: 'drop' } as ColumnTreatment]));
    expect(errorOf(() => compileDesensitize(INPUT, allDropped, CTX)).code).toBe('SLUICE_ERR_TRANSFORM_INVALID');
    expect(errorOf(() => compileDesensitize({ ...INPUT, columns: [...COLUMNS, COLUMNS[0]!] }, {}, CTX)).message).toContain('"id"');
    expect(errorOf(() => compileDesensitize(INPUT, {}, { key: Buffer.alloc(4), seed: 1 })).code).toBe('SLUICE_ERR_TRANSFORM_INVALID');
  });

  it('validates treatments with the schema and names column and field, not values', () => {
    const bad = { mobile: { treatment: 'mask', keepStart: -1 } } as unknown as Record<string, ColumnTreatment>;
    const e = errorOf(() => compileDesensitize(INPUT, bad, CTX));
    expect(e.message).toContain('"mobile"');
    expect(e.message).toContain('keepStart');
    const unknownKind = errorOf(() => parseTreatments({ mobile: { treatment: 'encrypt', secret: '13812345678' } }));
    expect(unknownKind.code).toBe('SLUICE_ERR_TRANSFORM_INVALID');
    expect(unknownKind.message).not.toContain('13812345678');
    expect(ColumnTreatmentSchema.safeParse({ treatment: 'generalize', level: 'interval' }).success).toBe(false);
    expect(ColumnTreatmentSchema.safeParse({ treatment: 'generalize', level: 'interval', width: 10 }).success).toBe(true);
    expect(ColumnTreatmentSchema.safeParse({ treatment: 'generalize', level: 'year', width: 10 }).success).toBe(false);
    expect(ColumnTreatmentSchema.safeParse({ treatment: 'mask', extra: 1 }).success).toBe(false);
  });
});
