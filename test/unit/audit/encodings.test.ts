import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, type Duck } from '../../../lib/duck.js';
import { auditExtract, type ExtractAuditInput } from '../../../audit/extract-checks.js';
import type { CheckResult } from '../../../audit/types.js';
import { describeColumns, hmacToken, loadPeople, makePeople, peopleSource, type Person } from '../../fixtures/red-team/people.js';

let duck: Duck;
let people: Person[];
beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
  people = makePeople(1500, 7);
  await loadPeople(duck.conn, 'raw', people);
});
afterAll(() => duck?.close());

/** Builds `name` from SQL over `raw` and returns its B2 result. */
async function b2(name: string, sql: string, labels: Record<string, string> = {}): Promise<CheckResult> {
  await duck.conn.run(`CREATE OR REPLACE TABLE ${name} AS ${sql}`);
  const cols = (await (await duck.conn.runAndReadAll(`SELECT column_name FROM (DESCRIBE ${name})`)).getRows()).map((r) => String(r[0]));
  const input: ExtractAuditInput = { output: name, outputColumns: describeColumns(cols, labels), raw: [peopleSource('raw')], declaredQuasiIdentifiers: [], sensitive: [] };
  const results = await auditExtract(duck.conn, input);
  return results.find((r) => r.id === 'B2')!;
}

const blocked: Array<[string, string, string, string]> = [
  // [name, SQL, failing column, transform named in the summary]
  ['hex_ids', `SELECT hex(id_number) AS x, sex FROM raw`, 'x', 'hex'],
  ['hex_lower_mobiles', `SELECT lower(hex(mobile)) AS x FROM raw`, 'x', 'hex'],
  ['b64url_unpadded_names', `SELECT rtrim(replace(replace(to_base64(encode(name || id_number)), '+', '-'), '/', '_'), '=') AS x, to_base64(encode(name)) AS y FROM raw`, 'y', 'base64'],
  ['reversed_ids', `SELECT reverse(id_number) AS x FROM raw`, 'x', 'reverse'],
  ['md5_upper_mobiles', `SELECT upper(md5(mobile)) AS x FROM raw`, 'x', 'md5(no salt)'],
  ['sha1_ids', `SELECT sha1(id_number) AS x FROM raw`, 'x', 'sha1(no salt)'],
  ['sha256_b64_digest', `SELECT to_base64(unhex(sha256(mobile))) AS x FROM raw`, 'x', 'sha256(no salt)'],
  ['known_salt_suffix', `SELECT sha256(mobile || ':' || 'salt') AS x FROM raw`, 'x', 'known salt #1, suffix'],
  ['constant_column_salt', `SELECT 'k8#Pz' AS tenant, md5('k8#Pz' || '|' || id_number) AS x FROM raw`, 'x', 'salt from column tenant, prefix'],
  ['per_row_salt', `SELECT md5(id_number || 'r') AS row_salt, sha256(md5(id_number || 'r') || mobile) AS x FROM raw`, 'x', 'per-row salt from column row_salt'],
  ['small_domain_birth_date', `SELECT md5(CAST(birth_date AS VARCHAR)) AS x FROM raw`, 'x', 'md5(no salt)'],
];

describe('B2 reversible encodings: blocked', () => {
  for (const [name, sql, col, tf] of blocked) {
    it(`${name}: fails on column ${col} naming ${tf}`, async () => {
      const r = await b2(name, sql);
      expect(r.status).toBe('fail');
      expect(r.columns).toContain(col);
      expect(r.summary).toContain(tf);
      const hits = Object.entries(r.metrics).filter(([k]) => k.startsWith(`${col}|`)).map(([, v]) => Number(v));
      expect(Math.max(...hits)).toBeGreaterThan(0);
    });
  }

  it('names the small raw domain a hashed quasi-identifier came from', async () => {
    const r = await b2('small_domain_sex', `SELECT sha1(sex) AS s, education FROM raw`);
    expect(r.status).toBe('fail');
    expect(Object.keys(r.metrics).some((k) => k.startsWith('s|sha1(no salt)|raw.sex (small domain)'))).toBe(true);
  });
});

describe('B2 reversible encodings: negative controls', () => {
  it('passes HMAC tokens, keyed hashes and random digests', async () => {
    await duck.conn.run(`CREATE OR REPLACE TABLE hmac_map (id VARCHAR, token VARCHAR)`);
    const rows = people.map((p) => `('${p.id_number}', '${hmacToken('k-not-in-output', p.id_number)}')`).join(', ');
    await duck.conn.run(`INSERT INTO hmac_map VALUES ${rows}`);
    const r = await b2('tokens', `SELECT m.token AS person_token, sha256('unknown-key' || r.mobile) AS keyed, md5(random()::VARCHAR) AS noise, r.sex
      FROM raw r JOIN hmac_map m ON m.id = r.id_number`, { person_token: 'token', keyed: 'token' });
    expect(r.status, r.summary).toBe('pass');
    expect(r.columns).toEqual([]);
    expect(r.metrics['hashShapedColumns']).toBe(3);
  });

  it('passes short names that happen to reverse into other names, and plain categories', async () => {
    const r = await b2('short_reversed', `SELECT reverse(name) AS nm_rev, education, sex FROM raw WHERE length(name) <= 3`);
    expect(r.columns).not.toContain('nm_rev');
    expect(r.status).toBe('pass');
  });

  it('reports the per-row salt test as review when its budget cannot reach the raw population', async () => {
    const input: ExtractAuditInput = {
      output: 'per_row_underpowered', outputColumns: describeColumns(['salt', 'x']), raw: [peopleSource('raw')], declaredQuasiIdentifiers: [], sensitive: [],
    };
    await duck.conn.run(`CREATE OR REPLACE TABLE per_row_underpowered AS SELECT md5(id_number || 'q') AS salt, sha256('unrelated' || mobile) AS x FROM raw`);
    const results = await auditExtract(duck.conn, input, undefined, { encodings: { perRowBudget: 10 } });
    const r = results.find((c) => c.id === 'B2')!;
    expect(r.status).toBe('review');
    expect(r.metrics['perRowUnderpowered']).toBe(true);
  });
});

describe('B2 reports', () => {
  it('carry no raw value, salt or hash', async () => {
    const r = await b2('leak_check', `SELECT 'k8#Pz' AS tenant, md5('k8#Pz' || id_number) AS x, reverse(mobile) AS y FROM raw`);
    expect(r.status).toBe('fail');
    const json = JSON.stringify(r);
    expect(json).not.toContain('k8#Pz');
    for (const p of people.slice(0, 300)) {
      expect(json.includes(p.id_number) || json.includes(p.mobile)).toBe(false);
      expect(json).not.toContain(createHash('md5').update('k8#Pz' + p.id_number).digest('hex'));
    }
  });
});
