import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, queryJson, quoteLiteral, type Duck } from '../../../lib/duck.js';
import { aggregate, Measure, type AggregateParams } from '../../../pipeline/steps/aggregate.js';
import type { StepContext, StepOutcome } from '../../../pipeline/steps/step-context.js';
import { auditTable } from '../../../audit/table-checks.js';
import { DEFAULT_THRESHOLDS } from '../../../audit/thresholds.js';
import type { CheckResult } from '../../../audit/types.js';
import { AGREEMENTS, agreement, population } from '../../helpers/plan-fixtures.js';
import { parseSpec } from '../../../pipeline/spec/spec.js';
import { planJob, type PlanContext } from '../../../pipeline/plan/plan.js';
import { isSluiceError } from '../../../lib/errors.js';

/**
 * The aggregate step's new measures on a small table whose truth is known:
 * area A: 60 persons, incomes in whole thousands (ties at every value);
 * area B: 12 persons, every income distinct (an extreme is one person's own);
 * area C: 3 persons. Persons in A have two rows each (a second, smaller income).
 */
const ROWS = `
  SELECT 'A' AS area, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS sex, 'pa' || i AS pid, CAST(1000 * (1 + i % 5) AS DOUBLE) AS income, 'h' || (i % 4) AS hospital FROM range(60) r(i)
  UNION ALL SELECT 'A', CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END, 'pa' || i, CAST(1000 * (1 + i % 3) AS DOUBLE), 'h' || (i % 2) FROM range(60) r(i)
  UNION ALL SELECT 'B', CASE WHEN i < 10 THEN 'F' ELSE 'M' END, 'pb' || i, 1234.5 + i * 101.25, 'h' || (i % 3) FROM range(12) r(i)
  UNION ALL SELECT 'C', 'F', 'pc' || i, 5000.75 + i * 17, 'h1' FROM range(3) r(i)`;

