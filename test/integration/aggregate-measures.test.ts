import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { openDuck, queryJson, quoteLiteral } from '../../lib/duck.js';
import { Engine } from '../../pipeline/engine.js';
import { submitRun } from '../../pipeline/run/submit.js';
import { registerDataset } from '../../pipeline/store/register.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import type { User } from '../../domain/types.js';
import type { CheckResult } from '../../audit/types.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { settleRun, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

/** An income analysis by area and sex, with totals over sex, as an analyst writes it: no hand-written SQL. */
const SPEC = `
version: 1
name: income-by-area
agreement: AGR-M-1
inputs: { hh: { dataset: household_survey, columns: [id_number, area_code, sex, income, clinic] } }
steps:
  - { id: x, kind: extract, input: hh }
  - id: a
    kind: aggregate
    from: x
    group_by: [area_code, sex]
    margins: [sex]
    suppress_below: 10
    measures:
      - { fn: count_units, as: persons }
      - { fn: sum, column: income, as: income_total }
      - { fn: min, column: income, as: income_min }
      - { fn: max, column: income, as: income_max }
      - { fn: median, column: income, as: income_median }
      - { fn: percentile, column: income, percentile: 0.9, as: income_p90 }
      - { fn: count_distinct, column: clinic, as: clinics }
outputs: [ { id: t, from: a, kind: table } ]
`;

describe('an analysis delivered through the aggregate step', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-aggm-'));
  const prefix = `sluice-aggm-${process.pid}`;
  let engine: Engine;
  let workers: Workers;
  let op: User;
  const file = join(root, 'household.parquet');

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: prefix, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    const duck = await openDuck();
    try {
      // 2,000 households in 4 areas; incomes in whole thousands (ties, as survey bands give), one in 40 far above the rest.
      await duck.conn.run(
        `COPY (SELECT '33100' || lpad(CAST(i AS VARCHAR), 13, '0') AS id_number, '3310' || (2 + i % 4) || '0' AS area_code, ` +
          `CASE WHEN (i // 4) % 2 = 0 THEN 'F' ELSE 'M' END AS sex, CAST(1000 * (1 + hash(i) % 20) AS INTEGER) AS income, ` +
          `'clinic-' || (hash(i * 7) % 6) AS clinic FROM range(2000) r(i)) TO ${quoteLiteral(file)} (FORMAT parquet)`,
      );
    } finally {
      duck.close();
    }
    await registerDataset(engine, {
      name: 'household_survey', file, provider: 'statistics-bureau', origin: 'public', unitColumn: 'id_number',
      classes: { id_number: 'direct-identifier', area_code: 'quasi-identifier', sex: 'quasi-identifier', income: 'sensitive', clinic: 'other' },
    }, 'test');
    await engine.cp.createAgreement({
      id: 'AGR-M-1', scenario: 'income statistics', operator: 'ops', purpose: 'income distribution by area', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'household_survey', columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'area_code', treatment: 'none' }, { name: 'sex', treatment: 'none' }, { name: 'income', treatment: 'none' }, { name: 'clinic', treatment: 'none' }] }],
    });
    op = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(400) })).user;
  });
  afterAll(async () => {
    await shutdown({ workers, engine, root });
  });

  async function released(runId: string): Promise<Record<string, unknown>[]> {
    const [rel] = await engine.cp.listReleases({ runId });
    const duck = await openDuck();
    try {
      return await queryJson(duck.conn, `SELECT * FROM read_parquet(${quoteLiteral(join(root, rel!.path))}) ORDER BY ALL`);
    } finally {
      duck.close();
    }
  }

  async function runWith(fuse: boolean): Promise<string> {
    if (!fuse) process.env['SLUICE_FUSE_STEPS'] = '0';
    try {
      const { runId } = await submitRun(engine, SPEC, op);
      expect(await settleRun(engine, runId)).toBe('released');
      return runId;
    } finally {
      delete process.env['SLUICE_FUSE_STEPS'];
    }
  }

  it('passes the audit and releases at once, the same table fused as step by step', async () => {
    const fused = await runWith(true);
    const plain = await runWith(false);
    const table = await released(fused);
    expect(table).toEqual(await released(plain));
    // 8 cells and 4 margins (one per area, NULL in sex).
    expect(table).toHaveLength(12);
    expect(table.filter((r) => r['sex'] === null)).toHaveLength(4);
    const [report] = await engine.cp.listReportsForRun(fused);
    expect(report!.status).toBe('pass');
    const checks = (report!.report as { checks: CheckResult[] }).checks;
    const a7 = checks.find((c) => c.id === 'A7')!;
    expect(a7.status).toBe('pass');
    expect(Number(a7.metrics['cellsChecked'])).toBeGreaterThan(0);
  });

  it('publishes the extremes a cell shares among many households, equal to the raw figures, and margins that sum the published cells', async () => {
    const runId = await runWith(true);
    const table = await released(runId);
    const duck = await openDuck();
    try {
      const truth = await queryJson<{ area_code: string; sex: string; lo: number; hi: number; med: number }>(
        duck.conn,
        `SELECT area_code, sex, min(income) AS lo, max(income) AS hi, quantile_cont(income, 0.5) AS med FROM read_parquet(${quoteLiteral(file)}) GROUP BY ALL`,
      );
      let published = 0;
      for (const t of truth) {
        const row = table.find((r) => r['area_code'] === t.area_code && r['sex'] === t.sex)!;
        // Every value published is the true figure; a withheld one is NULL, never an approximation.
        for (const [k, v] of [['income_min', t.lo], ['income_max', t.hi], ['income_median', t.med]] as const) {
          if (row[k] !== null) {
            expect(row[k]).toBe(Number(v));
            published++;
          }
        }
      }
      expect(published).toBeGreaterThan(0);
      for (const area of new Set(truth.map((t) => t.area_code))) {
        const margin = table.find((r) => r['area_code'] === area && r['sex'] === null)!;
        const cells = table.filter((r) => r['area_code'] === area && r['sex'] !== null);
        expect(Number(margin['persons'])).toBe(cells.reduce((s, r) => s + Number(r['persons']), 0));
        expect(Number(margin['income_total'])).toBeCloseTo(cells.reduce((s, r) => s + Number(r['income_total']), 0), 2);
      }
    } finally {
      duck.close();
    }
  });
});
