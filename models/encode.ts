/**
 * Feature encoding for the trainers: numeric columns standardized (z-scores,
 * like scikit-learn's StandardScaler: population standard deviation) and
 * categorical columns one-hot encoded, with the target mapped to class
 * indices. The fitted {@link EncodingSchema} is plain JSON and travels inside
 * the model artifact, so inference encodes exactly as training did.
 */
import { SluiceError } from '../lib/errors.js';
import type { Dataset, FeatureInfo } from './dataset.js';

/** A table given column-wise: column name → values (all of one length). */
export type ColumnarTable = Record<string, ArrayLike<unknown>>;

/** Everything needed to encode a table the same way again. Plain JSON. */
export interface EncodingSchema {
  /** The encoded columns, in matrix order: numeric columns first, then each categorical column's one-hot block. */
  features: FeatureInfo[];
  /** Numeric columns with the mean and (population) standard deviation used to standardize them (0 and 1 when not standardized). */
  numeric: { column: string; mean: number; std: number }[];
  /** Categorical columns with their categories (sorted), one one-hot column each. */
  categorical: { column: string; categories: string[] }[];
  /** The target column and its classes (sorted); class index = position. */
  target: { column: string; classes: string[] };
}

/** Options of {@link fitEncoding}. */
export interface FitEncodingOptions {
  /** The target (label) column. */
  target: string;
  /** Columns encoded as numbers. */
  numeric: string[];
  /** Columns one-hot encoded. */
  categorical: string[];
  /** Standardize numeric columns to mean 0, standard deviation 1. Default true. */
  standardize?: boolean;
}

function invalid(message: string, details?: Record<string, unknown>): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', message, details ? { details } : {});
}

/** Column access over either table form; never copies the data. */
interface ColumnReader {
  n: number;
  has(column: string): boolean;
  get(column: string, i: number): unknown;
}

function reader(table: Record<string, unknown>[] | ColumnarTable): ColumnReader {
  if (Array.isArray(table)) {
    const rows = table;
    return {
      n: rows.length,
      has: (c) => rows.length === 0 || rows.some((r) => r !== null && typeof r === 'object' && c in r),
      get: (c, i) => rows[i]?.[c],
    };
  }
  if (table === null || typeof table !== 'object') throw invalid('encode: table must be an array of rows or an object of columns');
  const cols = table;
  let n = -1;
  for (const [name, values] of Object.entries(cols)) {
    const len = values?.length;
    if (typeof len !== 'number') throw invalid(`encode: column ${JSON.stringify(name)} is not an array`);
    if (n >= 0 && len !== n) {
      throw invalid(`encode: column ${JSON.stringify(name)} has ${len} values; expected ${n}`, { column: name, found: len, expected: n });
    }
    n = len;
  }
  return { n: Math.max(n, 0), has: (c) => c in cols, get: (c, i) => cols[c]![i] };
}

/** A categorical value as the string the schema stores; null/undefined/'' mean "missing". */
function category(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = typeof v === 'string' ? v : String(v);
  return s === '' ? null : s;
}

function numberAt(r: ColumnReader, column: string, i: number): number {
  const v = r.get(column, i);
  const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(x)) {
    // Row index and type only: the value itself may be personal data.
    throw invalid(`encode: numeric column ${JSON.stringify(column)} row ${i}: expected a finite number, found ${v === null ? 'null' : typeof v}`, {
      column,
      row: i,
    });
  }
  return x;
}

function requireColumns(r: ColumnReader, columns: string[], where: string): void {
  for (const c of columns) {
    if (!r.has(c)) throw invalid(`${where}: column ${JSON.stringify(c)} is missing from the table`, { column: c });
  }
}

/**
 * Learns an encoding from a table: each numeric column's mean and population
 * standard deviation (with `standardize`, default true; a constant column gets
 * std 1), each categorical column's sorted distinct values (missing values —
 * null, undefined, '' — are not categories), and the target's sorted classes.
 * Throws SLUICE_ERR_MODEL_INVALID when a column is missing, a column is listed
 * twice, the target is also a feature, or a numeric value is not a finite
 * number (the message names the column and row, never the value).
 */
