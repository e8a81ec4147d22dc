import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, queryJson } from '../../../lib/duck.js';
import { loadAnonymizeConfig, parseAnonymizeConfig, type AnonymizeConfigInput } from '../../../transforms/anonymize-config.js';
import { anonymizeFile } from '../../../transforms/anonymize-file.js';
import { writeAdultLike } from '../../../synthetic/adult-like.js';

const COLUMNS = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation', 'salary-class'];
const tmp = mkdtempSync(join(tmpdir(), 'sluice-anon-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
// Generated Adult-like data laid out as ARX ships Adult: adult.csv and adult_hierarchy_<column>.csv
const DIR = join(tmp, 'adult-like');
const INPUT = `${DIR}/adult.csv`;
let N = 0;
beforeAll(async () => {
  N = (await writeAdultLike(DIR)).n;
});

const config = (over: Partial<AnonymizeConfigInput> = {}): AnonymizeConfigInput => ({
  quasiIdentifiers: COLUMNS.map((c) => ({ column: c, hierarchy: { arx: `adult_hierarchy_${c}.csv` } })),
  k: 10,
  suppressionLimit: 0.05,
  ...over,
});

/** Class sizes of released rows on all QIs, leaving out the fully suppressed rows. */
function classSizes(rows: Record<string, string>[]): number[] {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const vals = COLUMNS.map((c) => r[c]!);
    if (vals.every((v) => v === '*')) continue;
    const key = vals.join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.values()];
}

function readCsv(path: string, sep: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l !== '');
  const header = lines[0]!.split(sep);
  return lines.slice(1).map((l) => Object.fromEntries(l.split(sep).map((v, i) => [header[i]!, v])));
}

describe('anonymizeFile on Adult-like data at k = 10', () => {
  it('optimal: writes a CSV whose classes all have ≥ 10 records, and reports risk before and after', async () => {
    const out = join(tmp, 'adult-k10.csv');
    const r = await anonymizeFile(INPUT, config(), { baseDir: DIR, outputPath: out });
    expect(r.method).toBe('optimal');
    // positive control: the raw table is re-identifiable
    expect(r.before.records).toBe(N);
    expect(r.before.risk.sampleUniques).toBeGreaterThan(1000);
    expect(r.before.risk.max).toBe(1);
    expect(r.before.loss).toBe(0);
    // the release
    expect(r.suppressed).toBeLessThanOrEqual(Math.floor(0.05 * N));
    expect(r.after.risk.sampleUniques).toBe(0);
    expect(r.after.risk.aboveThreshold).toBe(0);
    expect(r.after.loss).toBeGreaterThan(0);
    expect(r.after.loss).toBeLessThan(1);
    expect(Object.keys(r.levels ?? {})).toEqual(COLUMNS);
    expect(r.generalizedColumns['age']).toMatch(/^level \d of 0\.\.4$/);

    const rows = readCsv(out, ';');
    expect(rows).toHaveLength(N);
    const sizes = classSizes(rows);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(10);
    expect(rows.filter((row) => COLUMNS.every((c) => row[c] === '*'))).toHaveLength(r.suppressed);
    // generalized columns carry no raw value of a finer level
    if (r.levels!['age']! > 0) {
      const rawAges = new Set(readCsv(INPUT, ';').map((row) => row['age']!));
      expect(rows.some((row) => rawAges.has(row['age']!))).toBe(false);
    }
  }, 300_000);

  it('mondrian: writes Parquet with classes of ≥ 10 and a loss below 1', async () => {
    const out = join(tmp, 'adult-k10-mondrian.parquet');
    const r = await anonymizeFile(INPUT, config({ method: 'mondrian', suppressionLimit: 0 }), { baseDir: DIR, outputPath: out, threads: 1 });
    expect(r.method).toBe('mondrian');
    expect(r.suppressed).toBe(0);
    expect(r.levels).toBeUndefined();
    expect(r.after.risk.max).toBeLessThanOrEqual(0.1);
    expect(r.after.loss).toBeGreaterThan(0);
    expect(r.after.loss).toBeLessThan(1);
    const duck = await openDuck();
    try {
      const rows = await queryJson<Record<string, string>>(duck.conn, `SELECT * FROM read_parquet('${out}')`);
      expect(rows).toHaveLength(N);
      expect(Math.min(...classSizes(rows))).toBeGreaterThanOrEqual(10);
    } finally {
      duck.close();
    }
  }, 300_000);

  it('k = 1 leaves the table as it is (negative control: nothing to hide, nothing changed)', async () => {
    const r = await anonymizeFile(INPUT, config({ k: 1, suppressionLimit: 0 }), { baseDir: DIR });
    expect(Object.values(r.levels!)).toEqual(COLUMNS.map(() => 0));
    expect(r.after.loss).toBe(0);
    expect(r.after.classes).toBe(r.before.classes);
  }, 120_000);

  it('names a missing column and a missing hierarchy file', async () => {
    await expect(
      anonymizeFile(INPUT, { quasiIdentifiers: [{ column: 'zip', hierarchy: { builtin: 'area-code' } }], k: 2 }, { baseDir: DIR }),
    ).rejects.toMatchObject({ code: 'SLUICE_ERR_ANON_CONFIG_INVALID', message: expect.stringMatching(/column zip: expected in .*, found no such column/) });
    await expect(
      anonymizeFile(INPUT, { quasiIdentifiers: [{ column: 'age', hierarchy: { arx: 'nope.csv' } }], k: 2 }, { baseDir: DIR }),
    ).rejects.toMatchObject({ code: 'SLUICE_ERR_NOT_FOUND' });
  });
});

