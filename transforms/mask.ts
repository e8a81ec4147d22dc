/**
 * Masking transforms compiled to DuckDB SQL expressions: format-preserving
 * partial masking, redaction, truncation, seeded numeric noise and per-person
 * date shifting. Every function returns an SQL expression over `expr` (any SQL
 * expression, usually a quoted column) and maps NULL to NULL. Nothing here
 * reads a clock or a global random source: randomness comes from a seed or a
 * key passed in.
 */
import { createHash, createHmac } from 'node:crypto';
import { SluiceError } from '../lib/errors.js';
import { quoteLiteral } from '../lib/duck.js';
import { compileHmacHex, deriveSubKey } from './tokenize.js';

/** Options of {@link compileMask}. */
export interface MaskOptions {
  /** Characters kept at the start; default 3. */
  keepStart?: number;
  /** Characters kept at the end; default 4. */
  keepEnd?: number;
  /** The single character written over masked positions; default `*`. */
  maskChar?: string;
  /**
   * When true, only letters and digits in the masked middle are replaced and
   * separators (spaces, dashes, dots, …) stay where they are; default false.
   */
  keepSeparators?: boolean;
}

/** Common partial masks: mobiles `138****5678`, ID numbers `331002********123X`. */
export const MASK_PRESETS = {
  mobile: { keepStart: 3, keepEnd: 4 },
  idNumber: { keepStart: 6, keepEnd: 4 },
} as const satisfies Record<string, MaskOptions>;

interface ResolvedMask {
  keepStart: number;
  keepEnd: number;
  maskChar: string;
  keepSeparators: boolean;
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', message);
}

function resolveMask(opts: MaskOptions): ResolvedMask {
  const keepStart = opts.keepStart ?? MASK_PRESETS.mobile.keepStart;
  const keepEnd = opts.keepEnd ?? MASK_PRESETS.mobile.keepEnd;
  const maskChar = opts.maskChar ?? '*';
  for (const [name, v] of [['keepStart', keepStart], ['keepEnd', keepEnd]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 1000) throw invalid(`mask: ${name} must be an integer from 0 to 1000, found ${String(v)}`);
  }
  if ([...maskChar].length !== 1) throw invalid(`mask: maskChar must be exactly one character, found ${[...maskChar].length}`);
  return { keepStart, keepEnd, maskChar, keepSeparators: opts.keepSeparators ?? false };
}

/**
 * Compiles format-preserving partial masking: the first `keepStart` and last
 * `keepEnd` characters stay, every character between becomes `maskChar`, so
 * the length (in characters) is unchanged. Defaults keep 3 and 4 (mobiles);
 * use {@link MASK_PRESETS}.idNumber for ID numbers. A value not longer than
 * keepStart + keepEnd would be shown whole, so it is masked entirely instead.
 * Non-VARCHAR input is cast to VARCHAR; the result is VARCHAR.
 */
export function compileMask(expr: string, opts: MaskOptions = {}): string {
  const m = resolveMask(opts);
  const x = `CAST(${expr} AS VARCHAR)`;
  const mc = quoteLiteral(m.maskChar);
  const keep = m.keepStart + m.keepEnd;
  const middleLen = `(length(${x}) - ${keep})`;
  const middle = m.keepSeparators
    ? `regexp_replace(substr(${x}, ${m.keepStart + 1}, ${middleLen}), '[\\p{L}\\p{N}]', ${mc}, 'g')`
    : `repeat(${mc}, ${middleLen})`;
  const all = m.keepSeparators ? `regexp_replace(${x}, '[\\p{L}\\p{N}]', ${mc}, 'g')` : `repeat(${mc}, length(${x}))`;
  const parts = [m.keepStart > 0 ? `left(${x}, ${m.keepStart})` : null, middle, m.keepEnd > 0 ? `right(${x}, ${m.keepEnd})` : null];
  return `(CASE WHEN length(${x}) <= ${keep} THEN ${all} ELSE ${parts.filter((p) => p !== null).join(' || ')} END)`;
}

/** The JS reference of {@link compileMask} on one value (characters = code points). */
export function maskValue(value: string, opts: MaskOptions = {}): string {
  const m = resolveMask(opts);
  const chars = [...value];
  const isWord = (c: string): boolean => /[\p{L}\p{N}]/u.test(c);
  const hide = (c: string): string => (m.keepSeparators && !isWord(c) ? c : m.maskChar);
  if (chars.length <= m.keepStart + m.keepEnd) return chars.map(hide).join('');
  return chars.map((c, i) => (i < m.keepStart || i >= chars.length - m.keepEnd ? c : hide(c))).join('');
}

/** Default text of {@link compileRedact}. */
export const DEFAULT_REDACTION = '***';

/**
 * Compiles redaction: every non-NULL value becomes the constant `withValue`
 * (default `***`); NULL stays NULL. The result is VARCHAR.
 */
export function compileRedact(expr: string, withValue: string = DEFAULT_REDACTION): string {
  return `(CASE WHEN ${expr} IS NULL THEN NULL ELSE ${quoteLiteral(withValue)} END)`;
}

/** Compiles truncation: the first `length` characters of the value's text (VARCHAR). */
export function compileTruncate(expr: string, length: number): string {
  if (!Number.isInteger(length) || length < 0) throw invalid(`truncate: length must be a non-negative integer, found ${String(length)}`);
  return `left(CAST(${expr} AS VARCHAR), ${length})`;
}

