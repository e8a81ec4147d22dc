import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../pipeline/engine.js';
import { submitRun } from '../../pipeline/run/submit.js';
import type { User } from '../../domain/types.js';
import { TEST_PG_URL, TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;

// A job whose middle step is slow enough to be killed mid-way: its filter
// counts a long range once (operator SQL may use range()).
const SPEC = `
version: 1
name: kill-test
agreement: AGR-KILL-1
inputs:
  people: { dataset: population, columns: [id_number, birth_date, sex, area_name] }
steps:
  - { id: residents, kind: extract, input: people }
  - id: banded
    kind: desensitize
    from: residents
    columns: { birth_date: { treatment: generalize, level: band10 } }
  - id: slow
    kind: sql
    from: [banded]
    query: "SELECT id_number, area_name, sex, birth_date AS age_band FROM banded WHERE (SELECT count(*) FROM range(4000000000) t(i) WHERE i % 7 = 3) > 0"
  - id: demand
    kind: aggregate
    from: slow
    group_by: [area_name, sex]
    measures: [{ fn: count_units, as: persons }]
outputs:
  - { id: demand, from: demand, kind: table, format: parquet }
`;

describe('two worker processes share a run; one is killed mid-step', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-kill-'));
  const schema = `sluice_kill_${process.pid}`;
  const prefix = `sluice-kill-${process.pid}`;
  const env = { ...process.env, DATABASE_URL: TEST_PG_URL, SLUICE_DB_SCHEMA: schema, SLUICE_QUEUE_PREFIX: prefix, SLUICE_DATA_ROOT: root, REDIS_URL: TEST_REDIS_URL, SLUICE_LOCK_MS: '4000', SLUICE_LOG_LEVEL: 'silent' };
  let engine: Engine;
  let operator: User;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    engine = await Engine.open({ dataRoot: root, databaseUrl: TEST_PG_URL, schema, queuePrefix: prefix, redisUrl: TEST_REDIS_URL });
    await registerPopulation(engine, root, 2000, 3);
    await engine.cp.createAgreement({
      id: 'AGR-KILL-1', scenario: 'kill test', operator: 'ops', purpose: 'test', useClass: 'public-interest', status: 'active',
      validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'birth_date', treatment: 'none' }, { name: 'sex', treatment: 'none' }, { name: 'area_name', treatment: 'none' }] }],
    });
    operator = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(1) })).user;
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await engine.stepsQueue.obliterate({ force: true }).catch(() => undefined);
    await engine.releaseQueue.obliterate({ force: true }).catch(() => undefined);
    await engine.close();
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
    rmSync(root, { recursive: true, force: true });
  });

  it('ends the run correctly with no partial or duplicate artifact', async () => {
    for (let i = 0; i < 2; i++) {
      const w = spawn(process.execPath, [BIN, 'worker'], { env, stdio: 'ignore' });
      workers.push(w);
    }
    const { runId } = await submitRun(engine, SPEC, operator);
    // Wait for the slow step to start, then kill the worker that runs it.
    const logFile = join(root, 'logs', 'sluice.log');
    let victim: number | null = null;
    for (let i = 0; i < 600 && victim === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(logFile)) continue;
      for (const line of readFileSync(logFile, 'utf8').split('\n')) {
        if (!line.includes('"step.start"') || !line.includes('"stepId":"slow"')) continue;
        victim = (JSON.parse(line) as { pid: number }).pid;
      }
    }
    expect(victim).not.toBeNull();
    const killed = workers.find((w) => w.pid === victim)!;
    expect(killed).toBeDefined();
    await new Promise((r) => setTimeout(r, 500));
    killed.kill('SIGKILL');

    const status = await settleRun(engine, runId);
    expect(status).toBe('released');
    // Both workers took steps of this run (the survivor retried the victim's).
    const pids = new Set(
      readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"step.start"') && l.includes(runId)).map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
    expect(pids.size).toBe(2);
    const run = (await engine.cp.getRun(runId))!;
    expect(run.steps.every((s) => s.status === 'done')).toBe(true);
    // The slow step ran twice (killed once), yet its output is one artifact.
    expect(run.steps.find((s) => s.stepId === 'slow')!.attempts).toBeGreaterThanOrEqual(2);
    const recorded = new Set((await engine.cp.listArtifactsForRun(runId)).filter((a) => a.zone === 'work').map((a) => a.hash));
    const files = readdirSync(engine.dataRoot.zone('work')).map((f) => f.replace(/\.parquet$/, ''));
    expect(new Set(files)).toEqual(recorded);
    for (const hash of files) expect(await engine.store.verify('work', hash)).toBe(true);
    for (const zone of ['staging', 'release'] as const) {
      for (const f of readdirSync(engine.dataRoot.zone(zone))) expect(await engine.store.verify(zone, f.replace(/\.parquet$/, ''))).toBe(true);
    }
    // Whatever the victim left half-written stayed in tmp/ (never visible) and is swept.
    await engine.store.sweepTmp();
    const left = readdirSync(engine.dataRoot.tmp).filter((f) => f.includes(`-${victim}.`) || f.endsWith(`-${victim}`));
    expect(left).toEqual([]);
  }, 300_000);
});
