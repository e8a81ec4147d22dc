/**
 * Seeded, reproducible sampling compiled to DuckDB SQL. Every method decides
 * on a row from a 64-bit hash of (seed, row key) only, so the same input and
 * seed select the same rows whatever the thread count or scan order. The row
 * key is `keyColumns` when given, otherwise the whole row. DuckDB's `hash` is
 * stable within a DuckDB version; a different DuckDB version may choose a
 * different (equally valid) sample.
 */
import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';
import { quoteIdent } from '../lib/duck.js';
import { seedMix } from './mask.js';

const seed = z.int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const keyColumns = z.array(z.string().min(1)).min(1).optional();
const fraction = z.number().min(0).max(1);

/** The sampling spec, validated at boundaries. */
export const SampleSpecSchema = z.discriminatedUnion('method', [
  /** Each row kept independently with probability `fraction`. */
  z.strictObject({ method: z.literal('bernoulli'), fraction, seed, keyColumns }),
  /** Exactly `size` rows (all if fewer): the rows with the smallest seeded hashes. */
  z.strictObject({ method: z.literal('fixed'), size: z.int().min(0).max(Number.MAX_SAFE_INTEGER), seed, keyColumns }),
  /**
   * Per stratum of `by`, round(fraction · n) rows but at least
   * min(minPerStratum, n), chosen by smallest seeded hash.
   */
  z.strictObject({
    method: z.literal('stratified'),
    by: z.array(z.string().min(1)).min(1),
    fraction,
    minPerStratum: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
    seed,
    keyColumns,
  }),
]);

/** A sampling spec: `bernoulli`, `fixed` (reservoir-equivalent) or `stratified`. */
export type SampleSpec = z.infer<typeof SampleSpecSchema>;

const SRC = '__sluice_src';
const H = '__sluice_h';
const T = '__sluice_t';
const RANK = '__sluice_rank';
const N = '__sluice_n';

/**
 * The seeded 64-bit row hash (UBIGINT). DuckDB combines the hashes of several
 * arguments linearly (a different seed would only XOR a constant into every
 * row's hash, keeping the same order), so the seed is mixed into the key's
 * hash and the result hashed again.
 */
function rowHash(keyCols: readonly string[] | undefined, mix: string): string {
  const key = keyCols ? keyCols.map(quoteIdent).join(', ') : SRC;
  return `hash(xor(hash(${key}), ${mix}))`;
}

/** The UBIGINT threshold T with T / 2^64 = fraction (to 53 bits): P(hash < T) = fraction. */
function threshold(frac: number): bigint {
  return BigInt(Math.floor(frac * 2 ** 53)) << 11n;
}

/**
 * Compiles a sample of the rows of `sourceSql` (a query such as
 * `SELECT * FROM t` or `FROM read_parquet('…')`, used as a subquery) to one
 * SELECT returning the same columns. Throws SLUICE_ERR_TRANSFORM_INVALID on an invalid spec.
 *
 * - bernoulli: rows with seeded hash below fraction · 2^64 (size ~ Binomial(n, fraction));
 * - fixed: the `size` rows with the smallest seeded hash, ties broken by a hash
 *   of the whole row (equivalent to a seeded reservoir sample; exact size);
 * - stratified: per stratum the round(fraction · n) rows with the smallest
 *   seeded hash, at least min(minPerStratum, n).
 */
export function compileSample(sourceSql: string, spec: SampleSpec): string {
  const r = SampleSpecSchema.safeParse(spec);
  if (!r.success) {
    const what = r.error.issues.map((i) => `${['sample', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
    throw new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', `invalid sample spec: ${what}`);
  }
  const s = r.data;
  const from = `(${sourceSql}) AS ${SRC}`;
  const h = rowHash(s.keyColumns, seedMix(`sample/${s.method}`, s.seed));
  switch (s.method) {
    case 'bernoulli': {
      if (s.fraction >= 1) return `SELECT ${SRC}.* FROM ${from}`;
      return `SELECT ${SRC}.* FROM ${from} WHERE ${h} < ${threshold(s.fraction)}::UBIGINT`;
    }
    case 'fixed':
      return (
        `SELECT * EXCLUDE (${H}, ${T}) FROM (SELECT ${SRC}.*, ${h} AS ${H}, hash(${SRC}) AS ${T} FROM ${from}) ` +
        `ORDER BY ${H}, ${T} LIMIT ${s.size}`
      );
    case 'stratified': {
      const by = s.by.map(quoteIdent).join(', ');
      const ranked =
        `SELECT *, row_number() OVER (PARTITION BY ${by} ORDER BY ${H}, ${T}) AS ${RANK}, count(*) OVER (PARTITION BY ${by}) AS ${N} ` +
        `FROM (SELECT ${SRC}.*, ${h} AS ${H}, hash(${SRC}) AS ${T} FROM ${from})`;
      return (
        `SELECT * EXCLUDE (${H}, ${T}, ${RANK}, ${N}) FROM (${ranked}) ` +
        `WHERE ${RANK} <= greatest(round(${s.fraction} * ${N}), least(${s.minPerStratum}, ${N}))`
      );
    }
  }
}
