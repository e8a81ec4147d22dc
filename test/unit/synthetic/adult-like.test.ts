/**
 * The Adult-like generator (synthetic/adult-like.ts), which the tests of the
 * anonymization algorithms and the trainers run on: seeded, Adult's columns and
 * value domains, hierarchies that cover it, and enough structure for those
 * tests to mean something (sparse quasi-identifiers, a learnable label). The
 * last block compares it with the UCI Adult data itself, and with loadAdult,
 * and skips with one line when that data is not beside the clone.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADULT_LIKE_COLUMNS,
  ADULT_LIKE_DEFAULT_ROWS,
  adultLikeCsv,
  adultLikeHierarchyCsv,
  adultLikeRows,
  generateAdultLike,
  writeAdultLike,
  type AdultLikeTable,
} from '../../../synthetic/adult-like.js';
import { parseArxHierarchy } from '../../../transforms/hierarchy.js';
import { ADULT_DIR } from '../../../lib/shared-data.js';
import { adultDataset, adultLikeDataset, loadAdult } from '../../../models/load-adult.js';
import { skipWithoutAdult } from '../../helpers/optional-data.js';

const NO_ADULT = skipWithoutAdult('comparisons of the generator with the UCI Adult data');

let table: AdultLikeTable;
beforeAll(() => {
  table = generateAdultLike();
});

const share = (values: string[], pred: (v: string, i: number) => boolean): number => values.filter(pred).length / values.length;
/** P(salary-class = >50K | pred) over the rows that satisfy pred. */
function richShare(t: AdultLikeTable, pred: (i: number) => boolean): number {
  let n = 0;
  let rich = 0;
  for (let i = 0; i < t.n; i++) {
    if (!pred(i)) continue;
    n++;
    if (t.columns['salary-class'][i] === '>50K') rich++;
  }
  return rich / n;
}

describe('generateAdultLike', () => {
  it("has Adult's nine columns in ARX's order, 30,162 rows by default, every column full", () => {
    expect(table.header).toEqual(['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation', 'salary-class']);
    expect(table.n).toBe(ADULT_LIKE_DEFAULT_ROWS);
    for (const c of ADULT_LIKE_COLUMNS) {
      expect(table.columns[c]).toHaveLength(table.n);
      expect(table.columns[c].every((v) => typeof v === 'string' && v !== '')).toBe(true);
    }
    expect(table.columns.age.every((v) => /^\d+$/.test(v) && Number(v) >= 17 && Number(v) <= 90)).toBe(true);
  });

  it('is deterministic in its seed and its size', () => {
    const a = generateAdultLike({ rows: 500, seed: 7 });
    expect(generateAdultLike({ rows: 500, seed: 7 })).toEqual(a);
    const b = generateAdultLike({ rows: 500, seed: 8 });
    expect(b.columns.age).not.toEqual(a.columns.age);
    expect(() => generateAdultLike({ rows: 0 })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_INPUT_INVALID', message: expect.stringMatching(/options\.rows: expected a positive integer/) }));
    expect(() => generateAdultLike({ seed: 1.5 })).toThrow(/options\.seed: expected an integer/);
  });

  it('draws every value from its hierarchy, which is well formed, ends in *, and has ARX Adult’s heights', () => {
    const heights: Record<string, number> = {};
    for (const c of ADULT_LIKE_COLUMNS) {
      const h = parseArxHierarchy(adultLikeHierarchyCsv(c)); // validates: one parent per value, no repeats, no empty cell
      heights[c] = h.height;
      expect(h.rows.every((r) => r[h.height - 1] === '*')).toBe(true);
      const leaves = new Set(h.rows.map((r) => r[0]!));
      const drawn = new Set(table.columns[c]);
      for (const v of drawn) expect(leaves.has(v), `${c}: drawn value outside its hierarchy`).toBe(true);
      // every leaf is drawn but the few ARX lists and Adult lacks (ages outside 17–90, Never-worked) and the very rare
      if (c !== 'age' && c !== 'native-country' && c !== 'workclass') expect(drawn.size, c).toBe(leaves.size);
    }
    expect(heights).toEqual({ sex: 2, age: 5, race: 2, 'marital-status': 3, education: 4, 'native-country': 3, workclass: 3, occupation: 3, 'salary-class': 2 });
  });

  it('is as sparse on the nine columns as Adult is (most records unique), but not wholly unique', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < table.n; i++) {
      const key = ADULT_LIKE_COLUMNS.map((c) => table.columns[c][i]).join('\u0000');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const uniques = [...counts.values()].filter((k) => k === 1).length;
    expect(uniques).toBeGreaterThan(0.3 * table.n);
    expect(counts.size).toBeLessThan(0.9 * table.n);
    expect(Math.max(...counts.values())).toBeGreaterThanOrEqual(10);
  });

  it('has a learnable salary class: about a quarter >50K, more with schooling, marriage and age', () => {
    const sal = table.columns['salary-class'];
    const rich = share(sal, (v) => v === '>50K');
    expect(rich).toBeGreaterThan(0.2);
    expect(rich).toBeLessThan(0.3);
    const edu = table.columns.education;
    const degree = richShare(table, (i) => ['Bachelors', 'Masters', 'Prof-school', 'Doctorate'].includes(edu[i]!));
    const school = richShare(table, (i) => ['HS-grad', '11th', '10th', '9th', '7th-8th'].includes(edu[i]!));
    expect(degree).toBeGreaterThan(2 * school);
    const mar = table.columns['marital-status'];
    expect(richShare(table, (i) => mar[i] === 'Married-civ-spouse')).toBeGreaterThan(4 * richShare(table, (i) => mar[i] === 'Never-married'));
    const age = table.columns.age;
    expect(richShare(table, (i) => Number(age[i]) >= 40 && Number(age[i]) < 60)).toBeGreaterThan(3 * richShare(table, (i) => Number(age[i]) < 25));
    // columns depend on each other, as in Adult: occupation on sex, country on race
    const occ = table.columns.occupation;
    const sex = table.columns.sex;
    const craftMale = share(occ, (v, i) => v === 'Craft-repair' && sex[i] === 'Male') / share(sex, (v) => v === 'Male');
    const craftFemale = share(occ, (v, i) => v === 'Craft-repair' && sex[i] === 'Female') / share(sex, (v) => v === 'Female');
    expect(craftMale).toBeGreaterThan(3 * craftFemale);
    const race = table.columns.race;
    const country = table.columns['native-country'];
    expect(share(country, (v, i) => v !== 'United-States' && race[i] === 'Asian-Pac-Islander') / share(race, (v) => v === 'Asian-Pac-Islander')).toBeGreaterThan(
      5 * (share(country, (v, i) => v !== 'United-States' && race[i] === 'White') / share(race, (v) => v === 'White')),
    );
  });

  it('encodes like Adult for training: age numeric, the rest one-hot, the target two classes', () => {
    const { dataset, rows } = adultLikeDataset({ rows: 2000, seed: 3 });
    expect(dataset.n).toBe(2000);
    expect(dataset.classes).toEqual(['<=50K', '>50K']);
    expect(typeof rows[0]!['age']).toBe('number');
    expect(dataset.features.filter((f) => f.kind === 'numeric')).toHaveLength(1);
    expect(adultLikeRows(generateAdultLike({ rows: 2000, seed: 3 }))).toEqual(rows);
  });

  describe('writeAdultLike', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-adult-like-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("writes adult.csv and the nine adult_hierarchy_<column>.csv under ARX's names", async () => {
      const t = await writeAdultLike(dir, { rows: 300, seed: 5 });
      expect(readdirSync(dir).sort()).toEqual(['adult.csv', ...ADULT_LIKE_COLUMNS.map((c) => `adult_hierarchy_${c}.csv`)].sort());
      const text = readFileSync(join(dir, 'adult.csv'), 'utf8');
      expect(text).toBe(adultLikeCsv(t));
      const lines = text.trimEnd().split('\n');
      expect(lines).toHaveLength(301);
      expect(lines[0]).toBe(ADULT_LIKE_COLUMNS.join(';'));
      expect(lines.slice(1).every((l) => l.split(';').length === 9)).toBe(true);
    });
  });
});

