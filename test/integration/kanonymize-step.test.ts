import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { openDuck, queryJson, quoteLiteral } from '../../lib/duck.js';
import { Engine } from '../../pipeline/engine.js';
import { submitRun } from '../../pipeline/run/submit.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import type { User } from '../../domain/types.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const spec = (method: string) => `
version: 1
name: k-anonymous-extract-${method}
agreement: AGR-K-1
inputs: { people: { dataset: population, columns: [id_number, birth_date, sex, area_code] } }
steps:
  - { id: x, kind: extract, input: people }
  - id: k
    kind: kanonymize
    from: x
    config:
      k: 10
      suppressionLimit: 0.05
      method: ${method}
      quasiIdentifiers:
        - { column: birth_date, hierarchy: { builtin: date } }
        - { column: area_code, hierarchy: { builtin: area-code } }
        - { column: sex, hierarchy: { builtin: unordered, groups: { "*": ["男", "女"] } } }
outputs: [ { id: extract, from: k, kind: extract, format: parquet } ]
`;

describe('the kanonymize step in a job', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-k-'));
  let engine: Engine;
  let workers: Workers;
  let op: User;

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-k-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    await registerPopulation(engine, root, 3000, 5);
    await engine.cp.createAgreement({
      id: 'AGR-K-1', scenario: 'k', operator: 'ops', purpose: 'k', useClass: 'industry', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'population', columns: ['birth_date', 'sex', 'area_code', 'education'].map((name) => ({ name, treatment: 'none' as 'none' | 'tokenize' })).concat([{ name: 'id_number', treatment: 'tokenize' }]) }],
    });
    op = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(1) })).user;
  });
  afterAll(async () => {
    await shutdown({ workers, engine, root });
  });

  it.each(['optimal', 'mondrian'])('%s: every class on the quasi-identifiers has ≥ 10 rows, suppression is reported, and the audit passes B3', async (method) => {
    const { runId } = await submitRun(engine, spec(method), op);
    await settleRun(engine, runId);
    const run = await engine.cp.getRun(runId);
    expect(run?.errorMessage ?? null).toBeNull();
    const report = (await engine.cp.listReportsForRun(runId))[0]!;
    const checks = (report.report as { checks: { id: string; status: string; summary: string }[] }).checks;
    expect(checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.summary}`)).toEqual([]);
    expect(run?.status).toBe('awaiting-review');
    const k = run!.steps.find((s) => s.stepId === 'k')!;
    const lineage = await engine.cp.getLineage(k.artifactHash!);
    expect(lineage?.parameters['removed']).toHaveProperty('suppressed');
    const duck = await openDuck();
    try {
      const smallest = await queryJson<{ n: number }>(duck.conn, `SELECT min(n)::INTEGER AS n FROM (SELECT count(*) AS n FROM read_parquet(${quoteLiteral(engine.store.pathOf('work', k.artifactHash!))}) GROUP BY birth_date, area_code, sex)`);
      expect(smallest[0]!.n).toBeGreaterThanOrEqual(10);
    } finally {
      duck.close();
    }
    expect(checks.find((c) => c.id === 'B3')?.status).toBe('pass');
  });
});
