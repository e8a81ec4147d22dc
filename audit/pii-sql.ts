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
 * Every non-ASCII character the audit reads as an ASCII digit, letter or
 * string of digits: the full-width forms; every Unicode decimal digit (\p{Nd}:
 * Arabic-Indic ٠-٩, Extended Arabic-Indic ۰-۹, Devanagari, mathematical 𝟎-𝟿, …),
 * valued by its place in its run of ten, which is how Unicode encodes them; the
 * circled, parenthesized, dotted, negative and dingbat digits (①, ⑴, ⒈, ❶, ➀, ⓵,
 * up to ㊿), superscripts and subscripts; Chinese numerals (〇零一…九, 壹贰…玖);
 * and the look-alikes of the ID number's check letter X (Cyrillic Х, Roman Ⅹ).
 * An adversary who writes an identifier in any of them writes the same digits.
 */
export const DIGIT_FOLDS: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (let i = 0; i < FULL_WIDTH.length; i++) m.set(FULL_WIDTH[i]!, HALF_WIDTH[i]!);
  const nd = /^\p{Nd}$/u;
  let runStart = -1;
  for (let cp = 0x80; cp <= 0x1fbff; cp++) {
    const ch = String.fromCodePoint(cp);
    if (!nd.test(ch)) { runStart = -1; continue; }
    if (runStart < 0) runStart = cp;
    if (!m.has(ch)) m.set(ch, String((cp - runStart) % 10));
  }
  const seq = (start: number, from: number, count: number): void => {
    for (let i = 0; i < count; i++) m.set(String.fromCodePoint(start + i), String(from + i));
  };
  seq(0x2460, 1, 20); // ①..⑳
  seq(0x2474, 1, 20); // ⑴..⒇
  seq(0x2488, 1, 20); // ⒈..⒛
  seq(0x24f5, 1, 10); // ⓵..⓾
  seq(0x2776, 1, 10); // ❶..❿
  seq(0x2780, 1, 10); // ➀..➉
  seq(0x278a, 1, 10); // ➊..➓
  seq(0x24eb, 11, 10); // ⓫..⓴
  seq(0x3251, 21, 15); // ㉑..㉟
  seq(0x32b1, 36, 15); // ㊱..㊿
  seq(0x2080, 0, 10); // ₀..₉
  seq(0x2074, 4, 6); // ⁴..⁹
  for (const [c, d] of [['⓪', '0'], ['⓿', '0'], ['⁰', '0'], ['¹', '1'], ['²', '2'], ['³', '3'], ['〇', '0'], ['零', '0'], ['一', '1'], ['壹', '1'], ['二', '2'], ['贰', '2'], ['貳', '2'], ['三', '3'], ['叁', '3'], ['參', '3'], ['四', '4'], ['肆', '4'], ['五', '5'], ['伍', '5'], ['六', '6'], ['陆', '6'], ['陸', '6'], ['七', '7'], ['柒', '7'], ['八', '8'], ['捌', '8'], ['九', '9'], ['玖', '9'], ['Х', 'X'], ['х', 'x'], ['Ⅹ', 'X'], ['ⅹ', 'x']] as const) m.set(c, d);
  return m;
})();

const sqlStr = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const reChar = (c: string): string => `\\x{${c.codePointAt(0)!.toString(16)}}`;
const reClass = (chars: string[]): string => `[${chars.map(reChar).join('')}]`;
const FULL_SET = new Set(FULL_WIDTH);
const DIGIT_ONLY = [...DIGIT_FOLDS].filter(([c, to]) => !FULL_SET.has(c) && to.length === 1);
const MULTI = [...DIGIT_FOLDS].filter(([, to]) => to.length > 1);
const FOLD_CLASS = reClass([...DIGIT_FOLDS.keys()]);
const MULTI_CLASS = reClass(MULTI.map(([c]) => c));

/**
 * Folds a VARCHAR expression to ASCII for identifier matching, without removing
 * separators: every character of {@link DIGIT_FOLDS} becomes its ASCII form,
 * and the result is upper-cased. Only values that are not ASCII (byte length ≠
 * character length) and hold a foldable character are rewritten; the digits
 * of each value go through one regexp_replace per ASCII digit (RE2 classes are
 * fast, a 700-character translate is not).
 */
export function foldSql(expr: string): string {
  return `upper(${foldRaw(expr)})`;
}

/** {@link foldSql} without the upper-casing; `expr` should be a column or a bound name (it is repeated). */
function foldRaw(expr: string): string {
  const multi = MULTI.reduce((acc, [c, t]) => `replace(${acc}, ${sqlStr(c)}, ${sqlStr(t)})`, expr);
  const byValue = new Map<string, string[]>();
  for (const [c, t] of DIGIT_ONLY) byValue.set(t, [...(byValue.get(t) ?? []), c]);
  const multiCase = `(CASE WHEN regexp_matches(${expr}, '${MULTI_CLASS}') THEN ${multi} ELSE ${expr} END)`;
  const digits = [...byValue].reduce((acc, [t, cs]) => `regexp_replace(${acc}, '${reClass(cs)}', ${sqlStr(t)}, 'g')`, multiCase);
  const width = `(CASE WHEN regexp_matches(${expr}, '[\\x{FF01}-\\x{FF5E}\\x{3000}]') THEN translate(${digits}, ${sqlStr(FULL_WIDTH)}, ${sqlStr(HALF_WIDTH)}) ELSE ${digits} END)`;
  // Lambdas are avoided: a CASE inside one evaluates every branch on every value.
  const slow = `(CASE WHEN regexp_matches(${expr}, '${FOLD_CLASS}') THEN ${width} ELSE ${expr} END)`;
  // ASCII values (byte length = character length), which are nearly all, take no lambda and no regular expression.
  return `(CASE WHEN strlen(${expr}) <> length(${expr}) THEN ${slow} ELSE ${expr} END)`;
}

/** Characters dropped between the characters of an identifier: whitespace, dashes of every width, underscore, middle dot, slashes, bars, brackets. */
export const SEPARATOR_CLASS = '[\\s\\x{00A0}\\x{3000}\\x{2000}-\\x{200B}\\-\\x{2010}-\\x{2015}\\x{2212}\\x{FE63}_\\x{00B7}\\x{30FB}/\\\\|()\\[\\]]';

/**
 * Normalizes a VARCHAR expression for identifier matching: {@link foldSql}
 * (width, every decimal digit script, circled digits, Chinese numerals, case),
 * then every separator of {@link SEPARATOR_CLASS} is removed. Dots, commas,
 * `@` and `+` stay: an e-mail address or a decimal must keep its shape.
 */
export function normalizeSql(expr: string): string {
  // regexp_replace copies every value; the regexp_matches test skips the copy on most.
  const f = foldSql(expr);
  return `(CASE WHEN regexp_matches(${f}, '${SEPARATOR_CLASS}') THEN regexp_replace(${f}, '${SEPARATOR_CLASS}', '', 'g') ELSE ${f} END)`;
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