describe('anonymize config', () => {
  it('loads YAML with defaults (suppression 0, optimal, loss) and built-in hierarchies', async () => {
    const path = join(tmp, 'anon.yaml');
    writeFileSync(
      path,
      ['quasiIdentifiers:', '  - column: age', '    hierarchy: { builtin: age, bands: [5, 10] }', '  - column: sex', '    hierarchy: { arx: h.csv }', 'k: 5', ''].join('\n'),
    );
    const c = await loadAnonymizeConfig(path);
    expect(c).toMatchObject({ k: 5, suppressionLimit: 0, method: 'optimal', metric: 'loss' });
    expect(c.quasiIdentifiers[0]!.hierarchy).toEqual({ builtin: 'age', bands: [5, 10] });
  });

  it('errors name the path, what was expected and what was found', () => {
    const bad = (v: unknown): string => {
      try {
        parseAnonymizeConfig(v);
      } catch (e) {
        expect((e as { code: string }).code).toBe('SLUICE_ERR_ANON_CONFIG_INVALID');
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(bad({ ...config(), k: 'ten' })).toMatch(/k: expected number, found a string/);
    expect(bad({ ...config(), suppressionLimit: 2 })).toMatch(/suppressionLimit: expected ≤ 1, found an integer/);
    expect(bad({ ...config(), method: 'fast' })).toMatch(/method: expected one of "optimal", "mondrian", "mondrian-relaxed", found a string/);
    expect(bad({ ...config(), quasiIdentifiers: [{ column: 'age', hierarchy: { builtin: 'zodiac' } }] })).toMatch(
      /quasiIdentifiers\[0\]\.hierarchy: expected an ARX hierarchy/,
    );
    expect(bad({ ...config(), l: { variant: 'distinct', l: 2 } })).toMatch(/sensitive: expected at least one sensitive column/);
    expect(bad({ ...config(), l: { variant: 'recursive', l: 2 }, sensitive: ['x'] })).toMatch(/l\.c: expected a number c/);
    // a valid config passes (negative control)
    expect(() => parseAnonymizeConfig(config())).not.toThrow();
  });
});
