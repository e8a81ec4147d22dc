/**
 * Adult-like data: a seeded generator of tables with the columns, types and
 * value domains of the UCI Adult table as ARX ships it (`adult.csv`: sex, age,
 * race, marital-status, education, native-country, workclass, occupation,
 * salary-class), with ARX-format hierarchies for every column. The tests of
 * the algorithms (optimal and exhaustive k-anonymity search, Mondrian, the
 * trainers and the model audit) run on it, so a clone of the project needs
 * nothing beside it; only comparisons about the UCI data itself read Adult.
 *
 * The values are drawn from a small causal model, not copied: age and sex
 * first, race, then a country of birth that depends on race, an education
 * that depends on age and country, a marital status that depends on age and
 * sex, a workclass that depends on education and age, an occupation that
 * depends on education, sex and workclass, and a salary class from a logistic
 * score over all of them. So quasi-identifier combinations are as skewed as in
 * Adult (many unique records, a k-anonymity search has work to do) and the
 * label is learnable (the model checks have signal to find). The weights are
 * rough, plausible figures, not estimates from Adult.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../lib/errors.js';
import { mulberry32 } from '../lib/random.js';

/** The columns in ARX's adult.csv order. */
export const ADULT_LIKE_COLUMNS = [
  'sex',
  'age',
  'race',
  'marital-status',
  'education',
  'native-country',
  'workclass',
  'occupation',
  'salary-class',
] as const;

/** One of the Adult-like columns. */
export type AdultLikeColumn = (typeof ADULT_LIKE_COLUMNS)[number];

/** The number of rows of ARX's adult.csv, the generator's default size. */
export const ADULT_LIKE_DEFAULT_ROWS = 30_162;

/** A generated table: every column as strings (age as decimal digits), all of length `n`. */
export interface AdultLikeTable {
  n: number;
  header: AdultLikeColumn[];
  columns: Record<AdultLikeColumn, string[]>;
}

/** What to generate: `rows` (default 30,162) and `seed` (default 1); equal options give equal tables. */
export interface AdultLikeOptions {
  rows?: number;
  seed?: number;
}

// ---------------------------------------------------------------- hierarchies

