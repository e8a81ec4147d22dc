import { chmodSync, appendFileSync, mkdtempSync } from 'node:fs';
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

const AGREEMENT = {
  id: 'AGR-SVC-1', scenario: 'service test', operator: 'ops-co', purpose: 'test', useClass: 'public-interest' as const, status: 'active' as const,
  validFrom: '2026-01-01', validTo: '2028-12-31',
  grants: [{ dataset: 'population', columns: [
    { name: 'id_number', treatment: 'tokenize' as const }, { name: 'sex', treatment: 'none' as const }, { name: 'area_name', treatment: 'none' as const },
    { name: 'birth_date', treatment: 'none' as const }, { name: 'mobile', treatment: 'none' as const },
  ] }],
};

const EXTRACT = `
version: 1
name: tokens-by-area
agreement: AGR-SVC-1
inputs: { people: { dataset: population, columns: [id_number, sex, area_name] } }
steps: [ { id: x, kind: extract, input: people } ]
outputs: [ { id: people_by_area, from: x, kind: extract, format: parquet } ]
`;
const LEAK = `
version: 1
name: leak
agreement: AGR-SVC-1
inputs: { people: { dataset: population, columns: [id_number, mobile, area_name] } }
steps: [ { id: x, kind: extract, input: people } ]
outputs: [ { id: contacts, from: x, kind: extract, format: csv } ]
`;

