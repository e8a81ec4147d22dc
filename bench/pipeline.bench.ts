import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuck, quoteLiteral } from '../lib/duck.js';
import { configureLog } from '../lib/log.js';
import { generate } from '../synthetic/generate.js';
import { Engine } from '../pipeline/engine.js';
import { registerDataset } from '../pipeline/register.js';
import { submitRun } from '../pipeline/submit.js';
import { compileDesensitize } from '../transforms/desensitize.js';
import { deriveAgreementKey } from '../transforms/tokenize.js';
import { startWorkers } from '../workers/start-workers.js';
import type { User } from '../domain/types.js';
import { timeMedian, type BenchCase, type BenchSuite } from './harness.js';

const SETTLED = new Set(['released', 'blocked', 'failed', 'cancelled', 'awaiting-review']);

async function waitRun(engine: Engine, runId: string): Promise<string> {
  for (;;) {
    const run = await engine.cp.getRun(runId);
    if (run && SETTLED.has(run.status)) return run.status;
    await new Promise((r) => setTimeout(r, 20));
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
    const cases: BenchCase[] = [];
    try {
      const small = await generate({ outDir: join(root, 'small'), rows: 1000, seed: 1 });
      const big = await generate({ outDir: join(root, 'big'), rows, seed: 1 });
      const popSmall = small.datasets.find((d) => d.name === 'population')!;
      const popBig = big.datasets.find((d) => d.name === 'population')!;
      const classes = Object.fromEntries(popBig.columns.map((c) => [c.name, c.class]));
      const grants = [{ name: 'id_number', treatment: 'tokenize' as const }, { name: 'birth_date', treatment: 'none' as const }, { name: 'sex', treatment: 'none' as const }, { name: 'area_name', treatment: 'none' as const }];
      const agreement = { scenario: 'bench', operator: 'bench', purpose: 'bench', useClass: 'public-interest' as const, status: 'active' as const, validFrom: '2026-01-01', validTo: '2028-12-31' };
      const op: User = (await engine.cp.createUser({ name: 'bench', role: 'operator', organization: 'bench' })).user;

      // 1. Orchestration overhead per step.
      await registerDataset(engine, { name: 'population', file: popSmall.file, provider: 'p', origin: 'public', unitColumn: 'id_number', classes }, 'bench');
      await engine.cp.createAgreement({ id: 'AGR-BENCH', ...agreement, grants: [{ dataset: 'population', columns: grants }] });
      const nSteps = 10;
      const spec = chainSpec(nSteps);
      const piped = await timeMedian(async () => {
        const { runId } = await submitRun(engine, spec, op);
        await waitRun(engine, runId);
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
      const pipeline = await timeMedian(async () => {
        const { runId } = await submitRun(engine, JOB, op);
        const status = await waitRun(engine, runId);
        if (status !== 'released') {
          const reports = await engine.cp.listReportsForRun(runId);
          const failed = reports.flatMap((r) => (r.report as { checks: { id: string; status: string; summary: string }[] }).checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.summary}`));
          throw new Error(`bench run ended ${status}: ${failed.join('; ')}`);
        }
      }, { iterations: quick ? 2 : 3, warmup: 0 });
      const key = deriveAgreementKey(engine.store.secret('tokenization'), 'AGR-BENCH');
      const cols = popBig.columns.filter((c) => ['id_number', 'birth_date', 'sex', 'area_name'].includes(c.name)).map((c) => ({ name: c.name, type: c.type }));
      const compiled = compileDesensitize(
        { sourceSql: `SELECT id_number, birth_date, sex, area_name FROM read_parquet(${quoteLiteral(popBig.file)})`, columns: cols },
        { id_number: { treatment: 'tokenize' }, birth_date: { treatment: 'generalize', level: 'band10' } },
        { key, seed: 0, asOf: new Date().toISOString().slice(0, 10) },
      );
      const directJob = await timeMedian(async () => {
        const duck = await openDuck({ memoryLimit: '2GB' });
        try {
          await duck.conn.run(
            `COPY (SELECT area_name, sex, CAST(round(count(DISTINCT id_number) / 5.0) * 5 AS BIGINT) AS persons FROM (${compiled.sql}) GROUP BY ALL ORDER BY ALL) TO ${quoteLiteral(join(root, 'direct-job.parquet'))} (FORMAT parquet)`,
          );
        } finally {
          duck.close();
        }
      }, { iterations: quick ? 2 : 3, warmup: 0 });
      const ratio = pipeline.medianMs / directJob.medianMs;
      cases.push({
        name: `desensitize-and-aggregate job ${rows} rows through the pipeline`,
        metric: 'median ms',
        value: pipeline.medianMs,
        baseline: { name: 'the same SQL directly in DuckDB', value: directJob.medianMs },
        ratio,
        target: 'ratio ≤ 1.3',
        meetsTarget: ratio <= 1.3,
      });
    } finally {
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