/** Categorical columns' hierarchies: leaf → its groups, leaf order as ARX lists them (groups interleave, as in ARX's files). */
const GROUPS: Record<Exclude<AdultLikeColumn, 'age'>, ReadonlyArray<readonly string[]>> = {
  sex: [['Male'], ['Female']],
  race: [['White'], ['Asian-Pac-Islander'], ['Amer-Indian-Eskimo'], ['Other'], ['Black']],
  'marital-status': [
    ['Married-civ-spouse', 'spouse present'],
    ['Divorced', 'spouse not present'],
    ['Never-married', 'spouse not present'],
    ['Separated', 'spouse not present'],
    ['Widowed', 'spouse not present'],
    ['Married-spouse-absent', 'spouse not present'],
    ['Married-AF-spouse', 'spouse present'],
  ],
  education: [
    ['Bachelors', 'Undergraduate', 'Higher education'],
    ['Some-college', 'Undergraduate', 'Higher education'],
    ['11th', 'High School', 'Secondary education'],
    ['HS-grad', 'High School', 'Secondary education'],
    ['Prof-school', 'Professional Education', 'Higher education'],
    ['Assoc-acdm', 'Professional Education', 'Higher education'],
    ['Assoc-voc', 'Professional Education', 'Higher education'],
    ['9th', 'High School', 'Secondary education'],
    ['7th-8th', 'High School', 'Secondary education'],
    ['12th', 'High School', 'Secondary education'],
    ['Masters', 'Graduate', 'Higher education'],
    ['1st-4th', 'Primary School', 'Primary education'],
    ['10th', 'High School', 'Secondary education'],
    ['Doctorate', 'Graduate', 'Higher education'],
    ['5th-6th', 'Primary School', 'Primary education'],
    ['Preschool', 'Primary School', 'Primary education'],
  ],
  'native-country': [
    ['United-States', 'North America'], ['Cambodia', 'Asia'], ['England', 'Europe'], ['Puerto-Rico', 'North America'],
    ['Canada', 'North America'], ['Germany', 'Europe'], ['Outlying-US(Guam-USVI-etc)', 'North America'], ['India', 'Asia'],
    ['Japan', 'Asia'], ['Greece', 'Europe'], ['South', 'Africa'], ['China', 'Asia'], ['Cuba', 'North America'], ['Iran', 'Asia'],
    ['Honduras', 'North America'], ['Philippines', 'Asia'], ['Italy', 'Europe'], ['Poland', 'Europe'], ['Jamaica', 'North America'],
    ['Vietnam', 'Asia'], ['Mexico', 'North America'], ['Portugal', 'Europe'], ['Ireland', 'Europe'], ['France', 'Europe'],
    ['Dominican-Republic', 'North America'], ['Laos', 'Asia'], ['Ecuador', 'South America'], ['Taiwan', 'Asia'],
    ['Haiti', 'North America'], ['Columbia', 'South America'], ['Hungary', 'Europe'], ['Guatemala', 'North America'],
    ['Nicaragua', 'South America'], ['Scotland', 'Europe'], ['Thailand', 'Asia'], ['Yugoslavia', 'Europe'],
    ['El-Salvador', 'North America'], ['Trinadad&Tobago', 'South America'], ['Peru', 'South America'], ['Hong', 'Asia'],
    ['Holand-Netherlands', 'Europe'],
  ],
  workclass: [
    ['Private', 'Non-Government'], ['Self-emp-not-inc', 'Non-Government'], ['Self-emp-inc', 'Non-Government'],
    ['Federal-gov', 'Government'], ['Local-gov', 'Government'], ['State-gov', 'Government'],
    ['Without-pay', 'Unemployed'], ['Never-worked', 'Unemployed'],
  ],
  occupation: [
    ['Tech-support', 'Technical'], ['Craft-repair', 'Technical'], ['Other-service', 'Other'], ['Sales', 'Nontechnical'],
    ['Exec-managerial', 'Nontechnical'], ['Prof-specialty', 'Technical'], ['Handlers-cleaners', 'Nontechnical'],
    ['Machine-op-inspct', 'Technical'], ['Adm-clerical', 'Other'], ['Farming-fishing', 'Other'], ['Transport-moving', 'Other'],
    ['Priv-house-serv', 'Other'], ['Protective-serv', 'Other'], ['Armed-Forces', 'Other'],
  ],
  'salary-class': [['>50K'], ['<=50K']],
};

/** The age hierarchy: 1…100 in 5-, 10- and 20-year bands, then `*` (100 falls in the bands of 99, as ARX's file has it). */
function ageRows(): string[][] {
  const band = (a: number, w: number): string => {
    const lo = Math.floor(Math.min(a, 99) / w) * w;
    return `${lo}-${lo + w - 1}`;
  };
  return Array.from({ length: 100 }, (_, i) => {
    const a = i + 1;
    return [String(a), band(a, 5), band(a, 10), band(a, 20), '*'];
  });
}

/**
 * The hierarchy of one column as rows (leaf first, `*` last), in ARX's layout:
 * age 5 levels, education 4, marital-status, native-country, workclass and
 * occupation 3, race, sex and salary-class 2 (a lattice of 12,960 nodes over
 * all nine). Covers every value the generator can draw, and a few it never
 * does (ages outside 17–90, Never-worked), as ARX's files do.
 */
export function adultLikeHierarchyRows(column: AdultLikeColumn): string[][] {
  if (column === 'age') return ageRows();
  return GROUPS[column].map((g) => [...g, '*']);
}

/** The hierarchy of one column as ARX CSV text (`;`-separated, one line per leaf, no quoting: no label needs it). */
export function adultLikeHierarchyCsv(column: AdultLikeColumn): string {
  return adultLikeHierarchyRows(column).map((r) => r.join(';')).join('\n') + '\n';
}

// ---------------------------------------------------------------- the model

type Weights = ReadonlyArray<readonly [string, number]>;

/** The project's seeded mulberry32; seed 0 is mapped to a fixed non-zero seed, as before. */
function rng(seed: number): () => number {
  return mulberry32(seed >>> 0 || 0x9e3779b9);
}

function pick(r: () => number, w: Weights): string {
  let total = 0;
  for (const [, x] of w) total += x;
  let u = r() * total;
  for (const [v, x] of w) {
    u -= x;
    if (u < 0) return v;
  }
  return w[w.length - 1]![0];
}

