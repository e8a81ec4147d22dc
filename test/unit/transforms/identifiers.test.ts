import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CREDIT_CODE_ALPHABET,
  TAIZHOU_AREAS,
  creditCodeCheckChar,
  isEmail,
  isMobileNumber,
  isValidCreditCode,
  isValidLuhn,
  isValidResidentId,
  luhnCheckDigit,
  organizationCodeCheckChar,
  residentIdCheckDigit,
} from '../../../transforms/identifiers.js';

const FC = { seed: 20240611, numRuns: 400 } as const;

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** A valid first-17 of a resident ID: a Taizhou area, a real date, any sequence. */
const first17 = fc
  .record({
    area: fc.constantFrom(...TAIZHOU_AREAS.map((a) => a.code)),
    day: fc.integer({ min: Date.UTC(1900, 0, 1) / 86_400_000, max: Date.UTC(2025, 11, 31) / 86_400_000 }),
    seq: fc.integer({ min: 0, max: 999 }),
  })
  .map(({ area, day, seq }) => {
    const d = new Date(day * 86_400_000);
    return area + pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) + pad(seq, 3);
  });

const residentId = first17.map((f) => f + residentIdCheckDigit(f));

/** A valid credit code body: 9 (market regulator), 1 (enterprise), a Taizhou area, 9 code characters. */
const creditBody = fc
  .record({
    area: fc.constantFrom(...TAIZHOU_AREAS.map((a) => a.code)),
    org: fc.array(fc.constantFrom(...CREDIT_CODE_ALPHABET), { minLength: 9, maxLength: 9 }),
  })
  .map(({ area, org }) => '91' + area + org.join(''));

describe('resident identity number (GB 11643)', () => {
  it('accepts the worked examples of the standard', () => {
    expect(isValidResidentId('11010519491231002X')).toBe(true);
    expect(isValidResidentId('440524188001010014')).toBe(true);
  });

  it('every generated number validates', () => {
    fc.assert(fc.property(residentId, (id) => isValidResidentId(id)), FC);
  });

  it('changing any one character to another makes it invalid', () => {
    fc.assert(
      fc.property(residentId, fc.integer({ min: 0, max: 17 }), fc.integer({ min: 1, max: 10 }), (id, pos, delta) => {
        const chars = '0123456789X';
        const options = pos === 17 ? chars : chars.slice(0, 10);
        const cur = options.indexOf(id[pos]!);
        const next = options[(cur + delta) % options.length]!;
        fc.pre(next !== id[pos]);
        return !isValidResidentId(id.slice(0, pos) + next + id.slice(pos + 1));
      }),
      FC,
    );
  });

  it('swapping two different adjacent digits makes it invalid', () => {
    fc.assert(
      fc.property(residentId, fc.integer({ min: 0, max: 15 }), (id, pos) => {
        fc.pre(id[pos] !== id[pos + 1]);
        return !isValidResidentId(id.slice(0, pos) + id[pos + 1] + id[pos] + id.slice(pos + 2));
      }),
      FC,
    );
  });

  it('rejects impossible dates, bad areas, a lower-case x and wrong lengths even with a matching check digit', () => {
    const withCheck = (f: string): string => f + residentIdCheckDigit(f);
    expect(isValidResidentId(withCheck('33100220230229001'))).toBe(false); // 2023 is not a leap year
    expect(isValidResidentId(withCheck('33100220240229001'))).toBe(true);
    expect(isValidResidentId(withCheck('33100219991301001'))).toBe(false);
    expect(isValidResidentId(withCheck('99100219990101001'))).toBe(false);
    expect(isValidResidentId(withCheck('33000019990101001'))).toBe(false);
    const x = Array.from({ length: 1000 }, (_, k) => '33100219990101' + pad(k, 3)).find((f) => residentIdCheckDigit(f) === 'X')!;
    expect(isValidResidentId(x + 'X')).toBe(true);
    expect(isValidResidentId(x + 'x')).toBe(false);
    expect(isValidResidentId(withCheck('33100219990101001').slice(0, 17))).toBe(false);
    expect(isValidResidentId(withCheck('33100219990101001') + '0')).toBe(false);
  });

  it('rejects malformed input to the check-digit function without echoing it', () => {
    const bad = '33100219990101A01';
    expect(() => residentIdCheckDigit(bad)).toThrow(TypeError);
    try {
      residentIdCheckDigit(bad);
    } catch (e) {
      expect((e as Error).message).not.toContain(bad);
    }
  });
});

