/**
 * Generalization hierarchies: a tree over the raw values of one column, given
 * as one row per raw value listing its value at every level (level 0 = raw,
 * the last level usually `*`). This is ARX's CSV hierarchy format, so users can
 * bring hierarchies built in ARX; built-in builders cover ages, dates, the
 * 6-digit area code, Taizhou addresses, numeric intervals and categories.
 *
 * Errors never carry a value of the data: they name the row and column of the
 * hierarchy and what is wrong.
 */
import { SluiceError } from '../lib/errors.js';

/**
 * A generalization hierarchy. `rows[i][l]` is raw value `rows[i][0]` at level
 * `l`; every row has `height` cells, so levels run from 0 to `height - 1`
 * (ARX calls `height` the number of levels). Each value at level `l` has
 * exactly one parent at level `l + 1`.
 */
export interface Hierarchy {
  rows: string[][];
  height: number;
}

function invalid(message: string, details?: Record<string, unknown>): SluiceError {
  return new SluiceError('SLUICE_ERR_HIERARCHY_INVALID', message, details ? { details } : {});
}

/**
 * Checks that a hierarchy is well formed: at least one row and one level, every
 * row as high as the first, no empty cell, no raw value listed twice, and no
 * value mapped to two different parents. Throws SLUICE_ERR_HIERARCHY_INVALID
 * naming the 1-based row and column. `source` prefixes messages (e.g. a path).
 */
export function validateHierarchy(h: Hierarchy, source = 'hierarchy'): void {
  if (h.rows.length === 0) throw invalid(`${source}: expected at least one row, found 0`);
  const height = h.rows[0]!.length;
  if (height < 1 || height !== h.height) {
    throw invalid(`${source}: declared height ${h.height} but row 1 has ${height} columns`);
  }
  const seen = new Map<string, number>();
  // parents[l] maps a value at level l to its value at level l + 1 and the row that fixed it
  const parents: Map<string, { parent: string; row: number }>[] = [];
  for (let l = 0; l < height - 1; l++) parents.push(new Map());
  for (let r = 0; r < h.rows.length; r++) {
    const row = h.rows[r]!;
    if (row.length !== height) {
      throw invalid(`${source}: row ${r + 1} has ${row.length} columns, expected ${height} (inconsistent height)`, {
        row: r + 1,
        columns: row.length,
        expected: height,
      });
    }
    for (let c = 0; c < height; c++) {
      if (row[c] === '') throw invalid(`${source}: row ${r + 1} column ${c + 1} is empty`, { row: r + 1, column: c + 1 });
    }
    const first = seen.get(row[0]!);
    if (first !== undefined) {
      throw invalid(`${source}: row ${r + 1} column 1 repeats the raw value of row ${first} (a raw value may be listed once)`, {
        row: r + 1,
        column: 1,
        firstRow: first,
      });
    }
    seen.set(row[0]!, r + 1);
    for (let l = 0; l < height - 1; l++) {
      const known = parents[l]!.get(row[l]!);
      if (known === undefined) parents[l]!.set(row[l]!, { parent: row[l + 1]!, row: r + 1 });
      else if (known.parent !== row[l + 1]) {
        throw invalid(
          `${source}: row ${r + 1} column ${l + 2} maps a level-${l} value to a different parent than row ${known.row} (a value mapped to two parents)`,
          { row: r + 1, column: l + 2, conflictingRow: known.row },
        );
      }
    }
  }
}

function splitCsvLine(line: string, sep: string, lineNo: number, source: string): string[] {
  if (!line.includes('"')) return line.split(sep);
  const out: string[] = [];
  let cur = '';
  let i = 0;
  let quoted = false;
  while (i < line.length) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else cur += ch;
      i++;
      continue;
    }
    if (ch === '"' && cur === '') quoted = true;
    else if (line.startsWith(sep, i)) {
      out.push(cur);
      cur = '';
      i += sep.length;
      continue;
    } else cur += ch;
    i++;
  }
  if (quoted) throw invalid(`${source}: row ${lineNo} has an unterminated quote`, { row: lineNo });
  out.push(cur);
  return out;
}

/**
 * Parses a hierarchy in ARX's CSV format: no header, one row per raw value,
 * column 1 the raw value and the following columns its generalizations
 * (separator `sep`, default `;`; `"` quotes; CRLF or LF; blank lines ignored).
 * Validates with {@link validateHierarchy}. `source` names the file in errors.
 */
export function parseArxHierarchy(text: string, sep = ';', source = 'hierarchy'): Hierarchy {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const rows: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    rows.push(splitCsvLine(line, sep, rows.length + 1, source));
  }
  const h: Hierarchy = { rows, height: rows[0]?.length ?? 0 };
  validateHierarchy(h, source);
  return h;
}