/** Multiplies the weights of the named values (others unchanged). */
function scale(w: Weights, by: Readonly<Record<string, number>>): Weights {
  return w.map(([v, x]) => [v, x * (by[v] ?? 1)] as const);
}

/** Years of schooling per education level (Adult's education-num), the education's effect on everything after it. */
const EDU_YEARS: Readonly<Record<string, number>> = {
  Preschool: 1, '1st-4th': 2, '5th-6th': 3, '7th-8th': 4, '9th': 5, '10th': 6, '11th': 7, '12th': 8,
  'HS-grad': 9, 'Some-college': 10, 'Assoc-voc': 11, 'Assoc-acdm': 12, Bachelors: 13, Masters: 14, 'Prof-school': 15, Doctorate: 16,
};

const AGE_WEIGHTS: Weights = Array.from({ length: 74 }, (_, i) => {
  const a = 17 + i;
  // rises to the mid-thirties, then a long tail to 90 (a small heap at 90, where older ages are top-coded)
  const w = a < 36 ? 0.35 + (0.65 * (a - 17)) / 19 : Math.exp(-(a - 36) / 15);
  return [String(a), a === 90 ? w + 0.03 : w] as const;
});

const RACE: Weights = [['White', 86], ['Black', 9.3], ['Asian-Pac-Islander', 3], ['Amer-Indian-Eskimo', 0.95], ['Other', 0.75]];

/** Countries of birth other than the United States, per race. */
const ABROAD: Readonly<Record<string, Weights>> = {
  White: [
    ['Mexico', 30], ['Germany', 6], ['Canada', 5.5], ['England', 4], ['Cuba', 4], ['Italy', 3.5], ['Poland', 3], ['El-Salvador', 4],
    ['Puerto-Rico', 3], ['Portugal', 1.7], ['Ireland', 1.2], ['Greece', 1], ['France', 1], ['Scotland', 0.5], ['Hungary', 0.6],
    ['Yugoslavia', 0.8], ['Iran', 1.5], ['Dominican-Republic', 1.5], ['Columbia', 2], ['Guatemala', 2], ['Nicaragua', 1.2],
    ['Peru', 1], ['Ecuador', 0.9], ['Honduras', 0.5], ['Outlying-US(Guam-USVI-etc)', 0.3], ['Holand-Netherlands', 0.05],
  ],
  Black: [['Jamaica', 30], ['Haiti', 15], ['Trinadad&Tobago', 6], ['Dominican-Republic', 5], ['Outlying-US(Guam-USVI-etc)', 3], ['England', 2], ['Cuba', 2], ['Puerto-Rico', 3]],
  'Asian-Pac-Islander': [
    ['Philippines', 28], ['India', 14], ['China', 11], ['Vietnam', 10], ['South', 11], ['Taiwan', 6], ['Japan', 6], ['Hong', 3],
    ['Cambodia', 3], ['Laos', 2.5], ['Thailand', 2], ['Iran', 0.5],
  ],
  'Amer-Indian-Eskimo': [['Mexico', 3], ['Canada', 2], ['Columbia', 0.5]],
  Other: [['Mexico', 25], ['Puerto-Rico', 12], ['Dominican-Republic', 8], ['Columbia', 8], ['Ecuador', 5], ['El-Salvador', 6], ['Guatemala', 5], ['Peru', 4], ['Cuba', 3], ['Nicaragua', 2]],
};
/** Share born abroad, per race. */
const ABROAD_SHARE: Readonly<Record<string, number>> = { White: 0.06, Black: 0.06, 'Asian-Pac-Islander': 0.75, 'Amer-Indian-Eskimo': 0.02, Other: 0.45 };
/** Countries whose emigrants had, in this model, less schooling on average. */
const LOW_SCHOOLING = new Set(['Mexico', 'El-Salvador', 'Guatemala', 'Honduras', 'Nicaragua', 'Dominican-Republic', 'Haiti', 'Laos', 'Cambodia', 'Vietnam', 'Portugal', 'Puerto-Rico']);

const EDUCATION: Weights = [
  ['HS-grad', 32.6], ['Some-college', 22], ['Bachelors', 16.7], ['Masters', 5.4], ['Assoc-voc', 4.3], ['11th', 3.5], ['Assoc-acdm', 3.3],
  ['10th', 2.7], ['7th-8th', 1.8], ['Prof-school', 1.8], ['9th', 1.5], ['12th', 1.2], ['Doctorate', 1.2], ['5th-6th', 0.9],
  ['1st-4th', 0.5], ['Preschool', 0.15],
];

