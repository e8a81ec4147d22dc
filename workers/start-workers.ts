import { Worker } from 'bullmq';
import { log } from '../lib/log.js';
import type { Engine } from '../pipeline/engine.js';
import { QUEUES } from '../pipeline/engine.js';
import { releaseProcessor, stepProcessor } from './step-processor.js';

/** Options for {@link startWorkers}. */
export interface WorkerOptions {
  /** Steps run at once in this process; default 1 (a step uses every core through DuckDB). */
  concurrency?: number;
  /** Lock duration in ms: how long until a dead worker's step is handed to another; default 30,000. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for, in ms; default lockDuration / 2. */
  stalledIntervalMs?: number;
}

/** Running workers and how to stop them. */
export interface Workers {
  close(): Promise<void>;
}

/** Starts the step and release workers of this process on the engine's queues. */
export function startWorkers(engine: Engine, options: WorkerOptions = {}): Workers {
  // A worker killed mid-step leaves a temporary file; it was never visible, and now it goes.
  void engine.store.sweepTmp().then((n) => n && log.info('tmp.swept', { files: n }), () => undefined);
  const lockDuration = options.lockDurationMs ?? Number(process.env['SLUICE_LOCK_MS'] ?? 30_000);
  const common = {
    prefix: engine.prefix,
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? Math.max(1000, Math.floor(lockDuration / 2)),
    maxStalledCount: 2,
  };
  const steps = new Worker(QUEUES.steps, stepProcessor(engine), { ...common, connection: engine.redis.connect(), concurrency: options.concurrency ?? 1 });
  const release = new Worker(QUEUES.release, releaseProcessor(engine), { ...common, connection: engine.redis.connect(), concurrency: 1 });
  for (const w of [steps, release]) {
    // Failure reasons are already value-free; log ids and codes only.
    w.on('failed', (job, err) => log.warn('job.failed', { queue: w.name, job: job?.id ?? null, reason: err.message.slice(0, 200) }));
    w.on('error', (err) => log.error('worker.error', { queue: w.name, name: err.name }));
  }
  log.info('workers.started', { concurrency: options.concurrency ?? 1, lockDuration });
  return {
    async close() {
      await Promise.all([steps.close(), release.close()]);
    },
  };
}