export function fitEncoding(rows: Record<string, unknown>[] | ColumnarTable, opts: FitEncodingOptions): EncodingSchema {
  const r = reader(rows);
  const all = [opts.target, ...opts.numeric, ...opts.categorical];
  const seen = new Set<string>();
  for (const c of all) {
    if (typeof c !== 'string') throw invalid('fitEncoding: column names must be strings');
    if (seen.has(c)) throw invalid(`fitEncoding: column ${JSON.stringify(c)} is listed twice (target, numeric and categorical must be disjoint)`);
    seen.add(c);
  }
  requireColumns(r, all, 'fitEncoding');
  if (r.n === 0) throw invalid('fitEncoding: the table has no rows');
  const standardize = opts.standardize ?? true;

  const numeric = opts.numeric.map((column) => {
    if (!standardize) {
      for (let i = 0; i < r.n; i++) numberAt(r, column, i);
      return { column, mean: 0, std: 1 };
    }
    let mean = 0;
    for (let i = 0; i < r.n; i++) mean += numberAt(r, column, i);
    mean /= r.n;
    let ss = 0;
    for (let i = 0; i < r.n; i++) {
      const dx = numberAt(r, column, i) - mean;
      ss += dx * dx;
    }
    const std = Math.sqrt(ss / r.n);
    return { column, mean, std: std > 0 ? std : 1 };
  });

  const distinct = (column: string): string[] => {
    const s = new Set<string>();
    for (let i = 0; i < r.n; i++) {
      const v = category(r.get(column, i));
      if (v !== null) s.add(v);
    }
    return [...s].sort();
  };
  const categorical = opts.categorical.map((column) => ({ column, categories: distinct(column) }));
  const classes = distinct(opts.target);
  if (classes.length < 2) {
    throw invalid(`fitEncoding: target ${JSON.stringify(opts.target)} has ${classes.length} class(es); at least 2 are needed`, {
      column: opts.target,
      classes: classes.length,
    });
  }

  const features: FeatureInfo[] = [
    ...numeric.map((c): FeatureInfo => ({ name: c.column, source: c.column, kind: 'numeric' })),
    ...categorical.flatMap((c) =>
      c.categories.map((cat): FeatureInfo => ({ name: `${c.column}=${cat}`, source: c.column, kind: 'one-hot', category: cat })),
    ),
  ];
  return { features, numeric, categorical, target: { column: opts.target, classes } };
}

/**
 * Encodes the feature columns of a table with a fitted schema into a row-major
 * n×d matrix (d = schema.features.length). A category not seen at fit time,
 * or a missing one, encodes as an all-zero one-hot block. The target column is
 * not needed. Throws SLUICE_ERR_MODEL_INVALID for a missing column or a
 * non-finite numeric value.
 */
export function encodeFeatures(table: Record<string, unknown>[] | ColumnarTable, schema: EncodingSchema): { n: number; d: number; X: Float64Array } {
  const r = reader(table);
  requireColumns(r, [...schema.numeric.map((c) => c.column), ...schema.categorical.map((c) => c.column)], 'encode');
  const d = schema.features.length;
  const X = new Float64Array(r.n * d);
  let offset = 0;
  for (const { column, mean, std } of schema.numeric) {
    for (let i = 0; i < r.n; i++) X[i * d + offset] = (numberAt(r, column, i) - mean) / std;
    offset++;
  }
  for (const { column, categories } of schema.categorical) {
    const index = new Map(categories.map((c, j) => [c, j]));
    for (let i = 0; i < r.n; i++) {
      const v = category(r.get(column, i));
      const j = v === null ? undefined : index.get(v);
      if (j !== undefined) X[i * d + offset + j] = 1;
    }
    offset += categories.length;
  }
  if (offset !== d) throw invalid(`encode: the schema lists ${d} features but its columns encode to ${offset}`);
  return { n: r.n, d, X };
}

/**
 * Encodes a table (features and target) with a fitted schema into a
 * {@link Dataset}. Unseen categories encode as an all-zero one-hot block.
 * Throws SLUICE_ERR_MODEL_INVALID when the target column is missing or a row's
 * target is not one of the schema's classes (the message names the row, not
 * the value); use {@link encodeFeatures} for tables without a target.
 */
export function encode(table: Record<string, unknown>[] | ColumnarTable, schema: EncodingSchema): Dataset {
  const { n, d, X } = encodeFeatures(table, schema);
  const r = reader(table);
  const target = schema.target.column;
  requireColumns(r, [target], 'encode');
  const index = new Map(schema.target.classes.map((c, j) => [c, j]));
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = category(r.get(target, i));
    const j = v === null ? undefined : index.get(v);
    if (j === undefined) {
      throw invalid(`encode: target ${JSON.stringify(target)} row ${i} is not one of the schema's ${schema.target.classes.length} classes`, {
        column: target,
        row: i,
      });
    }
    y[i] = j;
  }
  return { n, d, X, y, classes: [...schema.target.classes], features: schema.features.map((f) => ({ ...f })) };
}
