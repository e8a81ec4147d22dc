import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { submitRun } from '../../pipeline/run/submit.js';
import { checkOperatorSql } from '../../pipeline/steps/sql-guard.js';
import { buildApp } from '../../service/app.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import type { Agreement, Step, User } from '../../domain/types.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown, sqlStepSpec } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const GIB = 1024 ** 3;
const TIME_MS = 2000;
/** How long after its limit a stopped step may take to be recorded failed (a loaded CI machine). */
const SLACK_MS = 3000;

const QUERIES = {
  unboundedCte: 'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t) SELECT count(*) AS n FROM t',
  cpuBomb: 'SELECT sum(hash(i)) AS h FROM range(1000000000000) t(i)',
  // Each step doubles a string: 2^40 bytes if nothing stops it. It ends in a count, so the plan's
  // lineage policy has nothing to refuse (a recursive CTE's other columns are of unknown lineage).
  memoryDoubling: "WITH RECURSIVE t(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n+1, s || s FROM t WHERE n < 40) SELECT count(*) AS l FROM t WHERE length(s) > 0",
  // A sort of 3 million 64-character keys: about 200 MB, which must spill at a 64MB memory limit.
  spill: 'SELECT max(rn) AS m FROM (SELECT row_number() OVER (ORDER BY h) AS rn FROM (SELECT md5(a::varchar) || md5((a+1)::varchar) AS h FROM range(3000000) r(a)))',
  ordinary: 'SELECT area_name, sex, count(*) AS n FROM x GROUP BY area_name, sex',
};


