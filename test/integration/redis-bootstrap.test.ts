import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { openRedis } from '../../pipeline/redis.js';

describe('finding the queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts a private redis-server (AOF, noeviction) when nothing answers, and stops it', async () => {
    configureLog({ level: 'silent' });
    const saved = process.env['REDIS_URL'];
    delete process.env['REDIS_URL'];
    try {
      // Port 1 on loopback: nothing listens there, so a private server must start.
      const h = await openRedis({ dataDir: dir, defaultUrl: 'redis://127.0.0.1:1' });
      expect(h.private).toBe(true);
      const c = h.connect();
      expect(await c.ping()).toBe('PONG');
      expect(((await c.config('GET', 'maxmemory-policy')) as string[])[1]).toBe('noeviction');
      expect(((await c.config('GET', 'appendonly')) as string[])[1]).toBe('yes');
      c.disconnect();
      await h.stop();
      const again = h.connect();
      again.on('error', () => undefined);
      await expect(Promise.race([again.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('down')), 1500))])).rejects.toThrow();
      again.disconnect();
    } finally {
      if (saved !== undefined) process.env['REDIS_URL'] = saved;
    }
  });

  it('says so, naming the variable, when REDIS_URL points at nothing', async () => {
    await expect(openRedis({ dataDir: dir, url: 'redis://127.0.0.1:1' })).rejects.toMatchObject({ code: 'SLUICE_ERR_QUEUE_UNAVAILABLE', message: expect.stringContaining('REDIS_URL') });
  });
});
