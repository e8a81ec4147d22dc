import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openDuck, queryJson, quoteLiteral, type Duck } from '../../../lib/duck.js';
import { normalizeSql, piiDetectorSql } from '../../../audit/pii-sql.js';
import { idCheckChar } from '../../fixtures/red-team/people.js';

let duck: Duck;
beforeAll(async () => { duck = await openDuck({ threads: 1 }); });
afterAll(() => duck?.close());

/** Detector name for each raw string, through normalization, as the audit applies them. */
async function detect(values: string[]): Promise<(string | null)[]> {
  const rows = values.map((v, i) => `(${i}, ${quoteLiteral(v)})`).join(', ');
  const out = await queryJson<{ i: number; det: string | null }>(duck.conn,
    `SELECT i, ${piiDetectorSql('nv')} AS det FROM (SELECT i, ${normalizeSql('x')} AS nv FROM (VALUES ${rows}) t(i, x)) ORDER BY i`);
  return out.map((r) => r.det);
}

// Independent oracles in TypeScript for generating valid and invalid inputs.
const USCC = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
function usccCheck(first17: string): string {
  let s = 0;
  for (let i = 0; i < 17; i++) s += USCC.indexOf(first17[i]!) * USCC_W[i]!;
  return USCC[(31 - (s % 31)) % 31]!;
}
function luhnCheck(body: string): string {
  let s = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    s += d;
  }
  return String((10 - (s % 10)) % 10);
}

const idArb = fc.record({
  area: fc.constantFrom('110101', '310104', '440305', '510107'),
  date: fc.date({ min: new Date('1950-01-01T00:00:00Z'), max: new Date('2009-12-31T00:00:00Z'), noInvalidDate: true }),
  seq: fc.integer({ min: 0, max: 999 }),
}).map(({ area, date, seq }) => {
  const f = area + date.toISOString().slice(0, 10).replaceAll('-', '') + String(seq).padStart(3, '0');
  return f + idCheckChar(f);
});

describe('ID number (GB 11643)', () => {
  it('detects every ID number with a valid check character, and none with one digit changed', async () => {
    const samples = fc.sample(idArb, { numRuns: 300, seed: 11 });
    const mutated = samples.map((id, k) => {
      const pos = 14 + (k % 3); // sequence digits: the date stays plausible
      const d = (Number(id[pos]) + 1 + (k % 9)) % 10;
      return id.slice(0, pos) + String(d) + id.slice(pos + 1);
    });
    expect(new Set(await detect(samples))).toEqual(new Set(['id-number']));
    expect((await detect(mutated)).filter((d) => d === 'id-number')).toEqual([]);
  });

  it('sees through case, full-width digits, spaces and hyphens', async () => {
    const f = '11010519491231002';
    const id = f + idCheckChar(f); // check char X
    expect(id.endsWith('X')).toBe(true);
    const full = [...id.toLowerCase()].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join('');
    expect(await detect([id.toLowerCase(), full, ` ${id.slice(0, 6)} ${id.slice(6, 14)}-${id.slice(14)} `])).toEqual(['id-number', 'id-number', 'id-number']);
  });
});

describe('other detectors', () => {
  it('unified social credit codes with a valid GB 32100 check character', async () => {
    const bodies = ['91110000100000000', '91350100M00010000', '12100000400000000'];
    const valid = bodies.map((b) => b + usccCheck(b));
    const wrong = valid.map((v) => v.slice(0, 17) + USCC[(USCC.indexOf(v[17]!) + 1) % 31]);
    expect(await detect(valid)).toEqual(['uscc', 'uscc', 'uscc']);
    expect((await detect(wrong)).filter((d) => d === 'uscc')).toEqual([]);
  });

  it('mobile numbers, with or without +86, and not landlines or short numbers', async () => {
    expect(await detect(['13812345678', '+86 139-1234-5678', '8615912345678', '12812345678', '1381234567', '010-12345678']))
      .toEqual(['mobile', 'mobile', 'mobile', null, null, null]);
  });

  it('bank cards passing Luhn, not failing ones, not millisecond timestamps', async () => {
    const bodies = ['622202100012345', '411111111111111', '62148301234567890'];
    const valid = bodies.map((b) => b + luhnCheck(b));
    const invalid = valid.map((v) => v.slice(0, -1) + String((Number(v.at(-1)) + 1) % 10));
    // A Luhn-valid 13-digit millisecond timestamp starting with 1: not an issuer range.
    const ts = '170000000000';
    expect(await detect([...valid, ...invalid, ts + luhnCheck(ts)])).toEqual(['bank-card', 'bank-card', 'bank-card', null, null, null, null]);
  });

  it('e-mail addresses, also inside text; plain words and handles are not', async () => {
    expect(await detect(['zhang.san@example.com.cn', 'contact: li_si+x@mail.example.org', 'no-at-sign.example.com', '@handle']))
      .toEqual(['email', 'email', null, null]);
  });

  it('leaves ordinary values alone', async () => {
    expect(await detect(['M', '1985', '110101', 'bachelor', '1985-03-02', '3.14', ''])).toEqual([null, null, null, null, null, null, null]);
  });
});

describe('normalizeSql', () => {
  it('maps full-width letters, digits and spaces to ASCII, drops spaces and hyphens, upper-cases', async () => {
    const rows = await queryJson<{ v: string }>(duck.conn, `SELECT ${normalizeSql('x')} AS v FROM (VALUES ('ａｂ１２－Ｃ　d'), (' 王 伟 '), ('x-y z')) t(x)`);
    expect(rows.map((r) => r.v)).toEqual(['AB12CD', '王伟', 'XYZ']);
  });
});
