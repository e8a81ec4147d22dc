import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import * as specModule from '../../pipeline/spec/spec.js';
import { submitRun } from '../../pipeline/run/submit.js';
import { submitReview } from '../../pipeline/gate/review.js';
import { RUN_TRANSITIONS } from '../../pipeline/run/lifecycle.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import type { User } from '../../domain/types.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

// Counts parses: the spec module as it is, with parseSpec wrapped in a spy.
vi.mock('../../pipeline/spec/spec.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../pipeline/spec/spec.js')>();
  return { ...m, parseSpec: vi.fn(m.parseSpec) };
});

const EXTRACT = `
version: 1
name: tokens-by-area
agreement: AGR-L-1
inputs: { people: { dataset: population, columns: [id_number, sex, area_name] } }
steps: [ { id: x, kind: extract, input: people } ]
outputs: [ { id: people_by_area, from: x, kind: extract, format: parquet } ]
`;

describe('the run lifecycle', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-lifecycle-'));
  let engine: Engine;
  let workers: Workers;
  let op: User;
  let rev1: User;
  let rev2: User;

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-lifecycle-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    await registerPopulation(engine, root, 2000, 11);
    await engine.cp.createAgreement({
      id: 'AGR-L-1', scenario: 'lifecycle', operator: 'ops', purpose: 'p', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'sex', treatment: 'none' }, { name: 'area_name', treatment: 'none' }] }],
    });
    op = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(1) })).user;
    rev1 = (await engine.cp.createUser({ name: 'rev1', role: 'reviewer', organization: 'experts', personId: syntheticResidentId(2) })).user;
    rev2 = (await engine.cp.createUser({ name: 'rev2', role: 'reviewer', organization: 'experts', personId: syntheticResidentId(3) })).user;
  });
  afterAll(async () => {
    await shutdown({ workers, engine, root });
  });

  async function approveAndSettle(runId: string, reviewer: User): Promise<string> {
    const [report] = await engine.cp.listReportsForRun(runId);
    const r = await submitReview(engine, reviewer, { artifactHash: report!.artifactHash, decision: 'approve', reason: 'tokens only' });
    expect(r.releaseQueued).toBe(true);
    // awaiting-review counts as settled for settleRun: wait for the release queue to move the run on.
    for (let i = 0; i < 300; i++) {
      const status = (await engine.cp.getRun(runId))!.status;
      if (status !== 'awaiting-review') return status;
      await new Promise((res) => setTimeout(res, 100));
    }
    return 'awaiting-review';
  }

  it('parses the spec once per submit', async () => {
    const parse = vi.mocked(specModule.parseSpec);
    parse.mockClear();
    const { runId } = await submitRun(engine, EXTRACT, op);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(await settleRun(engine, runId)).toBe('awaiting-review');
    expect(await approveAndSettle(runId, rev1)).toBe('released');
  });

  it('releases two runs that staged an identical artifact, each after its approval', async () => {
    const first = (await engine.cp.listRuns({}))[0]!;
    const { runId } = await submitRun(engine, EXTRACT, op);
    expect(await settleRun(engine, runId)).toBe('awaiting-review');
    const [a] = await engine.cp.listReportsForRun(first.id);
    const [b] = await engine.cp.listReportsForRun(runId);
    // The same artifact, byte for byte: the case a release id per artifact used to swallow.
    expect(b!.artifactHash).toBe(a!.artifactHash);
    expect(await approveAndSettle(runId, rev2)).toBe('released');
    for (const id of [first.id, runId]) expect((await engine.cp.listReleases({ runId: id })).map((r) => r.artifactHash)).toEqual([a!.artifactHash]);
  });

  it('writes each run transition with its audit row, and moves nothing out of a terminal status', async () => {
    const { runId } = await submitRun(engine, EXTRACT, op);
    await settleRun(engine, runId);
    const actions = (await engine.cp.listAuditLog({})).filter((e) => e.subject === runId).map((e) => [e.action, e.details['status'] ?? null]);
    expect(actions).toEqual([['run.create', null], ['run.start', 'running'], ['run.gated', 'awaiting-review']]);
    for (const terminal of ['failed', 'cancelled', 'released'] as const) expect(RUN_TRANSITIONS[terminal]).toEqual([]);
    // The table's guard is in the UPDATE itself: a run awaiting review is not "queued", so it does not move.
    expect(await engine.cp.setRunStatus(runId, 'running', {}, { from: ['queued'] })).toBe(false);
    expect((await engine.cp.getRun(runId))!.status).toBe('awaiting-review');
  });
});