let duck: Duck;
let root: string;
let inputPath: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-agg-'));
  duck = await openDuck({ threads: 2 });
  await duck.conn.run(`CREATE TABLE rows AS ${ROWS}`);
  inputPath = join(root, 'input.parquet');
  await duck.conn.run(`COPY rows TO ${quoteLiteral(inputPath)} (FORMAT parquet)`);
});
afterAll(() => {
  duck?.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** Runs the aggregate executor on the input (as a file, or as a fused SELECT) and loads its table and evidence. */
async function run(params: AggregateParams, fused = false): Promise<{ outcome: StepOutcome; table: string; evidence: string }> {
  const k = n++;
  const outPath = join(root, `out${k}.parquet`);
  const evidencePath = join(root, `ev${k}.parquet`);
  const ctx: StepContext<AggregateParams> = {
    runId: `run-${k}`,
    step: { id: 'a', kind: 'aggregate', needs: ['x'], params, columns: [] },
    agreement: agreement('AGR-T', 'op', '2026-01-01', '2028-12-31'),
    inputs: [{ name: 'x', path: fused ? '' : inputPath, hash: 'h'.repeat(64), columns: [], ...(fused ? { sql: `SELECT * FROM read_parquet(${quoteLiteral(inputPath)})` } : {}) }],
    unitColumn: 'pid',
    outPath,
    evidencePath,
    openDuck: () => openDuck({ tempDirectory: join(root, `tmp${k}`) }),
    tempDir: join(root, `tmp${k}`),
    limits: { timeMs: 60_000, memory: '1GB', tempMax: '1GB' },
    watch: () => () => undefined,
    tokenKey: Buffer.alloc(32, 1),
    asOf: '2026-06-01',
    onProgress: () => undefined,
    isCancelled: async () => false,
  };
  const outcome = await aggregate.execute(ctx);
  const table = `t${k}`;
  const evidence = `e${k}`;
  await duck.conn.run(`CREATE TABLE ${table} AS SELECT * FROM read_parquet(${quoteLiteral(outPath)})`);
  const ev = aggregate.evidence!.table!(params);
  await duck.conn.run(`CREATE TABLE ${evidence} AS ${ev.select(`read_parquet(${quoteLiteral(evidencePath)})`)}`);
  return { outcome, table, evidence };
}

async function audit(params: AggregateParams, table: string, evidence: string): Promise<Record<string, CheckResult>> {
  const ev = aggregate.evidence!.table!(params);
  const results = await auditTable(duck.conn, { table, groupBy: ev.groupBy, counts: ev.counts, measures: ev.measures, evidence, unitColumn: '__unit', evidenceUnique: true }, DEFAULT_THRESHOLDS);
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

const MEASURES: AggregateParams['measures'] = [
  { fn: 'count_units', as: 'persons' },
  { fn: 'min', column: 'income', as: 'lowest' },
  { fn: 'max', column: 'income', as: 'highest' },
  { fn: 'median', column: 'income', as: 'median' },
  { fn: 'percentile', column: 'income', percentile: 0.9, as: 'p90' },
  { fn: 'count_distinct', column: 'hospital', as: 'hospitals' },
];

describe('aggregate measures', () => {
  it('computes min, max, median, p90 and count_distinct as plain SQL over the rows does (large cell)', async () => {
    const params: AggregateParams = { group_by: ['area'], measures: MEASURES, round: 1 };
    const { table } = await run(params);
    const [got] = await queryJson(duck.conn, `SELECT * FROM ${table} WHERE area = 'A'`);
    const [want] = await queryJson(
      duck.conn,
      `SELECT count(DISTINCT pid) AS persons, min(income) AS lowest, max(income) AS highest, quantile_cont(income, 0.5) AS median, ` +
        `quantile_cont(income, 0.9) AS p90, count(DISTINCT hospital) AS hospitals FROM rows WHERE area = 'A'`,
    );
    expect(got).toEqual({ area: 'A', ...want });
    // The large cell's extremes are shared by many persons: published (negative control).
    expect(got!['lowest']).toBe(1000);
    expect(got!['highest']).toBe(5000);
  });

  it('withholds a min or max that is one person’s own value (small cell and distinct values) and counts it; the audit passes the result', async () => {
    const params: AggregateParams = { group_by: ['area'], measures: MEASURES, round: 1 };
    const { outcome, table, evidence } = await run(params);
    const rows = await queryJson<{ area: string; lowest: number | null; highest: number | null; median: number | null; persons: number }>(duck.conn, `SELECT * FROM ${table} ORDER BY area`);
    const byArea = Object.fromEntries(rows.map((r) => [r.area, r]));
    for (const a of ['B', 'C']) {
      expect(byArea[a]!.lowest).toBeNull();
      expect(byArea[a]!.highest).toBeNull();
    }
    // B has 12 distinct incomes: its median lies between two persons' values (no one's own) but fewer than 10 persons on either side.
    expect(byArea['B']!.median).toBeNull();
    expect(Number(byArea["B"]!.persons)).toBe(12);
    expect(outcome.removed?.['extremes']).toBe(8); // B and C: min, max, median, p90
    const r = await audit(params, table, evidence);
    expect(r['A7']!.status).toBe('pass');
    expect(r['A7']!.metrics['cellsChecked']).toBeGreaterThan(0);
  });

  it('A7 blocks the same extremes published raw (positive control)', async () => {
    const params: AggregateParams = { group_by: ['area'], measures: MEASURES, round: 1 };
    const { evidence } = await run(params);
    // The table an operator would have written by hand, over the same evidence.
    await duck.conn.run(
      `CREATE TABLE raw_extremes AS SELECT area, count(DISTINCT pid) AS persons, min(income) AS lowest, max(income) AS highest, quantile_cont(income, 0.5) AS median, ` +
        `quantile_cont(income, 0.9) AS p90, count(DISTINCT hospital) AS hospitals FROM rows GROUP BY area`,
    );
    const r = await audit(params, 'raw_extremes', evidence);
    expect(r['A7']!.status).toBe('fail');
    expect(r['A7']!.metrics['cellsFailing.lowest']).toBe(2);
    expect(r['A7']!.metrics['cellsFailing.highest']).toBe(2);
    expect(r['A7']!.columns).toEqual(expect.arrayContaining(['lowest', 'highest']));
  });

  it('releases the same table from a file input as from a fused SELECT', async () => {
    const params: AggregateParams = { group_by: ['area', 'sex'], measures: MEASURES, suppress_below: 10, margins: ['sex'] };
    const a = await run(params, false);
    const b = await run(params, true);
    const all = (t: string) => queryJson(duck.conn, `SELECT * FROM ${t} ORDER BY ALL`);
    expect(await all(a.table)).toEqual(await all(b.table));
    expect(await all(a.evidence)).toEqual(await all(b.evidence));
    const c = await run({ group_by: ['area'], measures: MEASURES }, false);
    const d = await run({ group_by: ['area'], measures: MEASURES }, true);
    expect(await all(c.table)).toEqual(await all(d.table));
  });
});

describe('margins from protected cells only', () => {
  const params: AggregateParams = {
    group_by: ['area', 'sex'],
    measures: [{ fn: 'count_units', as: 'persons' }, { fn: 'count', as: 'rows' }, { fn: 'sum', column: 'income', as: 'income' }, { fn: 'min', column: 'income', as: 'lowest' }],
    suppress_below: 10,
    round: 1,
    margins: ['sex'],
  };

  it('a suppressed cell cannot be recovered as margin minus the published cells (positive control)', async () => {
    const { table, outcome } = await run(params);
    // B/M (2 persons) and C/F (3 persons) are suppressed.
    expect(outcome.removed).toMatchObject({ cells: 2, units: 5 });
    const cells = await queryJson<{ area: string; sex: string | null; persons: number | null; rows: number | null; income: number | null }>(duck.conn, `SELECT * FROM ${table}`);
    for (const area of ['A', 'B', 'C']) {
      const margin = cells.find((c) => c.area === area && c.sex === null);
      const published = cells.filter((c) => c.area === area && c.sex !== null && c.persons !== null);
      const [truth] = await queryJson<{ persons: number; rows: number; income: number }>(duck.conn, `SELECT count(DISTINCT pid) AS persons, count(*) AS rows, sum(income) AS income FROM rows WHERE area = '${area}'`);
      const sum = (k: 'persons' | 'rows' | 'income') => published.reduce((s, c) => s + Number(c[k]), 0);
      if (published.length === 0) {
        // Every cell of C is suppressed: no margin of it is published.
        expect(margin?.persons ?? null).toBeNull();
        continue;
      }
      for (const k of ['persons', 'rows', 'income'] as const) {
        // The attack: margin − published cells. It yields 0, never the suppressed cell's count or total.
        expect(Number(margin![k]) - sum(k)).toBeCloseTo(0, 6);
      }
      if (area === 'B') expect(Number(truth!.persons) - sum('persons')).toBe(2); // what a raw margin would have given away
    }
  });

  it('the audit passes the table with its margins (A1 counts the margin rows from their own evidence)', async () => {
    const { table, evidence } = await run(params);
    const r = await audit(params, table, evidence);
    expect(r['A1']!.status).toBe('pass');
    expect(r['A7']!.status).toBe('pass');
    const [m] = await queryJson<{ n: number }>(duck.conn, `SELECT count(*) AS n FROM ${evidence} WHERE sex IS NULL`);
    expect(Number(m!.n)).toBeGreaterThan(0);
  });
});

describe('measure schema', () => {
  const issues = (m: unknown) => {
    const r = Measure.safeParse(m);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('accepts each new measure and names the field of each mistake', () => {
    for (const m of MEASURES) expect(issues(m)).toEqual([]);
    expect(issues({ fn: 'percentile', column: 'income', as: 'p' })).toEqual(['percentile: the share below the percentile, strictly between 0 and 1 (e.g. 0.9)']);
    expect(issues({ fn: 'percentile', column: 'income', percentile: 1.5, as: 'p' })[0]).toMatch(/^percentile: a share strictly between 0 and 1/);
    expect(issues({ fn: 'min', as: 'm' })).toEqual(['column: a column to min']);
    expect(issues({ fn: 'max', column: 'income', percentile: 0.5, as: 'm' })).toEqual(['percentile: no percentile (only fn: percentile takes one; median is 0.5)']);
    expect(issues({ fn: 'p50', column: 'income', as: 'm' })[0]).toMatch(/^fn: one of count, count_units, sum, mean, min, max, median, percentile, count_distinct/);
  });
});

describe('planning the new measures', () => {
  const ctx = (): PlanContext => ({ agreement: AGREEMENTS.get('AGR-2026-001')!, datasets: new Map([['population', population()]]), user: { id: 'u-1', organization: 'op-a' }, today: '2026-06-01' });
  const specWith = (measures: string, extra = '') =>
    parseSpec(`version: 1
name: measures
agreement: AGR-2026-001
inputs: { people: { dataset: population, columns: [id_number, sex, area_code, income_band] } }
steps:
  - { id: p, kind: extract, input: people }
  - { id: a, kind: aggregate, from: p, group_by: [area_code, sex], measures: ${measures}${extra} }
outputs: [ { id: o, from: a, kind: table } ]
`);

  it('labels every measure aggregate, with counts as BIGINT', async () => {
    const plan = await planJob(specWith('[{ fn: count_distinct, column: income_band, as: bands }, { fn: count_units, as: persons }]', ', margins: [sex]'), ctx());
    const a = plan.steps.find((s) => s.id === 'a')!;
    expect(a.columns.filter((c) => ['bands', 'persons'].includes(c.name)).map((c) => [c.name, c.type, c.label])).toEqual([
      ['bands', 'BIGINT', 'aggregate'],
      ['persons', 'BIGINT', 'aggregate'],
    ]);
    expect((a.params as AggregateParams).margins).toEqual(['sex']);
  });

  it('refuses a min of a text column and a margin that is not a group-by column, naming the place', async () => {
    const err = await planJob(specWith('[{ fn: min, column: income_band, as: lo }]', ', margins: [income_band]'), ctx()).catch((e: unknown) => e);
    expect(isSluiceError(err)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain('steps[1].measures[0].column');
    expect(msg).toContain('a numeric column to min');
    expect(msg).toContain('steps[1].margins[0]');
    expect(msg).toContain('a group-by column of this step');
  });
});
