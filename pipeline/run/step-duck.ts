import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../lib/config.js';
import { DuckPool, type Duck } from '../../lib/duck.js';
import type { StepLimits } from '../../lib/limits.js';
import type { Engine } from '../engine.js';

const pools = new WeakMap<Engine, DuckPool>();

/**
 * A DuckDB for one step of this engine: a pooled instance (creating one per
 * step cost more than a small step's statement), with the step's memory and
 * spill limits set for the lease and spill files in a folder of this process under tmp/
 * (the sweeper keeps it while the process lives). The pool closes with the engine.
 */
export function openStepDuck(engine: Engine, limits: Pick<StepLimits, 'memory' | 'tempMax'>): Promise<Duck> {
  let pool = pools.get(engine);
  if (!pool) {
    const config = loadConfig();
    const tag = randomBytes(4).toString('hex');
    const created = new DuckPool({
      tempRoot: engine.dataRoot.tmp,
      tempName: (n) => `duck-step-${tag}-${n}-${process.pid}`,
      ...(config.duckdbThreads !== undefined ? { threads: config.duckdbThreads } : {}),
    });
    pool = created;
    pools.set(engine, created);
    engine.onClose(() => {
      pools.delete(engine);
      created.close();
    });
  }
  return pool.acquire({ memoryLimit: limits.memory, maxTempSize: limits.tempMax });
}
