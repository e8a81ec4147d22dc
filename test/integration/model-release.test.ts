import { appendFileSync, chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import { buildApp } from '../../service/app.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const spec = (name: string, model: string) => `
version: 1
name: ${name}
agreement: AGR-M-1
inputs: { people: { dataset: population, columns: [id_number, birth_date, sex, education, area_name, income_band] } }
steps:
  - { id: x, kind: extract, input: people }
  - { id: s, kind: sample, from: x, fraction: 0.8, seed: 3 }
  - id: d
    kind: desensitize
    from: s
    columns: { birth_date: { treatment: generalize, level: band10 }, id_number: { treatment: drop } }
  - id: m
    kind: train
    from: d
    target: income_band
    features: { categorical: [birth_date, sex, education, area_name] }
    model: ${model}
    test_fraction: 0.3
    seed: 7
outputs: [ { id: model, from: m, kind: model } ]
`;

describe('a model trained in the domain: audited, reviewed, then served', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-model-'));
  let engine: Engine;
  let workers: Workers;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};

  const call = async (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}), headers: { authorization: `Bearer ${tokens[who]}` } });
    return { status: res.statusCode, body: JSON.parse(res.body || '{}') as Record<string, any> };
  };
  const settle = async (runId: string) => {
    for (let i = 0; i < 1500; i++) {
      const r = await call('operator', 'GET', `/v1/runs/${runId}`);
      if (['released', 'blocked', 'failed', 'cancelled', 'awaiting-review'].includes(r.body['status'])) return r.body;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('run did not settle');
  };

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-model-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    app = await buildApp(engine);
    for (const [i, [name, role]] of ([['operator', 'operator'], ['reviewer', 'reviewer']] as const).entries()) tokens[name] = (await engine.cp.createUser({ name, role, organization: 'ops', personId: syntheticResidentId(i + 1) })).token;
    await registerPopulation(engine, root, 4000, 9);
    await engine.cp.createAgreement({
      id: 'AGR-M-1', scenario: 'income model', operator: 'ops', purpose: 'm', useClass: 'industry', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' as const }, ...['birth_date', 'sex', 'education', 'area_name', 'income_band'].map((name) => ({ name, treatment: 'none' as const }))] }],
    });
  });
  afterAll(async () => {
    await shutdown({ app, workers, engine, root });
  });

  it('a regularized logistic regression waits for a reviewer; serving it before approval is refused and logged', async () => {
    const sub = await call('operator', 'POST', '/v1/runs', { spec: spec('income-logistic', '{ kind: logistic, hyperparameters: { C: 0.1 } }') });
    expect(sub.status).toBe(202);
    const run = await settle(sub.body['runId']);
    expect(run['errorMessage']).toBeNull();
    expect(run['status']).toBe('awaiting-review');
    const rep = (await call('operator', 'GET', `/v1/runs/${run['id']}/reports`)).body['reports'][0];
    expect(['pass', 'review']).toContain(rep.status);
    const full = (await call('reviewer', 'GET', `/v1/reports/${rep.id}`)).body;
    expect(full['report'].checks.map((c: { id: string }) => c.id)).toEqual(['C1', 'C2', 'C3', 'C4', 'C5', 'C6']);
    expect(full['verified']).toBe(true);

    const row = { birth_date: '40-49', sex: '男', education: '大学本科', area_name: '临海市' };
    const early = await call('operator', 'POST', `/v1/models/${rep.artifactHash}/predict`, { rows: [row] });
    expect(early.status).toBe(403);
    expect(early.body['error'].code).toBe('SLUICE_ERR_RELEASE_REFUSED');
    const refusals = (await engine.cp.listAuditLog({})).filter((e) => e.action === 'model.serve.refused');
    expect(refusals.length).toBe(1);

    const self = await call('operator', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', reason: 'my own model' });
    expect(self.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    const ok = await call('reviewer', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', reason: 'attacks at chance level; leaves large' });
    expect(ok.body['releaseQueued']).toBe(true);
    let served = early;
    for (let i = 0; i < 100 && served.status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 100));
      served = await call('operator', 'POST', `/v1/models/${rep.artifactHash}/predict`, { rows: [row] });
    }
    expect(served.status).toBe(200);
    expect(served.body['predictions']).toHaveLength(1);
    expect(served.body['classes']).toContain(served.body['predictions'][0].label);
  });

  it('a 1-nearest-neighbour model is blocked by C1 (it stores rows)', async () => {
    const sub = await call('operator', 'POST', '/v1/runs', { spec: spec('income-knn', '{ kind: knn, hyperparameters: { n_neighbors: 1 } }') });
    const run = await settle(sub.body['runId']);
    expect(run['status']).toBe('blocked');
    const rep = (await call('operator', 'GET', `/v1/runs/${run['id']}/reports`)).body['reports'][0];
    const full = (await call('reviewer', 'GET', `/v1/reports/${rep.id}`)).body;
    expect(full['report'].checks.find((c: { id: string }) => c.id === 'C1').status).toBe('fail');
    // The staged model is altered after its audit: approving it is refused and logged.
    const staged = engine.store.pathOf('staging', rep.artifactHash, 'json');
    chmodSync(staged, 0o644);
    appendFileSync(staged, ' ');
    const changed = await call('reviewer', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', exception: true, reason: 'try to approve an edited model' });
    expect(changed.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    expect(changed.body['error'].message).toContain('changed since its audit');
    const refused = (await engine.cp.listAuditLog({})).filter((e) => e.action === 'review.refused' && e.subject === rep.artifactHash);
    expect(refused.length).toBe(1);
  });
});
