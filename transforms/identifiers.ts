/**
 * Check digits and shape tests for the identifiers that appear in Chinese public
 * data: the resident identity number (GB 11643), the unified social credit code
 * (GB 32100, with the organization code of GB 11714 inside it), Luhn-checked
 * numbers (bank cards), mainland mobile numbers and e-mail addresses; and the
 * county-level areas of Taizhou. Pure functions: no I/O, no clock, no random.
 *
 * The weights are also exported so that SQL compilers (the synthetic generator,
 * detectors) can compute the same check characters column-wise.
 */

/** Weights of the first 17 digits of a resident identity number (GB 11643), position 1 first. */
export const RESIDENT_ID_WEIGHTS: readonly number[] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/** Check character of a resident identity number, indexed by (weighted sum mod 11). */
export const RESIDENT_ID_CHECK_CHARS = '10X98765432';

/** The 31 characters a unified social credit code may contain, in value order (0 … 30). */
export const CREDIT_CODE_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';

/** Weights of the first 17 characters of a unified social credit code (GB 32100), position 1 first. */
export const CREDIT_CODE_WEIGHTS: readonly number[] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** Weights of the first 8 characters of an organization code (GB 11714), position 1 first. */
export const ORGANIZATION_CODE_WEIGHTS: readonly number[] = [3, 7, 9, 10, 5, 8, 4, 2];

/**
 * The first two digits of every province-level division that appears in area
 * codes (mainland provinces 11–65; 71 Taiwan, 81 Hong Kong, 82 Macao, 83 as
 * issued on residence permits of Taiwan residents).
 */
const PROVINCE_PREFIXES: ReadonlySet<string> = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '71', '81', '82', '83',
]);

const DIGITS_17 = /^\d{17}$/;

/**
 * The GB 11643 check character (`'0'`–`'9'` or `'X'`) for the first 17 digits of a
 * resident identity number. Throws a TypeError when `first17` is not 17 ASCII digits.
 */
export function residentIdCheckDigit(first17: string): string {
  if (!DIGITS_17.test(first17)) throw new TypeError('residentIdCheckDigit: expected 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * RESIDENT_ID_WEIGHTS[i]!;
  return RESIDENT_ID_CHECK_CHARS[sum % 11]!;
}

/** True when `yyyymmdd` is a real calendar date between 1800-01-01 and 2099-12-31. */
function isCalendarDate(yyyymmdd: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  if (y < 1800 || y > 2099 || m < 1 || m > 12 || d < 1) return false;
  // Date.UTC rolls an out-of-range day into the next month, which the comparison catches.
  const probe = new Date(Date.UTC(y, m - 1, d));
  return probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d;
}

/**
 * True when `s` is a well-formed 18-character resident identity number: 17 digits
 * and a check character (upper-case `X` only) that matches GB 11643; an area code
 * whose first two digits name a province-level division and whose last four are
 * not `0000`; and a birth date (digits 7–14) that is a real calendar date in
 * 1800–2099. It does not check that the area code is currently assigned or that
 * the birth date lies in the past (no clock here).
 */
export function isValidResidentId(s: string): boolean {
  if (typeof s !== 'string' || s.length !== 18) return false;
  const first17 = s.slice(0, 17);
  if (!DIGITS_17.test(first17)) return false;
  if (!PROVINCE_PREFIXES.has(s.slice(0, 2)) || s.slice(2, 6) === '0000') return false;
  if (!isCalendarDate(s.slice(6, 14))) return false;
  return residentIdCheckDigit(first17) === s[17];
}

/** The value of a character in an organization code: digits as themselves, A–Z as 10–35. */
function organizationCharValue(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 90) return c - 55;
  return -1;
}

/**
 * The GB 11714 check character (`'0'`–`'9'` or `'X'`) for the first 8 characters
 * (digits or upper-case letters) of an organization code. Throws a TypeError on
 * any other input.
 */
export function organizationCodeCheckChar(first8: string): string {
  if (!/^[0-9A-Z]{8}$/.test(first8)) throw new TypeError('organizationCodeCheckChar: expected 8 characters 0-9 or A-Z');
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += organizationCharValue(first8[i]!) * ORGANIZATION_CODE_WEIGHTS[i]!;
  const c = 11 - (sum % 11);
  return c === 10 ? 'X' : c === 11 ? '0' : String(c);
}

/**
 * The GB 32100 check character for the first 17 characters of a unified social
 * credit code. Throws a TypeError when `first17` is not 17 characters of
 * {@link CREDIT_CODE_ALPHABET}.
 */
