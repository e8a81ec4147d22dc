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
      /quasiIdentifiers\[0\]\.hierarchy\.builtin: expected one of age/,
    );
    expect(bad({ ...config(), l: { variant: 'distinct', l: 2 } })).toMatch(/sensitive: expected at least one sensitive column/);
    expect(bad({ ...config(), l: { variant: 'recursive', l: 2 }, sensitive: ['x'] })).toMatch(/l\.c: expected a number c/);
    // a valid config passes (negative control)
    expect(() => parseAnonymizeConfig(config())).not.toThrow();
  });
});

// ---- Direct identifiers never reach the output (issue 9 item 5), on generated data ----

import { creditCodeCheckChar, luhnCheckDigit, residentIdCheckDigit, TAIZHOU_AREAS } from '../../../transforms/identifiers.js';
import { scanDirectIdentifiers } from '../../../transforms/direct-identifiers.js';

/** A small deterministic generator (no Math.random: the cases must repeat). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const rnd = lcg(20261202);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(rnd() * 10))).join('');
const ID_ROWS = 400;
const FULL_WIDTH = (s: string): string => [...s].map((c) => (/[0-9A-Z]/.test(c) ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c)).join('');

function residentId(): string {
  const area = pick(TAIZHOU_AREAS).code;
  const y = 1940 + Math.floor(rnd() * 60);
  const m = String(1 + Math.floor(rnd() * 12)).padStart(2, '0');
  const d = String(1 + Math.floor(rnd() * 28)).padStart(2, '0');
  const first17 = `${area}${y}${m}${d}${digits(3)}`;
  return first17 + residentIdCheckDigit(first17);
}
const mobile = (): string => `1${pick(['3', '5', '8'])}${digits(9)}`;
const bankCard = (): string => {
  const p = `622202${digits(9)}`;
  return p + luhnCheckDigit(p);
};
const creditCode = (): string => {
  const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const first17 = `91${pick(TAIZHOU_AREAS).code}${Array.from({ length: 9 }, () => pick([...alphabet])).join('')}`;
  return first17 + creditCodeCheckChar(first17);
};
const personName = (): string => pick(['陈', '王', '林', '李', '张', '叶', '周', '金', '欧阳']) + pick(['建国', '秀英', '伟', '丽君', '海林', '小平', '美华', '志明', '晓', '桂香']) + pick(['', '', '明', '红', '强']);

/** Rows with quasi-identifiers (age, sex, area), a sensitive column and innocuous others; `extra` adds columns. */
function population(extra: Record<string, () => string> = {}): { header: string[]; rows: string[][] } {
  const base: Record<string, () => string> = {
    age: () => String(20 + Math.floor(rnd() * 50)),
    sex: () => pick(['男', '女']),
    area: () => pick(TAIZHOU_AREAS).code,
    diagnosis: () => pick(['高血压', '糖尿病', '冠心病', '哮喘', '健康']),
    district: () => pick(TAIZHOU_AREAS).name,
    visits: () => String(Math.floor(rnd() * 12)),
    // long random numbers: a tenth pass Luhn by chance; must not read as bank cards
    ref_no: () => `5${digits(15)}`,
    remark: () => pick(['复诊', '按时服药', '无', '转诊至上级医院', '随访 3 次']),
  };
  const cols = { ...base, ...extra };
  const header = Object.keys(cols);
  const rows = Array.from({ length: ID_ROWS }, () => header.map((h) => cols[h]!()));
  return { header, rows };
}

