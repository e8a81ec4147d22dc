import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, type Duck } from '../../../lib/duck.js';
import { auditExtract } from '../../../audit/extract-checks.js';
import { auditTable, type TableAuditInput } from '../../../audit/table-checks.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../../audit/thresholds.js';
import type { CheckResult } from '../../../audit/types.js';
import { loadPeople, makePeople, type Person } from '../../fixtures/red-team/people.js';
import { CORPUS } from '../../fixtures/red-team/corpus.js';

// The red-team corpus (AUDIT.md §B): outputs that must be blocked, outputs that must pass,
// and the privacy property that no report carries a raw identifier.
let duck: Duck;
let people: Person[];
const produced: CheckResult[] = [];

beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
  const all = makePeople(4000, 20240611);
  // First half: the raw lineage (and the generation input of the synthetic entry); second half: held-out control.
  people = all.slice(0, 2000);
  await loadPeople(duck.conn, 'raw', people);
  await loadPeople(duck.conn, 'control', all.slice(2000));
  for (const entry of CORPUS) await entry.build(duck.conn, 'raw', people);
});

afterAll(() => duck?.close());

describe('red-team corpus: must be blocked', () => {
  for (const entry of CORPUS.filter((e) => e.blockedBy !== undefined)) {
    it(`${entry.name} fails ${entry.blockedBy!.join(' or ')}`, async () => {
      const results = await auditExtract(duck.conn, entry.input('raw', 'control'));
      produced.push(...results);
      const failed = results.filter((r) => r.status === 'fail').map((r) => r.id);
      expect(failed.some((id) => entry.blockedBy!.includes(id)), `failed: ${failed.join(',')}`).toBe(true);
    });
  }
});

describe('red-team corpus: must pass', () => {
  for (const entry of CORPUS.filter((e) => e.allowed !== undefined)) {
    it(`${entry.name} is not blocked (${Object.entries(entry.allowed!).map(([id, s]) => `${id}: ${s.join('/')}`).join(', ')})`, async () => {
      const results = await auditExtract(duck.conn, entry.input('raw', 'control'));
      produced.push(...results);
      expect(results.map((r) => r.id)).toEqual(['B1', 'B2', 'B3', 'B4', 'B5']);
      for (const r of results) {
        expect(r.status, `${r.id}: ${r.summary}`).not.toBe('fail');
        expect(entry.allowed![r.id], `${r.id}: ${r.summary}`).toContain(r.status);
      }
    });
  }
});

// The table items of the corpus (AUDIT.md §A), on the same raw people: units are ID numbers,
// so the report scan below also proves that no unit id leaks from a table report.
describe('red-team corpus: tables', () => {
  const T = DEFAULT_THRESHOLDS as Thresholds;
  const byId = (rs: CheckResult[], id: string): CheckResult => rs.find((r) => r.id === id)!;

  it('a cell of 3 people fails A1', async () => {
    await duck.conn.run(`CREATE OR REPLACE TABLE t3_ev AS SELECT left(area_code, 2) AS province, sex, id_number AS pid FROM raw
      WHERE NOT (left(area_code, 2) = '11' AND sex = 'F') OR id_number IN (SELECT id_number FROM raw WHERE left(area_code, 2) = '11' AND sex = 'F' ORDER BY id_number LIMIT 3)`);
    await duck.conn.run(`CREATE OR REPLACE TABLE t3 AS SELECT province, sex, count(DISTINCT pid) AS n FROM t3_ev GROUP BY ALL`);
    const rs = await auditTable(duck.conn, { table: 't3', groupBy: ['province', 'sex'], counts: ['n'], measures: [], evidence: 't3_ev', unitColumn: 'pid' }, T);
    produced.push(...rs);
    expect(byId(rs, 'A1').status).toBe('fail');
  });

  it('a cell where one person holds 95% of the income fails A3', async () => {
    await duck.conn.run(`CREATE OR REPLACE TABLE dom_ev AS SELECT left(area_code, 2) AS province, id_number AS pid,
      CASE WHEN id_number = (SELECT min(id_number) FROM raw WHERE left(area_code, 2) = '31') THEN 1e9 ELSE income END AS income FROM raw`);
    await duck.conn.run(`CREATE OR REPLACE TABLE dom AS SELECT province, count(DISTINCT pid) AS n, sum(income) AS income FROM dom_ev GROUP BY ALL`);
    const input: TableAuditInput = { table: 'dom', groupBy: ['province'], counts: ['n'], measures: [{ column: 'income', fn: 'sum' }], evidence: 'dom_ev', unitColumn: 'pid' };
    const rs = await auditTable(duck.conn, input, T);
    produced.push(...rs);
    expect(byId(rs, 'A3').status).toBe('fail');
  });

  it('a release that differs from an earlier one by 3 people is not passed by A9 (review)', async () => {
    await duck.conn.run(`CREATE OR REPLACE TABLE diff_before AS SELECT left(area_code, 2) AS province, id_number AS pid FROM raw`);
    await duck.conn.run(`CREATE OR REPLACE TABLE diff_now_ev AS SELECT * FROM diff_before WHERE pid NOT IN (SELECT pid FROM diff_before WHERE province = '44' ORDER BY pid LIMIT 3)`);
    await duck.conn.run(`CREATE OR REPLACE TABLE diff_now AS SELECT province, count(*) AS n FROM diff_now_ev GROUP BY ALL`);
    const rs = await auditTable(duck.conn, {
      table: 'diff_now', groupBy: ['province'], counts: ['n'], measures: [], evidence: 'diff_now_ev', unitColumn: 'pid',
      earlierReleases: [{ table: 'diff_before_t', groupBy: ['province'], evidence: 'diff_before' }],
    }, T);
    produced.push(...rs);
    expect(byId(rs, 'A9').status).toBe('review');
  });
});

describe('red-team corpus: reports', () => {
  it('every check of every entry carries its thresholds and names the failing columns', () => {
    expect(produced.length).toBeGreaterThanOrEqual(CORPUS.length * 5);
    for (const r of produced.filter((x) => x.id.startsWith('B'))) {
      expect(Object.keys(r.parameters).length).toBeGreaterThan(0);
      if (r.status === 'fail' && r.id !== 'B6') expect(r.columns.length).toBeGreaterThan(0);
    }
  });

  it('no report contains a raw ID number or mobile number, in any case or width', () => {
    const json = JSON.stringify(produced);
    expect(json.length).toBeGreaterThan(1000);
    const leaks: string[] = [];
    for (const p of people) {
      for (const v of [p.id_number, p.id_number.toUpperCase(), p.id_number.slice(0, 17), p.mobile]) if (json.includes(v)) leaks.push(`person ${people.indexOf(p)}`);
    }
    expect(leaks.length).toBe(0);
  });
});
