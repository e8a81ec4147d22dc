import { mkdtempSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { openDuck, queryJson, quoteLiteral } from '../../lib/duck.js';
import { Engine } from '../../pipeline/engine.js';
import { submitRun } from '../../pipeline/run/submit.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import type { User } from '../../domain/types.js';
import { TEST_REDIS_URL, dumpRedisPrefix } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const SPEC = `
version: 1
name: fused-care-demand
agreement: AGR-F-1
inputs: { people: { dataset: population, columns: [id_number, birth_date, sex, area_code] } }
steps:
  - { id: x, kind: extract, input: people }
  - { id: d, kind: desensitize, from: x, columns: { birth_date: { treatment: generalize, level: band20 } } }
  - { id: a, kind: aggregate, from: d, group_by: [area_code, sex], measures: [{ fn: count_units, as: persons }, { fn: count, as: rows }] }
outputs: [ { id: t, from: a, kind: table } ]
`;

describe('row-level steps fused into the aggregate that reads them', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-fuse-'));
  const prefix = `sluice-fuse-${process.pid}`;
  let engine: Engine;
  let workers: Workers;
  let op: User;
  let rawFile: string;

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: prefix, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    await registerPopulation(engine, root, 3000, 11);
    rawFile = join(root, (await engine.cp.getDataset('population'))!.path);
    await engine.cp.createAgreement({
      id: 'AGR-F-1', scenario: 'fusion', operator: 'ops', purpose: 'care demand', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'birth_date', treatment: 'none' }, { name: 'sex', treatment: 'none' }, { name: 'area_code', treatment: 'none' }] }],
    });
    op = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(1) })).user;
  });
  afterAll(async () => {
    await shutdown({ workers, engine, root });
  });

  async function released(runId: string): Promise<unknown[]> {
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

  it('releases the same table fused as step by step, in one job that writes no intermediate file', async () => {
    const fusedRun = await runWith(true);
    const plainRun = await runWith(false);
    expect(await released(fusedRun)).toEqual(await released(plainRun));

    const fused = (await engine.cp.getRun(fusedRun))!;
    const steps = Object.fromEntries(fused.steps.map((s) => [s.stepId, s]));
    // The fused steps are done, with the rows they passed on, and no artifact of their own.
    for (const id of ['x', 'd']) expect(steps[id]).toMatchObject({ status: 'done', artifactHash: null, rows: 3000 });
    expect(steps['a']).toMatchObject({ status: 'done' });
    const lineage = (await engine.cp.getLineage(steps['a']!.artifactHash!))!;
    expect(lineage.inputs).toEqual([(await engine.cp.getDataset('population'))!.artifactHash]);
    expect((lineage.parameters['fused'] as { step: string; kind: string }[]).map((f) => [f.step, f.kind])).toEqual([['x', 'extract'], ['d', 'desensitize']]);
    // Step by step, every step wrote its output.
    const plain = (await engine.cp.getRun(plainRun))!;
    expect(plain.steps.every((s) => s.artifactHash !== null)).toBe(true);
    // Only the aggregate's job ran for the fused run (its flow holds the aggregate and the gate).
    const jobs = await engine.stepsQueue.getJobs(['completed']);
    expect(jobs.filter((j) => (j.data as { runId: string }).runId === fusedRun).map((j) => j.name).sort()).toEqual(['aggregate', 'gate']);
  });

  it('fuses an extract into a desensitize step that is an output, which records its row count and settings', async () => {
    // band10, not band20: an artifact's lineage is that of its first writer, and the runs above wrote d's band20 output unfused.
    const spec = SPEC.replace(/  - \{ id: a, kind: aggregate.*\n/, '')
      .replace('level: band20', 'level: band10')
      .replace('outputs: [ { id: t, from: a, kind: table } ]', 'outputs: [ { id: e, from: d, kind: extract } ]');
    const { runId } = await submitRun(engine, spec, op);
    expect(['awaiting-review', 'blocked']).toContain(await settleRun(engine, runId));
    const run = (await engine.cp.getRun(runId))!;
    const steps = Object.fromEntries(run.steps.map((s) => [s.stepId, s]));
    expect(steps['x']).toMatchObject({ status: 'done', artifactHash: null, rows: 3000 });
    expect(steps['d']).toMatchObject({ status: 'done', rows: 3000 });
    const lineage = (await engine.cp.getLineage(steps['d']!.artifactHash!))!;
    expect(lineage.parameters['fused']).toMatchObject([
      { step: 'x', kind: 'extract', parameters: { input: 'people', dataset: 'population', columns: ['id_number', 'birth_date', 'sex', 'area_code'] }, facts: { dropped: [] } },
    ]);
  });

  it('keeps the compiled SQL, which embeds key material, out of the control plane and Redis', async () => {
    const stored = await engine.cp.db.query<{ t: string }>(
      `SELECT plan::text AS t FROM runs UNION ALL SELECT parameters::text FROM lineage UNION ALL SELECT coalesce(error_message, '') FROM steps`,
    );
    const redis = await dumpRedisPrefix(TEST_REDIS_URL, prefix);
    for (const text of [...stored.map((r) => r.t), redis.text]) {
      expect(text).not.toMatch(/unhex\(|sha256\(/);
    }
  });

  it('a fused job that fails marks the steps fused into it failed too', async () => {
    unlinkSync(rawFile);
    const { runId } = await submitRun(engine, SPEC, op);
    expect(await settleRun(engine, runId)).toBe('failed');
    const run = (await engine.cp.getRun(runId))!;
    expect(Object.fromEntries(run.steps.map((s) => [s.stepId, s.status]))).toEqual({ x: 'failed', d: 'failed', a: 'failed' });
    expect(run.errorCode).toBe('SLUICE_ERR_STORE_CORRUPT');
  });
});
