import { SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import { Engine } from '../pipeline/engine.js';
import { startWorkers } from '../workers/start-workers.js';
import { buildApp } from './app.js';

/** Options for {@link serve}. */
export interface ServeOptions {
  port: number;
  host: string;
  /** Worker concurrency in this process; default 1 when embedded (PGlite), 0 with PostgreSQL. */
  workers?: number;
}

function onSignals(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = () => {
      if (stopping) return;
      stopping = true;
      void stop().finally(resolve);
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
}

/** Starts the API (and, when embedded or asked, workers) and runs until SIGINT/SIGTERM. */
export async function serve(options: ServeOptions): Promise<void> {
  const engine = await Engine.open();
  const workerCount = options.workers ?? (engine.embedded ? 1 : 0);
  const workers = workerCount > 0 ? startWorkers(engine, { concurrency: workerCount }) : null;
  const app = await buildApp(engine);
  await app.listen({ port: options.port, host: options.host });
  log.info('service.listening', { host: options.host, port: options.port, controlPlane: engine.cp.db.kind, workers: workerCount, redis: engine.redis.private ? 'private' : 'shared' });
  process.stderr.write(`sluice: listening on http://${options.host}:${options.port} (${engine.cp.db.kind}, ${workerCount} worker(s) in process)\n`);
  await onSignals(async () => {
    await app.close();
    await workers?.close();
    await engine.close();
  });
}

/** Runs a worker process until SIGINT/SIGTERM. Needs PostgreSQL: PGlite belongs to one process. */
export async function runWorker(options: { concurrency: number }): Promise<void> {
  if (!process.env['DATABASE_URL']) {
    throw new SluiceError(
      'SLUICE_ERR_INPUT_INVALID',
      'DATABASE_URL: a separate worker process needs the shared PostgreSQL control plane; with the embedded PGlite, `sluice serve` runs the workers itself',
    );
  }
  const engine = await Engine.open();
  const workers = startWorkers(engine, { concurrency: options.concurrency });
  process.stderr.write(`sluice: worker started (concurrency ${options.concurrency})\n`);
  await onSignals(async () => {
    await workers.close();
    await engine.close();
  });
}
