import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../pipeline/engine.js';
import { registerDataset } from '../../pipeline/store/register.js';
import { generate, type GeneratedDataset } from '../../synthetic/generate.js';
import type { Workers } from '../../workers/start-workers.js';
import type { ColumnClass } from '../../lib/vocabulary.js';

/** Run statuses after which the workers are done with a run. */
export const SETTLED = new Set(['released', 'blocked', 'failed', 'cancelled', 'awaiting-review']);

/**
 * Generates `rows` synthetic residents under `<root>/providers` and registers
 * the population dataset, with the generator's classes except those in
 * `misclassified` (a provider's mistake, e.g. `{ mobile: 'other' }`: lineage
 * cannot see it, the audit's content checks must).
 */
export async function registerPopulation(engine: Engine, root: string, rows: number, seed: number, misclassified: Record<string, ColumnClass> = {}): Promise<GeneratedDataset> {
  const m = await generate({ outDir: join(root, 'providers'), rows, seed });
  const pop = m.datasets.find((d) => d.name === 'population')!;
  const classes = Object.fromEntries(pop.columns.map((c) => [c.name, misclassified[c.name] ?? c.class]));
  await registerDataset(engine, { name: 'population', file: pop.file, provider: pop.provider, origin: 'public', unitColumn: pop.unitColumn, classes }, 'test');
  return pop;
}

/** Waits (polling the control plane) until a run settles; returns its status. */
export async function settleRun(engine: Engine, runId: string, timeoutMs = 300_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = (await engine.cp.getRun(runId))?.status ?? 'missing';
    if (SETTLED.has(status) || Date.now() > until) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops the API, the workers and the engine, removes the test's queues and its data root. */
export async function shutdown(parts: { app?: FastifyInstance; workers?: Workers; engine: Engine; root: string }): Promise<void> {
  await parts.app?.close();
  await parts.workers?.close();
  await parts.engine.stepsQueue.obliterate({ force: true }).catch(() => undefined);
  await parts.engine.releaseQueue.obliterate({ force: true }).catch(() => undefined);
  await parts.engine.close();
  rmSync(parts.root, { recursive: true, force: true });
}

/** A job of one operator SQL step `q` over an extract `x` of the population, output as an extract `o`. */
export const sqlStepSpec = (name: string, agreement: string, query: string): string => `
version: 1
name: ${name}
agreement: ${agreement}
inputs: { people: { dataset: population, columns: [id_number, sex, area_name] } }
steps:
  - { id: x, kind: extract, input: people }
  - { id: q, kind: sql, from: [x], query: "${query}" }
outputs: [ { id: o, from: q, kind: extract, format: parquet } ]
`;