describe('unified social credit code (GB 32100)', () => {
  it('accepts the worked example of the standard, whose organization code also checks (GB 11714)', () => {
    expect(isValidCreditCode('91350100M000100Y43')).toBe(true);
    expect(organizationCodeCheckChar('M000100Y')).toBe('4');
  });

  it('every generated code validates', () => {
    fc.assert(fc.property(creditBody, (b) => isValidCreditCode(b + creditCodeCheckChar(b))), FC);
  });

  it('changing any one character to another code character makes it invalid', () => {
    fc.assert(
      fc.property(creditBody, fc.integer({ min: 0, max: 17 }), fc.integer({ min: 1, max: 30 }), (b, pos, delta) => {
        const code = b + creditCodeCheckChar(b);
        const next = CREDIT_CODE_ALPHABET[(CREDIT_CODE_ALPHABET.indexOf(code[pos]!) + delta) % 31]!;
        return !isValidCreditCode(code.slice(0, pos) + next + code.slice(pos + 1));
      }),
      FC,
    );
  });

  it('rejects letters outside the alphabet, a bad area and a bad authority even with a matching check', () => {
    expect(isValidCreditCode('91350100M000100I43')).toBe(false); // I is not a code character
    const body = '9199010012345678A';
    expect(isValidCreditCode(body + creditCodeCheckChar(body))).toBe(false);
    const auth = 'Z1331002123456789'.replace('Z', 'H');
    expect(isValidCreditCode(auth + creditCodeCheckChar(auth))).toBe(false);
    expect(() => creditCodeCheckChar('91350100M000100I4')).toThrow(TypeError);
  });
});

describe('Luhn', () => {
  it('accepts well-known valid numbers and rejects a changed one', () => {
    expect(isValidLuhn('79927398713')).toBe(true);
    expect(isValidLuhn('4111111111111111')).toBe(true);
    expect(isValidLuhn('4111111111111112')).toBe(false);
  });

  it('every payload plus its check digit validates, and any single-digit change fails', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 24 }),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (digits, posSeed, delta) => {
          const payload = digits.join('');
          const full = payload + luhnCheckDigit(payload);
          if (!isValidLuhn(full)) return false;
          const pos = posSeed % full.length;
          const changed = full.slice(0, pos) + String((Number(full[pos]) + delta) % 10) + full.slice(pos + 1);
          return !isValidLuhn(changed);
        },
      ),
      FC,
    );
  });

  it('rejects non-digits and too-short input', () => {
    expect(isValidLuhn('0')).toBe(false);
    expect(isValidLuhn('4111-1111')).toBe(false);
    expect(() => luhnCheckDigit('')).toThrow(TypeError);
  });
});

describe('mobile numbers and e-mail addresses', () => {
  it('accepts every 1[3-9] + 9-digit number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.integer({ min: 0, max: 999_999_999 }), (second, rest) =>
        isMobileNumber(`1${second}${pad(rest, 9)}`),
      ),
      FC,
    );
  });

  it('rejects other shapes', () => {
    for (const s of ['12812345678', '1381234567', '138123456789', '+8613812345678', '138 1234 5678', '1381234567a', '']) {
      expect(isMobileNumber(s)).toBe(false);
    }
  });

  it('tells e-mail addresses from look-alikes', () => {
    for (const s of ['zhang.san@example.com', 'li+tag@mail.tz.gov.cn', 'a_b-c%d@x-y.org']) expect(isEmail(s)).toBe(true);
    for (const s of ['zhang.san', '@example.com', 'a@b', 'a..b@example.com', '.a@example.com', 'a@-x.com', 'a@x.c0m', 'a b@x.com']) {
      expect(isEmail(s)).toBe(false);
    }
  });
});

describe('TAIZHOU_AREAS', () => {
  it('lists the nine county-level areas of Taizhou once each, with shares summing to 1', () => {
    expect(TAIZHOU_AREAS.map((a) => a.code).sort()).toEqual(
      ['331002', '331003', '331004', '331022', '331023', '331024', '331081', '331082', '331083'],
    );
    expect(new Set(TAIZHOU_AREAS.map((a) => a.name)).size).toBe(9);
    expect(TAIZHOU_AREAS.find((a) => a.code === '331081')?.name).toBe('温岭市');
    expect(TAIZHOU_AREAS.find((a) => a.code === '331082')?.name).toBe('临海市');
    expect(TAIZHOU_AREAS.reduce((s, a) => s + a.share, 0)).toBeCloseTo(1, 9);
    for (const a of TAIZHOU_AREAS) expect(a.share).toBeGreaterThan(0);
  });

  it('makes 温岭 and 临海 the two largest', () => {
    const top2 = [...TAIZHOU_AREAS].sort((a, b) => b.share - a.share).slice(0, 2).map((a) => a.name);
    expect(top2).toEqual(['温岭市', '临海市']);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(TAIZHOU_AREAS)).toBe(true);
    expect(Object.isFrozen(TAIZHOU_AREAS[0])).toBe(true);
  });
});