function education(r: () => number, age: number, country: string): string {
  let w: Weights;
  // the young are still at school: their level is capped by their age
  if (age <= 17) w = [['10th', 25], ['11th', 45], ['12th', 15], ['9th', 8], ['HS-grad', 7]];
  else if (age <= 19) w = [['11th', 15], ['12th', 12], ['10th', 6], ['HS-grad', 35], ['Some-college', 32]];
  else if (age <= 22) w = scale(EDUCATION, { Masters: 0.02, 'Prof-school': 0, Doctorate: 0, Bachelors: 0.35, 'Some-college': 2.2 });
  else if (age <= 26) w = scale(EDUCATION, { Doctorate: 0.1, 'Prof-school': 0.4, Masters: 0.5 });
  else if (age >= 60) w = scale(EDUCATION, { '7th-8th': 3, '5th-6th': 2.5, '9th': 1.8, '1st-4th': 2.5, 'Some-college': 0.6, 'Assoc-acdm': 0.5, 'Assoc-voc': 0.6 });
  else w = EDUCATION;
  if (LOW_SCHOOLING.has(country)) {
    w = w.map(([v, x]) => [v, x * (EDU_YEARS[v]! <= 8 ? 7 : EDU_YEARS[v]! >= 13 ? 0.3 : 0.8)] as const);
  }
  return pick(r, w);
}

function marital(r: () => number, age: number, sex: string): string {
  let w: Weights;
  if (age < 22) w = [['Never-married', 93], ['Married-civ-spouse', 5], ['Divorced', 0.5], ['Separated', 1], ['Married-spouse-absent', 0.5]];
  else if (age < 30) w = [['Never-married', 58], ['Married-civ-spouse', 31], ['Divorced', 6], ['Separated', 3], ['Married-spouse-absent', 1.5], ['Married-AF-spouse', 0.15], ['Widowed', 0.2]];
  else if (age < 45) w = [['Never-married', 19], ['Married-civ-spouse', 55], ['Divorced', 18], ['Separated', 4], ['Married-spouse-absent', 1.5], ['Widowed', 1], ['Married-AF-spouse', 0.06]];
  else if (age < 65) w = [['Never-married', 7], ['Married-civ-spouse', 60], ['Divorced', 21], ['Separated', 3.5], ['Married-spouse-absent', 1.5], ['Widowed', 6]];
  else w = [['Never-married', 4], ['Married-civ-spouse', 55], ['Divorced', 10], ['Separated', 1], ['Married-spouse-absent', 1], ['Widowed', 29]];
  // Adult counts one person per household interview: most married respondents are husbands
  return pick(r, sex === 'Female' ? scale(w, { 'Married-civ-spouse': 0.3, 'Married-AF-spouse': 2 }) : scale(w, { Widowed: 0.3, Divorced: 0.7, Separated: 0.7 }));
}

function workclass(r: () => number, age: number, edu: string): string {
  const y = EDU_YEARS[edu]!;
  const w: Weights = [
    ['Private', 74],
    ['Self-emp-not-inc', 8.3 * (age >= 50 ? 2 : age < 25 ? 0.3 : 1)],
    ['Self-emp-inc', 3.6 * (y >= 13 ? 2 : 1) * (age >= 40 ? 1.8 : 0.6)],
    ['Local-gov', 6.9 * (edu === 'Masters' ? 3 : y >= 13 ? 1.5 : 1)],
    ['State-gov', 4.2 * (edu === 'Doctorate' ? 6 : y >= 14 ? 2 : 1)],
    ['Federal-gov', 3.1 * (age >= 35 ? 1.3 : 0.7)],
    ['Without-pay', 0.05],
  ];
  return pick(r, w);
}

