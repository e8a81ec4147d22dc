/**
 * Finds direct identifiers in a column by content, with the detectors of
 * {@link ./identifiers.js}: resident ID numbers (GB 11643 check character, or
 * the 15-digit first generation), unified social credit codes (GB 32100),
 * mainland mobile numbers, Luhn-valid bank card numbers, e-mail addresses, and
 * Chinese personal names. Used by `sluice anonymize` (and the `kanonymize`
 * step) so that an output never keeps a column the config forgot to declare.
 *
 * Values are normalized first (NFKC: full-width and circled digits; Arabic-Indic
 * and Chinese numeral digits; case), and identifiers are looked for inside free
 * text as well as as whole values, with spaces, hyphens and dots between digit
 * groups ignored. Only counts leave this module, never a value.
 */
import { isEmail, isMobileNumber, isValidCreditCode, isValidLuhn, isValidResidentId } from './identifiers.js';

/** The kinds of direct identifier {@link scanDirectIdentifiers} finds. */
export const DIRECT_IDENTIFIER_KINDS = ['resident-id', 'credit-code', 'mobile', 'bank-card', 'email', 'person-name'] as const;
/** One kind of {@link DIRECT_IDENTIFIER_KINDS}. */
export type DirectIdentifierKind = (typeof DIRECT_IDENTIFIER_KINDS)[number];

/** What {@link scanDirectIdentifiers} found in one column: per kind, how many values hold one. */
export type DirectIdentifierCounts = Partial<Record<DirectIdentifierKind, number>>;

// Digits that NFKC leaves alone: Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai.
const DIGIT_ZEROS = [0x0660, 0x06f0, 0x0966, 0x09e6, 0x0e50];
const CHINESE_DIGITS: Record<string, string> = { 〇: '0', 零: '0', 一: '1', 二: '2', 三: '3', 四: '4', 五: '5', 六: '6', 七: '7', 八: '8', 九: '9' };

/**
 * Normalizes a value for identifier matching: NFKC (full-width, circled and
 * mathematical digits become ASCII), other scripts' decimal digits become ASCII,
 * a run of 11 or more Chinese numeral characters becomes digits, upper case.
 */
export function normalizeIdentifierText(value: string): string {
  let s = value.normalize('NFKC');
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const zero = DIGIT_ZEROS.find((z) => cp >= z && cp <= z + 9);
    out += zero === undefined ? ch : String(cp - zero);
  }
  s = out.replace(/[〇零一二三四五六七八九]{11,}/gu, (run) => [...run].map((c) => CHINESE_DIGITS[c]!).join(''));
  return s.toUpperCase();
}

/** A 15-digit first-generation resident ID: province-level area, a real 19YYMMDD birth date, three digits. */
function isFirstGenerationId(s: string): boolean {
  if (!/^[1-8]\d{14}$/.test(s) || s.slice(2, 6) === '0000') return false;
  const full17 = s.slice(0, 6) + '19' + s.slice(6);
  // Reuse the 18-digit validator's area and date rules by completing the number with its own check character.
  for (const c of '0123456789X') if (isValidResidentId(full17 + c)) return true;
  return false;
}

/** Digit runs in `s`, with one space, hyphen or dot allowed between digits (`138 1234 5678`), an ID's trailing X kept. */
function digitRuns(s: string): string[] {
  const runs = s.match(/\d(?:[ \-.\u00a0]?\d)*X?/g) ?? [];
  return runs.map((r) => r.replace(/[ \-.\u00a0]/g, ''));
}

/** What one value holds; a value counts once per kind. */
interface ValueHits {
  strong: Set<DirectIdentifierKind>;
  /** Candidates for the weak detectors (by chance a tenth of long numbers pass Luhn). */
  cardCandidates: number;
  cards: number;
  oldIdCandidates: number;
  oldIds: number;
}

