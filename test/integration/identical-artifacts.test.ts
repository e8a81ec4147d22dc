import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import { buildApp } from '../../service/app.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const AGREEMENT = {
  id: 'AGR-TWIN-1', scenario: 'identical artifacts', operator: 'ops-co', purpose: 'test', useClass: 'public-interest' as const, status: 'active' as const,
  validFrom: '2026-01-01', validTo: '2028-12-31',
  grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' as const }, { name: 'sex', treatment: 'none' as const }, { name: 'area_name', treatment: 'none' as const }] }],
};

/** An extract of `columns`: each test stages its own artifact (twice). */
const EXTRACT = (name: string, columns: string) => `
version: 1
name: ${name}
agreement: AGR-TWIN-1
inputs: { people: { dataset: population, columns: [${columns}] } }
steps: [ { id: x, kind: extract, input: people } ]
outputs: [ { id: people_by_area, from: x, kind: extract, format: parquet } ]
`;

/** Waits until the run has `status` (or a minute has passed); returns the status it has. */
async function statusOf(engine: Engine, runId: string, status: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const now = (await engine.cp.getRun(runId))?.status ?? 'missing';
    if (now === status) return now;
    await new Promise((r) => setTimeout(r, 200));
  }
  return (await engine.cp.getRun(runId))?.status ?? 'missing';
}

/** Both runs settle, and their staged outputs are one artifact. */
async function twinRuns(call: (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) => Promise<{ status: number; body: Record<string, any> }>, engine: Engine, name: string, columns: string) {
  const runIds: string[] = [];
  for (const who of ['operator', 'operator2']) runIds.push((await call(who, 'POST', '/v1/runs', { spec: EXTRACT(name, columns) })).body['runId'] as string);
  for (const id of runIds) expect(await settleRun(engine, id)).toBe('awaiting-review');
  const hashes = await Promise.all(runIds.map(async (id) => (await engine.cp.listReportsForRun(id))[0]!.artifactHash));
  expect(hashes[0]).toBe(hashes[1]);
  return { runIds, hash: hashes[0]! };
}

describe('two runs that stage an identical artifact', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-twins-'));
  let engine: Engine;
  let workers: Workers;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};

  const call = async (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}), headers: { authorization: `Bearer ${tokens[who]}` } });
    return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {} };
  };

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-twins-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine, { concurrency: 1 });
    app = await buildApp(engine);
    const people = [['operator', 'operator', 'ops-co'], ['operator2', 'operator', 'ops-co'], ['rev1', 'reviewer', 'experts'], ['rev2', 'reviewer', 'experts']] as const;
    for (const [i, [name, role, org]] of people.entries()) tokens[name] = (await engine.cp.createUser({ name, role, organization: org, personId: syntheticResidentId(i + 1) })).token;
    await registerPopulation(engine, root, 1000, 5);
    await engine.cp.createAgreement(AGREEMENT);
  });

  afterAll(async () => {
    await shutdown({ app, workers, engine, root });
  });

  it('are both released after one approval, each with its own release', async () => {
    const { runIds, hash } = await twinRuns(call, engine, 'twins', 'id_number, sex, area_name');
    const ok = await call('rev1', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', reason: 'tokens only' });
    expect(ok.status).toBe(201);
    expect(ok.body['releaseQueued']).toBe(true);
    for (const id of runIds) expect(await statusOf(engine, id, 'released')).toBe('released');
    for (const id of runIds) {
      const releases = await engine.cp.listReleases({ runId: id });
      expect(releases.map((r) => [r.outputId, r.artifactHash])).toEqual([['people_by_area', hash]]);
    }
  });

  it('a retried release of the same run is one release, not two', async () => {
    const { runIds, hash } = await twinRuns(call, engine, 'twins-retry', 'id_number, sex');
    await call('rev1', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', reason: 'tokens only' });
    for (const id of runIds) expect(await statusOf(engine, id, 'released')).toBe('released');
    // A second approval of the same hash queues the same releases again: nothing new is released.
    const again = await call('rev2', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', reason: 'second look' });
    expect(again.status).toBe(201);
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of runIds) expect(await engine.cp.listReleases({ runId: id })).toHaveLength(1);
  });

  it('negative control: a reject of the shared artifact blocks both runs and releases neither', async () => {
    const { runIds, hash } = await twinRuns(call, engine, 'twins-reject', 'id_number, area_name');
    const no = await call('rev2', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'reject', reason: 'too fine' });
    expect(no.status).toBe(201);
    expect(no.body['releaseQueued']).toBe(false);
    for (const id of runIds) {
      expect((await engine.cp.getRun(id))?.status).toBe('blocked');
      expect(await engine.cp.listReleases({ runId: id })).toHaveLength(0);
    }
  });
});