const OCC_LOW: Weights = [
  ['Craft-repair', 16], ['Machine-op-inspct', 14], ['Other-service', 18], ['Handlers-cleaners', 12], ['Transport-moving', 9], ['Farming-fishing', 8],
  ['Adm-clerical', 5], ['Sales', 8], ['Priv-house-serv', 2.5], ['Exec-managerial', 3], ['Protective-serv', 1.5], ['Prof-specialty', 1], ['Tech-support', 1],
];
const OCC_MID: Weights = [
  ['Adm-clerical', 14], ['Craft-repair', 19], ['Sales', 12], ['Exec-managerial', 10], ['Other-service', 10], ['Machine-op-inspct', 7],
  ['Transport-moving', 6], ['Handlers-cleaners', 4], ['Tech-support', 4], ['Prof-specialty', 4], ['Protective-serv', 2.5], ['Farming-fishing', 3],
  ['Priv-house-serv', 0.4], ['Armed-Forces', 0.04],
];
const OCC_BACHELOR: Weights = [
  ['Prof-specialty', 25], ['Exec-managerial', 26], ['Sales', 15], ['Adm-clerical', 10], ['Tech-support', 4], ['Craft-repair', 4], ['Other-service', 3],
  ['Protective-serv', 2], ['Machine-op-inspct', 1], ['Transport-moving', 1], ['Farming-fishing', 1], ['Handlers-cleaners', 0.6], ['Armed-Forces', 0.05],
];
const OCC_GRADUATE: Weights = [
  ['Prof-specialty', 60], ['Exec-managerial', 25], ['Sales', 5], ['Adm-clerical', 3], ['Tech-support', 2], ['Other-service', 1], ['Craft-repair', 1],
  ['Protective-serv', 0.6], ['Farming-fishing', 0.4],
];

function occupation(r: () => number, edu: string, sex: string, work: string): string {
  const y = EDU_YEARS[edu]!;
  let w = y <= 8 ? OCC_LOW : y <= 12 ? OCC_MID : y === 13 ? OCC_BACHELOR : OCC_GRADUATE;
  w = sex === 'Female'
    ? scale(w, { 'Adm-clerical': 2.2, 'Other-service': 1.6, 'Priv-house-serv': 6, 'Craft-repair': 0.12, 'Transport-moving': 0.1, 'Handlers-cleaners': 0.3, 'Farming-fishing': 0.2, 'Protective-serv': 0.3, 'Machine-op-inspct': 0.7, 'Armed-Forces': 0.2, 'Exec-managerial': 0.8 })
    : scale(w, { 'Adm-clerical': 0.6, 'Priv-house-serv': 0.1 });
  if (work === 'Self-emp-not-inc') w = scale(w, { 'Farming-fishing': 5, 'Craft-repair': 2, 'Prof-specialty': 1.5, 'Sales': 1.5, 'Adm-clerical': 0.2, 'Machine-op-inspct': 0.2, 'Armed-Forces': 0 });
  else if (work === 'Self-emp-inc') w = scale(w, { 'Exec-managerial': 4, 'Sales': 2, 'Adm-clerical': 0.2, 'Armed-Forces': 0 });
  else if (work.endsWith('-gov')) w = scale(w, { 'Prof-specialty': 1.6, 'Adm-clerical': 1.8, 'Protective-serv': 5, 'Sales': 0.1, 'Armed-Forces': work === 'Federal-gov' ? 20 : 0 });
  else w = scale(w, { 'Armed-Forces': 0 });
  return pick(r, w);
}

const OCC_SCORE: Readonly<Record<string, number>> = {
  'Exec-managerial': 0.9, 'Prof-specialty': 0.7, 'Tech-support': 0.4, 'Protective-serv': 0.4, Sales: 0.2, 'Craft-repair': 0, 'Armed-Forces': 0,
  'Adm-clerical': -0.3, 'Transport-moving': -0.1, 'Machine-op-inspct': -0.3, 'Farming-fishing': -0.9, 'Handlers-cleaners': -0.9,
  'Other-service': -1.5, 'Priv-house-serv': -2.5,
};
const WORK_SCORE: Readonly<Record<string, number>> = {
  'Self-emp-inc': 0.7, 'Federal-gov': 0.5, 'Local-gov': 0, 'State-gov': -0.1, Private: 0, 'Self-emp-not-inc': -0.2, 'Without-pay': -5,
};
const MARITAL_SCORE: Readonly<Record<string, number>> = {
  'Married-civ-spouse': 2, 'Married-AF-spouse': 1.6, Divorced: -0.2, Separated: -0.4, Widowed: -0.2, 'Married-spouse-absent': -0.3, 'Never-married': -0.6,
};

