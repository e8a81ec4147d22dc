import { loadConfig } from '../lib/config.js';
import { SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import { exitWhenIdle, Shutdown, trapSignals } from '../lib/shutdown.js';
import { Engine } from '../pipeline/engine.js';
import { closeForestPool } from '../models/random-forest.js';
import { closeMondrianPool } from '../transforms/mondrian.js';
import { startWorkers, type Workers } from '../workers/start-workers.js';
import { buildApp } from './app.js';

/** Options for {@link serve}. */
export interface ServeOptions {
  port: number;
  host: string;
  /** Worker concurrency in this process; default 1 when embedded (PGlite), 0 with PostgreSQL. */
  workers?: number;
}

/**
 * Registers the engine's resources on a shutdown, in the order they were
 * opened: the engine (control plane, Redis, queues), then the thread pools
 * the steps start lazily (k-anonymity, forests), then the workers, so that the
 * workers stop first and the control plane closes last.
 */
function registerEngine(shutdown: Shutdown, engine: Engine): void {
  shutdown.add('queues, Redis, DuckDB and the control plane', () => engine.close());
  shutdown.add('worker threads', async () => {
    await Promise.all([closeMondrianPool(), closeForestPool()]);
  });
}

function registerWorkers(shutdown: Shutdown, engine: Engine, workers: Workers): void {
  shutdown.add('workers (running steps finish or are handed back)', async () => {
    const r = await workers.close();
    // A handed-back step's abandoned attempt still runs in this process until
    // it ends; closing the control plane now keeps it from recording anything
    // (the attempt another worker makes is the one that counts). The engine
    // closes it again, which is a no-op.
    if (r.handedBack > 0) await engine.cp.close();
  });
}

/**
 * The one life of a long-running process: `start` opens what it needs and
 * registers each resource on the shutdown as it opens it; then the process
 * runs until SIGINT/SIGTERM. The first signal shuts down gracefully (one log
 * line per phase), a second exits at once with 130/143. A start that fails
 * closes whatever had opened and rethrows (the CLI reports it). Returns the
 * exit code: 0 after a clean shutdown.
 */
async function runUntilSignalled(start: (shutdown: Shutdown) => Promise<void>): Promise<number> {
  const signals = trapSignals();
  const shutdown = new Shutdown();
  try {
    await start(shutdown);
  } catch (e) {
    await shutdown.run('startup failed');
    signals.dispose();
    throw e;
  }
  const signal = await signals.first;
  const clean = await shutdown.run(`${signal} received`);
  const code = clean ? 0 : 1;
  exitWhenIdle(code);
  return code;
}

/**
 * Starts the API (and, when embedded or asked, workers) and runs until a
 * signal: HTTP server, then workers — see {@link Workers.close} for the
 * running step —, thread pools, queues, Redis, DuckDB, control plane close
 * in that order.
 */
export function serve(options: ServeOptions): Promise<number> {
  return runUntilSignalled(async (shutdown) => {
    const engine = await Engine.open();
    registerEngine(shutdown, engine);
    const workerCount = options.workers ?? (engine.embedded ? 1 : 0);
    if (workerCount > 0) registerWorkers(shutdown, engine, startWorkers(engine, { concurrency: workerCount }));
    const app = await buildApp(engine);
    shutdown.add('HTTP server', () => app.close());
    await app.listen({ port: options.port, host: options.host });
    log.info('service.listening', { host: options.host, port: options.port, controlPlane: engine.cp.db.kind, workers: workerCount, redis: engine.redis.private ? 'private' : 'shared' });
    process.stderr.write(`sluice: listening on http://${options.host}:${options.port} (${engine.cp.db.kind}, ${workerCount} worker(s) in process)\n`);
  });
}

/**
 * Runs a worker process until a signal, shutting down as {@link serve}
 * does. Needs PostgreSQL: PGlite belongs to one process. Returns the exit code.
 */
export async function runWorker(options: { concurrency: number }): Promise<number> {
  if (!loadConfig().databaseUrl) {
    throw new SluiceError(
      'SLUICE_ERR_INPUT_INVALID',
      'DATABASE_URL: a separate worker process needs the shared PostgreSQL control plane; with the embedded PGlite, `sluice serve` runs the workers itself',
    );
  }
  return runUntilSignalled(async (shutdown) => {
    const engine = await Engine.open();
    registerEngine(shutdown, engine);
    registerWorkers(shutdown, engine, startWorkers(engine, { concurrency: options.concurrency }));
    process.stderr.write(`sluice: worker started (concurrency ${options.concurrency})\n`);
  });
}
