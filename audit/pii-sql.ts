/**
 * PII detectors as DuckDB SQL expressions. Each builder takes an SQL expression
 * that yields a VARCHAR already passed through {@link normalizeSql} (ASCII,
 * upper case, no spaces or hyphens) and returns an SQL expression; nothing is
 * evaluated in JavaScript, so the detectors run vectorized over millions of
 * values and no value ever reaches Node.
 */

/** The detectors {@link piiDetectorSql} can name, in the order they are tried. */
export const PII_DETECTORS = ['id-number', 'uscc', 'mobile', 'bank-card', 'email'] as const;
export type PiiDetector = (typeof PII_DETECTORS)[number];

// U+FF01..U+FF5E are the full-width forms of U+0021..U+007E at a fixed offset; U+3000 is the ideographic space.
const FULL_WIDTH = String.fromCodePoint(...Array.from({ length: 94 }, (_, i) => 0xff01 + i)) + '\u3000';
const HALF_WIDTH = String.fromCodePoint(...Array.from({ length: 94 }, (_, i) => 0x21 + i)) + ' ';

/**
 * Normalizes a VARCHAR expression for identifier matching: full-width ASCII forms
 * (０-９, Ａ-Ｚ, ａ-ｚ, punctuation, the ideographic space) become ASCII, spaces and
 * hyphens are removed, and the result is upper-cased. `translate` is slow (tens
 * of seconds per million CJK names), so it only runs on values that hold a
 * full-width form: non-ASCII (byte length ≠ char length) and a match of the
 * full-width range.
 */
export function normalizeSql(expr: string): string {
  const widthFixed = `CASE WHEN strlen(${expr}) <> length(${expr}) AND regexp_matches(${expr}, '[\uFF01-\uFF5E\u3000]') THEN translate(${expr}, '${FULL_WIDTH}', '${HALF_WIDTH.replaceAll("'", "''")}') ELSE ${expr} END`;
  // No trim(): DuckDB's trim only strips spaces, which the replace drops anyway, and it is slow.
  // replace() costs a copy of every value even when nothing matches; contains() does not.
  const compact = `CASE WHEN contains(${widthFixed}, ' ') OR contains(${widthFixed}, '-') THEN replace(replace(${widthFixed}, ' ', ''), '-', '') ELSE ${widthFixed} END`;
  return `upper(${compact})`;
}

/**
 * Trims spaces from a VARCHAR expression, calling the (slow, Unicode-aware)
 * `trim` only on values that start or end with a space.
 */
export function trimSql(expr: string): string {
  return `CASE WHEN prefix(${expr}, ' ') OR suffix(${expr}, ' ') THEN trim(${expr}) ELSE ${expr} END`;
}

const digit = (v: string, pos: number): string => `(ascii(substr(${v}, ${pos}, 1)) - 48)`;

/** GB 11643-1999 weights of the first 17 characters of a citizen ID number. */
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/** True (SQL) when `v` is an 18-character ID number with a plausible birth date and a valid GB 11643 check character. */
export function idNumberSql(v: string): string {
  const sum = ID_WEIGHTS.map((w, i) => `${digit(v, i + 1)} * ${w}`).join(' + ');
  // Residue r of the weighted sum maps to the check character '10X98765432'[r].
  return `(length(${v}) = 18 AND regexp_full_match(${v}, '[1-9]\\d{5}(18|19|20)\\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\\d|3[01])\\d{3}[0-9X]')
    AND substr('10X98765432', ((${sum}) % 11)::INTEGER + 1, 1) = substr(${v}, 18, 1))`;
}

const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
/** GB 32100-2015 weights of the first 17 characters of a unified social credit code. */
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/** True (SQL) when `v` is an 18-character unified social credit code with a valid GB 32100 check character. */
export function usccSql(v: string): string {
  const val = (pos: number): string => `(strpos('${USCC_CHARS}', substr(${v}, ${pos}, 1)) - 1)`;
  const sum = USCC_WEIGHTS.map((w, i) => `${val(i + 1)} * ${w}`).join(' + ');
  return `(length(${v}) = 18 AND regexp_full_match(${v}, '[0-9A-HJ-NPQRTUWXY]{2}\\d{6}[0-9A-HJ-NPQRTUWXY]{10}')
    AND substr('${USCC_CHARS}', ((31 - ((${sum}) % 31)) % 31)::INTEGER + 1, 1) = substr(${v}, 18, 1))`;
}

/** True (SQL) when `v` is a mainland mobile number (11 digits, 1[3-9]…), optionally prefixed by 86 or +86. */
export function mobileSql(v: string): string {
  return `(length(${v}) BETWEEN 11 AND 14 AND regexp_full_match(${v}, '(\\+?86)?1[3-9]\\d{9}'))`;
}

/**
 * True (SQL) when `v` is a 13–19 digit card number passing the Luhn check and
 * starting with 2–6 (the issuer ranges of UnionPay, Visa, Mastercard, Amex, JCB).
 * The issuer restriction keeps millisecond timestamps and row numbers, a tenth of
 * which pass Luhn by chance, from being reported as cards.
 */
export function bankCardSql(v: string): string {
  const d = `(ascii(substr(${v}, length(${v}) - j, 1)) - 48)`;
  const luhn = `list_sum(list_transform(range(length(${v})), lambda j: CASE WHEN j % 2 = 1 THEN (CASE WHEN ${d} * 2 > 9 THEN ${d} * 2 - 9 ELSE ${d} * 2 END) ELSE ${d} END)) % 10 = 0`;
  return `(length(${v}) BETWEEN 13 AND 19 AND regexp_full_match(${v}, '[2-6]\\d{12,18}') AND ${luhn})`;
}

/** True (SQL) when `v` contains an e-mail address (on the upper-cased value). */
export function emailSql(v: string): string {
  return `(strpos(${v}, '@') > 0 AND regexp_matches(${v}, '[A-Z0-9._%+]+@[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?(\\.[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?)*\\.[A-Z]{2,}'))`;
}

/**
 * An SQL expression naming the first PII detector that matches the normalized
 * VARCHAR expression `v` (one of {@link PII_DETECTORS}), or NULL. An ID number
 * is tried before the card and credit-code checks so that it is reported once,
 * under its own name. CASE evaluates each branch only on rows the earlier ones
 * left, so the costly check-digit arithmetic runs on few values.
 */
export function piiDetectorSql(v: string): string {
  return `CASE WHEN ${idNumberSql(v)} THEN 'id-number'
    WHEN ${usccSql(v)} THEN 'uscc'
    WHEN ${mobileSql(v)} THEN 'mobile'
    WHEN ${bankCardSql(v)} THEN 'bank-card'
    WHEN ${emailSql(v)} THEN 'email'
    ELSE NULL END`;
}
