/**
 * Issue 12, item 2: after an agreement is terminated or suspended, plan, submit,
 * approve, reject, release, download and predict under it are each refused with
 * SLUICE_ERR_AGREEMENT_NOT_IN_FORCE and logged (audit log and sluice.log), the
 * operator's token stops working for it, and a run in flight stops at its next
 * step (one at a step, one at its gate). Negative controls: the same calls under
 * an agreement still in force succeed, and a resumed agreement works again.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_IN_FORCE_ACTION } from '../../domain/in-force.js';
import type { AuditLogEntry } from '../../domain/types.js';
import { configureLog } from '../../lib/log.js';
import { Engine, QUEUES } from '../../pipeline/engine.js';
import { buildApp } from '../../service/app.js';
import { stepProcessor } from '../../workers/step-processor.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const CODE = 'SLUICE_ERR_AGREEMENT_NOT_IN_FORCE';
/** Runs settle in seconds; on a loaded machine, in minutes. */
const LONG = 600_000;
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
/** T is terminated, S suspended (then resumed), C stays in force: the negative control. */
const AG = { T: 'AGR-IF-T', S: 'AGR-IF-S', C: 'AGR-IF-C' } as const;
type Key = keyof typeof AG;
const SEED: Record<Key, number> = { T: 3, S: 5, C: 7 };
/** Typed by the admin; kept with the agreement and in its own audit row, never in a refusal. */
const REASON = { T: 'operator breached clause 7.2 (case T-1138)', S: 'audit of the operator pending (case S-2291)' };

const agreement = (id: string) => ({
  id, scenario: 'in force', operator: 'ops', purpose: 'p', useClass: 'industry' as const, status: 'active' as const, validFrom: day(-30), validTo: day(365),
  grants: [{ dataset: 'population', columns: [
    { name: 'id_number', treatment: 'tokenize' as const },
    ...['birth_date', 'sex', 'education', 'area_name', 'area_code', 'income_band'].map((name) => ({ name, treatment: 'none' as const })),
  ] }],
});

/** A table released by the gate: extract, sample, desensitize (fused into) aggregate — jobs x, s, a, gate. */
const tableSpec = (k: Key, name: string) => `
version: 1
name: ${name}
agreement: ${AG[k]}
inputs: { people: { dataset: population, columns: [id_number, birth_date, sex, area_code] } }
steps:
  - { id: x, kind: extract, input: people }
  - { id: s, kind: sample, from: x, fraction: 1, seed: ${SEED[k]} }
  - { id: d, kind: desensitize, from: s, columns: { birth_date: { treatment: generalize, level: band20 } } }
  - { id: a, kind: aggregate, from: d, group_by: [area_code, sex], measures: [{ fn: count_units, as: persons }] }
outputs: [ { id: t, from: a, kind: table, format: csv } ]
`;
/** A model: waits for a reviewer, then is served. The seed differs per agreement, so each model is its own artifact. */
const modelSpec = (k: Key) => `
version: 1
name: model-${k.toLowerCase()}
agreement: ${AG[k]}
inputs: { people: { dataset: population, columns: [id_number, birth_date, sex, education, area_name, income_band] } }
steps:
  - { id: x, kind: extract, input: people }
  - { id: s, kind: sample, from: x, fraction: 0.8, seed: ${SEED[k]} }
  - { id: d, kind: desensitize, from: s, columns: { birth_date: { treatment: generalize, level: band10 }, id_number: { treatment: drop } } }
  - id: m
    kind: train
    from: d
    target: income_band
    features: { categorical: [birth_date, sex, education, area_name] }
    model: { kind: logistic, hyperparameters: { C: 0.1 } }
    test_fraction: 0.3
    seed: ${SEED[k]}
outputs: [ { id: model, from: m, kind: model } ]
`;
/** A row-level extract of tokens: passes its audit and waits for a reviewer (tokens are keyed per agreement). */
const pendingSpec = (k: Key, n: 1 | 2) => `
version: 1
name: pending-${n}-${k.toLowerCase()}
agreement: ${AG[k]}
inputs: { people: { dataset: population, columns: [${n === 1 ? 'id_number, sex, area_name' : 'id_number, sex'}] } }
steps: [ { id: x, kind: extract, input: people } ]
outputs: [ { id: p, from: x, kind: extract, format: parquet } ]
`;

