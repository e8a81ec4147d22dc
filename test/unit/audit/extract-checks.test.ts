import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, type Duck } from '../../../lib/duck.js';
import { isSluiceError } from '../../../lib/errors.js';
import { auditExtract, type ExtractAuditInput } from '../../../audit/extract-checks.js';
import { DEFAULT_THRESHOLDS } from '../../../audit/thresholds.js';
import type { CheckResult } from '../../../audit/types.js';
import { describeColumns, loadPeople, makePeople, peopleSource, type Person } from '../../fixtures/red-team/people.js';

let duck: Duck;
let people: Person[];
beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
  people = makePeople(2000, 3);
  await loadPeople(duck.conn, 'raw', people);
});
afterAll(() => duck?.close());

async function audit(name: string, sql: string, extra: Partial<ExtractAuditInput> = {}, labels: Record<string, string> = {}): Promise<Record<string, CheckResult>> {
  await duck.conn.run(`CREATE OR REPLACE TABLE ${name} AS ${sql}`);
  const cols = (await (await duck.conn.runAndReadAll(`SELECT column_name FROM (DESCRIBE ${name})`)).getRows()).map((r) => String(r[0]));
  const results = await auditExtract(duck.conn, {
    output: name, outputColumns: describeColumns(cols, labels), raw: [peopleSource('raw')], declaredQuasiIdentifiers: [], sensitive: [], ...extra,
  });
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

/** Smallest class size (in distinct records: QI key and secret) and distinct-ℓ computed in TypeScript, as an oracle for B3/B4. */
function oracle(rows: Person[], key: (p: Person) => string, secret: (p: Person) => string): { k: number; l: number } {
  const groups = new Map<string, Set<string>>();
  for (const p of rows) groups.set(key(p), (groups.get(key(p)) ?? new Set()).add(secret(p)));
  let k = Infinity, l = Infinity;
  // The output's columns are exactly key + secret, so a class's distinct records are its distinct secrets.
  for (const g of groups.values()) { k = Math.min(k, g.size); l = Math.min(l, g.size); }
  return { k, l };
}

describe('B1 identifiers', () => {
  it('fails on raw names in a free-text column (exact match, no pattern) and counts the cells per source column', async () => {
    const r = await audit('names_out', `SELECT name AS contact_person, education FROM raw`);
    expect(r['B1']!.status).toBe('fail');
    expect(r['B1']!.columns).toEqual(['contact_person']);
    expect(r['B1']!.metrics['contact_person|raw-identifier:raw.name']).toBe(2000);
  });

  it('fails on mobiles stored as DOUBLE and ID numbers with a full-width prefix', async () => {
    const r = await audit('typed_out', `SELECT mobile::DOUBLE AS m, '　' || translate(id_number, '0123', '０１２３') AS idn FROM raw`);
    expect(r['B1']!.status).toBe('fail');
    expect(r['B1']!.columns).toEqual(['idn', 'm']);
    expect(r['B1']!.metrics['m|pattern:mobile']).toBe(2000);
  });

  it('fails on ID numbers spelled with a space between every character, and e-mails inside long text', async () => {
    const r = await audit('spaced_out', `SELECT array_to_string(string_split(id_number, ''), ' ') AS spaced,
      repeat('lorem ipsum ', 20) || 'write to someone@example.org today' AS note FROM raw`);
    expect(r['B1']!.status).toBe('fail');
    expect(r['B1']!.metrics['spaced|raw-identifier:raw.id_number']).toBe(2000);
    expect(r['B1']!.metrics['note|pattern:email']).toBe(2000);
  });

  it('finds PII patterns that are not in the raw data (a mobile from elsewhere)', async () => {
    const r = await audit('foreign_mobile', `SELECT '13900000000' AS hotline, education FROM raw`);
    expect(r['B1']!.status).toBe('fail');
    expect(r['B1']!.metrics['hotline|pattern:mobile']).toBe(2000);
    expect(r['B1']!.metrics['exactMatchCells']).toBe(0);
  });

  it('passes a generalized extract without identifiers', async () => {
    const r = await audit('clean_out', `SELECT year(birth_date) // 10 * 10 AS decade, sex, left(area_code, 2) AS province, education FROM raw`);
    expect(r['B1']!.status).toBe('pass');
    expect(r['B1']!.metrics['exactMatchCells']).toBe(0);
    expect(r['B1']!.metrics['patternMatchCells']).toBe(0);
  });
});

describe('B3 k-anonymity and B4 l-diversity', () => {
  it('computes the smallest class and ℓ on declared QIs as a brute-force count does', async () => {
    const r = await audit('kl_out', `SELECT year(birth_date) // 10 * 10 AS decade, sex, left(area_code, 2) AS province, diagnosis FROM raw`, {
      declaredQuasiIdentifiers: ['decade', 'sex', 'province'], sensitive: ['diagnosis'],
    });
    const expected = oracle(people, (p) => `${Math.floor(Number(p.birth_date.slice(0, 4)) / 10) * 10}|${p.sex}|${p.area_code.slice(0, 2)}`, (p) => p.diagnosis);
    expect(r['B3']!.metrics['k']).toBe(expected.k);
    expect(r['B4']!.metrics['l']).toBe(expected.l);
    const t = DEFAULT_THRESHOLDS.B3;
    expect(r['B3']!.status).toBe(expected.k < t.failBelow ? 'fail' : expected.k < t.reviewBelow ? 'review' : 'pass');
    expect(r['B3']!.parameters['failBelow']).toBe(5);
    expect(r['B4']!.parameters['reviewBelow']).toBe(3);
  });

  it('passes k and ℓ on a suppressed extract; fails ℓ when a class holds one diagnosis', async () => {
    // Classes are counted in distinct records (B3 is blind to repeated rows), so the suppression counts them too.
    const base = `SELECT * FROM (SELECT DISTINCT year(birth_date) // 10 * 10 AS decade, sex, diagnosis, education FROM raw) QUALIFY count(*) OVER (PARTITION BY decade, sex) >= 10`;
    const ok = await audit('ok_out', base, { declaredQuasiIdentifiers: ['decade', 'sex'], sensitive: ['diagnosis'] });
    expect(ok['B3']!.status).toBe('pass');
    expect(ok['B4']!.status).toBe('pass');
    const homog = await audit('homog_out', `SELECT decade, sex, CASE WHEN decade = 1960 AND sex = 'F' THEN 'hypertension' ELSE diagnosis END AS diagnosis, education FROM (${base})`, {
      declaredQuasiIdentifiers: ['decade', 'sex'], sensitive: ['diagnosis'],
    });
    expect(homog['B4']!.status).toBe('fail');
    expect(homog['B4']!.metrics['diagnosis|classesBelowFail']).toBe(1);
  });

  it('holds a two-valued sensitive attribute to ℓ = 2: well mixed in every class it passes and the report names asked and applied ℓ', async () => {
    // decade × education classes of at least 10 records; sex (two values) is the sensitive attribute.
    const base = `SELECT * FROM (SELECT DISTINCT year(birth_date) // 10 * 10 AS decade, education, sex, diagnosis FROM raw) QUALIFY count(*) OVER (PARTITION BY decade, education) >= 10 AND count(DISTINCT sex) OVER (PARTITION BY decade, education) = 2`;
    const mixed = await audit('sex_mixed', base, { declaredQuasiIdentifiers: ['decade', 'education'], sensitive: ['sex'] });
    expect(mixed['B3']!.status).toBe('pass');
    expect(mixed['B4']!.metrics['sex|l']).toBe(2);
    expect(mixed['B4']!.status).toBe('pass');
    expect(mixed['B4']!.metrics['sex|distinctOverall']).toBe(2);
    expect(mixed['B4']!.metrics['sex|askedReviewBelow']).toBe(3);
    expect(mixed['B4']!.metrics['sex|appliedReviewBelow']).toBe(2);
    expect(mixed['B4']!.metrics['sex|appliedFailBelow']).toBe(2);
    expect(mixed['B4']!.parameters['reviewBelow']).toBe(3);
    expect(mixed['B4']!.summary).toContain('sex: ℓ 2 applied (asked 3; the column has 2 distinct values overall)');
    // A many-valued attribute in the same output is still held to the asked ℓ.
    const both = await audit('sex_diag', base, { declaredQuasiIdentifiers: ['decade', 'education'], sensitive: ['sex', 'diagnosis'] });
    expect(both['B4']!.metrics['diagnosis|appliedReviewBelow']).toBe(3);
  });

  it('still fails a class in which the two-valued attribute has a single value (positive control)', async () => {
    const base = `SELECT * FROM (SELECT DISTINCT year(birth_date) // 10 * 10 AS decade, education, sex, diagnosis FROM raw) QUALIFY count(*) OVER (PARTITION BY decade, education) >= 10 AND count(DISTINCT sex) OVER (PARTITION BY decade, education) = 2`;
    const one = await audit('sex_homog', `SELECT decade, education, CASE WHEN (decade, education) = (SELECT (min(decade), min(education)) FROM (${base}) WHERE decade = (SELECT min(decade) FROM (${base}))) THEN 'F' ELSE sex END AS sex, diagnosis FROM (${base})`, {
      declaredQuasiIdentifiers: ['decade', 'education'], sensitive: ['sex'],
    });
    expect(one['B4']!.metrics['sex|l']).toBe(1);
    expect(one['B4']!.metrics['sex|classesBelowFail']).toBe(1);
    expect(one['B4']!.status).toBe('fail');
    expect(one['B4']!.columns).toEqual(['sex']);
  });

  it('infers a mostly-unique column as a quasi-identifier, but not a column labelled token', async () => {
    const withIncome = await audit('income_out', `SELECT sex, income FROM raw`, { declaredQuasiIdentifiers: ['sex'] });
    expect(withIncome['B3']!.status).toBe('fail');
    expect(withIncome['B3']!.columns).toContain('income');
    const tokenised = await audit('token_out', `SELECT sha256('secret-key' || id_number) AS t, sex FROM raw`, { declaredQuasiIdentifiers: ['sex'] }, { t: 'token' });
    expect(tokenised['B3']!.columns).toEqual(['sex']);
    expect(tokenised['B3']!.status).toBe('pass');
  });
});

describe('B5 linkage', () => {
  it('fails when exact raw QIs link most rows to one raw person', async () => {
    const r = await audit('link_out', `SELECT birth_date, sex, area_code FROM raw`);
    expect(r['B5']!.status).toBe('fail');
    expect(Number(r['B5']!.metrics['linkedShare'])).toBeGreaterThan(0.9);
    expect(r['B5']!.columns).toEqual(['birth_date', 'sex', 'area_code']);
  });

  it('does not link on generalized values under a raw column name, nor on tokens', async () => {
    const r = await audit('gen_out', `SELECT sha256('k' || id_number) AS id_number, strftime(birth_date, '%Y') AS birth_date, sex, left(area_code, 2) || '0000' AS area_code FROM raw`, {}, { id_number: 'token' });
    expect(r['B5']!.status).toBe('pass');
    expect(r['B5']!.columns).toEqual(['sex']);
    expect(Number(r['B5']!.metrics['raw.birth_date|comparableShare'])).toBe(0);
  });
});

describe('input validation', () => {
  it('names the missing column without any value', async () => {
    await duck.conn.run(`CREATE OR REPLACE TABLE v_out AS SELECT sex FROM raw`);
    const err = await auditExtract(duck.conn, {
      output: 'v_out', outputColumns: describeColumns(['sex']), raw: [peopleSource('raw')], declaredQuasiIdentifiers: ['decade'], sensitive: [],
    }).catch((e: unknown) => e);
    expect(isSluiceError(err)).toBe(true);
    expect((err as Error).message).toContain('declaredQuasiIdentifiers');
    expect((err as Error).message).toContain('decade');
  });

  it('rejects a missing output table', async () => {
    const err = await auditExtract(duck.conn, { output: 'nope', outputColumns: [], raw: [], declaredQuasiIdentifiers: [], sensitive: [] }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('SLUICE_ERR_INPUT_INVALID');
  });

  it('leaves no temporary table behind', async () => {
    await audit('tmp_out', `SELECT sex, md5(mobile) AS h FROM raw`);
    const rows = await (await duck.conn.runAndReadAll(`SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name LIKE '__sluice_%'`)).getRows();
    expect(Number(rows[0]![0])).toBe(0);
  });
});