function scanValue(raw: string): ValueHits {
  const hits: ValueHits = { strong: new Set(), cardCandidates: 0, cards: 0, oldIdCandidates: 0, oldIds: 0 };
  if (raw === '') return hits;
  const s = normalizeIdentifierText(raw);
  for (const m of s.match(/[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,63}/g) ?? []) {
    if (isEmail(m)) hits.strong.add('email');
  }
  // Credit codes are letters and digits: only whole tokens, since windows over hashes pass by chance.
  for (const t of s.split(/[^0-9A-Z]+/)) if (t.length === 18 && isValidCreditCode(t)) hits.strong.add('credit-code');
  // Hex tokens (hashes, HMAC tokens) hold long digit runs by chance; they are opaque here (the audit's B2 attacks them).
  const opaque = s.replace(/(?<![0-9A-Z])(?=[0-9A-F]*[A-F])[0-9A-F]{16,}(?![0-9A-Z])/g, ' ');
  for (const run of digitRuns(opaque)) {
    if (run.length >= 18) {
      for (let i = 0; i + 18 <= run.length; i++) {
        if (isValidResidentId(run.slice(i, i + 18))) {
          hits.strong.add('resident-id');
          break;
        }
      }
    }
    const bare = run.endsWith('X') ? run.slice(0, -1) : run;
    const mobile = bare.length === 13 && bare.startsWith('86') ? bare.slice(2) : bare.length === 15 && bare.startsWith('0086') ? bare.slice(4) : bare;
    if (mobile.length === 11 && isMobileNumber(mobile)) hits.strong.add('mobile');
    if (bare.length >= 16 && bare.length <= 19 && /^[2-6]/.test(bare)) {
      hits.cardCandidates++;
      if (isValidLuhn(bare)) hits.cards++;
    }
    if (bare.length === 15 && run === bare) {
      hits.oldIdCandidates++;
      if (isFirstGenerationId(bare)) hits.oldIds++;
    }
  }
  return hits;
}

// The most frequent surnames (together about nine in ten people), and Taizhou's own.
const SURNAMES = new Set([
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤应泮屈颜施牛洪鲍葛柯阮翁童单舒项詹蓝章柳季芦骆欧左庞樊兰殷尚滕祝伍甘裴焦谷',
]);
const COMPOUND_SURNAMES = ['欧阳', '司马', '诸葛', '上官', '东方', '皇甫', '令狐', '慕容', '尉迟', '长孙'];
const NAME_SHAPE = /^\p{Script=Han}{2,4}$|^\p{Script=Han}{1,6}·\p{Script=Han}{1,8}$/u;

/**
 * True when a column reads as personal names: most non-empty values are two to
 * four Han characters (or a minority name with `·`), most of those start with
 * a common surname, and they are many and mostly distinct (categorical Han
 * columns such as districts or diagnoses repeat a few values).
 */
function looksLikeNames(values: readonly string[]): { names: boolean; count: number } {
  let nonEmpty = 0;
  let shaped = 0;
  let surnamed = 0;
  const distinct = new Set<string>();
  for (const raw of values) {
    const v = raw.trim();
    if (v === '' || v === '*') continue;
    nonEmpty++;
    if (!NAME_SHAPE.test(v)) continue;
    shaped++;
    distinct.add(v);
    if (SURNAMES.has(v[0]!) || COMPOUND_SURNAMES.some((c) => v.startsWith(c))) surnamed++;
  }
  const names = nonEmpty > 0 && shaped >= 0.7 * nonEmpty && surnamed >= 0.6 * shaped && distinct.size >= Math.max(5, 0.3 * shaped);
  return { names, count: shaped };
}

/**
 * Scans one column's values (as strings; `''` for null) and returns, per kind of
 * direct identifier found, how many values hold one. Strong detectors (check
 * digits, e-mail shape, mobile shape) report a column as soon as one value
 * holds one; the weak ones report it only when most candidates pass: bank cards
 * (16–19 digits from 2–6 passing Luhn) and 15-digit first-generation ID
 * numbers, of which a tenth or more of random long numbers would pass.
 * An empty result means nothing was found.
 */