function writePopulation(name: string, extra: Record<string, () => string> = {}): string {
  const { header, rows } = population(extra);
  const path = join(tmp, name);
  writeFileSync(path, [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n');
  return path;
}

const popConfig = (over: Partial<AnonymizeConfigInput> = {}): AnonymizeConfigInput => ({
  quasiIdentifiers: [
    { column: 'age', hierarchy: { builtin: 'age', bands: [5, 10, 20] } },
    { column: 'sex', hierarchy: { builtin: 'unordered', groups: { '*': ['男', '女'] } } },
    { column: 'area', hierarchy: { builtin: 'area-code' } },
  ],
  sensitive: ['diagnosis'],
  k: 5,
  suppressionLimit: 0.05,
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; details: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string; details: unknown };
  }
  throw new Error('expected a refusal');
}

describe('anonymizeFile and direct identifiers', () => {
  it('negative control: quasi-identifiers, a sensitive column and innocuous others anonymize as before, every column kept', async () => {
    const input = writePopulation('plain.csv');
    const out = join(tmp, 'plain-out.csv');
    const r = await anonymizeFile(input, popConfig(), { outputPath: out });
    expect(r.droppedColumns).toEqual({});
    expect(r.after.risk.max).toBeLessThanOrEqual(1 / 5);
    const rows = readCsv(out, ',');
    expect(rows).toHaveLength(ID_ROWS);
    expect(Object.keys(rows[0]!)).toEqual(['age', 'sex', 'area', 'diagnosis', 'district', 'visits', 'ref_no', 'remark']);
  });

  it('refuses an ID-number column with an innocuous name (col7), naming the column and the kind, never a value', async () => {
    const ids: string[] = [];
    const input = writePopulation('col7.csv', { col7: () => (ids.push(residentId()), ids[ids.length - 1]!) });
    const out = join(tmp, 'col7-out.csv');
    const e = await refusal(anonymizeFile(input, popConfig(), { outputPath: out }));
    expect(e.code).toBe('SLUICE_ERR_ANON_DIRECT_IDENTIFIER');
    expect(e.message).toMatch(/col7 \(resident-id in 400 values\)/);
    expect(e.message).toMatch(/directIdentifiers: drop/);
    for (const id of ids.slice(0, 50)) expect(e.message).not.toContain(id);
    expect(() => readFileSync(out)).toThrow(); // nothing written
    // refused even when no output is asked for: the risk figures would be a lie
    await expect(anonymizeFile(input, popConfig())).rejects.toMatchObject({ code: 'SLUICE_ERR_ANON_DIRECT_IDENTIFIER' });
  });

  it('directIdentifiers: drop leaves the column out, says so, and reports the same risk', async () => {
    const input = writePopulation('col7-drop.csv', { col7: residentId, c9: mobile });
    const out = join(tmp, 'col7-drop-out.csv');
    const r = await anonymizeFile(input, popConfig({ directIdentifiers: 'drop' }), { outputPath: out });
    expect(Object.keys(r.droppedColumns).sort()).toEqual(['c9', 'col7']);
    expect(r.droppedColumns['col7']).toEqual({ declared: false, found: { 'resident-id': ID_ROWS } });
    expect(r.droppedColumns['c9']!.found).toEqual({ mobile: ID_ROWS });
    const rows = readCsv(out, ',');
    expect(Object.keys(rows[0]!)).not.toContain('col7');
    expect(Object.keys(rows[0]!)).not.toContain('c9');
    expect(Object.keys(rows[0]!)).toContain('remark');
    expect(r.after.risk.max).toBeLessThanOrEqual(1 / 5);
  });

  it('refuses a declared identifier whatever its content, and drops it when asked', async () => {
    let i = 0;
    const input = writePopulation('declared.csv', { member: () => `M${String(++i).padStart(5, '0')}` });
    const e = await refusal(anonymizeFile(input, popConfig({ declaredIdentifiers: ['member'] })));
    expect(e.code).toBe('SLUICE_ERR_ANON_DIRECT_IDENTIFIER');
    expect(e.message).toMatch(/member \(declared in declaredIdentifiers\)/);
    const out = join(tmp, 'declared-out.csv');
    const r = await anonymizeFile(input, popConfig({ declaredIdentifiers: ['member'], directIdentifiers: 'drop' }), { outputPath: out });
    expect(r.droppedColumns['member']).toEqual({ declared: true, found: {} });
    expect(Object.keys(readCsv(out, ',')[0]!)).not.toContain('member');
    // a declared column that does not exist is a config error, naming it
    await expect(anonymizeFile(input, popConfig({ declaredIdentifiers: ['nope'] }))).rejects.toMatchObject({
      code: 'SLUICE_ERR_ANON_CONFIG_INVALID',
      message: expect.stringMatching(/column nope: expected in/),
    });
  });

  it.each<[string, () => string, string]>([
    ['mobile with separators', () => { const m = mobile(); return `${m.slice(0, 3)}-${m.slice(3, 7)}-${m.slice(7)}`; }, 'mobile'],
    ['mobile with +86', () => `+86 ${mobile()}`, 'mobile'],
    ['full-width ID numbers', () => FULL_WIDTH(residentId()), 'resident-id'],
    ['ID in free text', () => `患者身份证${residentId()}已核验`, 'resident-id'],
    ['ID with spaces', () => residentId().replace(/^(\d{6})(\d{8})/, '$1 $2 '), 'resident-id'],
    ['lower-case x', () => { let id = residentId(); while (!id.endsWith('X')) id = residentId(); return id.toLowerCase(); }, 'resident-id'],
    ['circled digits', () => mobile().replace(/[1-9]/g, (d) => String.fromCodePoint(0x2460 + Number(d) - 1)), 'mobile'],
    ['Arabic-Indic digits', () => mobile().replace(/\d/g, (d) => String.fromCodePoint(0x0660 + Number(d))), 'mobile'],
    ['bank cards', bankCard, 'bank-card'],
    ['credit codes', creditCode, 'credit-code'],
    ['e-mails', () => `user${digits(4)}@example.com.cn`, 'email'],
    ['personal names', personName, 'person-name'],
    ['15-digit first-generation IDs', () => { const id = residentId(); return id.slice(0, 6) + id.slice(8, 17); }, 'resident-id'],
  ])('positive control: refuses a column of %s', async (_what, gen, kind) => {
    const input = writePopulation(`kind-${kind}-${Math.floor(rnd() * 1e9)}.csv`, { x1: gen });
    const e = await refusal(anonymizeFile(input, popConfig()));
    expect(e.code).toBe('SLUICE_ERR_ANON_DIRECT_IDENTIFIER');
    expect(e.message).toContain(`x1 (${kind} in`);
  });

  it('finds an identifier split over two columns, naming both', async () => {
    let id = '';
    const input = writePopulation('split.csv', { part_a: () => ((id = residentId()), id.slice(0, 9)), part_b: () => id.slice(9) });
    const e = await refusal(anonymizeFile(input, popConfig()));
    expect(e.code).toBe('SLUICE_ERR_ANON_DIRECT_IDENTIFIER');
    expect(e.message).toMatch(/part_a \(resident-id in \d+ values when joined with part_b\)/);
    expect(e.message).toMatch(/part_b \(resident-id in \d+ values when joined with part_a\)/);
    let m = '';
    const phones = writePopulation('split-mobile.csv', { tail: () => ((m = mobile()), m.slice(3)), head: () => m.slice(0, 3) });
    const r = await anonymizeFile(phones, popConfig({ directIdentifiers: 'drop' }));
    expect(Object.keys(r.droppedColumns).sort()).toEqual(['head', 'tail']);
    expect(r.droppedColumns['tail']!.joinedWith).toBe('head');
  });

  it('a single identifier embedded in one remark is enough', async () => {
    let row = 0;
    const input = writePopulation('one-remark.csv', { note: () => (++row === 200 ? `联系电话${mobile()}` : '无') });
    const e = await refusal(anonymizeFile(input, popConfig()));
    expect(e.message).toContain('note (mobile in 1 value)');
  });

  it('a quasi-identifier or sensitive column holding identifiers is refused even with drop', async () => {
    const input = writePopulation('qi-id.csv', { phone: mobile });
    const qi = await refusal(
      anonymizeFile(input, popConfig({ directIdentifiers: 'drop', k: 1, quasiIdentifiers: [{ column: 'phone', hierarchy: { builtin: 'interval', widths: [10] } }], sensitive: [] })),
    );
    expect(qi.code).toBe('SLUICE_ERR_ANON_DIRECT_IDENTIFIER');
    expect(qi.message).toMatch(/phone \(mobile in \d+ values; configured as quasi-identifier\)/);
    const sens = await refusal(anonymizeFile(input, popConfig({ directIdentifiers: 'drop', sensitive: ['phone'] })));
    expect(sens.message).toMatch(/phone \(mobile in 400 values; configured as sensitive\)/);
  });

  it('scanDirectIdentifiers: negative controls find nothing', () => {
    const of = (gen: () => string) => scanDirectIdentifiers(Array.from({ length: ID_ROWS }, gen));
    expect(of(() => `5${digits(15)}`)).toEqual({}); // random 16-digit numbers, a tenth Luhn-valid
    expect(of(() => pick(TAIZHOU_AREAS).name)).toEqual({}); // district names
    expect(of(() => pick(['高血压', '糖尿病', '冠心病', '哮喘', '健康']))).toEqual({});
    expect(of(() => digits(64).replace(/\d/g, (d) => '0123456789ABCDEF'[Number(d) + (rnd() < 0.4 ? 6 : 0)]!))).toEqual({}); // hex-ish hashes
    expect(of(() => `2026-${String(1 + Math.floor(rnd() * 12)).padStart(2, '0')}-15`)).toEqual({});
    expect(of(() => String(Math.floor(rnd() * 1e9)))).toEqual({});
    expect(of(() => `${personName()[0]}*`)).toEqual({}); // masked names
  });
});

describe('anonymize config: missing keys and identifier options', () => {
  it('names the missing key of a built-in hierarchy, and the unknown builtin', () => {
    const msg = (v: unknown): string => {
      try {
        parseAnonymizeConfig(v);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    const qi = (hierarchy: unknown) => ({ quasiIdentifiers: [{ column: 'sex', hierarchy }], k: 2 });
    expect(msg(qi({ builtin: 'unordered' }))).toMatch(/quasiIdentifiers\[0\]\.hierarchy\.groups: missing key groups: expected a map/);
    expect(msg(qi({ builtin: 'unordered' }))).not.toMatch(/a object/);
    expect(msg(qi({ builtin: 'interval' }))).toMatch(/hierarchy\.widths: missing key widths/);
    expect(msg(qi({ builtin: 'zodiac' }))).toMatch(/hierarchy\.builtin: expected one of age, date/);
    expect(msg(qi({ arx: 7 }))).toMatch(/hierarchy\.arx: expected string, found an integer/);
    expect(msg({ quasiIdentifiers: [{ column: 'sex' }], k: 2 })).toMatch(/hierarchy: missing key hierarchy/);
    expect(msg({ quasiIdentifiers: [{ column: 'sex', hierarchy: { builtin: 'date' } }] })).toMatch(/k: missing key k/);
    expect(msg({ ...qi({ builtin: 'date' }), directIdentifiers: 'keep' })).toMatch(/directIdentifiers: expected one of "refuse", "drop"/);
    expect(msg({ ...qi({ builtin: 'date' }), declaredIdentifiers: ['sex'] })).toMatch(/declaredIdentifiers\[0\]: expected a column that is neither/);
    expect(parseAnonymizeConfig(qi({ builtin: 'date' })).directIdentifiers).toBe('refuse');
  });

  it('the example config in examples/ is valid', async () => {
    const c = await loadAnonymizeConfig(new URL('../../../examples/anonymize.yaml', import.meta.url).pathname);
    expect(c.k).toBeGreaterThan(1);
    expect(c.directIdentifiers).toBe('refuse');
  });
});
