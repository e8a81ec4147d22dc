import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../pipeline/engine.js';
import { stepJobId, submitRun } from '../../pipeline/run/submit.js';
import type { Agreement, User } from '../../domain/types.js';
import { TEST_PG_URL, TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, sqlStepSpec } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;
const MAX_STALLED = 1;
/**
 * The test plays the kernel's OOM killer (or a cgroup's memory limit): a worker
 * whose resident memory passes this is killed at once with SIGKILL. DuckDB's own
 * memory limit is set far above it for the poison agreement, so nothing inside
 * the process stops the bomb first.
 */
const KILL_RSS = 1024 ** 3;

const BOMB = sqlStepSpec('bomb', 'AGR-POISON-1', "WITH RECURSIVE t(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n+1, s || s FROM t WHERE n < 40) SELECT count(*) AS l FROM t WHERE length(s) > 0");
const ORDINARY = sqlStepSpec('ordinary', 'AGR-POISON-2', 'SELECT area_name, sex, count(*) AS n FROM x GROUP BY area_name, sex');

/** Resident memory of a process in bytes (Linux), or 0 when it is gone. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

describe('a poison step: its worker dies each time it runs it', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-poison-'));
  const schema = `sluice_poison_${process.pid}`;
  const prefix = `sluice-poison-${process.pid}`;
  const env = {
    ...process.env, DATABASE_URL: TEST_PG_URL, SLUICE_DB_SCHEMA: schema, SLUICE_QUEUE_PREFIX: prefix, SLUICE_DATA_ROOT: root, REDIS_URL: TEST_REDIS_URL,
    SLUICE_LOCK_MS: '4000', SLUICE_LOG_LEVEL: 'silent', SLUICE_MAX_STALLED: String(MAX_STALLED), SLUICE_DUCKDB_THREADS: '1',
  };
  const logFile = join(root, 'logs', 'sluice.log');
  let engine: Engine;
  let operator: User;
  const workers: ChildProcess[] = [];
  const killed: number[] = [];
  let watchdog: NodeJS.Timeout | undefined;

  const agreement = (id: string, resourceLimits?: Agreement['resourceLimits']): Agreement => ({
    id, scenario: 'poison', operator: 'ops', purpose: 'p', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
    grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'sex', treatment: 'none' }, { name: 'area_name', treatment: 'none' }] }],
    ...(resourceLimits ? { resourceLimits } : {}),
  });

  /** The `step.start` lines of step q of `runId`: one per time a worker began it. */
  const starts = (runId: string) =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"step.start"') && l.includes('"stepId":"q"') && l.includes(runId)).map((l) => (JSON.parse(l) as { pid: number }).pid)
      : [];

  beforeAll(async () => {
    engine = await Engine.open({ dataRoot: root, databaseUrl: TEST_PG_URL, schema, queuePrefix: prefix, redisUrl: TEST_REDIS_URL });
    await registerPopulation(engine, root, 2000, 19);
    // No limit inside the process that could stop the bomb before the "kernel" does.
    await engine.cp.createAgreement(agreement('AGR-POISON-1', { memory: '16GB' }));
    await engine.cp.createAgreement(agreement('AGR-POISON-2'));
    operator = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(602) })).user;
  }, 120_000);

  afterAll(async () => {
    clearInterval(watchdog);
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await engine.stepsQueue.obliterate({ force: true }).catch(() => undefined);
    await engine.releaseQueue.obliterate({ force: true }).catch(() => undefined);
    await engine.close();
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it(`is started again at most ${MAX_STALLED} time(s), then fails with its own code; the surviving worker stays up and runs the next run`, async () => {
    // One worker more than the bomb can kill: 1 + MAX_STALLED deaths, and one left to record the failure.
    for (let i = 0; i < MAX_STALLED + 2; i++) workers.push(spawn(process.execPath, [BIN, 'worker'], { env, stdio: 'ignore' }));
    watchdog = setInterval(() => {
      for (const w of workers) {
        if (w.exitCode !== null || w.signalCode !== null || !w.pid) continue;
        if (rssOf(w.pid) > KILL_RSS) {
          killed.push(w.pid);
          w.kill('SIGKILL');
        }
      }
    }, 10);

    const { runId } = await submitRun(engine, BOMB, operator);
    const status = await settleRun(engine, runId, 240_000);
    expect(status).toBe('failed');
    const run = (await engine.cp.getRun(runId))!;
    expect(run.errorCode).toBe('SLUICE_ERR_STEP_STALLED');
    const q = run.steps.find((s) => s.stepId === 'q')!;
    expect(q).toMatchObject({ status: 'failed', errorCode: 'SLUICE_ERR_STEP_STALLED' });
    expect(q.errorMessage).toContain(`step q: its worker died while running it ${MAX_STALLED + 1} time(s)`);

    // Begun once, and once more by recovery; each time its worker was killed at the memory limit.
    const began = starts(runId);
    expect(began).toHaveLength(1 + MAX_STALLED);
    expect(q.attempts).toBe(1 + MAX_STALLED);
    expect(killed).toHaveLength(1 + MAX_STALLED);
    expect(new Set(killed)).toEqual(new Set(began));
    // BullMQ failed the job without starting it a third time.
    const job = (await engine.stepsQueue.getJob(stepJobId(runId, 'q')))!;
    expect(await job.getState()).toBe('failed');
    expect(job.stalledCounter).toBe(1 + MAX_STALLED);

    // The service stays up: the surviving worker runs the next run to its end, and nothing runs the bomb again.
    const alive = workers.filter((w) => w.exitCode === null && w.signalCode === null);
    expect(alive).toHaveLength(1);
    const next = await submitRun(engine, ORDINARY, operator);
    expect(await settleRun(engine, next.runId, 240_000)).not.toMatch(/failed|cancelled/);
    expect((await engine.cp.getRun(next.runId))!.steps.find((s) => s.stepId === 'q')!.status).toBe('done');
    expect(starts(runId)).toHaveLength(1 + MAX_STALLED);
    expect(alive[0]!.exitCode).toBeNull();
  }, 400_000);
});
