import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { stepJobId, submitRun } from '../../pipeline/run/submit.js';
import { buildApp } from '../../service/app.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import type { User } from '../../domain/types.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const spec = (name: string, query: string) => `
version: 1
name: ${name}
agreement: AGR-CANCEL-1
inputs: { people: { dataset: population, columns: [id_number, sex, area_name] } }
steps:
  - { id: x, kind: extract, input: people }
  - { id: q, kind: sql, from: [x], query: "${query}" }
outputs: [ { id: o, from: q, kind: extract, format: parquet } ]
`;
// Runs for hours if nothing stops it; its time limit is the configured default (an hour).
const ENDLESS = spec('endless', 'SELECT sum(hash(i)) AS h FROM range(1000000000000) t(i)');
const ORDINARY = spec('ordinary', 'SELECT area_name, sex, count(*) AS n FROM x GROUP BY area_name, sex');

/** Polls `probe` every 50 ms until it is true; returns when that was (ms since the epoch), or null after `withinMs`. */
async function when(probe: () => Promise<boolean>, withinMs: number): Promise<number | null> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (await probe()) return Date.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

describe('cancel interrupts the running statement and frees the worker', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-cancel-'));
  let engine: Engine;
  let workers: Workers;
  let app: FastifyInstance;
  let op: User;
  let token: string;

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-cancel-${process.pid}`, redisUrl: TEST_REDIS_URL });
    // One step at a time: the second run can start only once the first run's step has let go of the worker.
    workers = startWorkers(engine, { concurrency: 1 });
    app = await buildApp(engine);
    await registerPopulation(engine, root, 2000, 17);
    await engine.cp.createAgreement({
      id: 'AGR-CANCEL-1', scenario: 'cancel', operator: 'ops', purpose: 'p', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'sex', treatment: 'none' }, { name: 'area_name', treatment: 'none' }] }],
    });
    const created = await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(601) });
    op = created.user;
    token = created.token;
  });
  afterAll(async () => {
    await shutdown({ app, workers, engine, root });
  });

  const stepStatus = async (runId: string, stepId: string) => (await engine.cp.getRun(runId))?.steps.find((s) => s.stepId === stepId)?.status;

  it('POST /v1/runs/:id/cancel stops a running step within 5 s, and the run waiting behind it starts and completes', async () => {
    const endless = await submitRun(engine, ENDLESS, op);
    // Its statement is running (the step has been running for a while), and the worker is busy with it.
    expect(await when(async () => (await stepStatus(endless.runId, 'q')) === 'running', 60_000)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1500));
    const next = await submitRun(engine, ORDINARY, op);
    await new Promise((r) => setTimeout(r, 1000));
    // Negative control: while the endless step runs, the next run cannot start on the only worker.
    expect(await stepStatus(next.runId, 'x')).toBe('waiting');
    expect(await engine.stepsQueue.getJobState(stepJobId(endless.runId, 'q'))).toBe('active');

    const t0 = Date.now();
    const res = await app.inject({ method: 'POST', url: `/v1/runs/${endless.runId}/cancel`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ cancelled: true });

    // The worker is free: the cancelled step's job has ended, and the next run's first step has started on it.
    const freed = await when(async () => (await engine.stepsQueue.getJobState(stepJobId(endless.runId, 'q'))) === 'failed', 10_000);
    const started = await when(async () => (await stepStatus(next.runId, 'x')) !== 'waiting', 10_000);
    expect(freed).not.toBeNull();
    expect(started).not.toBeNull();
    expect(freed! - t0).toBeLessThan(5000);
    expect(started! - t0).toBeLessThan(5000);

    const cancelled = (await engine.cp.getRun(endless.runId))!;
    expect(cancelled.status).toBe('cancelled');
    // cancelRun cancelled the step with the run; its job ended by the interrupt, with the cancellation's code.
    expect(cancelled.steps.find((s) => s.stepId === 'q')!.status).toBe('cancelled');
    const job = (await engine.stepsQueue.getJob(stepJobId(endless.runId, 'q')))!;
    expect(job.failedReason).toMatch(/^SLUICE_ERR_RUN_CANCELLED: /);
    // Cancelled for good: not attempted again.
    expect(job.attemptsMade).toBe(1);

    expect(await settleRun(engine, next.runId, 120_000)).not.toMatch(/failed|cancelled/);
    expect(await stepStatus(next.runId, 'q')).toBe('done');
  });
});