describe.skipIf(NO_ADULT)('against the UCI Adult data (shared/data/adult or SLUICE_ADULT_DIR)', () => {
  let adult: { rows: Record<string, string | number>[]; columns: string[] };
  beforeAll(async () => {
    adult = await loadAdult();
  });

  it('loadAdult reads ARX’s 30,162 rows of 9 columns, and adultDataset encodes them into 93 features', async () => {
    expect(adult.rows).toHaveLength(30162);
    expect(adult.columns).toHaveLength(9);
    const { dataset } = await adultDataset();
    expect(dataset.d).toBe(93);
  });

  it("has the same header, and draws only values that Adult has (per column; ages within Adult's range)", () => {
    expect([...table.header]).toEqual(adult.columns);
    const ages = adult.rows.map((r) => Number(r['age']));
    const mine = table.columns.age.map(Number);
    expect(Math.min(...mine)).toBeGreaterThanOrEqual(Math.min(...ages));
    expect(Math.max(...mine)).toBeLessThanOrEqual(Math.max(...ages));
    for (const c of ADULT_LIKE_COLUMNS.filter((c) => c !== 'age')) {
      const real = new Set(adult.rows.map((r) => String(r[c])));
      const outside = [...new Set(table.columns[c])].filter((v) => !real.has(v));
      expect(outside, c).toEqual([]);
    }
  });

  it("covers Adult with its hierarchies: every value of Adult is a leaf of the generated hierarchy, at ARX's heights", () => {
    for (const c of ADULT_LIKE_COLUMNS) {
      const mine = parseArxHierarchy(adultLikeHierarchyCsv(c));
      const arx = parseArxHierarchy(readFileSync(join(ADULT_DIR, `adult_hierarchy_${c}.csv`), 'utf8'));
      expect(mine.height, c).toBe(arx.height);
      const leaves = new Set(mine.rows.map((r) => r[0]!));
      for (const v of new Set(adult.rows.map((r) => String(r[c])))) expect(leaves.has(v), c).toBe(true);
    }
  });

  it('matches the main marginals of Adult within 3 percentage points', () => {
    const real = (c: string, v: string): number => adult.rows.filter((r) => r[c] === v).length / adult.rows.length;
    for (const [c, v] of [
      ['sex', 'Male'],
      ['salary-class', '>50K'],
      ['race', 'White'],
      ['native-country', 'United-States'],
      ['marital-status', 'Never-married'],
      ['marital-status', 'Married-civ-spouse'],
      ['education', 'HS-grad'],
      ['workclass', 'Private'],
    ] as const) {
      expect(Math.abs(share(table.columns[c], (x) => x === v) - real(c, v)), `${c}=${v}`).toBeLessThan(0.03);
    }
  });
});