describe('the service: roles, reviews bound to hashes, the gate, downloads', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-svc-'));
  let engine: Engine;
  let workers: Workers;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  const call = async (who: string | null, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}), headers: who ? { authorization: `Bearer ${tokens[who]}` } : {} });
    const json = String(res.headers['content-type'] ?? '').startsWith('application/json');
    return { status: res.statusCode, body: json && res.body ? (JSON.parse(res.body) as Record<string, any>) : {}, raw: res };
  };
  const settle = async (runId: string) => {
    for (let i = 0; i < 600; i++) {
      const r = await call('operator', 'GET', `/v1/runs/${runId}`);
      if (['released', 'blocked', 'failed', 'cancelled', 'awaiting-review'].includes(r.body['status'])) return r.body;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('run did not settle');
  };
  const reportOf = async (runId: string) => {
    const r = await call('operator', 'GET', `/v1/runs/${runId}/reports`);
    return r.body['reports'][0] as { id: string; artifactHash: string; status: string };
  };

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-svc-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine, { concurrency: 1 });
    app = await buildApp(engine);
    for (const [i, [name, role, org]] of ([['admin', 'admin', 'authority'], ['operator', 'operator', 'ops-co'], ['other', 'operator', 'rival-co'], ['rev1', 'reviewer', 'experts'], ['rev2', 'reviewer', 'experts']] as const).entries()) {
      const { user, token } = await engine.cp.createUser({ name, role, organization: org, personId: syntheticResidentId(i + 1) });
      tokens[name] = token;
      ids[name] = user.id;
    }
    // The LEAK job leaks mobile numbers for the audit to catch: its provider classed mobile `other` (misclassified),
    // which lineage cannot see; classed as the direct identifier it is, the agreement and the plan are refused.
    await registerPopulation(engine, root, 2000, 11, { mobile: 'other' });
    await engine.cp.createAgreement(AGREEMENT);
  });

  afterAll(async () => {
    await shutdown({ app, workers, engine, root });
  });

  it('refuses callers without a token or the right role', async () => {
    expect((await call(null, 'GET', '/v1/runs')).body['error'].code).toBe('SLUICE_ERR_AUTH_MISSING');
    const forged = await app.inject({ method: 'GET', url: '/v1/runs', headers: { authorization: 'Bearer slc_forged' } });
    expect(forged.statusCode).toBe(401);
    const r = await call('operator', 'POST', '/v1/users', { name: 'x', role: 'admin', organization: 'x' });
    expect(r.status).toBe(403);
    expect(r.body['error'].code).toBe('SLUICE_ERR_AUTH_FORBIDDEN');
    expect((await call('rev1', 'POST', '/v1/runs', { spec: EXTRACT })).status).toBe(403);
  });

  it('names the path of a bad spec and of a bad body', async () => {
    const bad = await call('operator', 'POST', '/v1/plan', { spec: EXTRACT.replace('kind: extract, format', 'kind: tabel, format') });
    expect(bad.status).toBe(400);
    expect(bad.body['error'].message).toContain('outputs[0].kind');
    const body = await call('operator', 'POST', '/v1/plan', { spec: 42 });
    expect(body.status).toBe(400);
    expect(body.body['error'].message).toContain('spec');
    // A spec may tighten the audit, never loosen it.
    const loose = await call('operator', 'POST', '/v1/plan', { spec: EXTRACT + 'audit: { thresholds: { A1: { threshold: 5 } } }\n' });
    expect(loose.body['error'].code).toBe('SLUICE_ERR_SPEC_SCOPE');
    expect(loose.body['error'].message).toContain('A1.threshold');
    const tight = await call('operator', 'POST', '/v1/plan', { spec: EXTRACT + 'audit: { thresholds: { A1: { threshold: 20 } } }\n' });
    expect(tight.status).toBe(200);
    // An operator of another company is outside the agreement's scope.
    const scope = await call('other', 'POST', '/v1/plan', { spec: EXTRACT });
    expect(scope.body['error'].code).toBe('SLUICE_ERR_SPEC_SCOPE');
  });

  it('holds a passing extract for one reviewer who is not the submitter, then releases exactly that artifact', async () => {
    const { body } = await call('operator', 'POST', '/v1/runs', { spec: EXTRACT });
    const run = await settle(body['runId']);
    expect(run['status']).toBe('awaiting-review');
    const rep = await reportOf(body['runId']);
    expect(rep.status).toBe('pass');
    expect((await call('other', 'GET', `/v1/runs/${body['runId']}`)).status).toBe(404);

    const self = await call('operator', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', reason: 'looks fine to me' });
    expect(self.status).toBe(403);
    expect(self.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    const admin = await call('admin', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', reason: 'admin says yes' });
    expect(admin.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    const wrongHash = await call('rev1', 'POST', '/v1/reviews', { artifactHash: 'f'.repeat(64), decision: 'approve', reason: 'some other file' });
    expect(wrongHash.status).toBe(404);
    expect((await call('operator', 'GET', '/v1/releases')).body['releases']).toHaveLength(0);

    const ok = await call('rev1', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', reason: 'tokens only; classes large' });
    expect(ok.status).toBe(201);
    expect(ok.body['releaseQueued']).toBe(true);
    let releases: any[] = [];
    for (let i = 0; i < 100 && releases.length === 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      releases = (await call('operator', 'GET', `/v1/releases?run=${body['runId']}`)).body['releases'];
    }
    expect(releases).toHaveLength(1);
    expect(releases[0].artifactHash).toBe(rep.artifactHash);
    expect((await settle(body['runId']))['status']).toBe('released');
    const dl = await call('operator', 'GET', `/v1/releases/${releases[0].id}/download`);
    expect(dl.status).toBe(200);
    expect(dl.raw.headers['x-sluice-artifact-hash']).toBe(rep.artifactHash);
    expect((await call('operator', 'GET', '/v1/releases/..%2F..%2Fraw/download')).status).toBe(404);

    // The staged file is altered after its audit: a later approval of it is refused.
    const staged = engine.store.pathOf('staging', rep.artifactHash);
    chmodSync(staged, 0o644);
    appendFileSync(staged, 'tampered');
    const changed = await call('rev2', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', reason: 'second look' });
    expect(changed.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    expect(changed.body['error'].message).toContain('changed since its audit');
  });

  it('blocks a failed output; releasing it needs an exception from two reviewers, neither the submitter', async () => {
    const { body } = await call('operator', 'POST', '/v1/runs', { spec: LEAK });
    const run = await settle(body['runId']);
    expect(run['status']).toBe('blocked');
    const rep = await reportOf(body['runId']);
    expect(rep.status).toBe('fail');
    const plain = await call('rev1', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', reason: 'approve without exception' });
    expect(plain.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    const first = await call('rev1', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', exception: true, reason: 'hotline contract signed by every person listed' });
    expect(first.status).toBe(201);
    expect(first.body['releaseQueued']).toBe(false);
    const selfEx = await call('operator', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', exception: true, reason: 'I also agree' });
    expect(selfEx.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    const again = await call('rev1', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', exception: true, reason: 'twice' });
    expect(again.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    const second = await call('rev2', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', exception: true, reason: 'agree with the exception' });
    expect(second.body['releaseQueued']).toBe(true);
  });

  it('logs every refusal in a verifiable audit log', async () => {
    const log = await engine.cp.listAuditLog({});
    const refused = log.filter((e) => e.action === 'review.refused');
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(refused.every((e) => typeof e.details['code'] === 'string')).toBe(true);
    const v = await call('admin', 'GET', '/v1/audit-log/verify');
    expect(v.body['ok']).toBe(true);
    expect((await call('operator', 'GET', '/v1/audit-log/verify')).status).toBe(403);
  });

  it('cancels a run: it ends cancelled and its steps stop', async () => {
    const { body } = await call('operator', 'POST', '/v1/runs', { spec: EXTRACT.replace('tokens-by-area', 'to-cancel') });
    const c = await call('operator', 'POST', `/v1/runs/${body['runId']}/cancel`);
    expect(c.body['cancelled']).toBe(true);
    const run = await settle(body['runId']);
    expect(run['status']).toBe('cancelled');
    expect(run['steps'].some((s: { status: string }) => s.status === 'running' || s.status === 'waiting')).toBe(false);
    expect((await call('operator', 'GET', `/v1/runs/${body['runId']}/reports`)).body['reports']).toHaveLength(0);
  });
});
