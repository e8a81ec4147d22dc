/**
 * Generalization hierarchies compiled to DuckDB SQL expressions (all return
 * VARCHAR; NULL stays NULL; a value that cannot be placed in its hierarchy
 * becomes `*`, the top of every hierarchy):
 *
 * - dates (DATE or TIMESTAMP): `month` → `2024-03`, `quarter` → `2024-Q1`,
 *   `year` → `2024`;
 * - numbers and ages: `band5` / `band10` / `band20` → `60-64` / `60-69` /
 *   `60-79`, `interval` of any width; bands are [lo, lo + width) with
 *   lo = floor(x / width) · width, written `lo-(lo+width-1)` for integers and
 *   `[lo,hi)` otherwise;
 * - ages from birth dates at a fixed reference date ({@link ageBandFromBirthDate});
 * - 6-digit area codes (GB/T 2260): `county` unchanged, `city` first 4 + `00`,
 *   `province` first 2 + `0000`;
 * - addresses like 浙江省台州市椒江区白云街道葭沚社区12号: the string is cut
 *   after the level's suffix (see {@link compileAddressGeneralize}).
 */
import { SluiceError } from '../lib/errors.js';
import { quoteLiteral } from '../lib/duck.js';
import type { GeneralizeHierarchy, GeneralizeLevel } from './treatment-schema.js';

/** Levels and hierarchies are defined with the treatment schema and re-exported here. */
export type { GeneralizeHierarchy, GeneralizeLevel } from './treatment-schema.js';

/** Options of {@link compileGeneralize}. */
export interface GeneralizeOptions {
  /**
   * The hierarchy; inferred when absent: month/quarter/year → date,
   * band*∕interval → number, community/street → address, county/city/province
   * → decided per value (exactly 6 digits → area code, otherwise address).
   */
  hierarchy?: GeneralizeHierarchy;
  /** Width of `interval` bands (required with it), in the column's units. */
  width?: number;
  /** Whether the input is an integer type (bands written `60-69`); default true. */
  integer?: boolean;
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', message);
}

/** `'*'` for non-NULL values, NULL for NULL. */
export function compileSuppress(expr: string): string {
  return `(CASE WHEN ${expr} IS NULL THEN NULL ELSE '*' END)`;
}

/** Compiles date generalization of a DATE/TIMESTAMP expression to `month`, `quarter`, `year` or `*`. */
export function compileDateGeneralize(expr: string, level: 'month' | 'quarter' | 'year' | '*'): string {
  switch (level) {
    case 'month':
      return `strftime(${expr}, '%Y-%m')`;
    case 'quarter':
      return `(CAST(year(${expr}) AS VARCHAR) || '-Q' || CAST(quarter(${expr}) AS VARCHAR))`;
    case 'year':
      return `CAST(year(${expr}) AS VARCHAR)`;
    case '*':
      return compileSuppress(expr);
  }
}

function checkWidth(width: number): void {
  if (!(Number.isFinite(width) && width > 0)) throw invalid(`generalize: width must be a positive number, found ${String(width)}`);
}

/**
 * Compiles a numeric band of `width`: `lo-hi` (inclusive, integers, integer
 * width) or `[lo,hi)` (otherwise), lo = floor(x / width) · width.
 */
export function compileNumberBand(expr: string, width: number, integer = true): string {
  checkWidth(width);
  const lo = `(floor(CAST(${expr} AS DOUBLE) / ${width}) * ${width})`;
  if (integer && Number.isInteger(width)) {
    const loInt = `CAST(${lo} AS BIGINT)`;
    return `(CAST(${loInt} AS VARCHAR) || '-' || CAST(${loInt} + ${width - 1} AS VARCHAR))`;
  }
  return `('[' || CAST(${lo} AS VARCHAR) || ',' || CAST(${lo} + ${width} AS VARCHAR) || ')')`;
}

/** Parses `YYYY-MM-DD` to its parts; throws on anything else. */
function parseAsOf(asOf: string): { y: number; md: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(asOf);
  const d = m ? new Date(`${asOf}T00:00:00Z`) : null;
  if (!m || !d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== asOf) {
    throw invalid('generalize: asOf must be a date written YYYY-MM-DD');
  }
  return { y: Number(m[1]), md: Number(m[2]) * 100 + Number(m[3]) };
}

/**
 * Compiles the age in whole years at the fixed date `asOf` (YYYY-MM-DD) of a
 * DATE/TIMESTAMP birth date (INTEGER; a birthday on 29 February counts as
 * reached on 1 March in common years).
 */
export function compileAgeAt(expr: string, asOf: string): string {
  const { y, md } = parseAsOf(asOf);
  return `(${y} - year(${expr}) - CASE WHEN month(${expr}) * 100 + day(${expr}) > ${md} THEN 1 ELSE 0 END)`;
}

/**
 * Compiles the age band (width in years, e.g. 10 → `60-69`) of a birth date
 * at the fixed reference date `asOf` (YYYY-MM-DD; a parameter, never the clock).
 */
export function ageBandFromBirthDate(expr: string, width: number, asOf: string): string {
  return compileNumberBand(compileAgeAt(expr, asOf), width, true);
}