export function scanDirectIdentifiers(values: readonly string[]): DirectIdentifierCounts {
  const counts: DirectIdentifierCounts = {};
  let cardCandidates = 0;
  let cards = 0;
  let oldCandidates = 0;
  let oldIds = 0;
  // Values repeat (categorical columns): scan each distinct one once.
  const seen = new Map<string, number>();
  for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
  for (const [v, times] of seen) {
    const h = scanValue(v);
    for (const kind of h.strong) counts[kind] = (counts[kind] ?? 0) + times;
    cardCandidates += h.cardCandidates * times;
    cards += h.cards * times;
    oldCandidates += h.oldIdCandidates * times;
    oldIds += h.oldIds * times;
  }
  if (cards > 0 && cards >= 0.5 * cardCandidates) counts['bank-card'] = cards;
  if (oldIds > 0 && oldIds >= 0.5 * oldCandidates) counts['resident-id'] = (counts['resident-id'] ?? 0) + oldIds;
  const names = looksLikeNames(values);
  if (names.names) counts['person-name'] = names.count;
  return counts;
}

/** Two columns that together hold a direct identifier (an ID number split in two, a mobile number in area + rest). */
export interface SplitIdentifier {
  columns: [string, string];
  kind: DirectIdentifierKind;
  /** Rows (of those sampled) whose two values, joined in some order, are one. */
  rows: number;
}

/** Rows sampled per column pair: enough to see a split column, bounded so that wide tables stay cheap. */
const PAIR_SAMPLE = 500;

/**
 * Finds pairs of columns whose values, joined in either order with or without
 * a separator, form a resident ID number, a credit code or a mobile number in
 * most rows (at least half of the rows sampled, evenly spread). Only columns
 * whose values are short (≤ 18 characters) and mostly hold a digit are paired.
 */
export function scanSplitIdentifiers(columns: Readonly<Record<string, readonly string[]>>, names: readonly string[]): SplitIdentifier[] {
  const n = names.length === 0 ? 0 : columns[names[0]!]!.length;
  if (n === 0) return [];
  const step = Math.max(1, Math.floor(n / PAIR_SAMPLE));
  const rows: number[] = [];
  for (let r = 0; r < n && rows.length < PAIR_SAMPLE; r += step) rows.push(r);
  const norm = new Map<string, string[]>();
  for (const c of names) {
    const vals = rows.map((r) => normalizeIdentifierText(columns[c]![r] ?? '').replace(/[\s\-.]/g, ''));
    const digitish = vals.filter((v) => v.length > 0 && v.length <= 18 && /\d/.test(v)).length;
    if (digitish >= 0.5 * rows.length) norm.set(c, vals);
  }
  const found: SplitIdentifier[] = [];
  const cands = [...norm.keys()];
  for (let i = 0; i < cands.length; i++) {
    for (let j = i + 1; j < cands.length; j++) {
      const a = norm.get(cands[i]!)!;
      const b = norm.get(cands[j]!)!;
      const hits: Partial<Record<DirectIdentifierKind, number>> = {};
      for (let k = 0; k < rows.length; k++) {
        for (const joined of [a[k]! + b[k]!, b[k]! + a[k]!]) {
          const kind: DirectIdentifierKind | undefined =
            joined.length === 18 && isValidResidentId(joined) ? 'resident-id'
              : joined.length === 18 && isValidCreditCode(joined) ? 'credit-code'
                : joined.length === 11 && isMobileNumber(joined) ? 'mobile'
                  : undefined;
          if (kind !== undefined) {
            hits[kind] = (hits[kind] ?? 0) + 1;
            break;
          }
        }
      }
      for (const [kind, count] of Object.entries(hits) as [DirectIdentifierKind, number][]) {
        if (count >= 0.5 * rows.length) found.push({ columns: [cands[i]!, cands[j]!], kind, rows: count });
      }
    }
  }
  return found;
}
