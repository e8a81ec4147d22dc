/**
 * The UCI Adult table as ARX ships it (`adult.csv`, `;`-separated, header
 * row, 30,162 rows, 9 columns), read from lib/shared-data.ts's ADULT_DIR
 * (`$SLUICE_ADULT_DIR`, else `shared/data/adult/` beside the repository), for
 * the comparisons about Adult itself and the benches; and its synthetic
 * stand-in (synthetic/adult-like.ts), which the trainers' and the model
 * audit's tests run on, encoded the same way.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../lib/errors.js';
import { ADULT_DIR } from '../lib/shared-data.js';
import { adultLikeRows, generateAdultLike, type AdultLikeOptions } from '../synthetic/adult-like.js';
import type { Dataset } from './dataset.js';
import { encode, fitEncoding } from './encode.js';
import type { EncodingSchema } from './encode.js';

/** Columns of Adult read as numbers; every other column is a string. */
export const ADULT_NUMERIC = ['age'] as const;

/** The path of adult.csv: `$SLUICE_ADULT_DIR/adult.csv` or the repository-relative default. */
export function adultPath(): string {
  return join(ADULT_DIR, 'adult.csv');
}

/**
 * Reads Adult: one object per row keyed by the header's column names, `age`
 * as a number, the rest as strings. Throws SLUICE_ERR_DATA_INVALID when the
 * file is missing (naming the path) or a row has the wrong number of fields
 * or a non-numeric age (naming the line).
 */
export async function loadAdult(): Promise<{ rows: Record<string, string | number>[]; columns: string[] }> {
  const path = adultPath();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_DATA_INVALID', `adult: cannot read ${path} (set SLUICE_ADULT_DIR to the folder holding adult.csv)`, { cause: e });
  }
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const columns = (lines[0] ?? '').split(';');
  const numeric = new Set<string>(ADULT_NUMERIC);
  const rows = lines.slice(1).map((line, r) => {
    const fields = line.split(';');
    if (fields.length !== columns.length) {
      throw new SluiceError('SLUICE_ERR_DATA_INVALID', `adult: line ${r + 2} has ${fields.length} fields; expected ${columns.length}`);
    }
    const row: Record<string, string | number> = {};
    columns.forEach((c, j) => {
      const v = fields[j]!;
      if (numeric.has(c)) {
        const x = Number(v);
        if (v.trim() === '' || !Number.isFinite(x)) throw new SluiceError('SLUICE_ERR_DATA_INVALID', `adult: line ${r + 2} column ${c} is not a number`);
        row[c] = x;
      } else row[c] = v;
    });
    return row;
  });
  return { rows, columns };
}

/** How to encode Adult (or an Adult-like table) for training. */
export interface AdultEncodingOptions {
  /** The column to predict; default 'salary-class'. */
  target?: string;
  /** Standardize `age` (default true). */
  standardize?: boolean;
}

/**
 * Encodes rows with Adult's columns for training: `age` numeric (standardized
 * unless `standardize: false`), every other column but the target one-hot, the
 * target's classes sorted. The encoding is fitted on all rows (so no category
 * is unseen in a later split). Default target 'salary-class'.
 */
export function encodeAdult(
  rows: Record<string, string | number>[],
  columns: string[],
  opts: AdultEncodingOptions = {},
): { dataset: Dataset; schema: EncodingSchema; rows: Record<string, string | number>[] } {
  const target = opts.target ?? 'salary-class';
  if (!columns.includes(target)) throw new SluiceError('SLUICE_ERR_MODEL_INVALID', `adult: target column ${JSON.stringify(target)} is not one of Adult's columns`);
  const numeric = ADULT_NUMERIC.filter((c) => c !== target);
  const categorical = columns.filter((c) => c !== target && !(numeric as string[]).includes(c));
  const schema = fitEncoding(rows, { target, numeric: [...numeric], categorical, standardize: opts.standardize ?? true });
  return { dataset: encode(rows, schema), schema, rows };
}

/** UCI Adult (read with loadAdult) encoded for training by encodeAdult. */
export async function adultDataset(
  opts: AdultEncodingOptions = {},
): Promise<{ dataset: Dataset; schema: EncodingSchema; rows: Record<string, string | number>[] }> {
  const { rows, columns } = await loadAdult();
  return encodeAdult(rows, columns, opts);
}

/**
 * A generated Adult-like table (synthetic/adult-like.ts: `rows`, default
 * 30,162, from `seed`, default 1) encoded for training by encodeAdult, as
 * adultDataset encodes Adult: what the trainers' tests run on.
 */
export function adultLikeDataset(
  opts: AdultEncodingOptions & AdultLikeOptions = {},
): { dataset: Dataset; schema: EncodingSchema; rows: Record<string, string | number>[] } {
  const gen: AdultLikeOptions = {};
  if (opts.rows !== undefined) gen.rows = opts.rows;
  if (opts.seed !== undefined) gen.seed = opts.seed;
  const table = generateAdultLike(gen);
  return encodeAdult(adultLikeRows(table), [...table.header], opts);
}
