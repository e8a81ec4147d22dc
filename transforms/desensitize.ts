/**
 * Compiles a table's per-column desensitization treatments into one DuckDB
 * SELECT, and says what each output column has become (its label).
 */
import { createHmac } from 'node:crypto';
import { SluiceError } from '../lib/errors.js';
import { quoteIdent } from '../lib/duck.js';
import { compileDateShift, compileMask, compileNoise, compileRedact, compileTruncate } from './mask.js';
import { compileTokenize } from './tokenize.js';
import {
  ageBandFromBirthDate,
  compileAddressGeneralize,
  compileAreaCodeGeneralize,
  compileDateGeneralize,
  compileGeneralize,
} from './generalize-sql.js';
import { parseColumnTreatment, type ColumnTreatment, type GeneralizeHierarchy, type GeneralizeLevel } from './treatment-schema.js';

/** A column of the input or output table: name and DuckDB type (e.g. `VARCHAR`, `DECIMAL(10,2)`). */
export interface TableColumn {
  name: string;
  type: string;
}

/** The label an output column carries (see lib/vocabulary.ts). */
export type DesensitizeLabel = 'masked' | 'token' | 'generalized' | 'derived' | 'raw';

/** The input of {@link compileDesensitize}. */
export interface DesensitizeInput {
  /** SQL of the source relation as a query: `SELECT * FROM t`, `FROM read_parquet('…')`; it is used as a subquery. */
  sourceSql: string;
  /** Its columns, in order, with DuckDB types. */
  columns: TableColumn[];
}

/** Secret and reproducibility context of {@link compileDesensitize}. */
export interface DesensitizeContext {
  /** The agreement's key (≥ 16 bytes): tokens, date shifts and noise salts derive from it. */
  key: Buffer;
  /** Seed of the noise (safe integer). */
  seed: number;
  /** Reference date YYYY-MM-DD for age bands of birth dates; required only by them. */
  asOf?: string;
}

/** What {@link compileDesensitize} returns. */
export interface DesensitizeResult {
  /** One SELECT producing the output columns in input order, dropped ones left out. */
  sql: string;
  /** The output columns with their DuckDB types and labels. */
  columns: (TableColumn & { label: DesensitizeLabel })[];
  /** Names of the dropped columns, in input order. */
  dropped: string[];
}

type TypeKind = 'string' | 'integer' | 'decimal' | 'date' | 'timestamp' | 'boolean' | 'nested' | 'other';

const INTEGER_TYPES = new Set([
  'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT',
  'INT1', 'INT2', 'INT4', 'INT8', 'INT', 'SHORT', 'LONG', 'SIGNED', 'INT16', 'INT32', 'INT64', 'INT128',
]);
const DECIMAL_TYPES = new Set(['FLOAT', 'DOUBLE', 'REAL', 'FLOAT4', 'FLOAT8', 'DECIMAL', 'NUMERIC']);
const STRING_TYPES = new Set(['VARCHAR', 'TEXT', 'STRING', 'CHAR', 'BPCHAR']);
const TIMESTAMP_TYPES = new Set([
  'TIMESTAMP', 'DATETIME', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'TIMESTAMP_US',
  'TIMESTAMPTZ', 'TIMESTAMP WITH TIME ZONE',
]);

/** Classifies a DuckDB type name (aliases included; parameters such as `(10,2)` ignored). */
function typeKind(type: string): TypeKind {
  const t = type.trim().toUpperCase();
  if (t.endsWith(']') || /^(STRUCT|MAP|UNION|LIST|ARRAY)\b/.test(t)) return 'nested';
  const base = t.replace(/\s*\(.*\)$/, '');
  if (STRING_TYPES.has(base)) return 'string';
  if (INTEGER_TYPES.has(base)) return 'integer';
  if (DECIMAL_TYPES.has(base)) return 'decimal';
  if (base === 'DATE') return 'date';
  if (TIMESTAMP_TYPES.has(base)) return 'timestamp';
  if (base === 'BOOLEAN' || base === 'BOOL' || base === 'LOGICAL') return 'boolean';
  return 'other';
}

function invalid(message: string, details: Record<string, unknown>): SluiceError {
  return new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', message, { details });
}