export function creditCodeCheckChar(first17: string): string {
  if (typeof first17 !== 'string' || first17.length !== 17) {
    throw new TypeError('creditCodeCheckChar: expected 17 characters');
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_CODE_ALPHABET.indexOf(first17[i]!);
    if (v < 0) throw new TypeError(`creditCodeCheckChar: character ${i + 1} is outside the code alphabet`);
    sum += v * CREDIT_CODE_WEIGHTS[i]!;
  }
  return CREDIT_CODE_ALPHABET[(31 - (sum % 31)) % 31]!;
}

/**
 * True when `s` is a well-formed unified social credit code: 18 characters of
 * {@link CREDIT_CODE_ALPHABET}, a registration-authority character (1–9, A–G or Y)
 * followed by an entity-type character, a six-digit area code whose first two
 * digits name a province-level division, and a last character that matches
 * GB 32100. The embedded organization code's own check character (position 17)
 * is not required to match GB 11714, because codes issued by some authorities
 * do not satisfy it; use {@link organizationCodeCheckChar} when it must.
 */
export function isValidCreditCode(s: string): boolean {
  if (typeof s !== 'string' || s.length !== 18) return false;
  for (const ch of s) if (!CREDIT_CODE_ALPHABET.includes(ch)) return false;
  if (!/^[1-9A-GY]$/.test(s[0]!)) return false;
  const area = s.slice(2, 8);
  if (!/^\d{6}$/.test(area) || !PROVINCE_PREFIXES.has(area.slice(0, 2))) return false;
  return creditCodeCheckChar(s.slice(0, 17)) === s[17];
}

/**
 * The Luhn (mod 10) check digit to append to `payload` (one or more ASCII digits),
 * as used by bank card numbers. Throws a TypeError on any other input.
 */
export function luhnCheckDigit(payload: string): string {
  if (!/^\d+$/.test(payload)) throw new TypeError('luhnCheckDigit: expected one or more digits');
  let sum = 0;
  // Counting from the right of the payload, the rightmost digit is doubled because
  // the check digit will sit to its right.
  for (let i = payload.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = payload.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** True when `s` is at least two ASCII digits and its last digit is the Luhn check digit of the rest. */
export function isValidLuhn(s: string): boolean {
  if (typeof s !== 'string' || !/^\d{2,}$/.test(s)) return false;
  return luhnCheckDigit(s.slice(0, -1)) === s[s.length - 1];
}

/** True when `s` is a mainland China mobile number: 11 digits, `1`, then `3`–`9`, then 9 digits (no prefix, no separators). */
export function isMobileNumber(s: string): boolean {
  return typeof s === 'string' && /^1[3-9]\d{9}$/.test(s);
}

/**
 * True when `s` looks like an e-mail address: an ASCII local part of letters,
 * digits and `._%+-` (not starting or ending with a dot, no two dots in a row),
 * `@`, and a domain of dot-separated labels with a 2–63 letter top-level label.
 * At most 254 characters. A pragmatic shape test, not full RFC 5322.
 */
export function isEmail(s: string): boolean {
  if (typeof s !== 'string' || s.length > 254) return false;
  const at = s.lastIndexOf('@');
  if (at < 1 || at > 64) return false;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (!/^[A-Za-z0-9._%+-]+$/.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return false;
  }
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const label of labels) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) return false;
  }
  return /^[A-Za-z]{2,63}$/.test(labels[labels.length - 1]!);
}

/** One county-level area of Taizhou. */
export interface TaizhouArea {
  /** Six-digit administrative division code, e.g. `331002`. */
  code: string;
  /** Chinese name, e.g. `椒江区`. */
  name: string;
  /** Approximate share of Taizhou's resident population (0–1; the shares sum to 1). */
  share: number;
}

/**
 * The nine county-level areas of Taizhou, Zhejiang, with an approximate share of
 * the resident population (rounded from the 2020 census order of magnitude:
 * 温岭 and 临海 largest, 三门 smallest). Shares sum to exactly 1.
 */
export const TAIZHOU_AREAS: readonly TaizhouArea[] = Object.freeze([
  { code: '331002', name: '椒江区', share: 0.124 },
  { code: '331003', name: '黄岩区', share: 0.103 },
  { code: '331004', name: '路桥区', share: 0.102 },
  { code: '331022', name: '三门县', share: 0.055 },
  { code: '331023', name: '天台县', share: 0.069 },
  { code: '331024', name: '仙居县', share: 0.067 },
  { code: '331081', name: '温岭市', share: 0.215 },
  { code: '331082', name: '临海市', share: 0.169 },
  { code: '331083', name: '玉环市', share: 0.096 },
].map((a) => Object.freeze(a)));
