import { abandonRunningWork } from '../lib/shutdown.js';
import { WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadConfig } from '../lib/config.js';
import { log } from '../lib/log.js';
import type { Engine } from '../pipeline/engine.js';
import { QUEUES } from '../pipeline/engine.js';
import { onStalledStepFailed, releaseProcessor, stepProcessor } from './step-processor.js';

/** Options for {@link startWorkers}. */
export interface WorkerOptions {
  /** Steps run at once in this process; default 1 (a step uses every core through DuckDB). */
  concurrency?: number;
  /** Lock duration in ms: how long until a dead worker's step is handed to another; default 30,000. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for, in ms; default lockDuration / 2. */
  stalledIntervalMs?: number;
}

/** Options for {@link Workers.close}. */
export interface CloseOptions {
  /**
   * How long a running step may take to finish once the workers stop taking
   * jobs, in ms; default `SLUICE_SHUTDOWN_GRACE_MS` or 5,000. After that it is
   * handed back (see {@link Workers.close}).
   */
  graceMs?: number;
}

/** What {@link Workers.close} did. */
export interface CloseResult {
  /** Jobs that finished during the grace period. */
  finished: number;
  /** Jobs handed back to the queue for another worker. */
  handedBack: number;
}

/** Running workers and how to stop them. */
export interface Workers {
  /**
   * Stops taking jobs and waits up to the grace period for the running ones.
   * A job still running then is handed back: it is moved from active back to
   * waiting at once (not a failed attempt and not a stall, so it costs none of
   * the job's retries) and the next free worker — another process, or this
   * service when it starts again — runs the step from the start. The abandoned
   * attempt ends with this process; whatever it wrote is in tmp/ (outputs
   * commit by rename), which the workers' sweeper removes. Then the workers'
   * Redis connections are closed. Calling it again returns the same promise.
   */
  close(options?: CloseOptions): Promise<CloseResult>;
}

/** Starts the step and release workers of this process on the engine's queues. */
export function startWorkers(engine: Engine, options: WorkerOptions = {}): Workers {
  // A worker killed mid-step leaves a temporary file; it was never visible, and now it goes.
  const sweep = () => void engine.store.sweepTmp().then((n) => n && log.info('tmp.swept', { files: n }), () => undefined);
  sweep();
  // Read once, at start: a malformed setting is refused now, not in the middle of a shutdown.
  const config = loadConfig();
  const lockDuration = options.lockDurationMs ?? config.lockMs;
  // A worker that dies on this host while others live is swept by them too, not only at the next start.
  const sweeper = setInterval(sweep, Math.max(1000, lockDuration));
  sweeper.unref();
  const common = {
    prefix: engine.prefix,
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? Math.max(1000, Math.floor(lockDuration / 2)),
    // A step whose worker died while running it is started again this many times, then failed (onStalledStepFailed).
    maxStalledCount: config.maxStalled,
  };
  // BullMQ leaves a connection it was given open when the worker closes: these are ours to close.
  const connections: Redis[] = [engine.redis.connect(), engine.redis.connect()];
  let handingBack = false;
  let finished = 0;
  let handedBack = 0;
  /**
   * Runs a processor, and when the worker cancels the job (only {@link Workers.close}
   * does, after the grace period) hands the job back instead of waiting for it.
   */
  const handBackOnAbort = (inner: (job: Job) => Promise<unknown>) => async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const work = inner(job);
    if (!signal) return work;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'abort'>((res) => {
      onAbort = () => res('abort');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const first = await Promise.race([work.then((v) => ({ v })), aborted]);
      if (first !== 'abort') {
        if (handingBack) finished++;
        return first.v;
      }
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
    // The abandoned attempt may still settle before the process ends; nobody waits for it.
    // Its DuckDB statement is interrupted: left running it would keep the process from exiting.
    abandonRunningWork();
    work.catch(() => undefined);
    await job.moveToWait(token);
    handedBack++;
    log.warn('job.handed-back', { queue: job.queueName, job: job.id ?? null, name: job.name });
    throw new WaitingError();
  };
  const steps = new Worker(QUEUES.steps, handBackOnAbort(stepProcessor(engine)), { ...common, connection: connections[0]!, concurrency: options.concurrency ?? 1 });
  const release = new Worker(QUEUES.release, handBackOnAbort(releaseProcessor(engine)), { ...common, connection: connections[1]!, concurrency: 1 });
  steps.on('failed', (job) => {
    if (job) void onStalledStepFailed(engine, job).catch((e: unknown) => log.error('step.stalled-record', { job: job.id ?? null, name: e instanceof Error ? e.name : typeof e }));
  });
  for (const w of [steps, release]) {
    // Failure reasons are already value-free; log ids and codes only.
    w.on('failed', (job, err) => log.warn('job.failed', { queue: w.name, job: job?.id ?? null, reason: err.message.slice(0, 200) }));
    w.on('error', (err) => log.error('worker.error', { queue: w.name, name: err.name }));
  }
  log.info('workers.started', { concurrency: options.concurrency ?? 1, lockDuration });
  let closing: Promise<CloseResult> | null = null;
  return {
    close(closeOptions = {}) {
      closing ??= (async () => {
        clearInterval(sweeper);
        const graceMs = closeOptions.graceMs ?? config.shutdownGraceMs;
        const all = [steps, release];
        // close() stops fetching at once and resolves when the running jobs have settled.
        const closed = Promise.all(all.map((w) => w.close()));
        handingBack = true;
        let timer: NodeJS.Timeout | undefined;
        const expired = await Promise.race([
          closed.then(() => false),
          new Promise<boolean>((res) => {
            timer = setTimeout(() => res(true), graceMs);
          }),
        ]);
        clearTimeout(timer);
        if (expired) {
          log.warn('workers.grace-expired', { graceMs });
          for (const w of all) w.cancelAllJobs('shutdown: handed back to the queue');
          await closed;
        }
        for (const c of connections) await c.quit().catch(() => c.disconnect());
        log.info('workers.closed', { finished, handedBack });
        return { finished, handedBack };
      })();
      return closing;
    },
  };
}
