import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, quoteIdent, type Duck } from '../../../lib/duck.js';
import { auditExtract } from '../../../audit/extract-checks.js';
import { registerSha512 } from '../../../audit/encodings.js';
import { contextSalts, sqlStringLiterals } from '../../../audit/content-checks.js';
import type { CheckResult } from '../../../audit/types.js';
import { makePeople, type Person } from '../../fixtures/red-team/people.js';
import { loadPinyinPopulation, PINYIN_CASES, pinyinInput, type PinyinCase } from '../../fixtures/red-team/pinyin.js';

// Red team of the content checks (issue 11 item 2): a population table under pinyin column names, the
// ID number and mobile classed `other`, and an operator's SQL that hides them by salting, splitting,
// embedding, homoglyphs, encodings and digit ciphers. Each must be blocked by its check family;
// ordinary desensitized extracts must pass B1/B2; and no verdict may depend on row multiplicity.
let duck: Duck;
let people: Person[];
const verdicts = new Map<string, Record<string, string>>();
const reports: CheckResult[] = [];

const verdictOf = (rs: CheckResult[]): Record<string, string> => Object.fromEntries(rs.map((r) => [r.id, r.status]));

async function auditCase(c: PinyinCase, table = c.name): Promise<CheckResult[]> {
  const rs = await auditExtract(duck.conn, await pinyinInput(duck.conn, c, table));
  reports.push(...rs);
  return rs;
}

beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
  registerSha512(duck.conn);
  people = makePeople(1500, 1117);
  await loadPinyinPopulation(duck.conn, people);
  for (const c of PINYIN_CASES) await duck.conn.run(`CREATE OR REPLACE TABLE ${quoteIdent(c.name)} AS ${c.sql}`);
}, 120_000);
afterAll(() => duck?.close());

describe('content checks: blocked by the right family', () => {
  for (const c of PINYIN_CASES.filter((x) => x.blocked)) {
    it(`${c.name}: ${c.blocked!.check} fails naming ${c.blocked!.column}`, async () => {
      const rs = await auditCase(c);
      verdicts.set(c.name, verdictOf(rs));
      const r = rs.find((x) => x.id === c.blocked!.check)!;
      expect(r.status, r.summary).toBe('fail');
      expect(r.columns).toContain(c.blocked!.column);
    }, 60_000);
  }
});

describe('content checks: negative controls pass B1 and B2', () => {
  for (const c of PINYIN_CASES.filter((x) => x.passes)) {
    it(`${c.name} passes ${c.passes!.join(', ')}`, async () => {
      const rs = await auditCase(c);
      verdicts.set(c.name, verdictOf(rs));
      for (const id of c.passes!) {
        const r = rs.find((x) => x.id === id)!;
        expect(r.status, `${id}: ${r.summary}`).toBe('pass');
      }
    }, 60_000);
  }
});

describe('row multiplicity changes no verdict', () => {
  it('emitting every row 2× or 3×, or shuffling, gives the same status on every check of every case', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...PINYIN_CASES.map((c) => c.name)),
      fc.constantFrom(1, 2, 3),
      fc.integer({ min: 1, max: 1_000_000 }),
      async (name, times, seed) => {
        const c = PINYIN_CASES.find((x) => x.name === name)!;
        if (!verdicts.has(name)) verdicts.set(name, verdictOf(await auditCase(c)));
        const t = `${name}_x`;
        await duck.conn.run(`CREATE OR REPLACE TABLE ${quoteIdent(t)} AS SELECT q.* FROM ${quoteIdent(name)} q, range(${times}) ORDER BY hash(concat_ws('|', COLUMNS(*)), ${seed})`);
        const v = verdictOf(await auditCase(c, t));
        expect(v).toEqual(verdicts.get(name));
      },
    ), { numRuns: 10, seed: 424242 });
  }, 600_000);

  it('an output with more rows than its sources is reported with the counts, without changing the verdict', async () => {
    const c = PINYIN_CASES.find((x) => x.name === 'ok_tokenized')!;
    await duck.conn.run(`CREATE OR REPLACE TABLE ok_tok_3x AS SELECT q.* FROM ok_tokenized q, range(3)`);
    const rs = await auditCase(c, 'ok_tok_3x');
    const b3 = rs.find((r) => r.id === 'B3')!;
    expect(b3.metrics['rowsExceedSources']).toBe(true);
    expect(b3.metrics['outputRows']).toBe(3 * Number(b3.metrics['outputRecords']));
    expect(b3.metrics['sourceRows']).toBe(people.length);
    expect(b3.summary).toContain('more than the');
  }, 60_000);
});

describe('context and reports', () => {
  it('collects string and number literals of SQL as salts, with case variants', () => {
    expect(sqlStringLiterals(`SELECT sha1('tz:' || x), 'it''s' FROM t WHERE y > 42`)).toEqual(['tz:', "it's", '42']);
    expect(contextSalts(['Ab'], ['sfzh'], 10)).toEqual(['Ab', 'ab', 'AB', 'sfzh', 'SFZH']);
  });

  it('no report carries a raw ID number, mobile or a context salt', () => {
    const json = JSON.stringify(reports);
    expect(json.length).toBeGreaterThan(1000);
    expect(json).not.toContain('tz-2026-q3');
    let leaks = 0;
    for (const p of people) if (json.includes(p.id_number.toUpperCase()) || json.includes(p.id_number) || json.includes(p.mobile)) leaks++;
    expect(leaks).toBe(0);
  });
});
