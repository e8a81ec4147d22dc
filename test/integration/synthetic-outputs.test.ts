import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { submitRun } from '../../pipeline/run/submit.js';
import { parseSpec } from '../../pipeline/spec/spec.js';
import { isSluiceError } from '../../lib/errors.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import type { User } from '../../domain/types.js';
import type { CheckResult } from '../../audit/types.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

// No declared sensitive column: with B6's 500 inference targets the interval of an inference risk of 0 reaches the review bar (0.05) on some shuffles.
const COLS = ['sex', 'area_code', 'education'];

/** Each column shuffled on its own (seeded): independent marginals, no record of the input survives. */
const MARGINALS = `SELECT ${COLS.map((c, i) => `t${i}.${c}`).join(', ')} FROM ${COLS.map(
  (c, i) => `(SELECT ${c}, row_number() OVER (ORDER BY hash(id_number, ${i + 10})) AS rn FROM x) t${i}`,
).reduce((acc, s, i) => (i === 0 ? s : `${acc} JOIN ${s} ON t${i}.rn = t0.rn`), '')}`;

function spec(name: string, query: string, synthetic = true): string {
  return `
version: 1
name: ${name}
agreement: AGR-S-1
inputs: { people: { dataset: population, columns: [id_number, sex, birth_date, area_code, education, income_band] } }
steps:
  - { id: x, kind: extract, input: people, holdout: 0.4 }
  - id: s
    kind: sql
    from: [x]
    query: "${query}"
outputs: [ { id: o, from: s, kind: extract${synthetic ? ', synthetic: true' : ''} } ]
`;
}

describe('synthetic outputs reach B6', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-syn-'));
  const prefix = `sluice-syn-${process.pid}`;
  let engine: Engine;
  let workers: Workers;
  let op: User;

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: prefix, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    await registerPopulation(engine, root, 6000, 23);
    await engine.cp.createAgreement({
      id: 'AGR-S-1', scenario: 'synthetic data', operator: 'ops', purpose: 'a synthetic population for testing services', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{
        dataset: 'population',
        columns: [
          { name: 'id_number', treatment: 'tokenize' }, { name: 'sex', treatment: 'none' }, { name: 'birth_date', treatment: 'none' },
          { name: 'area_code', treatment: 'none' }, { name: 'education', treatment: 'none' }, { name: 'income_band', treatment: 'none' },
        ],
      }],
    });
    op = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(410) })).user;
  });
  afterAll(async () => {
    await shutdown({ workers, engine, root });
  });

  async function b6Of(specText: string): Promise<{ status: string; b6: CheckResult | undefined; runId: string }> {
    const { runId } = await submitRun(engine, specText, op);
    const status = await settleRun(engine, runId);
    const [report] = await engine.cp.listReportsForRun(runId);
    const checks = (report!.report as { checks: CheckResult[] }).checks;
    return { status, b6: checks.find((c) => c.id === 'B6'), runId };
  }

  it('blocks a "synthetic" output that copies real records (positive control)', async () => {
    const r = await b6Of(spec('syn-copy', `SELECT sex, birth_date, area_code, education, income_band FROM x`));
    expect(r.b6).toBeDefined();
    expect(r.b6!.status).toBe('fail');
    expect(Number(r.b6!.metrics['singlingOut|risk'])).toBeGreaterThan(0.1);
    expect(r.status).toBe('blocked');
    // The extract held 40% of the units out of the job: the run saw only the rest.
    const run = (await engine.cp.getRun(r.runId))!;
    const x = run.steps.find((s) => s.stepId === 'x')!;
    expect(x.rows).toBeLessThan(0.7 * 6000);
    expect(x.rows).toBeGreaterThan(0.5 * 6000);
  });

  it('passes B6 on independent marginals, with the held-out units as the control (negative control)', async () => {
    const r = await b6Of(spec('syn-marginals', MARGINALS));
    expect(r.b6).toBeDefined();
    expect(r.b6!.status).toBe('pass');
    expect(Number(r.b6!.metrics['risk'])).toBeLessThan(0.05);
    expect(r.b6!.summary).not.toContain('not estimated');
  });

  it('runs no B6 on an output not declared synthetic nor perturbed', async () => {
    const r = await b6Of(spec('not-synthetic', MARGINALS, false));
    expect(r.b6).toBeUndefined();
  });

  it('runs B6 on an output whose lineage perturbs (noise), though not declared synthetic', async () => {
    const text = spec('noised', `SELECT sex, area_code, education, year(birth_date) AS birth_year FROM x`, false)
      .replace('outputs: [ { id: o, from: s, kind: extract } ]', `  - { id: n, kind: desensitize, from: s, columns: { birth_year: { treatment: noise, scale: 3 } } }
outputs: [ { id: o, from: n, kind: extract } ]`);
    const r = await b6Of(text);
    expect(r.b6).toBeDefined();
    expect(r.b6!.summary).not.toContain('not estimated');
  });

  it('refuses synthetic on a table output, naming the field', () => {
    let err: unknown;
    try {
      parseSpec(spec('syn-table', 'SELECT 1 AS x').replace('kind: extract, synthetic: true', 'kind: table, synthetic: true'));
    } catch (e) {
      err = e;
    }
    expect(isSluiceError(err)).toBe(true);
    expect((err as Error).message).toContain('outputs[0].synthetic');
    expect((err as Error).message).toContain('synthetic only on a row-level output');
  });
});
