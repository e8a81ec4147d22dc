import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuck, quoteLiteral } from '../lib/duck.js';
import { configureLog } from '../lib/log.js';
import { generate } from '../synthetic/generate.js';
import { syntheticResidentId } from '../synthetic/person-ids.js';
import { Engine } from '../pipeline/engine.js';
import { registerDataset } from '../pipeline/store/register.js';
import { stepJobId, submitRun } from '../pipeline/run/submit.js';
import { QUEUES } from '../pipeline/engine.js';
import { Job, QueueEvents } from 'bullmq';
import { compileDesensitize } from '../transforms/desensitize.js';
import { deriveAgreementKey } from '../transforms/tokenize.js';
import { startWorkers } from '../workers/start-workers.js';
import type { User } from '../domain/types.js';
import { median, timeMedian, type BenchCase, type BenchSuite } from './harness.js';


const SETTLED = new Set(['released', 'blocked', 'failed', 'cancelled', 'awaiting-review']);

/**
 * Waits until a run settles: on the gate job's completion event (no polling
 * delay in the measurement), then reads the run's status.
 */
async function waitRun(engine: Engine, events: QueueEvents, runId: string): Promise<string> {
  const gate = await Job.fromId(engine.stepsQueue, stepJobId(runId, 'gate'));
  if (gate) await gate.waitUntilFinished(events).catch(() => undefined);
  for (;;) {
    const run = await engine.cp.getRun(runId);
    if (run && SETTLED.has(run.status)) return run.status;
    await new Promise((r) => setTimeout(r, 5));
  }
}

function chainSpec(steps: number): string {
  const lines = [
    'version: 1', 'name: overhead', 'agreement: AGR-BENCH', 'inputs:', '  people: { dataset: population, columns: [id_number, area_name, sex] }', 'steps:',
    '  - { id: s0, kind: extract, input: people }',
  ];
  for (let i = 1; i <= steps; i++) lines.push(`  - { id: s${i}, kind: sample, from: s${i - 1}, fraction: 1.0, seed: ${i} }`);
  lines.push('  - { id: agg, kind: aggregate, from: s' + steps + ', group_by: [area_name, sex], measures: [{ fn: count_units, as: persons }] }');
  lines.push('outputs:', '  - { id: t, from: agg, kind: table }');
  return lines.join('\n');
}

const JOB = `
version: 1
name: desensitize-aggregate
agreement: AGR-BENCH
inputs:
  people: { dataset: population, columns: [id_number, birth_date, sex, area_name] }
steps:
  - { id: x, kind: extract, input: people }
  - id: d
    kind: desensitize
    from: x
    columns: { birth_date: { treatment: generalize, level: band10 } }
  - { id: a, kind: aggregate, from: d, group_by: [area_name, sex], measures: [{ fn: count_units, as: persons }], round: 5 }
outputs:
  - { id: t, from: a, kind: table }
`;

/**
 * The pipeline's own cost: orchestration overhead per step (a chain of
 * pass-through sample steps on a small input, against calling the same number
 * of DuckDB statements directly), and a 1,000,000-row desensitize-and-aggregate
 * job through queue, workers, store and gate against the same SQL run directly
 * in DuckDB in this process.
 */
