import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, queryJson, type Duck } from '../../../lib/duck.js';
import { isSluiceError } from '../../../lib/errors.js';
import { DATASET_NAMES, generate, type GeneratedManifest } from '../../../synthetic/generate.js';
import {
  TAIZHOU_AREAS,
  isMobileNumber,
  isValidCreditCode,
  isValidResidentId,
} from '../../../transforms/identifiers.js';

const ROWS = 2000;
const SEED = 7;

let root: string;
let manifest: GeneratedManifest;
let duck: Duck;
const progress: Array<{ dataset: string; done: number; total: number }> = [];

const file = (name: string): string => manifest.datasets.find((d) => d.name === name)!.file;
const q = <T = Record<string, unknown>>(sql: string): Promise<T[]> => queryJson<T>(duck.conn, sql);
const t = (name: string): string => `read_parquet('${file(name)}')`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-gen-'));
  manifest = await generate({ outDir: join(root, 'a'), rows: ROWS, seed: SEED, onProgress: (p) => progress.push(p) });
  duck = await openDuck({ threads: 1 });
});

afterAll(async () => {
  duck?.close();
  await rm(root, { recursive: true, force: true });
});

describe('generate: manifest and files', () => {
  it('writes the five datasets with the exact column names, types and classes the pipeline expects', () => {
    expect(manifest.datasets.map((d) => d.name)).toEqual([...DATASET_NAMES]);
    const cols = Object.fromEntries(manifest.datasets.map((d) => [d.name, d.columns.map((c) => `${c.name}:${c.type}`)]));
    expect(cols['population']).toEqual([
      'id_number:VARCHAR', 'name:VARCHAR', 'sex:VARCHAR', 'birth_date:DATE', 'mobile:VARCHAR', 'area_code:VARCHAR',
      'area_name:VARCHAR', 'street:VARCHAR', 'community:VARCHAR', 'house_number:VARCHAR', 'address:VARCHAR',
      'education:VARCHAR', 'occupation:VARCHAR', 'marital_status:VARCHAR', 'income_band:VARCHAR',
    ]);
    expect(cols['enterprises']).toEqual([
      'credit_code:VARCHAR', 'name:VARCHAR', 'legal_rep_id:VARCHAR', 'industry:VARCHAR', 'registered_capital:DOUBLE',
      'area_code:VARCHAR', 'area_name:VARCHAR', 'established_date:DATE',
    ]);
    expect(cols['medical_visits']).toEqual([
      'visit_id:VARCHAR', 'id_number:VARCHAR', 'hospital:VARCHAR', 'visit_date:DATE', 'icd10_chapter:VARCHAR', 'cost:DOUBLE',
    ]);
    expect(cols['insurance_payments']).toEqual([
      'payment_id:VARCHAR', 'id_number:VARCHAR', 'pay_month:VARCHAR', 'insurance_type:VARCHAR', 'amount:DOUBLE',
    ]);
    expect(cols['insurer_policies']).toEqual([
      'policy_id:VARCHAR', 'id_number:VARCHAR', 'product:VARCHAR', 'premium:DOUBLE', 'claims_count:INTEGER',
      'claims_amount:DOUBLE', 'start_date:DATE',
    ]);
  });

  it('classes identifiers as direct, demographics as quasi and income as sensitive', () => {
    const cls = (ds: string, col: string): string | undefined =>
      manifest.datasets.find((d) => d.name === ds)?.columns.find((c) => c.name === col)?.class;
    for (const c of ['id_number', 'name', 'mobile', 'address', 'house_number']) expect(cls('population', c)).toBe('direct-identifier');
    for (const c of ['sex', 'birth_date', 'area_code', 'area_name', 'street', 'community', 'education', 'occupation', 'marital_status']) {
      expect(cls('population', c)).toBe('quasi-identifier');
    }
    expect(cls('population', 'income_band')).toBe('sensitive');
    expect(cls('enterprises', 'credit_code')).toBe('direct-identifier');
    expect(cls('medical_visits', 'icd10_chapter')).toBe('sensitive');
  });

  it('records origin, provider, unit column, row counts and file hashes truthfully', async () => {
    const byName = Object.fromEntries(manifest.datasets.map((d) => [d.name, d]));
    expect(byName['insurer_policies']!.origin).toBe('social');
    for (const n of ['population', 'enterprises', 'medical_visits', 'insurance_payments']) expect(byName[n]!.origin).toBe('public');
    expect(byName['population']!.provider).toBe('台州市公安局');
    expect(byName['enterprises']!.provider).toBe('台州市市场监督管理局');
    expect(byName['enterprises']!.unitColumn).toBe('credit_code');
    for (const n of ['population', 'medical_visits', 'insurance_payments', 'insurer_policies']) expect(byName[n]!.unitColumn).toBe('id_number');
    for (const d of manifest.datasets) {
      const [{ n }] = await q<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${t(d.name)}`) as [{ n: number }];
      expect(d.rows).toBe(n);
      expect(createHash('sha256').update(await readFile(d.file)).digest('hex')).toBe(d.sha256);
    }
    expect(byName['population']!.rows).toBe(ROWS);
    expect(byName['enterprises']!.rows).toBe(ROWS / 20);
    expect(byName['medical_visits']!.rows).toBeGreaterThan(1.3 * ROWS);
    expect(byName['medical_visits']!.rows).toBeLessThan(1.7 * ROWS);
    expect(byName['insurance_payments']!.rows).toBeGreaterThan(0.8 * ROWS);
    expect(byName['insurance_payments']!.rows).toBeLessThan(1.2 * ROWS);
    expect(byName['insurer_policies']!.rows).toBeGreaterThan(0.2 * ROWS);
    expect(byName['insurer_policies']!.rows).toBeLessThan(0.3 * ROWS);
  });

  it('leaves only the five Parquet files in outDir (no partial or spill files)', async () => {
    expect((await readdir(join(root, 'a'))).sort()).toEqual(DATASET_NAMES.map((n) => `${n}.parquet`).sort());
  });

  it('reports progress from 0 to the total for every dataset, in order', () => {
    expect(progress.filter((p) => p.done === 0).map((p) => p.dataset)).toEqual([...DATASET_NAMES]);
    for (const d of manifest.datasets) expect(progress).toContainEqual({ dataset: d.name, done: d.rows, total: d.rows });
  });
});

describe('generate: population', () => {
  it('gives every resident a distinct, valid id_number that agrees with birth_date, sex and area_code', async () => {
    const rows = await q<{ id_number: string; birth: string; sex: string; area_code: string; area_name: string }>(
      `SELECT id_number, strftime(birth_date, '%Y%m%d') AS birth, sex, area_code, area_name FROM ${t('population')}`,
    );
    expect(rows).toHaveLength(ROWS);
    expect(new Set(rows.map((r) => r.id_number)).size).toBe(ROWS);
    const areaName = new Map(TAIZHOU_AREAS.map((a) => [a.code, a.name]));
    const bad = rows.filter((r) =>
      !isValidResidentId(r.id_number)
      || r.id_number.slice(0, 6) !== r.area_code
      || areaName.get(r.area_code) !== r.area_name
      || r.id_number.slice(6, 14) !== r.birth
      || (Number(r.id_number[16]) % 2 === 1 ? '男' : '女') !== r.sex,
    );
    expect(bad.length).toBe(0);
    // Control: the same checks catch a single changed digit in a generated number.
    const first = rows[0]!.id_number;
    const tampered = first.slice(0, 15) + String((Number(first[15]) + 1) % 10) + first.slice(16);
    expect(isValidResidentId(tampered)).toBe(false);
  });

  it('has plausible names, mobiles and addresses built from the other columns', async () => {
    const rows = await q<{ name: string; mobile: string; address: string; expected: string; sex: string; street: string; community: string }>(
      `SELECT name, mobile, address, sex, street, community,
         '浙江省台州市' || area_name || street || community || house_number || '号' AS expected FROM ${t('population')}`,
    );
    expect(rows.every((r) => isMobileNumber(r.mobile))).toBe(true);
    expect(new Set(rows.map((r) => r.mobile)).size).toBe(ROWS);
    expect(rows.every((r) => r.address === r.expected)).toBe(true);
    expect(rows.every((r) => /^[\u4e00-\u9fff]{2,4}$/.test(r.name))).toBe(true);
    expect(rows.every((r) => /(街道|镇|乡)$/.test(r.street) && /(社区|村)$/.test(r.community))).toBe(true);
    expect(new Set(rows.map((r) => r.sex))).toEqual(new Set(['男', '女']));
  });

  it('follows an age pyramid with about a fifth aged 60+, ages 0–100, and all nine areas', async () => {
    const [s] = await q<{ old: number; minAge: number; maxAge: number; areas: number; children: number }>(
      `SELECT avg(CASE WHEN date_diff('year', birth_date, DATE '2025-12-31') >= 60 THEN 1 ELSE 0 END) AS old,
         min(date_diff('year', birth_date, DATE '2025-12-31'))::INTEGER AS minAge,
         max(date_diff('year', birth_date, DATE '2025-12-31'))::INTEGER AS maxAge,
         count(DISTINCT area_code)::INTEGER AS areas,
         avg(CASE WHEN date_diff('year', birth_date, DATE '2025-12-31') < 15 THEN 1 ELSE 0 END) AS children
       FROM ${t('population')}`,
    );
    expect(s!.old).toBeGreaterThan(0.15);
    expect(s!.old).toBeLessThan(0.27);
    expect(s!.children).toBeGreaterThan(0.08);
    expect(s!.minAge).toBeGreaterThanOrEqual(0);
    expect(s!.maxAge).toBeLessThanOrEqual(101);
    expect(s!.areas).toBe(9);
  });

  it('gives 温岭 and 临海 the most residents', async () => {
    const top = await q<{ area_name: string }>(
      `SELECT area_name FROM ${t('population')} GROUP BY area_name ORDER BY count(*) DESC, area_name LIMIT 2`,
    );
    expect(new Set(top.map((r) => r.area_name))).toEqual(new Set(['温岭市', '临海市']));
  });

  it('keeps life-course columns consistent: no married toddlers, no income for infants', async () => {
    const [s] = await q<{ badMarried: number; badIncome: number; retiredYoung: number }>(
      `SELECT
         count(*) FILTER (WHERE marital_status <> '未婚' AND date_diff('year', birth_date, DATE '2025-12-31') < 20)::INTEGER AS badMarried,
         count(*) FILTER (WHERE income_band NOT IN ('无收入', '3万以下') AND date_diff('year', birth_date, DATE '2025-12-31') < 7)::INTEGER AS badIncome,
         count(*) FILTER (WHERE occupation = '离退休' AND date_diff('year', birth_date, DATE '2025-12-31') < 59)::INTEGER AS retiredYoung
       FROM ${t('population')}`,
    );
    expect(s).toEqual({ badMarried: 0, badIncome: 0, retiredYoung: 0 });
  });
});

describe('generate: linked datasets', () => {
  it('gives enterprises valid, distinct credit codes registered in their area, with a resident as legal representative', async () => {
    const rows = await q<{ credit_code: string; area_code: string; rep_found: boolean; rep_age: number }>(
      `SELECT e.credit_code, e.area_code, p.id_number IS NOT NULL AS rep_found,
         date_diff('year', p.birth_date, DATE '2025-12-31')::INTEGER AS rep_age
       FROM ${t('enterprises')} e LEFT JOIN ${t('population')} p ON p.id_number = e.legal_rep_id`,
    );
    expect(rows).toHaveLength(ROWS / 20);
    expect(new Set(rows.map((r) => r.credit_code)).size).toBe(rows.length);
    expect(rows.filter((r) => !isValidCreditCode(r.credit_code))).toEqual([]);
    const c = rows[0]!.credit_code;
    expect(isValidCreditCode(c.slice(0, 10) + (c[10] === '1' ? '2' : '1') + c.slice(11))).toBe(false);
    expect(rows.every((r) => r.credit_code.slice(2, 8) === r.area_code)).toBe(true);
    expect(rows.every((r) => r.rep_found && r.rep_age >= 18)).toBe(true);
  });

  it('links every visit, payment and policy to a resident of population', async () => {
    for (const ds of ['medical_visits', 'insurance_payments', 'insurer_policies']) {
      const [s] = await q<{ orphans: number }>(
        `SELECT count(*)::INTEGER AS orphans FROM ${t(ds)} x ANTI JOIN ${t('population')} p ON p.id_number = x.id_number`,
      );
      expect({ ds, orphans: s!.orphans }).toEqual({ ds, orphans: 0 });
    }
  });

  it('has distinct record ids, events in 2024–2025 after birth, and well-formed months', async () => {
    const [v] = await q<{ ids: number; n: number; outside: number; beforeBirth: number }>(
      `SELECT count(DISTINCT visit_id)::INTEGER AS ids, count(*)::INTEGER AS n,
         count(*) FILTER (WHERE visit_date < DATE '2024-01-01' OR visit_date > DATE '2025-12-31')::INTEGER AS outside,
         count(*) FILTER (WHERE visit_date < p.birth_date)::INTEGER AS beforeBirth
       FROM ${t('medical_visits')} v JOIN ${t('population')} p USING (id_number)`,
    );
    expect(v!.ids).toBe(v!.n);
    expect(v!.outside + v!.beforeBirth).toBe(0);
    const months = await q<{ pay_month: string }>(`SELECT DISTINCT pay_month FROM ${t('insurance_payments')}`);
    expect(months.every((m) => /^202[45]-(0[1-9]|1[0-2])$/.test(m.pay_month))).toBe(true);
    const [p] = await q<{ ids: number; n: number }>(
      `SELECT count(DISTINCT payment_id)::INTEGER AS ids, count(*)::INTEGER AS n FROM ${t('insurance_payments')}`,
    );
    expect(p!.ids).toBe(p!.n);
  });

  it('makes the elderly visit more often than younger adults', async () => {
    const rows = await q<{ old: boolean; rate: number }>(
      `SELECT date_diff('year', p.birth_date, DATE '2025-12-31') >= 60 AS old,
         count(v.visit_id) / count(DISTINCT p.id_number) AS rate
       FROM ${t('population')} p LEFT JOIN ${t('medical_visits')} v USING (id_number)
       WHERE date_diff('year', p.birth_date, DATE '2025-12-31') >= 15
       GROUP BY ALL`,
    );
    const rate = (old: boolean): number => rows.find((r) => r.old === old)!.rate;
    expect(rate(true)).toBeGreaterThan(1.5 * rate(false));
  });

  it('keeps health-insurance claims consistent with the holder’s visits', async () => {
    const [s] = await q<{ bad: number; claims: number }>(
      `WITH nv AS (SELECT id_number, count(*) AS n FROM ${t('medical_visits')} GROUP BY id_number)
       SELECT count(*) FILTER (WHERE x.claims_count > 0 AND coalesce(nv.n, 0) = 0 AND x.product IN ('百万医疗险', '惠民保'))::INTEGER AS bad,
              sum(x.claims_count)::INTEGER AS claims
       FROM ${t('insurer_policies')} x LEFT JOIN nv USING (id_number)`,
    );
    expect(s!.bad).toBe(0);
    expect(s!.claims).toBeGreaterThan(0);
  });
});

describe('generate: reproducibility and options', () => {
  it('writes byte-identical files for the same seed and different data for another seed', async () => {
    const again = await generate({ outDir: join(root, 'b'), rows: ROWS, seed: SEED });
    for (const d of manifest.datasets) {
      const twin = again.datasets.find((x) => x.name === d.name)!;
      expect({ name: d.name, sha256: twin.sha256 }).toEqual({ name: d.name, sha256: d.sha256 });
    }
    const other = await generate({ outDir: join(root, 'c'), rows: ROWS, seed: SEED + 1 });
    for (const d of manifest.datasets) {
      expect(other.datasets.find((x) => x.name === d.name)!.sha256).not.toBe(d.sha256);
    }
    const [s] = await q<{ shared: number }>(
      `SELECT count(*)::INTEGER AS shared FROM read_parquet('${join(root, 'a', 'population.parquet')}') a
       JOIN read_parquet('${join(root, 'c', 'population.parquet')}') c USING (id_number, name)`,
    );
    expect(s!.shared).toBeLessThan(ROWS / 100);
  });

  it('stays byte-identical at a size DuckDB processes in parallel (more than one row group)', async () => {
    // 130,000 residents span two 122,880-row groups, so scans, joins and sums run on
    // both threads; a float sum in thread order once broke this.
    const big = 130_000;
    const x = await generate({ outDir: join(root, 'big1'), rows: big, seed: 11 });
    await rm(join(root, 'big1'), { recursive: true, force: true });
    const y = await generate({ outDir: join(root, 'big2'), rows: big, seed: 11 });
    await rm(join(root, 'big2'), { recursive: true, force: true });
    expect(y.datasets.map((d) => [d.name, d.rows, d.sha256])).toEqual(x.datasets.map((d) => [d.name, d.rows, d.sha256]));
  });

  it('rejects bad options with a catalogued error that does not echo the value', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ outDir: join(root, 'x'), rows: -12345, seed: 1 }, 'options.rows'],
      [{ outDir: join(root, 'x'), rows: 10.5, seed: 1 }, 'options.rows'],
      [{ outDir: join(root, 'x'), rows: 10, seed: 0.98765 }, 'options.seed'],
      [{ outDir: '', rows: 10, seed: 1 }, 'options.outDir'],
    ];
    for (const [opts, field] of cases) {
      const err = await generate(opts as never).then(() => null, (e: unknown) => e);
      expect(isSluiceError(err)).toBe(true);
      expect((err as { code: string }).code).toBe('SLUICE_ERR_INPUT_INVALID');
      expect((err as Error).message).toContain(field);
      expect((err as Error).message).not.toMatch(/12345|10\.5|98765/);
    }
  });

  it('handles a one-person population', async () => {
    const tiny = await generate({ outDir: join(root, 'tiny'), rows: 1, seed: 3 });
    const byName = Object.fromEntries(tiny.datasets.map((d) => [d.name, d.rows]));
    expect(byName['population']).toBe(1);
    expect(byName['enterprises']).toBe(1);
  });
});