interface Fixture {
  tableRelease: string;
  modelHash: string;
  /** Approved while no worker ran: its release job runs after the agreement changed. */
  pending1: { runId: string; hash: string };
  /** Still awaiting review when the agreement changes. */
  pending2: { runId: string; hash: string };
  /** Submitted, partly run (T: every step, so its gate is next; S and C: the extract, so the sample is next). */
  inFlight: string;
}

describe('an agreement not in force: every use refused with one code, logged; a run in flight stops', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-inforce-'));
  const logFile = join(root, 'logs', 'sluice.log');
  let engine: Engine;
  let workers: Workers;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  const fx = {} as Record<Key, Fixture>;
  const row = { birth_date: '40-49', sex: '男', education: '大学本科', area_name: '临海市' };

  const call = async (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}), headers: { authorization: `Bearer ${tokens[who]}` } });
    const json = String(res.headers['content-type'] ?? '').startsWith('application/json');
    return { status: res.statusCode, body: json && res.body ? (JSON.parse(res.body) as Record<string, any>) : {}, raw: res.body };
  };
  const submit = async (spec: string): Promise<string> => {
    const r = await call('operator', 'POST', '/v1/runs', { spec });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body['runId'] as string;
  };
  const stagedHash = async (runId: string) => (await engine.cp.listReportsForRun(runId))[0]!.artifactHash;
  const until = async <T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 240_000): Promise<T> => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 150))) {
      const v = await probe();
      if (v) return v;
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const releaseOf = (runId: string) => until(`a release of ${runId}`, async () => (await engine.cp.listReleases({ runId }))[0]);
  const refusals = async (k: Key): Promise<AuditLogEntry[]> => (await engine.cp.listAuditLog({ limit: 10_000 })).filter((e) => e.action === NOT_IN_FORCE_ACTION && e.subject === AG[k]);
  const expectRefused = (r: { status: number; body: Record<string, any> }, k: Key) => {
    expect(r.status, JSON.stringify(r.body)).toBe(403);
    expect(r.body['error'].code).toBe(CODE);
    expect(r.body['error'].message).toContain(AG[k]);
  };

  /**
   * Runs step jobs by hand with a worker of our own (no other worker runs), each
   * as the service's processor runs it: `count` jobs that `want` accepts. Jobs it
   * does not want are parked (delayed) on the way and promoted back to waiting at the end.
   */
  const runJobsByHand = async (count: number, want: (name: string) => boolean): Promise<string[]> => {
    const connection = engine.redis.connect();
    const manual = new Worker(QUEUES.steps, null, { connection, prefix: engine.prefix, autorun: false });
    const process = stepProcessor(engine);
    const ran: string[] = [];
    const parked: string[] = [];
    try {
      while (ran.length < count) {
        const job = (await manual.getNextJob('by-hand'))!;
        if (!want(job.name)) {
          await job.moveToDelayed(Date.now() + 3_600_000, 'by-hand');
          parked.push(job.id!);
          continue;
        }
        await job.moveToCompleted(await process(job), 'by-hand', false);
        ran.push(job.id!);
      }
      for (const id of parked) await (await engine.stepsQueue.getJob(id))!.promote();
    } finally {
      await manual.close();
      await connection.quit();
    }
    return ran;
  };

  beforeAll(async () => {
    configureLog({ level: 'silent', file: logFile });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-inforce-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    app = await buildApp(engine);
    for (const [n, [name, role, org]] of ([['admin', 'admin', 'authority'], ['operator', 'operator', 'ops'], ['rev1', 'reviewer', 'experts'], ['rev2', 'reviewer', 'experts']] as const).entries()) {
      tokens[name] = (await engine.cp.createUser({ name, role, organization: org, personId: syntheticResidentId(300 + n) })).token;
    }
    await registerPopulation(engine, root, 3000, 17);
    for (const id of Object.values(AG)) await engine.cp.createAgreement(agreement(id));

    // A released table, a released model and two outputs awaiting review under each agreement.
    const keys = Object.keys(AG) as Key[];
    const runs = {} as Record<Key, { table: string; model: string; p1: string; p2: string }>;
    for (const k of keys) runs[k] = { table: await submit(tableSpec(k, `table-${k.toLowerCase()}`)), model: await submit(modelSpec(k)), p1: await submit(pendingSpec(k, 1)), p2: await submit(pendingSpec(k, 2)) };
    for (const k of keys) {
      const r = runs[k];
      expect(await settleRun(engine, r.table)).toBe('released');
      for (const id of [r.model, r.p1, r.p2]) expect(await settleRun(engine, id)).toBe('awaiting-review');
      const modelHash = await stagedHash(r.model);
      expect((await call('rev1', 'POST', '/v1/reviews', { artifactHash: modelHash, decision: 'approve', reason: 'attacks at chance level' })).body['releaseQueued']).toBe(true);
      await releaseOf(r.model);
      fx[k] = {
        tableRelease: (await releaseOf(r.table)).id, modelHash,
        pending1: { runId: r.p1, hash: await stagedHash(r.p1) }, pending2: { runId: r.p2, hash: await stagedHash(r.p2) }, inFlight: '',
      };
    }
    await workers.close();

    // Runs in flight, no worker running: T's has run every step (its gate is next), S's and C's their extract (the sample is next).
    fx.T.inFlight = await submit(tableSpec('T', 'flight-t'));
    expect(await runJobsByHand(3, () => true)).toEqual(['x', 's', 'a'].map((id) => `${fx.T.inFlight}.${id}`));
    fx.S.inFlight = await submit(tableSpec('S', 'flight-s'));
    fx.C.inFlight = await submit(tableSpec('C', 'flight-c'));
    expect((await runJobsByHand(2, (name) => name === 'extract')).sort()).toEqual([`${fx.S.inFlight}.x`, `${fx.C.inFlight}.x`].sort());
    for (const k of ['S', 'C'] as const) {
      const run = (await engine.cp.getRun(fx[k].inFlight))!;
      expect(run.status).toBe('running');
      expect(run.steps.map((s) => [s.stepId, s.status])).toEqual([['x', 'done'], ['s', 'waiting'], ['d', 'waiting'], ['a', 'waiting']]);
    }
    expect((await engine.cp.getRun(fx.T.inFlight))!.steps.every((s) => s.status === 'done')).toBe(true);

    // The first outputs are approved while the release worker is stopped: their release jobs run after the change.
    for (const k of keys) {
      const ok = await call('rev1', 'POST', '/v1/reviews', { artifactHash: fx[k].pending1.hash, decision: 'approve', reason: 'tokens only; classes large' });
      expect(ok.body['releaseQueued']).toBe(true);
    }
  }, 900_000);

  afterAll(async () => {
    await shutdown({ app, workers, engine, root });
  });

  it('an admin terminates and suspends agreements, with a reason each, in the audit log; nobody else may', async () => {
    const notAdmin = await call('operator', 'POST', `/v1/agreements/${AG.C}/suspend`, { reason: 'let me stop it' });
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body['error'].code).toBe('SLUICE_ERR_AUTH_FORBIDDEN');
    const noReason = await call('admin', 'POST', `/v1/agreements/${AG.C}/suspend`, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body['error'].message).toContain('reason');
    expect((await call('admin', 'POST', '/v1/agreements/AGR-NONE/terminate', { reason: 'no such agreement' })).status).toBe(404);
    expect((await engine.cp.getAgreement(AG.C))!.status).toBe('active');

    const t = await call('admin', 'POST', `/v1/agreements/${AG.T}/terminate`, { reason: REASON.T });
    expect(t.status).toBe(200);
    expect(t.body['agreement']).toMatchObject({ status: 'terminated', terminationReason: REASON.T });
    const s = await call('admin', 'POST', `/v1/agreements/${AG.S}/suspend`, { reason: REASON.S });
    expect(s.status).toBe(200);
    expect(s.body['agreement']).toMatchObject({ status: 'suspended', suspensionReason: REASON.S });
    expect(s.body['agreement']['suspendedAt']).not.toBeNull();
    const log = await engine.cp.listAuditLog({ limit: 10_000 });
    expect(log.find((e) => e.action === 'agreement.terminate' && e.subject === AG.T)?.details).toEqual({ reason: REASON.T });
    expect(log.find((e) => e.action === 'agreement.suspend' && e.subject === AG.S)?.details).toEqual({ reason: REASON.S });
    // A suspended agreement cannot be suspended again.
    expect((await call('admin', 'POST', `/v1/agreements/${AG.S}/suspend`, { reason: 'once more' })).body['error'].code).toBe('SLUICE_ERR_CONFLICT');

    // The workers start again: the runs in flight and the queued releases meet the change.
    workers = startWorkers(engine);
  }, LONG);

  it.each(['T', 'S'] as const)('under %s, plan, submit, approve, reject, release, download and predict are refused with the one code', async (k) => {
    const runsBefore = (await engine.cp.listRuns({ limit: 1000 })).length;
    expectRefused(await call('operator', 'POST', '/v1/plan', { spec: tableSpec(k, 'again') }), k);
    expectRefused(await call('admin', 'POST', '/v1/plan', { spec: tableSpec(k, 'again') }), k);
    expectRefused(await call('operator', 'POST', '/v1/runs', { spec: tableSpec(k, 'again') }), k);
    expect((await engine.cp.listRuns({ limit: 1000 })).length).toBe(runsBefore);

    expectRefused(await call('rev1', 'POST', '/v1/reviews', { artifactHash: fx[k].pending2.hash, decision: 'approve', reason: 'looks fine' }), k);
    expectRefused(await call('rev2', 'POST', '/v1/reviews', { artifactHash: fx[k].pending2.hash, decision: 'reject', reason: 'not now' }), k);
    expect(await engine.cp.listReviews(fx[k].pending2.hash)).toHaveLength(0);

    // The release job of the output approved before the change is refused: nothing reaches release/.
    await until('the release refusal', async () => (await refusals(k)).some((e) => e.details['operation'] === 'release'));
    expect(await engine.cp.listReleases({ runId: fx[k].pending1.runId })).toHaveLength(0);
    expect(existsSync(engine.store.pathOf('release', fx[k].pending1.hash, 'parquet'))).toBe(false);

    expectRefused(await call('operator', 'GET', `/v1/releases/${fx[k].tableRelease}/download`), k);
    expectRefused(await call('admin', 'GET', `/v1/releases/${fx[k].tableRelease}/download`), k);
    expectRefused(await call('operator', 'POST', `/v1/models/${fx[k].modelHash}/predict`, { rows: [row] }), k);
    // The operator's token no longer works for this agreement, not even to look at a run.
    expectRefused(await call('operator', 'GET', `/v1/runs/${fx[k].pending2.runId}`), k);
  }, LONG);

  it.each([['T', 'gate'], ['S', 's']] as const)('the run in flight under %s stops at its next job (%s) with the code, through the lifecycle', async (k, next) => {
    expect(await settleRun(engine, fx[k].inFlight)).toBe('failed');
    const run = (await engine.cp.getRun(fx[k].inFlight))!;
    expect(run.errorCode).toBe(CODE);
    expect(run.errorMessage).toContain(AG[k]);
    if (next === 's') {
      expect(run.steps.map((s) => [s.stepId, s.status])).toEqual([['x', 'done'], ['s', 'failed'], ['d', 'skipped'], ['a', 'skipped']]);
      expect(run.steps.find((s) => s.stepId === 's')!.errorCode).toBe(CODE);
    } else {
      expect(run.steps.every((s) => s.status === 'done')).toBe(true);
      // The gate staged and audited nothing.
      expect(await engine.cp.listReportsForRun(run.id)).toHaveLength(0);
    }
    const fail = (await engine.cp.listAuditLog({ limit: 10_000 })).find((e) => e.action === 'run.fail' && e.subject === run.id);
    expect(fail?.details).toMatchObject({ code: CODE, step: next });
  }, LONG);

  it.each(['T', 'S'] as const)('each refusal under %s is in the audit log and sluice.log, naming the operation, never the reason typed', async (k) => {
    const rows = await refusals(k);
    const ops = new Set(rows.map((e) => e.details['operation']));
    for (const op of ['plan', 'submit', 'review', 'release', 'download', 'predict', 'access', k === 'T' ? 'gate' : 'step']) expect(ops, op).toContain(op);
    for (const e of rows) expect(e.details).toMatchObject({ code: CODE, state: k === 'T' ? 'terminated' : 'suspended' });
    // The review route's own refusal record as well.
    expect((await engine.cp.listAuditLog({ limit: 10_000 })).filter((e) => e.action === 'review.refused' && e.subject === fx[k].pending2.hash).map((e) => e.details['code'])).toEqual([CODE, CODE]);
    const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const logged = new Set(lines.filter((l) => l['event'] === NOT_IN_FORCE_ACTION && l['agreement'] === AG[k]).map((l) => l['operation']));
    expect([...logged].sort()).toEqual([...ops].sort());
    const refusalText = JSON.stringify(rows) + JSON.stringify(lines.filter((l) => l['event'] === NOT_IN_FORCE_ACTION));
    expect(refusalText).not.toContain(REASON[k]);
  }, LONG);

  it('negative control: the same calls under an agreement still in force succeed, for the same operator', async () => {
    const before = (await refusals('C')).length;
    expect((await call('operator', 'POST', '/v1/plan', { spec: tableSpec('C', 'again') })).status).toBe(200);
    const runId = await submit(tableSpec('C', 'again'));
    expect(await settleRun(engine, runId)).toBe('released');
    const ok = await call('rev1', 'POST', '/v1/reviews', { artifactHash: fx.C.pending2.hash, decision: 'approve', reason: 'tokens only' });
    expect(ok.status).toBe(201);
    expect(ok.body['releaseQueued']).toBe(true);
    await releaseOf(fx.C.pending2.runId);
    // The release approved before the others changed went through.
    expect((await releaseOf(fx.C.pending1.runId)).artifactHash).toBe(fx.C.pending1.hash);
    const dl = await call('operator', 'GET', `/v1/releases/${fx.C.tableRelease}/download`);
    expect(dl.status).toBe(200);
    expect(dl.raw).toContain('persons');
    const served = await call('operator', 'POST', `/v1/models/${fx.C.modelHash}/predict`, { rows: [row] });
    expect(served.status).toBe(200);
    expect(served.body['predictions']).toHaveLength(1);
    expect((await call('operator', 'GET', `/v1/runs/${fx.C.inFlight}`)).status).toBe(200);
    // C's run in flight went on past the point where S's stopped.
    expect(['released', 'awaiting-review']).toContain(await settleRun(engine, fx.C.inFlight));
    expect((await engine.cp.getRun(fx.C.inFlight))!.errorCode).toBeNull();
    expect((await refusals('C')).length).toBe(before);
  }, LONG);

  it('after resume, work under the suspended agreement goes on; the release refused meanwhile is released', async () => {
    const r = await call('admin', 'POST', `/v1/agreements/${AG.S}/resume`, { reason: 'audit closed' });
    expect(r.status).toBe(200);
    expect(r.body['agreement']).toMatchObject({ status: 'active', suspendedAt: null, suspensionReason: null });
    expect(r.body['releasesRetried']).toBe(1);
    expect((await releaseOf(fx.S.pending1.runId)).artifactHash).toBe(fx.S.pending1.hash);
    expect((await call('operator', 'POST', '/v1/plan', { spec: tableSpec('S', 'again') })).status).toBe(200);
    expect(await settleRun(engine, await submit(tableSpec('S', 'again')))).toBe('released');
    expect((await call('rev1', 'POST', '/v1/reviews', { artifactHash: fx.S.pending2.hash, decision: 'approve', reason: 'tokens only' })).body['releaseQueued']).toBe(true);
    await releaseOf(fx.S.pending2.runId);
    expect((await call('operator', 'GET', `/v1/releases/${fx.S.tableRelease}/download`)).status).toBe(200);
    expect((await call('operator', 'POST', `/v1/models/${fx.S.modelHash}/predict`, { rows: [row] })).status).toBe(200);
    expect((await engine.cp.listAuditLog({ limit: 10_000 })).some((e) => e.action === 'agreement.resume' && e.subject === AG.S)).toBe(true);
  }, LONG);

  it('termination is final: a terminated agreement cannot be resumed or suspended, and terminating again keeps the first reason', async () => {
    const resume = await call('admin', 'POST', `/v1/agreements/${AG.T}/resume`, { reason: 'change of heart' });
    expect(resume.status).toBe(409);
    expect(resume.body['error'].code).toBe('SLUICE_ERR_CONFLICT');
    expect(resume.body['error'].message).toContain('final');
    expect((await call('admin', 'POST', `/v1/agreements/${AG.T}/suspend`, { reason: 'suspend instead' })).status).toBe(409);
    const again = await call('admin', 'POST', `/v1/agreements/${AG.T}/terminate`, { reason: 'a second reason' });
    expect(again.body['agreement']).toMatchObject({ status: 'terminated', terminationReason: REASON.T });
    expectRefused(await call('operator', 'POST', '/v1/plan', { spec: tableSpec('T', 'again') }), 'T');
  }, LONG);
});