/** Writes a hierarchy as ARX CSV (separator `sep`, default `;`, LF line ends, quoting only where needed). */
export function toArxCsv(h: Hierarchy, sep = ';'): string {
  const cell = (v: string): string =>
    v.includes(sep) || v.includes('"') || v.includes('\n') || v.includes('\r') ? '"' + v.replaceAll('"', '""') + '"' : v;
  return h.rows.map((row) => row.map(cell).join(sep)).join('\n') + '\n';
}

/** Parses a finite number; `undefined` when the text is not one. */
function toNumber(v: string): number | undefined {
  if (v.trim() === '') return undefined;
  const x = Number(v);
  return Number.isFinite(x) ? x : undefined;
}

function uniqueValues(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/**
 * Orders the leaves (raw values) so that values sharing a generalization at
 * every level are contiguous, as Mondrian needs for ordinal codes. Leaves are
 * compared numerically when every raw value is a number, else by their row
 * order in the hierarchy; a group sorts by its smallest leaf, and groups are
 * nested from the top level down.
 */
export function leafOrder(h: Hierarchy): string[] {
  const n = h.rows.length;
  const nums = h.rows.map((r) => toNumber(r[0]!));
  const numeric = nums.every((x) => x !== undefined);
  const base = Array.from({ length: n }, (_, i) => i);
  if (numeric) base.sort((a, b) => nums[a]! - nums[b]! || a - b);
  const leafRank = new Int32Array(n);
  base.forEach((row, rank) => (leafRank[row] = rank));
  // rank of a group at level l = smallest rank of its leaves
  const groupRank: Map<string, number>[] = [];
  for (let l = 0; l < h.height; l++) {
    const m = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const v = h.rows[i]![l]!;
      const r = leafRank[i]!;
      const cur = m.get(v);
      if (cur === undefined || r < cur) m.set(v, r);
    }
    groupRank.push(m);
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    for (let l = h.height - 1; l >= 1; l--) {
      const d = groupRank[l]!.get(h.rows[a]![l]!)! - groupRank[l]!.get(h.rows[b]![l]!)!;
      if (d !== 0) return d;
    }
    return leafRank[a]! - leafRank[b]!;
  });
  return order.map((i) => h.rows[i]![0]!);
}

function fromLevels(values: string[], fns: ((v: string) => string)[]): Hierarchy {
  const rows = uniqueValues(values).map((v) => [v, ...fns.map((f) => f(v))]);
  const h = { rows, height: fns.length + 1 };
  validateHierarchy(h, 'built-in hierarchy');
  return h;
}

function requireNumbers(values: string[], what: string): void {
  const bad = values.filter((v) => toNumber(v) === undefined).length;
  if (bad > 0) throw invalid(`${what} hierarchy: expected numeric values, found ${bad} non-numeric distinct value(s)`, { count: bad });
}

function checkWidths(widths: number[], what: string): void {
  if (widths.length === 0) throw invalid(`${what} hierarchy: expected at least one width, found 0`);
  for (let i = 0; i < widths.length; i++) {
    const w = widths[i]!;
    if (!(w > 0) || !Number.isFinite(w)) throw invalid(`${what} hierarchy: widths[${i}] must be a positive number`);
    // nested intervals need each width to be a whole multiple of the previous one
    if (i > 0 && Math.abs(w / widths[i - 1]! - Math.round(w / widths[i - 1]!)) > 1e-9) {
      throw invalid(`${what} hierarchy: widths[${i}] must be a multiple of widths[${i - 1}] so that intervals nest`);
    }
  }
}

/**
 * Numeric intervals: level i (1-based) puts x into `[lo, lo + widths[i-1])`
 * with `lo = floor(x / w) * w`; the top level is `*`. Widths must grow, each a
 * multiple of the previous. Labels: `lo-hi` with `hi = lo + w - 1` when `integerLabels`
 * (default true when every value is an integer), else `[lo, hi)`.
 */
export function intervalHierarchy(values: string[], widths: number[], options: { integerLabels?: boolean } = {}): Hierarchy {
  requireNumbers(values, 'interval');
  checkWidths(widths, 'interval');
  const integers = options.integerLabels ?? values.every((v) => Number.isInteger(Number(v)) && widths.every(Number.isInteger));
  const level = (w: number) => (v: string) => {
    const lo = Math.floor(Number(v) / w) * w;
    return integers ? `${lo}-${lo + w - 1}` : `[${lo}, ${lo + w})`;
  };
  return fromLevels(values, [...widths.map(level), () => '*']);
}

/** Age bands: 5, 10 and 20 years by default (`0-4`, `0-9`, `0-19`), then `*`. */
export function ageHierarchy(values: string[], bands: number[] = [5, 10, 20]): Hierarchy {
  return intervalHierarchy(values, bands, { integerLabels: true });
}