const suite: BenchSuite = {
  name: 'pipeline',
  async run({ quick }) {
    configureLog({ level: 'silent' });
    const rows = quick ? 100_000 : 1_000_000;
    const root = process.env['SLUICE_BENCH_ROOT'] ?? mkdtempSync(join(tmpdir(), 'sluice-bench-pipeline-'));
    const prefix = `sluice-bench-${process.pid}`;
    const engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: prefix, logToFile: process.env['SLUICE_BENCH_LOG'] === '1' ? true : false });
    const workers = startWorkers(engine, { concurrency: 1 });
    const events = new QueueEvents(QUEUES.steps, { connection: engine.connection.duplicate(), prefix });
    await events.waitUntilReady();
    const cases: BenchCase[] = [];
    try {
      const small = await generate({ outDir: join(root, 'small'), rows: 1000, seed: 1 });
      const big = await generate({ outDir: join(root, 'big'), rows, seed: 1 });
      const popSmall = small.datasets.find((d) => d.name === 'population')!;
      const popBig = big.datasets.find((d) => d.name === 'population')!;
      const classes = Object.fromEntries(popBig.columns.map((c) => [c.name, c.class]));
      const grants = [{ name: 'id_number', treatment: 'tokenize' as const }, { name: 'birth_date', treatment: 'none' as const }, { name: 'sex', treatment: 'none' as const }, { name: 'area_name', treatment: 'none' as const }];
      const agreement = { scenario: 'bench', operator: 'bench', purpose: 'bench', useClass: 'public-interest' as const, status: 'active' as const, validFrom: '2026-01-01', validTo: '2028-12-31' };
      const op: User = (await engine.cp.createUser({ name: 'bench', role: 'operator', organization: 'bench', personId: syntheticResidentId(1) })).user;

      // 1. Orchestration overhead per step.
      await registerDataset(engine, { name: 'population', file: popSmall.file, provider: 'p', origin: 'public', unitColumn: 'id_number', classes }, 'bench');
      await engine.cp.createAgreement({ id: 'AGR-BENCH', ...agreement, grants: [{ dataset: 'population', columns: grants }] });
      const nSteps = 10;
      const spec = chainSpec(nSteps);
      const piped = await timeMedian(async () => {
        const { runId } = await submitRun(engine, spec, op);
        await waitRun(engine, events, runId);
      }, { iterations: quick ? 3 : 5, warmup: 1 });
      const direct = await timeMedian(async () => {
        const duck = await openDuck();
        try {
          for (let i = 0; i < nSteps + 2; i++) {
            const out = join(root, `direct-${i}.parquet`);
            await duck.conn.run(`COPY (SELECT * FROM read_parquet(${quoteLiteral(popSmall.file)})) TO ${quoteLiteral(out)} (FORMAT parquet)`);
          }
        } finally {
          duck.close();
        }
      }, { iterations: quick ? 3 : 5, warmup: 1 });
      const perStep = (piped.medianMs - direct.medianMs) / (nSteps + 2);
      cases.push({ name: `orchestration overhead per step (${nSteps + 2}-step chain, 1000 rows)`, metric: 'median ms', value: perStep, notes: `run ${piped.medianMs.toFixed(0)} ms vs ${direct.medianMs.toFixed(0)} ms of the same statements run directly; includes the gate and its audit` });

      // 2. 1M-row desensitize-and-aggregate job vs the same SQL directly.
      await engine.cp.db.exec(`DELETE FROM datasets WHERE name = 'population'`);
      await registerDataset(engine, { name: 'population', file: popBig.file, provider: 'p', origin: 'public', unitColumn: 'id_number', classes }, 'bench');
      const runJob = async (): Promise<void> => {
        const { runId } = await submitRun(engine, JOB, op);
        const status = await waitRun(engine, events, runId);
        if (status !== 'released') {
          const reports = await engine.cp.listReportsForRun(runId);
          const failed = reports.flatMap((r) => (r.report as { checks: { id: string; status: string; summary: string }[] }).checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.summary}`));
          throw new Error(`bench run ended ${status}: ${failed.join('; ')}`);
        }
      };
      const key = deriveAgreementKey(engine.store.secret('tokenization'), 'AGR-BENCH');
      const cols = popBig.columns.filter((c) => ['id_number', 'birth_date', 'sex', 'area_name'].includes(c.name)).map((c) => ({ name: c.name, type: c.type }));
      const compiled = compileDesensitize(
        { sourceSql: `SELECT id_number, birth_date, sex, area_name FROM read_parquet(${quoteLiteral(popBig.file)})`, columns: cols },
        { id_number: { treatment: 'tokenize' }, birth_date: { treatment: 'generalize', level: 'band10' } },
        { key, seed: 0, asOf: new Date().toISOString().slice(0, 10) },
      );
      const runDirect = async (): Promise<void> => {
        const duck = await openDuck({ memoryLimit: '2GB' });
        try {
          await duck.conn.run(
            `COPY (SELECT area_name, sex, CAST(round(count(DISTINCT id_number) / 5.0) * 5 AS BIGINT) AS persons FROM (${compiled.sql}) GROUP BY ALL ORDER BY ALL) TO ${quoteLiteral(join(root, 'direct-job.parquet'))} (FORMAT parquet)`,
          );
        } finally {
          duck.close();
        }
      };
      // Interleaved, so that load from elsewhere and the page cache's state hit both alike.
      const pipedJob: number[] = [];
      const directJob: number[] = [];
      for (let i = 0; i < (quick ? 2 : 5); i++) {
        let t0 = performance.now();
        await runJob();
        pipedJob.push(performance.now() - t0);
        t0 = performance.now();
        await runDirect();
        directJob.push(performance.now() - t0);
      }
      const pipedMs = median(pipedJob);
      const directMs = median(directJob);
      const ratio = pipedMs / directMs;
      cases.push({
        name: `desensitize-and-aggregate job ${rows} rows through the pipeline`,
        metric: 'median ms',
        value: pipedMs,
        baseline: { name: 'the same SQL directly in DuckDB', value: directMs },
        ratio,
        target: 'ratio ≤ 1.3',
        meetsTarget: ratio <= 1.3,
        notes: `extract, desensitize and aggregate fused into one job; gate and audit included; samples ${pipedJob.map((x) => x.toFixed(0)).join(', ')} vs ${directJob.map((x) => x.toFixed(0)).join(', ')}`,
      });
      // The same job with fusion switched off (a job and a written file per step), for comparison.
      process.env['SLUICE_FUSE_STEPS'] = '0';
      try {
        const unfused: number[] = [];
        for (let i = 0; i < (quick ? 1 : 2); i++) {
          const t0 = performance.now();
          await runJob();
          unfused.push(performance.now() - t0);
        }
        cases.push({
          name: `desensitize-and-aggregate job ${rows} rows through the pipeline, steps not fused`,
          metric: 'median ms',
          value: median(unfused),
          baseline: { name: 'the same SQL directly in DuckDB', value: directMs },
          ratio: median(unfused) / directMs,
          notes: 'SLUICE_FUSE_STEPS=0: every step a job that writes its output to work/',
        });
      } finally {
        delete process.env['SLUICE_FUSE_STEPS'];
      }
    } finally {
      await events.close();
      await workers.close();
      await engine.stepsQueue.obliterate({ force: true }).catch(() => undefined);
      await engine.releaseQueue.obliterate({ force: true }).catch(() => undefined);
      await engine.close();
      if (!process.env['SLUICE_BENCH_ROOT']) rmSync(root, { recursive: true, force: true });
    }
    return cases;
  },
};
export default suite;
