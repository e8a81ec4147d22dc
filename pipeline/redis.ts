import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import { loadConfig } from '../lib/config.js';

/** Where the queue lives, and the private server we started, if any. */
export interface RedisHandle {
  url: string;
  /** A new connection suitable for BullMQ (maxRetriesPerRequest: null). */
  connect(): Redis;
  /** Stops the private server (if we started one). */
  stop(): Promise<void>;
  /** True when this process started a private `redis-server`. */
  private: boolean;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';

async function ping(url: string, timeoutMs = 1500): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Finds the queue's Redis: `REDIS_URL` when set (it must answer); else
 * 127.0.0.1:6379 when something answers there; else a private `redis-server`
 * from PATH on a free loopback port, with its files under `dataDir`. Without
 * one on PATH it says how to install one.
 */
export async function openRedis(options: { url?: string; dataDir: string; /** Where to look before starting a private server; default 127.0.0.1:6379. */ defaultUrl?: string }): Promise<RedisHandle> {
  const explicit = options.url ?? loadConfig().redisUrl;
  const make = (url: string, child: ChildProcess | null): RedisHandle => ({
    url,
    private: child !== null,
    connect: () => new Redis(url, { maxRetriesPerRequest: null }),
    stop: async () => {
      if (!child || child.exitCode !== null) return;
      await new Promise<void>((res) => {
        child.once('exit', () => res());
        child.kill('SIGTERM');
      });
    },
  });
  if (explicit) {
    if (!(await ping(explicit))) {
      throw new SluiceError('SLUICE_ERR_QUEUE_UNAVAILABLE', 'REDIS_URL is set but no Redis answers there; start it or unset REDIS_URL');
    }
    await checkEvictionPolicy(explicit);
    return make(explicit, null);
  }
  const probe = options.defaultUrl ?? DEFAULT_URL;
  if (await ping(probe)) {
    await checkEvictionPolicy(probe);
    return make(probe, null);
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) {
    throw new SluiceError(
      'SLUICE_ERR_QUEUE_UNAVAILABLE',
      'no Redis answers at 127.0.0.1:6379 and redis-server is not on PATH; install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL',
    );
  }
  const port = await freePort();
  const dir = join(options.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  // AOF keeps queued runs across a restart of the private server; noeviction
  // because BullMQ must never lose keys to memory pressure.
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'], {
    stdio: 'ignore',
    detached: false,
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await ping(url, 300)) {
      log.info('redis.private.started', { port });
      return make(url, child);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new SluiceError('SLUICE_ERR_QUEUE_UNAVAILABLE', 'started a private redis-server but it did not answer within 5 s');
}

async function checkEvictionPolicy(url: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const res = (await r.config('GET', 'maxmemory-policy')) as string[];
    const policy = res[1];
    if (policy && policy !== 'noeviction') log.warn('redis.eviction-policy', { policy, expected: 'noeviction' });
  } catch {
    // CONFIG may be disabled on managed Redis; nothing to check then.
  } finally {
    r.disconnect();
  }
}