/** The salary class from a logistic score: schooling, age (a hump in the fifties), marriage, occupation, workclass, sex. */
function salary(r: () => number, age: number, sex: string, race: string, mar: string, edu: string, work: string, occ: string): string {
  const ageScore = age < 22 ? -3 : age < 25 ? -1.8 : age < 30 ? -0.7 : age < 35 ? -0.2 : age < 45 ? 0.2 : age < 55 ? 0.35 : age < 65 ? 0.1 : -0.5;
  const z =
    -2.65 +
    0.33 * (EDU_YEARS[edu]! - 10) +
    ageScore +
    MARITAL_SCORE[mar]! +
    OCC_SCORE[occ]! +
    WORK_SCORE[work]! +
    (sex === 'Male' ? 0.6 : 0) +
    (race === 'White' || race === 'Asian-Pac-Islander' ? 0.1 : -0.2);
  return r() < 1 / (1 + Math.exp(-z)) ? '>50K' : '<=50K';
}

/**
 * Generates an Adult-like table: `rows` rows (default 30,162, Adult's size) from
 * `seed` (default 1). Deterministic: equal options give equal tables, on any
 * platform. About 25 % of rows are `>50K`, two thirds are male, and the
 * quasi-identifier combinations are as sparse as Adult's (thousands of unique
 * records at the default size).
 */
export function generateAdultLike(options: AdultLikeOptions = {}): AdultLikeTable {
  const n = options.rows ?? ADULT_LIKE_DEFAULT_ROWS;
  if (!Number.isInteger(n) || n < 1) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `adult-like options.rows: expected a positive integer, found ${Number.isFinite(n) ? 'a number out of range' : typeof n}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `adult-like options.seed: expected an integer, found ${typeof seed === 'number' ? 'a fraction' : typeof seed}`);
  const r = rng(seed);
  const columns = Object.fromEntries(ADULT_LIKE_COLUMNS.map((c) => [c, new Array<string>(n)])) as Record<AdultLikeColumn, string[]>;
  for (let i = 0; i < n; i++) {
    const sex = r() < 0.675 ? 'Male' : 'Female';
    const age = Number(pick(r, AGE_WEIGHTS));
    const race = pick(r, RACE);
    const country = r() < ABROAD_SHARE[race]! ? pick(r, ABROAD[race]!) : 'United-States';
    const edu = education(r, age, country);
    const mar = marital(r, age, sex);
    const work = workclass(r, age, edu);
    const occ = occupation(r, edu, sex, work);
    columns.sex[i] = sex;
    columns.age[i] = String(age);
    columns.race[i] = race;
    columns['marital-status'][i] = mar;
    columns.education[i] = edu;
    columns['native-country'][i] = country;
    columns.workclass[i] = work;
    columns.occupation[i] = occ;
    columns['salary-class'][i] = salary(r, age, sex, race, mar, edu, work, occ);
  }
  return { n, header: [...ADULT_LIKE_COLUMNS], columns };
}

/** The table as row objects, `age` a number and every other column a string (the shape models/load-adult.ts reads Adult into). */
export function adultLikeRows(table: AdultLikeTable): Record<string, string | number>[] {
  return Array.from({ length: table.n }, (_, i) => {
    const row: Record<string, string | number> = {};
    for (const c of table.header) row[c] = c === 'age' ? Number(table.columns.age[i]) : table.columns[c][i]!;
    return row;
  });
}

/** The table as ARX's adult.csv is laid out: `;`-separated, a header row, no quoting (no value needs it). */
export function adultLikeCsv(table: AdultLikeTable): string {
  const lines = [table.header.join(';')];
  for (let i = 0; i < table.n; i++) lines.push(table.header.map((c) => table.columns[c][i]).join(';'));
  return lines.join('\n') + '\n';
}

/**
 * Writes a table and its nine hierarchies into `dir` under ARX's names
 * (`adult.csv`, `adult_hierarchy_<column>.csv`), so code that reads ARX's
 * Adult folder reads this one the same way. Returns the table written.
 */
export async function writeAdultLike(dir: string, options: AdultLikeOptions = {}): Promise<AdultLikeTable> {
  const table = generateAdultLike(options);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'adult.csv'), adultLikeCsv(table));
  for (const c of ADULT_LIKE_COLUMNS) await writeFile(join(dir, `adult_hierarchy_${c}.csv`), adultLikeHierarchyCsv(c));
  return table;
}
