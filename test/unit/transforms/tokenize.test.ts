import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openDuck, queryRows, quoteLiteral, type Duck } from '../../../lib/duck.js';
import { compileHmacHex, compileTokenize, deriveAgreementKey, deriveSubKey, hmacToken } from '../../../transforms/tokenize.js';

const MASTER = Buffer.from('5a'.repeat(32), 'hex');
const KEY_A = deriveAgreementKey(MASTER, 'agreement-A');
const KEY_B = deriveAgreementKey(MASTER, 'agreement-B');

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
});
afterAll(() => duck.close());

/** Evaluates an SQL expression over `v` for each value (one query). */
async function evalOver(values: readonly (string | null)[], exprOf: (v: string) => string): Promise<(string | null)[]> {
  const rows = values.map((v, i) => `(${i}, ${v === null ? 'NULL' : quoteLiteral(v)})`).join(', ');
  const out = await queryRows<{ r: string | null }>(
    duck.conn,
    `SELECT ${exprOf('v')} AS r FROM (VALUES ${rows}) t(i, v) ORDER BY i`,
  );
  return out.map((o) => o.r);
}

const CHINESE = ['张三', '浙江省台州市椒江区白云街道', '331002199001011234', '13812345678', '', ' ', "O'Brien", '𠀀𪚥', 'é', 'e\u0301', '中文 and ASCII'];

describe('HMAC-SHA-256 in DuckDB SQL', () => {
  it('equals node:crypto createHmac for Chinese and mixed text', async () => {
    const got = await evalOver(CHINESE, (v) => compileHmacHex(v, KEY_A));
    expect(got).toEqual(CHINESE.map((v) => createHmac('sha256', KEY_A).update(v, 'utf8').digest('hex')));
  });

  it('equals createHmac on arbitrary Unicode strings and keys (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'binary', maxLength: 80 }).filter((s) => !s.includes('\u0000')), { minLength: 1, maxLength: 30 }),
        fc.uint8Array({ minLength: 16, maxLength: 150 }),
        async (values, keyBytes) => {
          const key = Buffer.from(keyBytes);
          const got = await evalOver(values, (v) => compileHmacHex(v, key));
          expect(got).toEqual(values.map((v) => createHmac('sha256', key).update(v, 'utf8').digest('hex')));
        },
      ),
      { seed: 20240301, numRuns: 40 },
    );
  });

  it('handles keys longer than the 64-byte block as RFC 2104 says', async () => {
    const longKey = Buffer.alloc(100, 0xab);
    const [got] = await evalOver(['x'], (v) => compileHmacHex(v, longKey));
    expect(got).toBe(createHmac('sha256', longKey).update('x').digest('hex'));
  });
});

describe('compileTokenize / hmacToken', () => {
  it('gives the JS reference token, default 32 hex characters', async () => {
    const got = await evalOver(CHINESE, (v) => compileTokenize(v, KEY_A));
    expect(got).toEqual(CHINESE.map((v) => hmacToken(v, KEY_A)));
    for (const t of got) expect(t).toMatch(/^[0-9a-f]{32}$/);
  });

  it('honours length and prefix', async () => {
    const got = await evalOver(['a', '张三'], (v) => compileTokenize(v, KEY_A, { length: 16, prefix: 'tk_' }));
    expect(got).toEqual(['a', '张三'].map((v) => hmacToken(v, KEY_A, { length: 16, prefix: 'tk_' })));
    for (const t of got) expect(t).toMatch(/^tk_[0-9a-f]{16}$/);
    expect(hmacToken('a', KEY_A, { length: 64 })).toBe(createHmac('sha256', KEY_A).update('a').digest('hex'));
  });

  it('keeps NULL as NULL', async () => {
    expect(await evalOver([null, 'x'], (v) => compileTokenize(v, KEY_A))).toEqual([null, hmacToken('x', KEY_A)]);
  });

  it('tokenizes non-text values by their VARCHAR text', async () => {
    const out = await queryRows<{ r: string }>(duck.conn, `SELECT ${compileTokenize('n', KEY_A)} AS r FROM (VALUES (331002::BIGINT)) t(n)`);
    expect(out[0]?.r).toBe(hmacToken('331002', KEY_A));
  });

  it('is deterministic per key and differs across agreements (joinable within, unlinkable across)', async () => {
    const values = Array.from({ length: 500 }, (_, i) => `33100219900101${String(i).padStart(4, '0')}`);
    const a1 = await evalOver(values, (v) => compileTokenize(v, KEY_A));
    const a2 = await evalOver(values, (v) => compileTokenize(v, KEY_A));
    const b = await evalOver(values, (v) => compileTokenize(v, KEY_B));
    expect(a2).toEqual(a1);
    expect(new Set(a1).size).toBe(values.length);
    const setA = new Set(a1);
    expect(b.filter((t) => setA.has(t))).toHaveLength(0);
  });

  it('never returns its input, and is not a keyless hash an attacker could recompute', async () => {
    await fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (v) => {
        const t = hmacToken(v, KEY_A);
        expect(t).not.toBe(v);
        expect(t).not.toBe(createHash('sha256').update(v).digest('hex').slice(0, 32));
      }),
      { seed: 7, numRuns: 300 },
    );
    // Positive control: a keyless SHA-256 column is recomputable from the raw value (what B2 catches).
    const [keyless] = await evalOver(['13812345678'], (v) => `left(sha256(${v}), 32)`);
    expect(keyless).toBe(createHash('sha256').update('13812345678').digest('hex').slice(0, 32));
    // Negative control: the keyed token is not.
    const [keyed] = await evalOver(['13812345678'], (v) => compileTokenize(v, KEY_A));
    expect(keyed).not.toBe(keyless);
  });

  it('rejects short keys and out-of-range lengths with SLUICE_ERR_TRANSFORM_INVALID', () => {
    expect(() => compileTokenize('v', Buffer.alloc(8))).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(() => compileTokenize('v', KEY_A, { length: 4 })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(() => hmacToken('v', KEY_A, { length: 65 })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
  });

  it('does not put the key itself into the SQL', () => {
    const key = randomBytes(32);
    const sql = compileTokenize('v', key);
    expect(sql).not.toContain(key.toString('hex'));
  });
});

describe('deriveAgreementKey', () => {
  it('is deterministic, 32 bytes, distinct per agreement and per master key', () => {
    expect(deriveAgreementKey(MASTER, 'agreement-A').equals(KEY_A)).toBe(true);
    expect(KEY_A).toHaveLength(32);
    expect(KEY_A.equals(KEY_B)).toBe(false);
    expect(KEY_A.equals(MASTER)).toBe(false);
    expect(deriveAgreementKey(Buffer.alloc(32, 1), 'agreement-A').equals(KEY_A)).toBe(false);
    const keys = new Set(Array.from({ length: 200 }, (_, i) => deriveAgreementKey(MASTER, `ag-${i}`).toString('hex')));
    expect(keys.size).toBe(200);
  });

  it('gives sub-keys that differ from the key and from each other', () => {
    const s1 = deriveSubKey(KEY_A, 'shift-date');
    const s2 = deriveSubKey(KEY_A, 'noise');
    expect(s1.equals(s2)).toBe(false);
    expect(s1.equals(KEY_A)).toBe(false);
  });

  it('rejects a short master key or an empty agreement id', () => {
    expect(() => deriveAgreementKey(Buffer.alloc(4), 'a')).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
    expect(() => deriveAgreementKey(MASTER, '')).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_TRANSFORM_INVALID' }));
  });
});