describe('limits on every statement of a step', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-limits-'));
  let engine: Engine;
  let workers: Workers;
  let op: User;
  let app: FastifyInstance;
  let adminToken: string;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 25);

  const agreement = (id: string, resourceLimits?: Agreement['resourceLimits']): Agreement => ({
    id, scenario: 'limits', operator: 'ops', purpose: 'p', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
    grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'sex', treatment: 'none' }, { name: 'area_name', treatment: 'none' }] }],
    ...(resourceLimits ? { resourceLimits } : {}),
  });

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    // The configured defaults: the agreement without limits of its own runs under these.
    process.env['SLUICE_STEP_TIME_MS'] = String(TIME_MS);
    process.env['SLUICE_DUCKDB_MEMORY'] = '1GB';
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-limits-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    await registerPopulation(engine, root, 2000, 13);
    await engine.cp.createAgreement(agreement('AGR-LIM-DEFAULT'));
    // Its own limits: time as configured, memory and spill far below the defaults.
    await engine.cp.createAgreement(agreement('AGR-LIM-OWN', { timeMs: TIME_MS, memory: '256MB', tempMax: '64MB' }));
    await engine.cp.createAgreement(agreement('AGR-LIM-SPILL', { timeMs: 60_000, memory: '64MB', tempMax: '16MB' }));
    // Memory alone: time enough that only the memory limit can stop the step.
    await engine.cp.createAgreement(agreement('AGR-LIM-MEM', { timeMs: 60_000, memory: '256MB' }));
    op = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(603) })).user;
    adminToken = (await engine.cp.createUser({ name: 'admin', role: 'admin', organization: 'authority', personId: syntheticResidentId(604) })).token;
    app = await buildApp(engine);
  });
  afterAll(async () => {
    clearInterval(sampler);
    delete process.env['SLUICE_STEP_TIME_MS'];
    delete process.env['SLUICE_DUCKDB_MEMORY'];
    await shutdown({ app, workers, engine, root });
  });

  /** Runs `query` as step q under `agreementId`; returns the run and its step q once settled. */
  async function runQuery(name: string, agreementId: string, query: string): Promise<{ status: string; errorCode: string | null; q: Step }> {
    const { runId } = await submitRun(engine, sqlStepSpec(name, agreementId, query), op);
    const status = await settleRun(engine, runId, 120_000);
    const run = (await engine.cp.getRun(runId))!;
    return { status, errorCode: run.errorCode, q: run.steps.find((s) => s.stepId === 'q')! };
  }

  const ms = (s: Step) => Date.parse(s.finishedAt!) - Date.parse(s.startedAt!);

  it('the SQL guard lets the bombs through: the limits, not the parser, stop them', async () => {
    for (const [name, q] of Object.entries(QUERIES)) {
      // Accepted (a refusal throws), and reading nothing but the step's own input: the bombs read no table at all.
      const checked = await checkOperatorSql(q, ['x']);
      expect(checked.tables, name).toEqual(name === 'ordinary' ? ['x'] : []);
    }
  });

  it('an unbounded recursive CTE fails its step at the time limit, with the code naming it', async () => {
    const r = await runQuery('cte', 'AGR-LIM-OWN', QUERIES.unboundedCte);
    expect(r.status).toBe('failed');
    expect(r.errorCode).toBe('SLUICE_ERR_LIMIT_TIME');
    expect(r.q).toMatchObject({ status: 'failed', errorCode: 'SLUICE_ERR_LIMIT_TIME', attempts: 1 });
    expect(r.q.errorMessage).toContain(`time limit of ${TIME_MS} ms`);
    expect(ms(r.q)).toBeGreaterThanOrEqual(TIME_MS);
    expect(ms(r.q)).toBeLessThan(TIME_MS + SLACK_MS);
  });

  it('a CPU bomb fails at the configured default time limit (its agreement sets none)', async () => {
    const r = await runQuery('cpu', 'AGR-LIM-DEFAULT', QUERIES.cpuBomb);
    expect(r.q).toMatchObject({ status: 'failed', errorCode: 'SLUICE_ERR_LIMIT_TIME', attempts: 1 });
    expect(ms(r.q)).toBeGreaterThanOrEqual(TIME_MS);
    expect(ms(r.q)).toBeLessThan(TIME_MS + SLACK_MS);
  });

  it('a memory-doubling query fails at the memory limit, and the process stays far below 2 GiB', async () => {
    peakRss = process.memoryUsage().rss;
    const r = await runQuery('mem', 'AGR-LIM-MEM', QUERIES.memoryDoubling);
    expect(r.status).toBe('failed');
    expect(r.q).toMatchObject({ status: 'failed', errorCode: 'SLUICE_ERR_LIMIT_MEMORY', attempts: 1 });
    expect(r.q.errorMessage).toContain('memory limit of 256MB');
    expect(peakRss).toBeLessThan(2 * GIB);
  });

  it('a query that would spill past the temp-space limit fails at it', async () => {
    const r = await runQuery('spill', 'AGR-LIM-SPILL', QUERIES.spill);
    expect(r.q).toMatchObject({ status: 'failed', errorCode: 'SLUICE_ERR_LIMIT_TEMP', attempts: 1 });
    expect(r.q.errorMessage).toContain('temp-space limit of 16MB');
  });

  it('an ordinary step under the same limits passes (negative control)', async () => {
    const r = await runQuery('ordinary', 'AGR-LIM-OWN', QUERIES.ordinary);
    expect(r.q).toMatchObject({ status: 'done', errorCode: null });
    expect(r.status).not.toBe('failed');
  });

  it('an agreement\'s own limits are validated, naming the field', async () => {
    await expect(engine.cp.createAgreement(agreement('AGR-LIM-BAD', { memory: 'lots' }))).rejects.toMatchObject({
      code: 'SLUICE_ERR_INPUT_INVALID',
      message: expect.stringContaining('agreement.resourceLimits.memory'),
    });
    await expect(engine.cp.createAgreement(agreement('AGR-LIM-BAD', { timeMs: 5 }))).rejects.toMatchObject({ message: expect.stringContaining('resourceLimits.timeMs') });
    expect((await engine.cp.getAgreement('AGR-LIM-OWN'))!.resourceLimits).toEqual({ timeMs: TIME_MS, memory: '256MB', tempMax: '64MB' });
    expect((await engine.cp.getAgreement('AGR-LIM-DEFAULT'))!.resourceLimits).toEqual({});
    // An admin sets them when creating an agreement over HTTP (what `sluice agreement create FILE` sends).
    const post = (resourceLimits: unknown) => {
      const { status: _status, ...body } = agreement('AGR-LIM-HTTP');
      return app.inject({ method: 'POST', url: '/v1/agreements', headers: { authorization: `Bearer ${adminToken}` }, payload: { ...body, resourceLimits } });
    };
    const bad = await post({ memory: '256MB', tempMax: 'a lot' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('resourceLimits.tempMax');
    expect(bad.body).not.toContain('a lot');
    expect((await post({ memory: '512MB', timeMs: 60_000 })).statusCode).toBe(201);
    expect((await engine.cp.getAgreement('AGR-LIM-HTTP'))!.resourceLimits).toEqual({ memory: '512MB', timeMs: 60_000 });
  });
});