function misfit(column: string, treatment: string, type: string, expected: string): SluiceError {
  return invalid(
    `column "${column}": treatment '${treatment}' needs ${expected}, found type ${type}`,
    { column, treatment, type },
  );
}

/** A salt for one column's noise: secret (from the key) and different per column. */
function noiseSalt(key: Buffer, column: string): Buffer {
  return createHmac('sha256', key).update(`sluice/noise/${column}`, 'utf8').digest();
}

const SRC = '__sluice_src';

/** The hierarchies each generalization level belongs to. */
const LEVEL_HIERARCHIES: Record<Exclude<GeneralizeLevel, '*'>, readonly GeneralizeHierarchy[]> = {
  month: ['date'],
  quarter: ['date'],
  year: ['date'],
  band5: ['number'],
  band10: ['number'],
  band20: ['number'],
  interval: ['number'],
  community: ['address'],
  street: ['address'],
  county: ['area-code', 'address'],
  city: ['area-code', 'address'],
  province: ['area-code', 'address'],
};

/**
 * Compiles per-column treatments into one SELECT over `input.sourceSql`.
 * Columns without a treatment pass through unchanged with label `raw` (so do
 * `none` columns). Labels: mask/redact/truncate → masked, tokenize → token,
 * generalize → generalized, noise/shift-date → derived. Output types: VARCHAR
 * for mask, redact, truncate, tokenize and generalize; BIGINT (integer
 * input) or DOUBLE for noise; unchanged for shift-date and none.
 *
 * Generalize by type: DATE/TIMESTAMP take month/quarter/year (and band5/10/20
 * or interval as the age at `ctx.asOf`, in years); numbers take bands and
 * intervals; VARCHAR takes community/street/county/city/province (area code or
 * address, see compileGeneralize); `*` fits any type.
 *
 * Throws SLUICE_ERR_TRANSFORM_INVALID for: a treatment naming a column that
 * is not in the input; an invalid treatment; a treatment that does not fit the
 * column's type (the message names column, treatment and type found); a
 * missing `personColumn` or `asOf`; every column dropped.
 */
