// Over 500 lines because the generator's datasets share their dictionaries and check-digit SQL; one seed drives all of them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDuck, queryJson, quoteLiteral } from '../lib/duck.js';
import { SluiceError } from '../lib/errors.js';
import type { ColumnClass } from '../lib/vocabulary.js';
import {
  CREDIT_CODE_ALPHABET,
  CREDIT_CODE_WEIGHTS,
  ORGANIZATION_CODE_WEIGHTS,
  RESIDENT_ID_CHECK_CHARS,
  RESIDENT_ID_WEIGHTS,
  TAIZHOU_AREAS,
} from '../transforms/identifiers.js';
import { buildDictionaries, type Weighted } from './build-dictionaries.js';
import {
  CITY_HOSPITALS,
  CONTRIBUTION_BASE_BY_INCOME,
  CONTRIBUTION_BASE_RANGE,
  EDUCATION_BY_AGE,
  EMPLOYEE_OCCUPATIONS,
  EVENT_WINDOW_START,
  ICD10_CHAPTERS,
  ICD10_WEIGHTS_BY_GROUP,
  INCOME_BY_OCCUPATION,
  INDUSTRIES,
  MALE_SHARE,
  MARITAL_BY_AGE,
  MOBILE_PREFIXES,
  OCCUPATION_BY_AGE,
  POLICY_RATE_BY_AGE,
  PRODUCTS_BY_AGE,
  REFERENCE_DATE,
  VISIT_RATE_BY_AGE,
  singleYearAgeWeights,
  type Categorical,
} from './distributions.js';

/** The datasets {@link generate} writes, in the order it writes them. */
export const DATASET_NAMES = ['population', 'enterprises', 'medical_visits', 'insurance_payments', 'insurer_policies'] as const;

/** Name of a generated dataset. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** One column of a generated dataset (structurally a domain `DatasetColumn`). */
export interface GeneratedColumn {
  name: string;
  /** DuckDB type name as DESCRIBE reports it, e.g. VARCHAR, DATE, DOUBLE, INTEGER. */
  type: string;
  class: ColumnClass;
}

/** One generated Parquet file and what a provider would register about it. */
export interface GeneratedDataset {
  name: DatasetName;
  /** Absolute path of the Parquet file (`<outDir>/<name>.parquet`). */
  file: string;
  rows: number;
  /** `public` for the four authorities' datasets, `social` for the insurer's. */
  origin: 'public' | 'social';
  provider: string;
  /** Column that identifies the person or enterprise a row is about. */
  unitColumn: string;
  columns: GeneratedColumn[];
  /** sha256 (hex) of the file's bytes. */
  sha256: string;
}

/** What {@link generate} returns. */
export interface GeneratedManifest {
  seed: number;
  /** The requested population size. */
  rows: number;
  /** The date ages are measured at (ISO); events fall in 2024-01-01 … this date. */
  referenceDate: string;
  datasets: GeneratedDataset[];
}

/** Progress of {@link generate}: `done` of `total` rows of `dataset` are written. */
export interface GenerateProgress {
  dataset: DatasetName;
  done: number;
  total: number;
}

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Directory the Parquet files are written to; created when missing. Existing files of the same names are replaced. */
  outDir: string;
  /** Number of residents in `population` (≥ 1); the other datasets scale with it. */
  rows: number;
  /** Seed (a safe integer); the same seed and rows give byte-identical files. */
  seed: number;
  /** Called when a dataset starts (`done` 0) and when its file is in place (`done` = `total`). */
  onProgress?: (p: GenerateProgress) => void;
}

interface DatasetSpec {
  name: DatasetName;
  table: string;
  /** Columns computed while writing, as SQL over the table (record ids from the row position). */
  derived?: Record<string, string>;
  origin: 'public' | 'social';
  provider: string;
  unitColumn: string;
  columns: ReadonlyArray<readonly [string, ColumnClass]>;
}

const D: ColumnClass = 'direct-identifier';
const Q: ColumnClass = 'quasi-identifier';
const S: ColumnClass = 'sensitive';

/**
 * A record id from the row's position: the event tables are created ORDER BY a seeded
 * key and never modified, so rowid is that order.
 */
function recordId(prefix: string): string {
  return `${quoteLiteral(prefix)} || lpad(CAST(rowid + 1 AS VARCHAR), 10, '0')`;
}

const SPECS: readonly DatasetSpec[] = [
  {
    name: 'population', table: 'pop', origin: 'public', provider: '台州市公安局', unitColumn: 'id_number',
    columns: [
      ['id_number', D], ['name', D], ['sex', Q], ['birth_date', Q], ['mobile', D], ['area_code', Q], ['area_name', Q],
      ['street', Q], ['community', Q], ['house_number', D], ['address', D], ['education', Q], ['occupation', Q],
      ['marital_status', Q], ['income_band', S],
    ],
  },
  {
    name: 'enterprises', table: 'ent', origin: 'public', provider: '台州市市场监督管理局', unitColumn: 'credit_code',
    columns: [
      ['credit_code', D], ['name', D], ['legal_rep_id', D], ['industry', Q], ['registered_capital', Q],
      ['area_code', Q], ['area_name', Q], ['established_date', Q],
    ],
  },
  {
    name: 'medical_visits', table: 'visits', derived: { visit_id: recordId('V') }, origin: 'public', provider: '台州市卫生健康委员会', unitColumn: 'id_number',
    columns: [['visit_id', D], ['id_number', D], ['hospital', Q], ['visit_date', Q], ['icd10_chapter', S], ['cost', S]],
  },
  {
    name: 'insurance_payments', table: 'payments', derived: { payment_id: recordId('SB') }, origin: 'public', provider: '台州市人力资源和社会保障局', unitColumn: 'id_number',
    columns: [['payment_id', D], ['id_number', D], ['pay_month', Q], ['insurance_type', Q], ['amount', S]],
  },
  {
    name: 'insurer_policies', table: 'policies', derived: { policy_id: recordId('BD') }, origin: 'social', provider: '某保险公司台州分公司', unitColumn: 'id_number',
    columns: [
      ['policy_id', D], ['id_number', D], ['product', Q], ['premium', S], ['claims_count', S], ['claims_amount', S],
      ['start_date', Q],
    ],
  },
];