/** Options of {@link compileNoise}. */
export interface NoiseOptions {
  /** Scale of the noise in the column's units: Laplace b, or the half-width of the uniform. */
  scale: number;
  /** Noise distribution; default `'laplace'`. */
  distribution?: 'laplace' | 'uniform';
  /** Seed; the same seed, salt and row key give the same noise. */
  seed: number;
  /**
   * SQL expression identifying the row (a key column, or a table alias, which
   * DuckDB hashes as the whole row). Rows with equal keys get equal noise.
   */
  rowKey: string;
  /**
   * Secret salt (e.g. a sub-key of the agreement key plus the column name)
   * so that someone who knows the seed cannot recompute and subtract the noise;
   * default none.
   */
  salt?: Buffer | string;
  /** Round the noisy value and return BIGINT (for integer columns); default false (DOUBLE). */
  integer?: boolean;
}

/** A 64-bit mixing constant from a seed and a salt (a UBIGINT literal). */
export function seedMix(purpose: string, seed: number, salt?: Buffer | string): string {
  if (!Number.isSafeInteger(seed)) throw invalid(`${purpose}: seed must be a safe integer, found ${String(seed)}`);
  const h = createHash('sha256').update(`sluice/${purpose}/${seed}/`);
  if (salt !== undefined) h.update(salt);
  return `${h.digest().readBigUInt64BE(0)}::UBIGINT`;
}

/**
 * A per-row uniform number in (0, 1) from a row key and a mixing constant.
 * DuckDB's multi-argument hash combines argument hashes linearly, so the seed
 * is XORed into the key's hash and the result hashed again (a 64-bit mixer)
 * to decorrelate seeds; the top 53 bits make an exact double.
 */
export function compileUniform(rowKey: string, mix: string): string {
  return `(((hash(xor(hash(${rowKey}), ${mix})) >> 11)::DOUBLE + 0.5) / 9007199254740992.0)`;
}

/**
 * Compiles seeded numeric noise: Laplace(0, scale) (default) or
 * Uniform(−scale, scale) added to the value, deterministic per row key, seed
 * and salt (independent of thread count). Returns DOUBLE, or BIGINT rounded
 * to the nearest integer when `integer` is set. NULL stays NULL.
 */
export function compileNoise(expr: string, opts: NoiseOptions): string {
  if (!(Number.isFinite(opts.scale) && opts.scale > 0)) throw invalid(`noise: scale must be a positive number, found ${String(opts.scale)}`);
  const u = compileUniform(opts.rowKey, seedMix('noise', opts.seed, opts.salt));
  const s = `${opts.scale}::DOUBLE`;
  const noise =
    (opts.distribution ?? 'laplace') === 'uniform'
      ? `(${s} * (2.0 * ${u} - 1.0))`
      : `(-${s} * sign(${u} - 0.5) * ln(1.0 - 2.0 * abs(${u} - 0.5)))`;
  const sum = `(CAST(${expr} AS DOUBLE) + ${noise})`;
  return opts.integer ? `CAST(round(${sum}) AS BIGINT)` : sum;
}

/** Options of {@link compileDateShift}. */
export interface DateShiftOptions {
  /** Largest shift in days (1..36500); shifts are in [−maxDays, −1] ∪ [1, maxDays], never 0. */
  maxDays: number;
  /** Secret key (the agreement key); the shift is an HMAC of the person key under a sub-key of it. */
  key: Buffer;
  /** `'date'` (default) adds days to a DATE; `'timestamp'` adds an interval of days to a TIMESTAMP. */
  kind?: 'date' | 'timestamp';
}

function checkMaxDays(maxDays: number): void {
  if (!Number.isInteger(maxDays) || maxDays < 1 || maxDays > 36500) {
    throw invalid(`shift-date: maxDays must be an integer from 1 to 36500, found ${String(maxDays)}`);
  }
}

/**
 * The shift in days as an SQL expression (INTEGER): the first 32 bits of
 * HMAC-SHA-256(shift sub-key, person text) reduced to one of the 2·maxDays
 * non-zero shifts. The same person gets the same shift in every row and table
 * under the same key; NULL person gives NULL.
 */
export function compileShiftDays(personExpr: string, opts: DateShiftOptions): string {
  checkMaxDays(opts.maxDays);
  const hex = compileHmacHex(personExpr, deriveSubKey(opts.key, 'shift-date'));
  const m = opts.maxDays;
  const d = `(('0x' || left(${hex}, 8))::BIGINT % ${2 * m})`;
  // Zero is skipped so no person keeps their true dates.
  return `CAST(${d} - ${m} + CASE WHEN ${d} >= ${m} THEN 1 ELSE 0 END AS INTEGER)`;
}

/**
 * Compiles per-person date shifting: `expr` (DATE, or TIMESTAMP with
 * kind 'timestamp') moved by {@link compileShiftDays} of `personExpr`.
 * Intervals between one person's dates are preserved. NULL date or NULL person
 * gives NULL. The result has the input's type.
 */
export function compileDateShift(expr: string, personExpr: string, opts: DateShiftOptions): string {
  const shift = compileShiftDays(personExpr, opts);
  return (opts.kind ?? 'date') === 'timestamp' ? `(${expr} + to_days(${shift}))` : `(${expr} + ${shift})`;
}

/** The JS reference of {@link compileShiftDays}: the shift in days of one person's key text. */
export function dateShiftDays(personText: string, key: Buffer, maxDays: number): number {
  checkMaxDays(maxDays);
  const digest = createHmac('sha256', deriveSubKey(key, 'shift-date')).update(personText, 'utf8').digest();
  const d = digest.readUInt32BE(0) % (2 * maxDays);
  return d - maxDays + (d >= maxDays ? 1 : 0);
}