/** Dates `YYYY-MM-DD` (a time part is ignored): day → month `YYYY-MM` → quarter `YYYY-Qn` → year → `*`. */
export function dateHierarchy(values: string[]): Hierarchy {
  const re = /^(\d{4})-(\d{2})-(\d{2})/;
  const bad = uniqueValues(values).filter((v) => !re.test(v)).length;
  if (bad > 0) throw invalid(`date hierarchy: expected YYYY-MM-DD, found ${bad} distinct value(s) in another format`, { count: bad });
  const m = (v: string) => re.exec(v)!;
  return fromLevels(values, [
    (v) => `${m(v)[1]}-${m(v)[2]}`,
    (v) => `${m(v)[1]}-Q${Math.floor((Number(m(v)[2]) - 1) / 3) + 1}`,
    (v) => m(v)[1]!,
    () => '*',
  ]);
}

/**
 * The 6-digit administrative area code (the first six digits of an ID number):
 * county `331002` → city `331000` → province `330000` → `*`.
 */
export function areaCodeHierarchy(values: string[]): Hierarchy {
  const bad = uniqueValues(values).filter((v) => !/^\d{6}$/.test(v)).length;
  if (bad > 0) throw invalid(`area-code hierarchy: expected 6 digits, found ${bad} distinct value(s) in another format`, { count: bad });
  return fromLevels(values, [(v) => v.slice(0, 4) + '00', (v) => v.slice(0, 2) + '0000', () => '*']);
}

const ADDRESS_RE = /^(.+?省)(.+?市)(.+?(?:区|县|市))(.+?(?:街道|镇|乡))(.+?(?:社区|村|居委会))(.+号)$/u;

/**
 * Chinese addresses `<province>省<city>市<county 区/县/市><street 街道/镇/乡><community 社区/村/居委会><house>号`
 * (e.g. 浙江省台州市…): house (raw) → community → street → county → city → `*`.
 * Each level keeps the prefix down to that unit.
 */
export function addressHierarchy(values: string[]): Hierarchy {
  const bad = uniqueValues(values).filter((v) => !ADDRESS_RE.test(v)).length;
  if (bad > 0) {
    throw invalid(`address hierarchy: expected 省/市/county/street/community/号 form, found ${bad} distinct value(s) that do not parse`, {
      count: bad,
    });
  }
  const parts = (v: string) => ADDRESS_RE.exec(v)!.slice(1);
  const upto = (k: number) => (v: string) => parts(v).slice(0, k).join('');
  return fromLevels(values, [upto(5), upto(4), upto(3), upto(2), () => '*']);
}

/**
 * Ordered categories: `order` lists every category in order; level i merges
 * runs of `fanouts[0] * … * fanouts[i-1]` adjacent categories into one labelled
 * `first~last`; the top level is `*`. Values absent from `order` are an error.
 */
export function orderedHierarchy(values: string[], order: string[], fanouts: number[]): Hierarchy {
  const pos = new Map(order.map((v, i) => [v, i]));
  if (pos.size !== order.length) throw invalid('ordered hierarchy: order lists a category twice');
  const missing = uniqueValues(values).filter((v) => !pos.has(v)).length;
  if (missing > 0) throw invalid(`ordered hierarchy: ${missing} distinct value(s) are not listed in order`, { count: missing });
  if (fanouts.length === 0 || fanouts.some((f) => !Number.isInteger(f) || f < 2)) {
    throw invalid('ordered hierarchy: fanouts must be integers ≥ 2 (at least one)');
  }
  let size = 1;
  const fns = fanouts.map((f) => {
    size *= f;
    const s = size;
    return (v: string) => {
      const start = Math.floor(pos.get(v)! / s) * s;
      const end = Math.min(start + s, order.length) - 1;
      return start === end ? order[start]! : `${order[start]}~${order[end]}`;
    };
  });
  return fromLevels(values, [...fns, () => '*']);
}

/**
 * Unordered categories: explicit `groups` (group label → member values), then
 * `*`. Every value must belong to exactly one group.
 */
export function unorderedHierarchy(values: string[], groups: Record<string, string[]>): Hierarchy {
  const parent = new Map<string, string>();
  for (const [g, members] of Object.entries(groups)) {
    for (const m of members) {
      if (parent.has(m)) throw invalid(`unordered hierarchy: a value is listed in two groups (second: group ${Object.keys(groups).indexOf(g) + 1})`);
      parent.set(m, g);
    }
  }
  const missing = uniqueValues(values).filter((v) => !parent.has(v)).length;
  if (missing > 0) throw invalid(`unordered hierarchy: ${missing} distinct value(s) belong to no group`, { count: missing });
  return fromLevels(values, [(v) => parent.get(v)!, () => '*']);
}