// Inverse-CDF lookup tables have this many buckets; a uniform draw picks a bucket.
const LUT_BUCKETS = 10_000;
// A (area, birth date, sex) cell can hold this many distinct sequence codes (100 × 5 parities).
const SEQ_CODES = 500;

function validate(options: GenerateOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'generate options: expected an object');
  }
  if (typeof options.outDir !== 'string' || options.outDir.length === 0) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'options.outDir: expected a non-empty path');
  }
  if (!Number.isSafeInteger(options.rows) || options.rows < 1) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `options.rows: expected an integer ≥ 1, found ${typeof options.rows === 'number' ? 'a number out of range' : typeof options.rows}`);
  }
  if (!Number.isSafeInteger(options.seed)) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `options.seed: expected a safe integer, found ${typeof options.seed === 'number' ? 'a non-integer number' : typeof options.seed}`);
  }
}

/** Bucket → index of `weights`, so that a uniform bucket draw follows the weights. */
function inverseCdf(weights: readonly number[], buckets: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  let idx = 0;
  let cum = weights[0] ?? 0;
  for (let b = 0; b < buckets; b++) {
    const target = ((b + 0.5) / buckets) * total;
    while (cum < target && idx < weights.length - 1) cum += weights[++idx]!;
    out.push(idx);
  }
  return out;
}

/** CASE expression that maps the uniform draw `u` onto the categorical `dist`. */
function pickSql(u: string, dist: Categorical): string {
  if (dist.length === 1) return quoteLiteral(dist[0]![0]);
  const total = dist.reduce((a, [, w]) => a + w, 0);
  let cum = 0;
  const arms: string[] = [];
  dist.slice(0, -1).forEach(([v, w]) => {
    cum += w / total;
    arms.push(`WHEN ${u} < ${cum.toFixed(6)} THEN ${quoteLiteral(v)}`);
  });
  return `CASE ${arms.join(' ')} ELSE ${quoteLiteral(dist[dist.length - 1]![0])} END`;
}

/** CASE expression over age bands, each arm drawing from its own distribution. */
function byAgeSql(age: string, u: string, bands: ReadonlyArray<{ maxAge: number; dist: Categorical }>): string {
  const arms = bands.slice(0, -1).map((b) => `WHEN ${age} <= ${b.maxAge} THEN ${pickSql(u, b.dist)}`);
  return `CASE ${arms.join(' ')} ELSE ${pickSql(u, bands[bands.length - 1]!.dist)} END`;
}

/** CASE expression giving a number per age band. */
function rateByAgeSql(age: string, bands: ReadonlyArray<{ maxAge: number; rate: number }>): string {
  const arms = bands.slice(0, -1).map((b) => `WHEN ${age} <= ${b.maxAge} THEN ${b.rate}`);
  return `(CASE ${arms.join(' ')} ELSE ${bands[bands.length - 1]!.rate} END)::DOUBLE`;
}

/** Weighted sum of the digit values of `expr` (a string) with `weights`, position 1 first. */
function weightedDigitSum(expr: string, weights: readonly number[], value: (ch: string) => string): string {
  return weights.map((w, k) => `${value(`substr(${expr}, ${k + 1}, 1)`)} * ${w}`).join(' + ');
}

/** Weighted sum of the decimal digits of the non-negative integer `expr`, which has `weights.length` digits (most significant first). */
function integerDigitSum(expr: string, weights: readonly number[]): string {
  const n = weights.length;
  return '(' + weights.map((w, k) => `((${expr}) // ${10 ** (n - 1 - k)}) % 10 * ${w}`).join(' + ') + ')';
}

/** SQL list literal of strings. */
function listSql(values: readonly string[]): string {
  return `[${values.map(quoteLiteral).join(', ')}]`;
}

/** Number of occurrences for a per-person count drawn geometrically with mean `mean` (a SQL expression). */
function geometricCountSql(u: string, mean: string): string {
  // floor(Exp(m)) has mean 1/(e^{1/m} − 1); choosing m = 1/ln(1 + 1/mean) makes that mean exact.
  return `CAST(floor(-ln(1 - ${u}) / ln(1 + 1 / greatest(${mean}, 1e-9))) AS BIGINT)`;
}