/**
 * Compiles area-code generalization of a 6-digit code: `county` keeps it,
 * `city` keeps the first 4 digits + `00`, `province` the first 2 + `0000`.
 * A value that is not exactly 6 digits becomes `*`.
 */
export function compileAreaCodeGeneralize(expr: string, level: 'county' | 'city' | 'province' | '*'): string {
  if (level === '*') return compileSuppress(expr);
  const x = `CAST(${expr} AS VARCHAR)`;
  const out = level === 'county' ? x : level === 'city' ? `(left(${x}, 4) || '00')` : `(left(${x}, 2) || '0000')`;
  return `(CASE WHEN ${x} IS NULL THEN NULL WHEN regexp_full_match(${x}, '[0-9]{6}') THEN ${out} ELSE '*' END)`;
}

/**
 * The address grammar, one bounded lazy segment per level, each ending at the
 * first of its suffixes: an optional province (…省 or …自治区, ≤ 8 characters
 * before the suffix), a city (…市, …自治州, …地区 or …盟), a county-level area
 * (…区, …县, …市 or …旗), a street (…街道, …镇 or …乡), a community (…社区,
 * …村 or …居委会); the rest (house number …号) is never kept. Lazy matching
 * means a name that itself contains a suffix character is cut early
 * (新镇街道 → 新镇): the cut is still the same for every address of that
 * street, so groups stay consistent.
 */
const ADDRESS_SEGMENTS = {
  province: '(?:.{1,8}?(?:省|自治区))',
  city: '.{1,10}?(?:市|自治州|地区|盟)',
  county: '.{1,10}?(?:区|县|市|旗)',
  street: '.{1,12}?(?:街道|镇|乡)',
  community: '.{1,12}?(?:社区|村|居委会)',
} as const;

/** The anchored pattern whose match is the address cut at `level`. */
export function addressPattern(level: 'community' | 'street' | 'county' | 'city' | 'province'): string {
  if (level === 'province') return '^' + ADDRESS_SEGMENTS.province;
  const order = ['city', 'county', 'street', 'community'] as const;
  const upto = order.slice(0, order.indexOf(level) + 1).map((l) => ADDRESS_SEGMENTS[l]);
  return '^' + ADDRESS_SEGMENTS.province + '?' + upto.join('');
}

/**
 * Compiles address generalization: the address cut after the suffix of
 * `level` (`community` → 浙江省台州市椒江区白云街道葭沚社区, `street` → …白云街道,
 * `county` → 浙江省台州市椒江区, `city` → 浙江省台州市, `province` → 浙江省).
 * The province may be absent (北京市朝阳区… parses with 北京市 as the city);
 * `province` then gives `*`. An address the grammar of {@link addressPattern}
 * does not match down to `level` becomes `*`.
 */
export function compileAddressGeneralize(expr: string, level: 'community' | 'street' | 'county' | 'city' | 'province' | '*'): string {
  if (level === '*') return compileSuppress(expr);
  const cut = `regexp_extract(${expr}, ${quoteLiteral(addressPattern(level))})`;
  return `(CASE WHEN ${expr} IS NULL THEN NULL ELSE coalesce(nullif(${cut}, ''), '*') END)`;
}

/**
 * Compiles generalization of `expr` to `level` (see the file header for each
 * hierarchy's output). `interval` needs `options.width`. Throws
 * SLUICE_ERR_TRANSFORM_INVALID when the level and hierarchy do not fit.
 */
export function compileGeneralize(expr: string, level: GeneralizeLevel, options: GeneralizeOptions = {}): string {
  const hierarchy = options.hierarchy;
  if (level === '*') return compileSuppress(expr);
  const mismatch = (): SluiceError => invalid(`generalize: level '${level}' does not belong to hierarchy '${hierarchy ?? '(inferred)'}'`);
  switch (level) {
    case 'month':
    case 'quarter':
    case 'year':
      if (hierarchy !== undefined && hierarchy !== 'date') throw mismatch();
      return compileDateGeneralize(expr, level);
    case 'band5':
    case 'band10':
    case 'band20':
      if (hierarchy !== undefined && hierarchy !== 'number') throw mismatch();
      return compileNumberBand(expr, Number(level.slice('band'.length)), options.integer ?? true);
    case 'interval':
      if (hierarchy !== undefined && hierarchy !== 'number') throw mismatch();
      if (options.width === undefined) throw invalid("generalize: level 'interval' needs a width");
      return compileNumberBand(expr, options.width, options.integer ?? true);
    case 'community':
    case 'street':
      if (hierarchy !== undefined && hierarchy !== 'address') throw mismatch();
      return compileAddressGeneralize(expr, level);
    case 'county':
    case 'city':
    case 'province': {
      if (hierarchy === 'area-code') return compileAreaCodeGeneralize(expr, level);
      if (hierarchy === 'address') return compileAddressGeneralize(expr, level);
      if (hierarchy !== undefined) throw mismatch();
      // An area code is exactly six digits and no address is, so the value itself decides.
      const x = `CAST(${expr} AS VARCHAR)`;
      return `(CASE WHEN regexp_full_match(${x}, '[0-9]{6}') THEN ${compileAreaCodeGeneralize(expr, level)} ELSE ${compileAddressGeneralize(x, level)} END)`;
    }
  }
}