export function compileDesensitize(
  input: DesensitizeInput,
  treatments: Record<string, ColumnTreatment>,
  ctx: DesensitizeContext,
): DesensitizeResult {
  const byName = new Map<string, TableColumn>();
  for (const c of input.columns) {
    if (byName.has(c.name)) throw invalid(`input column "${c.name}" appears more than once`, { column: c.name });
    byName.set(c.name, c);
  }
  for (const name of Object.keys(treatments)) {
    if (!byName.has(name)) throw invalid(`treatment names column "${name}", which is not in the input`, { column: name });
  }
  if (!Number.isSafeInteger(ctx.seed)) throw invalid('ctx.seed must be a safe integer', { field: 'seed' });
  if (!Buffer.isBuffer(ctx.key) || ctx.key.length < 16) throw invalid('ctx.key must be a Buffer of at least 16 bytes', { field: 'key' });

  const select: string[] = [];
  const columns: DesensitizeResult['columns'] = [];
  const dropped: string[] = [];
  for (const col of input.columns) {
    const raw = treatments[col.name];
    const t: ColumnTreatment = raw === undefined ? { treatment: 'none' } : parseColumnTreatment(col.name, raw);
    const ref = `${SRC}.${quoteIdent(col.name)}`;
    const kind = typeKind(col.type);
    const out = (expr: string, type: string, label: DesensitizeLabel): void => {
      select.push(`${expr} AS ${quoteIdent(col.name)}`);
      columns.push({ name: col.name, type, label });
    };
    const need = (ok: boolean, expected: string): void => {
      if (!ok) throw misfit(col.name, t.treatment === 'generalize' ? `generalize ${t.level}` : t.treatment, col.type, expected);
    };
    switch (t.treatment) {
      case 'none':
        out(ref, col.type, 'raw');
        break;
      case 'drop':
        dropped.push(col.name);
        break;
      case 'mask': {
        need(kind === 'string' || kind === 'integer', 'a text or integer column');
        const opts = {
          ...(t.keepStart !== undefined && { keepStart: t.keepStart }),
          ...(t.keepEnd !== undefined && { keepEnd: t.keepEnd }),
          ...(t.maskChar !== undefined && { maskChar: t.maskChar }),
          ...(t.keepSeparators !== undefined && { keepSeparators: t.keepSeparators }),
        };
        out(compileMask(ref, opts), 'VARCHAR', 'masked');
        break;
      }
      case 'redact':
        need(kind !== 'nested', 'a scalar column');
        out(compileRedact(ref, t.with), 'VARCHAR', 'masked');
        break;
      case 'truncate':
        need(kind === 'string', 'a text column');
        out(compileTruncate(ref, t.length), 'VARCHAR', 'masked');
        break;
      case 'tokenize':
        need(kind !== 'nested', 'a scalar column');
        out(compileTokenize(ref, ctx.key, t.length === undefined ? {} : { length: t.length }), 'VARCHAR', 'token');
        break;
      case 'noise': {
        need(kind === 'integer' || kind === 'decimal', 'a numeric column');
        const integer = kind === 'integer';
        const expr = compileNoise(ref, {
          scale: t.scale,
          distribution: t.distribution ?? 'laplace',
          seed: ctx.seed,
          rowKey: SRC,
          salt: noiseSalt(ctx.key, col.name),
          integer,
        });
        out(expr, integer ? 'BIGINT' : 'DOUBLE', 'derived');
        break;
      }
      case 'shift-date': {
        need(kind === 'date' || kind === 'timestamp', 'a DATE or TIMESTAMP column');
        const person = byName.get(t.personColumn);
        if (!person) {
          throw invalid(`column "${col.name}": personColumn "${t.personColumn}" is not in the input`, { column: col.name, personColumn: t.personColumn });
        }
        const expr = compileDateShift(ref, `${SRC}.${quoteIdent(person.name)}`, {
          maxDays: t.maxDays,
          key: ctx.key,
          kind: kind === 'date' ? 'date' : 'timestamp',
        });
        out(expr, col.type, 'derived');
        break;
      }
      case 'generalize': {
        const { level, hierarchy } = t;
        if (level === '*') {
          out(compileGeneralize(ref, '*'), 'VARCHAR', 'generalized');
          break;
        }
        if (hierarchy !== undefined && !LEVEL_HIERARCHIES[level].includes(hierarchy)) {
          throw invalid(
            `column "${col.name}": generalize level '${level}' does not belong to hierarchy '${hierarchy}' (expected ${LEVEL_HIERARCHIES[level].join(' or ')})`,
            { column: col.name, level, hierarchy },
          );
        }
        const isTime = kind === 'date' || kind === 'timestamp';
        const isNumber = kind === 'integer' || kind === 'decimal';
        let expr: string;
        if (level === 'month' || level === 'quarter' || level === 'year') {
          need(isTime, 'a DATE or TIMESTAMP column');
          expr = compileDateGeneralize(ref, level);
        } else if (level === 'band5' || level === 'band10' || level === 'band20' || level === 'interval') {
          need(isTime || isNumber, 'a numeric column or a DATE/TIMESTAMP birth date');
          const width = level === 'interval' ? (t.width ?? 0) : Number(level.slice('band'.length));
          if (isTime) {
            if (ctx.asOf === undefined) {
              throw invalid(`column "${col.name}": treatment 'generalize ${level}' on a birth date needs ctx.asOf`, { column: col.name });
            }
            expr = ageBandFromBirthDate(ref, width, ctx.asOf);
          } else {
            expr = compileGeneralize(ref, level, { width, integer: kind === 'integer' });
          }
        } else if (hierarchy === 'address' || level === 'community' || level === 'street') {
          need(kind === 'string', 'a text address column');
          expr = compileAddressGeneralize(ref, level);
        } else if (hierarchy === 'area-code' || kind === 'integer') {
          need(kind === 'string' || kind === 'integer', 'a text or integer area-code column');
          expr = compileAreaCodeGeneralize(ref, level);
        } else {
          need(kind === 'string', 'a text column (area code or address) or an integer area code');
          expr = compileGeneralize(ref, level);
        }
        out(expr, 'VARCHAR', 'generalized');
        break;
      }
    }
  }
  if (select.length === 0) throw invalid('every column is dropped: the output would have no columns', { dropped: dropped.length });
  return { sql: `SELECT ${select.join(', ')} FROM (${input.sourceSql}) AS ${SRC}`, columns, dropped };
}