async function loadTable(conn: DuckDBConnection, name: string, columns: string, rows: ReadonlyArray<ReadonlyArray<string | number>>): Promise<void> {
  await conn.run(`CREATE OR REPLACE TABLE ${name} (${columns})`);
  const types = columns.split(',').map((c) => c.trim().split(/\s+/)[1]);
  // The appender is ~20× faster than INSERT … VALUES for the 10⁵ lookup rows.
  const appender = await conn.createAppender(name);
  try {
    for (const row of rows) {
      row.forEach((v, k) => {
        if (types[k] === 'VARCHAR') appender.appendVarchar(String(v));
        else if (types[k] === 'DOUBLE') appender.appendDouble(Number(v));
        else appender.appendInteger(Number(v));
      });
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

async function loadLut(conn: DuckDBConnection, name: string, groups: ReadonlyArray<readonly Weighted[]>): Promise<void> {
  const rows: Array<[number, number, string]> = [];
  groups.forEach((words, g) => {
    inverseCdf(words.map((w) => w.weight), LUT_BUCKETS).forEach((idx, b) => rows.push([g, b, words[idx]!.value]));
  });
  await loadTable(conn, name, 'g INTEGER, b INTEGER, v VARCHAR', rows);
}

async function scalar(conn: DuckDBConnection, sql: string): Promise<number> {
  const rows = await queryJson<{ v: unknown }>(conn, sql);
  return Number(rows[0]?.v ?? 0);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Writes a synthetic but plausible set of Taizhou public data as Parquet files
 * into `outDir`: `population` (`rows` residents), `enterprises` (≈ rows/20),
 * `medical_visits` (≈ 1.5 × rows), `insurance_payments` (≈ rows) and the social
 * dataset `insurer_policies` (≈ rows/4), all keyed to the same residents.
 *
 * Word lists come from faker's zh_CN locale seeded with `seed`; rows are composed
 * in DuckDB SQL from `range()` with a seeded hash as the only randomness, and
 * check digits (GB 11643, GB 32100, GB 11714) are computed in SQL. There is no
 * clock: ages are measured at {@link REFERENCE_DATE}. Files are written with one
 * DuckDB thread and in a fixed row order, so the same seed and rows give the same
 * bytes. Each file is written under a temporary name and renamed into place.
 * Throws SluiceError `SLUICE_ERR_INPUT_INVALID` for bad options.
 */
export async function generate(options: GenerateOptions): Promise<GeneratedManifest> {
  validate(options);
  const { rows, seed } = options;
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const tempDir = join(outDir, `.generate-tmp-${process.pid}`);
  await mkdir(tempDir, { recursive: true });
  const duck = await openDuck({ threads: 2, memoryLimit: '3GB', tempDirectory: tempDir });
  const conn = duck.conn;
  const partials: string[] = [];
  try {
    const dict = buildDictionaries(seed);
    const SEED = `${seed}::BIGINT`;
    // The seeded hash is the only source of randomness: u() is uniform on [0, 1).
    // DuckDB combines the hashes of several arguments by multiply-and-xor, which leaves
    // draws with different salts strongly correlated; hashing the result again mixes them.
    await conn.run(`CREATE MACRO hh(i, salt) AS hash(hash(${SEED}, i::BIGINT, salt))`);
    await conn.run(`CREATE MACRO hh2(i, k, salt) AS hash(hash(${SEED}, i::BIGINT, k::BIGINT, salt))`);
    await conn.run(`CREATE MACRO u(i, salt) AS (hh(i, salt) >> 11)::DOUBLE / 9007199254740992.0`);
    await conn.run(`CREATE MACRO u2(i, k, salt) AS (hh2(i, k, salt) >> 11)::DOUBLE / 9007199254740992.0`);
    await conn.run(`CREATE MACRO z(i, salt) AS sqrt(-2 * ln(1 - u(i, salt || '.a'))) * cos(2 * pi() * u(i, salt || '.b'))`);
    await conn.run(`CREATE MACRO z2(i, k, salt) AS sqrt(-2 * ln(1 - u2(i, k, salt || '.a'))) * cos(2 * pi() * u2(i, k, salt || '.b'))`);

    await buildLookups(conn, dict);
    const report = (dataset: DatasetName, d: number, total: number): void => options.onProgress?.({ dataset, done: d, total });

    report('population', 0, rows);
    await buildPopulation(conn, rows, SEED);

    const datasets: GeneratedDataset[] = [];
    const write = async (spec: DatasetSpec): Promise<void> => {
      const count = await scalar(conn, `SELECT count(*) AS v FROM ${spec.table}`);
      if (spec.name !== 'population') report(spec.name, 0, count);
      const file = join(outDir, `${spec.name}.parquet`);
      const partial = join(outDir, `.${spec.name}.parquet.partial-${process.pid}`);
      partials.push(partial);
      const cols = spec.columns.map(([c]) => (spec.derived?.[c] ? `${spec.derived[c]} AS ${c}` : c)).join(', ');
      // The table was created ORDER BY its key and DuckDB preserves insertion order, so a
      // one-thread scan yields that order; one thread also makes the Parquet writer's row
      // groups, and so the bytes, reproducible.
      await conn.run(`SET threads = 1`);
      await conn.run(`COPY (SELECT ${cols} FROM ${spec.table}) TO ${quoteLiteral(partial)} (FORMAT parquet, COMPRESSION snappy)`);
      await conn.run(`SET threads = 2`);
      const described = await queryJson<{ column_name: string; column_type: string }>(conn, `DESCRIBE SELECT ${cols} FROM ${spec.table}`);
      await rename(partial, file);
      datasets.push({
        name: spec.name,
        file,
        rows: count,
        origin: spec.origin,
        provider: spec.provider,
        unitColumn: spec.unitColumn,
        columns: spec.columns.map(([name, cls], k) => ({ name, type: described[k]!.column_type, class: cls })),
        sha256: await sha256File(file),
      });
      report(spec.name, count, count);
    };

    await write(SPECS[0]!);
    await buildEnterprises(conn, rows, SEED);
    await write(SPECS[1]!);
    await buildVisits(conn, rows, SEED);
    await write(SPECS[2]!);
    await buildPayments(conn, rows, SEED);
    await write(SPECS[3]!);
    await buildPolicies(conn, rows, SEED);
    await write(SPECS[4]!);
    return { seed, rows, referenceDate: REFERENCE_DATE, datasets };
  } catch (e) {
    if (e instanceof SluiceError) throw e;
    throw new SluiceError('SLUICE_ERR_INTERNAL', `generate: synthetic data generation failed in ${outDir}`, { cause: e });
  } finally {
    duck.close();
    await Promise.all(partials.map((p) => rm(p, { force: true })));
    await rm(tempDir, { recursive: true, force: true });
  }
}

async function buildLookups(conn: DuckDBConnection, dict: ReturnType<typeof buildDictionaries>): Promise<void> {
  const areaIdx = inverseCdf(TAIZHOU_AREAS.map((a) => a.share), LUT_BUCKETS);
  await loadTable(conn, 'lut_area', 'b INTEGER, v INTEGER', areaIdx.map((v, b) => [b, v]));
  const ageIdx = inverseCdf(singleYearAgeWeights(), LUT_BUCKETS);
  await loadTable(conn, 'lut_age', 'b INTEGER, v INTEGER', ageIdx.map((v, b) => [b, v]));
  const placeCount = TAIZHOU_AREAS.map((_, a) => dict.places.filter((p) => p.areaIndex === a).length);
  const areaSum = (code: string): number => [...code].reduce((acc, ch, k) => acc + Number(ch) * RESIDENT_ID_WEIGHTS[k]!, 0);
  await loadTable(conn, 'areas', 'area_idx INTEGER, code VARCHAR, name VARCHAR, n_places INTEGER, wsum INTEGER',
    TAIZHOU_AREAS.map((a, k) => [k, a.code, a.name, placeCount[k]!, areaSum(a.code)]));
  await loadTable(conn, 'places', 'area_idx INTEGER, place_idx INTEGER, street VARCHAR, community VARCHAR',
    dict.places.map((p) => [p.areaIndex, p.placeIndex, p.street, p.community]));
  await loadLut(conn, 'lut_surname', [dict.surnames]);
  // Groups: 0 male, 1 female (younger generations); 2 male, 3 female (older).
  await loadLut(conn, 'lut_given', [dict.givenMale, dict.givenFemale, dict.givenOldMale, dict.givenOldFemale]);
  await loadTable(conn, 'brands', 'idx INTEGER, v VARCHAR', dict.brands.map((v, k) => [k, v]));
  await loadTable(conn, 'industries', 'idx INTEGER, v VARCHAR, words VARCHAR', INDUSTRIES.map((ind, k) => [k, ind.value, ind.words.join('|')]));
  await conn.run(`CREATE OR REPLACE TABLE industries2 AS SELECT idx, v, string_split(words, '|') AS words, len(string_split(words, '|')) AS n FROM industries`);
  await loadTable(conn, 'lut_industry', 'b INTEGER, v INTEGER', inverseCdf(INDUSTRIES.map((i) => i.weight), LUT_BUCKETS).map((v, b) => [b, v]));
  await loadTable(conn, 'icd', 'idx INTEGER, chapter VARCHAR, cost DOUBLE', ICD10_CHAPTERS.map((c, k) => [k, c.value, c.cost]));
  const icdRows: Array<[number, number, number]> = [];
  ICD10_WEIGHTS_BY_GROUP.forEach((w, g) => inverseCdf(w, LUT_BUCKETS).forEach((v, b) => icdRows.push([g, b, v])));
  await loadTable(conn, 'lut_icd', 'g INTEGER, b INTEGER, v INTEGER', icdRows);
}

function bucket(u: string): string {
  return `CAST(floor(${u} * ${LUT_BUCKETS}) AS INTEGER)`;
}

async function buildPopulation(conn: DuckDBConnection, rows: number, SEED: string): Promise<void> {
  await conn.run(`
    CREATE TABLE p1 AS
    SELECT r.i, la.v AS area_idx, lg.v AS age, r.male,
      CAST(DATE '${REFERENCE_DATE}' - CAST(floor((lg.v + r.ubd) * 365.2425) AS INTEGER) AS DATE) AS birth_date
    FROM (
      SELECT i, ${bucket(`u(i, 'p.area')`)} AS ba, ${bucket(`u(i, 'p.age')`)} AS bage,
        u(i, 'p.sex') < ${MALE_SHARE} AS male, u(i, 'p.bday') AS ubd
      FROM range(${rows}) t(i)
    ) r
    JOIN lut_area la ON la.b = r.ba
    JOIN lut_age lg ON lg.b = r.bage`);
  // Within one (area, birth date, sex) cell residents get consecutive sequence codes
  // from a seeded offset, which keeps every id_number distinct.
  await conn.run(`
    CREATE TABLE p2 AS
    SELECT *, row_number() OVER (PARTITION BY area_idx, birth_date, male ORDER BY i) - 1 AS k FROM p1`);
  const maxCell = await scalar(conn, `SELECT max(k) + 1 AS v FROM p2`);
  if (maxCell > SEQ_CODES) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `options.rows: too many residents share a birth date and area (${maxCell} > ${SEQ_CODES}); use fewer rows`);
  }
  // The check digit is computed from integers (area sum looked up, date and sequence
  // digits by arithmetic) rather than by slicing the 17-character string: it is the
  // hottest expression of the generator.
  const idSum = `a_wsum + ${integerDigitSum('ymd', RESIDENT_ID_WEIGHTS.slice(6, 14))} + ${integerDigitSum('seq', RESIDENT_ID_WEIGHTS.slice(14, 17))}`;
  const mobileOffset = `CAST(hash(hash(${SEED}, 'p.mobile.offset')) % 100000000 AS BIGINT)`;
  const occupation = byAgeSql('a.age', 'a.u_occ', OCCUPATION_BY_AGE);
  const income = `CASE ${INCOME_BY_OCCUPATION.filter((x) => x.occupations !== '*')
    .map((x) => `WHEN occupation IN (${(x.occupations as readonly string[]).map(quoteLiteral).join(', ')}) THEN ${pickSql('u_inc', x.dist)}`)
    .join(' ')} ELSE ${pickSql('u_inc', INCOME_BY_OCCUPATION.find((x) => x.occupations === '*')!.dist)} END`;
  await conn.run(`
    CREATE TABLE pop AS
    WITH a AS (
      SELECT p.i, p.area_idx, p.age, p.male, p.birth_date, ar.code AS area_code, ar.name AS area_name, ar.wsum AS a_wsum,
        year(p.birth_date) * 10000 + month(p.birth_date) * 100 + day(p.birth_date) AS ymd,
        CAST(floor(u(p.i, 'p.place') * ar.n_places) AS INTEGER) AS place_idx,
        CAST(((hash(hash(${SEED}, p.area_idx, p.birth_date, p.male)) % ${SEQ_CODES}) + p.k) % ${SEQ_CODES} AS BIGINT) AS s,
        (CASE WHEN p.male THEN 0 ELSE 1 END) + (CASE WHEN p.age >= 50 AND u(p.i, 'p.oldname') < 0.5 THEN 2 ELSE 0 END) AS gg,
        u(p.i, 'p.occ') AS u_occ, u(p.i, 'p.inc') AS u_inc, u(p.i, 'p.edu') AS u_edu, u(p.i, 'p.mar') AS u_mar
      FROM p2 p JOIN areas ar ON ar.area_idx = p.area_idx
    ), b AS (
      SELECT a.*, pl.street, pl.community, sn.v || gn.v AS name,
        ((a.s // 5) * 10 + 2 * (a.s % 5) + (CASE WHEN a.male THEN 1 ELSE 0 END)) AS seq,
        a.area_code || CAST(a.ymd AS VARCHAR) || lpad(CAST(((a.s // 5) * 10 + 2 * (a.s % 5) + (CASE WHEN a.male THEN 1 ELSE 0 END)) AS VARCHAR), 3, '0') AS id17,
        CAST(1 + floor(pow(u(a.i, 'p.house'), 1.4) * 300) AS BIGINT) AS house,
        ${byAgeSql('a.age', 'a.u_edu', EDUCATION_BY_AGE)} AS education,
        ${byAgeSql('a.age', 'a.u_mar', MARITAL_BY_AGE)} AS marital_status,
        ${occupation} AS occupation
      FROM a
      JOIN places pl ON pl.area_idx = a.area_idx AND pl.place_idx = a.place_idx
      JOIN lut_surname sn ON sn.g = 0 AND sn.b = ${bucket(`u(a.i, 'p.surname')`)}
      JOIN lut_given gn ON gn.g = a.gg AND gn.b = ${bucket(`u(a.i, 'p.given')`)}
    )
    SELECT i, age, male, area_idx,
      id17 || substr('${RESIDENT_ID_CHECK_CHARS}', 1 + ((${idSum}) % 11), 1) AS id_number,
      name,
      CASE WHEN male THEN '男' ELSE '女' END AS sex,
      birth_date,
      ${listSql(MOBILE_PREFIXES)}[1 + CAST(hh(i, 'p.mprefix') % ${MOBILE_PREFIXES.length} AS INTEGER)]
        || lpad(CAST((i * 73939133 + ${mobileOffset}) % 100000000 AS VARCHAR), 8, '0') AS mobile,
      area_code, area_name, street, community,
      CAST(house AS VARCHAR) AS house_number,
      '浙江省台州市' || area_name || street || community || CAST(house AS VARCHAR) || '号' AS address,
      education, occupation, marital_status,
      ${income} AS income_band
    FROM b
    ORDER BY i`);
  await conn.run(`DROP TABLE p1`);
  await conn.run(`DROP TABLE p2`);
}

async function buildEnterprises(conn: DuckDBConnection, rows: number, SEED: string): Promise<void> {
  const count = Math.max(1, Math.round(rows / 20));
  await conn.run(`CREATE TABLE reps AS SELECT row_number() OVER (ORDER BY i) - 1 AS r, i, id_number, area_code, area_name, birth_date
    FROM pop WHERE age BETWEEN 22 AND 75`);
  let reps = await scalar(conn, `SELECT count(*) AS v FROM reps`);
  if (reps === 0) {
    // Tiny populations may have no working-age adult; any resident will do then.
    await conn.run(`CREATE OR REPLACE TABLE reps AS SELECT row_number() OVER (ORDER BY i) - 1 AS r, i, id_number, area_code, area_name, birth_date FROM pop`);
    reps = await scalar(conn, `SELECT count(*) AS v FROM reps`);
  }
  const brands = await scalar(conn, `SELECT count(*) AS v FROM brands`);
  const orgValue = (c: string): string => `(CASE WHEN ascii(${c}) < 65 THEN ascii(${c}) - 48 ELSE ascii(${c}) - 55 END)`;
  const creditValue = (c: string): string => `(instr('${CREDIT_CODE_ALPHABET}', ${c}) - 1)`;
  const alpha = (n: string): string => `substr('${CREDIT_CODE_ALPHABET}', 1 + CAST(${n} AS INTEGER), 1)`;
  // Organization codes are bijections of the enterprise number, so they never collide.
  const perm5 = `((j * 7368787 + CAST(hash(hash(${SEED}, 'e.perm5')) % 28629151 AS BIGINT)) % 28629151)`;
  const perm8 = `((j * 48271 + CAST(hash(hash(${SEED}, 'e.perm8')) % 100000000 AS BIGINT)) % 100000000)`;
  const base31 = [4, 3, 2, 1, 0].map((d) => alpha(`(${perm5} // ${31 ** d}) % 31`)).join(' || ');
  await conn.run(`
    CREATE TABLE ent AS
    WITH e AS (
      SELECT j, CAST(hh(j, 'e.rep') % ${reps} AS BIGINT) AS r,
        ${pickSql(`u(j, 'e.kind')`, [['91', 88], ['92', 10], ['93', 2]])} AS kind,
        ${bucket(`u(j, 'e.ind')`)} AS bi
      FROM range(${count}) t(j)
    ), f AS (
      SELECT e.j, e.kind, rp.id_number AS legal_rep_id, rp.area_code, rp.area_name,
        CASE WHEN e.kind = '93' THEN ${INDUSTRIES.findIndex((x) => x.value.startsWith('A '))} ELSE li.v END AS ind_idx,
        CAST(DATE '${REFERENCE_DATE}' - CAST(floor(pow(u(e.j, 'e.est'), 1.7) * greatest(0,
          date_diff('day', greatest(DATE '1990-01-01', CAST(rp.birth_date + INTERVAL 20 YEAR AS DATE)), DATE '${REFERENCE_DATE}'))) AS INTEGER) AS DATE)
          AS established_date
      FROM e JOIN reps rp ON rp.r = e.r JOIN lut_industry li ON li.b = e.bi
    ), g AS (
      SELECT f.*, ind.v AS industry, ind.words[1 + CAST(hh(f.j, 'e.word') % ind.n AS INTEGER)] AS word,
        br.v AS brand,
        CASE WHEN f.established_date < DATE '2015-10-01' THEN lpad(CAST(${perm8} AS VARCHAR), 8, '0')
             ELSE 'MA' || ${alpha(`hh(j, 'e.ma') % 31`)} || ${base31} END AS org8
      FROM f JOIN industries2 ind ON ind.idx = f.ind_idx
      JOIN brands br ON br.idx = CAST(hh(f.j, 'e.brand') % ${brands} AS INTEGER)
    ), h AS (
      SELECT g.*, g.kind || g.area_code || g.org8 || (CASE 11 - ((${weightedDigitSum('g.org8', ORGANIZATION_CODE_WEIGHTS, orgValue)}) % 11)
          WHEN 10 THEN 'X' WHEN 11 THEN '0'
          ELSE CAST(11 - ((${weightedDigitSum('g.org8', ORGANIZATION_CODE_WEIGHTS, orgValue)}) % 11) AS VARCHAR) END) AS code17,
        exp(ln(CASE g.kind WHEN '91' THEN 100 WHEN '92' THEN 5 ELSE 50 END) + (CASE g.kind WHEN '91' THEN 1.2 ELSE 0.8 END) * z(g.j, 'e.cap')) AS cap
      FROM g
    )
    SELECT j,
      code17 || ${alpha(`(31 - ((${weightedDigitSum('code17', CREDIT_CODE_WEIGHTS, creditValue)}) % 31)) % 31`)} AS credit_code,
      CASE kind
        WHEN '91' THEN (CASE WHEN u(j, 'e.pfx') < 0.5 THEN '台州市' ELSE area_name END) || brand || word
          || ${pickSql(`u(j, 'e.legal')`, [['有限公司', 80], ['有限责任公司', 10], ['股份有限公司', 5], ['厂', 5]])}
        WHEN '92' THEN area_name || brand || word || ${pickSql(`u(j, 'e.shop')`, [['商行', 40], ['店', 30], ['经营部', 20], ['加工厂', 10]])}
        ELSE area_name || brand || ${pickSql(`u(j, 'e.coop')`, [['果蔬', 35], ['水产', 25], ['茶叶', 20], ['粮油', 20]])} || '专业合作社'
      END AS name,
      legal_rep_id, industry,
      CAST(CASE WHEN cap < 10 THEN greatest(round(cap, 1), 0.1) WHEN cap < 1000 THEN round(cap) ELSE round(cap / 10) * 10 END AS DOUBLE) AS registered_capital,
      area_code, area_name, established_date
    FROM h
    ORDER BY j`);
  await conn.run(`DROP TABLE reps`);
}

async function buildVisits(conn: DuckDBConnection, rows: number, SEED: string): Promise<void> {
  const rate = rateByAgeSql('age', VISIT_RATE_BY_AGE);
  // Floating-point sums depend on the order threads add them; summing in integer
  // thousandths keeps the scale, and so the counts, identical run to run.
  const rateSum = (await scalar(conn, `SELECT sum(CAST(${rate} * 1000 AS BIGINT)) AS v FROM pop`)) / 1000;
  const scale = (1.5 * rows) / Math.max(rateSum, 1e-9);
  await conn.run(`CREATE TABLE pv AS SELECT i, ${geometricCountSql(`u(i, 'v.n')`, `${rate} * ${scale}`)} AS nv FROM pop`);
  const group = `CASE WHEN age < 15 THEN 0 WHEN age < 60 AND male THEN 1 WHEN age < 50 THEN 2 WHEN age < 60 THEN 3 WHEN age < 75 THEN 4 ELSE 5 END`;
  const city = `${listSql(CITY_HOSPITALS)}[1 + CAST(hh2(i, k, 'v.city') % ${CITY_HOSPITALS.length} AS INTEGER)]`;
  const center = `street || CASE WHEN ends_with(street, '街道') THEN '社区卫生服务中心' ELSE '卫生院' END`;
  await conn.run(`
    CREATE TABLE visits AS
    WITH x AS (
      SELECT p.i, unnest(range(pv.nv)) AS k, p.id_number, p.age, p.male, p.birth_date, p.area_name, p.street
      FROM pop p JOIN pv ON pv.i = p.i WHERE pv.nv > 0
    ), y AS (
      SELECT x.*, ${group} AS grp,
        greatest(DATE '${EVENT_WINDOW_START}', x.birth_date) AS lo,
        u2(x.i, x.k, 'v.hosp') AS uh
      FROM x
    ), w AS (
      SELECT y.i, y.k, y.id_number,
        CASE WHEN y.age < 15 THEN
          CASE WHEN uh < 0.4 THEN area_name || '妇幼保健院' WHEN uh < 0.7 THEN ${center}
               WHEN uh < 0.9 THEN area_name || '人民医院' ELSE ${city} END
        ELSE
          CASE WHEN uh < 0.35 THEN ${center} WHEN uh < 0.70 THEN area_name || '人民医院'
               WHEN uh < 0.80 THEN area_name || '中医院' ELSE ${city} END
        END AS hospital,
        CAST(lo + CAST(floor(u2(y.i, y.k, 'v.date') * (date_diff('day', lo, DATE '${REFERENCE_DATE}') + 1)) AS INTEGER) AS DATE) AS visit_date,
        icd.chapter AS icd10_chapter,
        CAST(round(icd.cost * exp(0.8 * z2(y.i, y.k, 'v.cost'))
          * (CASE WHEN u2(y.i, y.k, 'v.inpatient') < (CASE WHEN y.age >= 60 THEN 0.12 ELSE 0.06 END) THEN 18 ELSE 1 END), 2) AS DOUBLE) AS cost
      FROM y
      JOIN lut_icd li ON li.g = y.grp AND li.b = ${bucket(`u2(y.i, y.k, 'v.icd')`)}
      JOIN icd ON icd.idx = li.v
    )
    SELECT i, id_number, hospital, visit_date, icd10_chapter, cost
    FROM w
    ORDER BY visit_date, hh2(i, k, 'v.order'), i, k`);
}

async function buildPayments(conn: DuckDBConnection, rows: number, SEED: string): Promise<void> {
  const employee = `occupation IN (${EMPLOYEE_OCCUPATIONS.map(quoteLiteral).join(', ')})`;
  await conn.run(`CREATE TABLE payers AS SELECT i, id_number, income_band, ${employee} AS employee FROM pop
    WHERE age BETWEEN 16 AND 64 AND occupation NOT IN ('在校学生', '离退休', '学龄前儿童')`);
  const nEmp = await scalar(conn, `SELECT count(*) AS v FROM payers WHERE employee`);
  const nRes = await scalar(conn, `SELECT count(*) AS v FROM payers WHERE NOT employee`);
  // Resident schemes are paid once a year (0–2 payments, mean 1.05); employees fill the rest monthly.
  const perEmployee = Math.max(0.05, (rows - 1.05 * nRes) / Math.max(nEmp, 1));
  const base = `least(${CONTRIBUTION_BASE_RANGE.max}, greatest(${CONTRIBUTION_BASE_RANGE.min},
    (CASE income_band ${Object.entries(CONTRIBUTION_BASE_BY_INCOME).map(([k, v]) => `WHEN ${quoteLiteral(k)} THEN ${v}`).join(' ')} ELSE ${CONTRIBUTION_BASE_RANGE.min} END)
    * (0.9 + 0.2 * u(i, 's.base'))))`;
  await conn.run(`
    CREATE TABLE payments AS
    WITH d AS (
      SELECT *, u(i, 's.n') AS un, u(i, 's.type') AS ut, u(i, 's.grade') AS ug FROM payers
    ), n AS (
      SELECT i, id_number, income_band, employee, ug,
        CASE WHEN employee THEN least(24, ${geometricCountSql('un', String(perEmployee))})
             ELSE (CASE WHEN un < 0.3 THEN 0 WHEN un < 0.65 THEN 1 ELSE 2 END) END AS n,
        CASE WHEN employee THEN ${pickSql('ut', [['职工基本养老保险', 50], ['职工基本医疗保险', 35], ['失业保险', 15]])}
             ELSE ${pickSql('ut', [['城乡居民基本养老保险', 60], ['城乡居民基本医疗保险', 40]])} END AS insurance_type,
        ${base} AS base
      FROM d
    ), x AS (
      SELECT n.*, unnest(range(n.n)) AS k, CAST(floor(u(i, 's.start') * (24 - n.n + 1)) AS INTEGER) AS first_month FROM n WHERE n.n > 0
    ), y0 AS (
      SELECT i, k, id_number, insurance_type, base, ug,
        CASE WHEN employee THEN strftime(DATE '${EVENT_WINDOW_START}' + to_months(CAST(first_month + k AS INTEGER)), '%Y-%m')
             ELSE printf('%d-%02d', CASE WHEN n = 2 THEN 2024 + k ELSE 2024 + CAST(u(i, 's.year') < 0.5 AS INTEGER) END,
                         9 + CAST(hh2(i, k, 's.month') % 4 AS INTEGER)) END AS pay_month
      FROM x
    ), y AS (
      SELECT i, k, id_number, insurance_type, pay_month,
        CAST(CASE insurance_type
          WHEN '职工基本养老保险' THEN round(base * 0.08, 2)
          WHEN '职工基本医疗保险' THEN round(base * 0.02, 2)
          WHEN '失业保险' THEN round(base * 0.005, 2)
          WHEN '城乡居民基本养老保险' THEN ${pickSql('ug', [['100', 20], ['300', 25], ['500', 20], ['1000', 15], ['2000', 10], ['3000', 6], ['5000', 4]])}::DOUBLE
          ELSE CASE WHEN pay_month < '2025' THEN 450 ELSE 480 END END AS DOUBLE) AS amount
      FROM y0
    )
    SELECT i, id_number, pay_month, insurance_type, amount
    FROM y
    ORDER BY pay_month, hh2(i, k, 's.order'), i, k`);
  await conn.run(`DROP TABLE payers`);
}

async function buildPolicies(conn: DuckDBConnection, rows: number, SEED: string): Promise<void> {
  const rate = rateByAgeSql('age', POLICY_RATE_BY_AGE);
  // Floating-point sums depend on the order threads add them; summing in integer
  // thousandths keeps the scale, and so the counts, identical run to run.
  const rateSum = (await scalar(conn, `SELECT sum(CAST(${rate} * 1000 AS BIGINT)) AS v FROM pop`)) / 1000;
  const scale = rows / 4 / Math.max(rateSum, 1e-9);
  // Claims on health products follow the holder's recorded medical visits, which is
  // what makes this social dataset worth fusing with the public one.
  await conn.run(`
    CREATE TABLE policies AS
    WITH vc AS (SELECT i, sum(CAST(round(cost * 100) AS BIGINT)) / 100.0 AS vcost FROM visits GROUP BY i),
    n AS (
      SELECT p.i, p.id_number, p.age, p.birth_date, pv.nv, coalesce(vc.vcost, 0) AS vcost,
        ${geometricCountSql(`u(p.i, 'i.n')`, `${rateByAgeSql('p.age', POLICY_RATE_BY_AGE)} * ${scale}`)} AS n
      FROM pop p JOIN pv ON pv.i = p.i LEFT JOIN vc ON vc.i = p.i
    ), x AS (
      SELECT n.*, unnest(range(n.n)) AS k FROM n WHERE n.n > 0
    ), y AS (
      SELECT x.*, u2(x.i, x.k, 'i.prod') AS up,
        greatest(DATE '2015-01-01', x.birth_date) AS lo,
        u2(x.i, x.k, 'i.claim') AS uc, z2(x.i, x.k, 'i.z') AS zz
      FROM x
    ), y2 AS (
      SELECT y.*, ${byAgeSql('y.age', 'y.up', PRODUCTS_BY_AGE)} AS product FROM y
    ), w AS (
      SELECT y2.*,
        CAST(CASE product
          WHEN '惠民保' THEN 129
          WHEN '百万医疗险' THEN round((180 + age * age * 0.25) * (0.9 + 0.2 * uc))
          WHEN '重疾险' THEN round(exp(ln(5000) + 0.5 * zz))
          WHEN '少儿重疾险' THEN round(exp(ln(2200) + 0.4 * zz))
          WHEN '意外险' THEN round(100 + 200 * u2(i, k, 'i.acc'))
          WHEN '定期寿险' THEN round(exp(ln(1500) + 0.5 * zz))
          ELSE round(exp(ln(20000) + 0.8 * zz) / 100) * 100 END AS DOUBLE) AS premium,
        CAST(CASE product
          WHEN '百万医疗险' THEN floor(nv * 0.12 + uc)
          WHEN '惠民保' THEN floor(nv * 0.08 + uc)
          WHEN '重疾险' THEN CASE WHEN uc < 0.004 + 0.002 * least(nv, 5) THEN 1 ELSE 0 END
          WHEN '少儿重疾险' THEN CASE WHEN uc < 0.002 THEN 1 ELSE 0 END
          WHEN '意外险' THEN CASE WHEN uc < 0.04 THEN 1 ELSE 0 END
          ELSE 0 END AS INTEGER) AS claims_count,
        CAST(lo + CAST(floor(pow(u2(i, k, 'i.start'), 0.7) * (date_diff('day', lo, DATE '${REFERENCE_DATE}') + 1)) AS INTEGER) AS DATE) AS start_date
      FROM y2
    ), v AS (
      SELECT w.*,
        CAST(CASE WHEN claims_count = 0 THEN 0
          WHEN product IN ('百万医疗险', '惠民保') THEN round(vcost * least(1.0, claims_count / greatest(nv, 1)) * 0.7, 2)
          WHEN product IN ('重疾险', '少儿重疾险') THEN claims_count * round(premium * 25 / 10000) * 10000
          ELSE claims_count * round(exp(ln(3000) + 0.8 * zz), 2) END AS DOUBLE) AS claims_amount
      FROM w
    )
    SELECT i, id_number, product, premium, claims_count, claims_amount, start_date
    FROM v
    ORDER BY start_date, hh2(i, k, 'i.order'), i, k`);
}
