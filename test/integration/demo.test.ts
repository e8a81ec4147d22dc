import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { demo, type DemoResult } from '../../service/cli/demo.js';
import { countRawHits, dumpRedisPrefix, loadRawIdentifiers, TEST_PG_URL, TEST_REDIS_URL } from '../helpers/raw-scan.js';

const backends = [
  { name: 'PGlite', databaseUrl: undefined as string | undefined },
  { name: 'PostgreSQL', databaseUrl: TEST_PG_URL },
];

describe.each(backends)('the demo end to end on $name', ({ name, databaseUrl }) => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
  const schema = `sluice_demo_${process.pid}_${name.toLowerCase()}`;
  const responses: string[] = [];
  const lines: string[] = [];
  let result: DemoResult;

  afterAll(async () => {
    if (result) {
      const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
      for (const q of ['steps', 'release']) await new Queue(q, { connection: conn, prefix: result.queuePrefix }).obliterate({ force: true }).catch(() => undefined);
      conn.disconnect();
    }
    if (databaseUrl) {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('releases the care-demand table and blocks the contact list', async () => {
    result = await demo({
      rows: 20000,
      seed: 7,
      dataRoot: root,
      out: (l) => lines.push(l),
      tap: (_route, body) => responses.push(body),
      redisUrl: TEST_REDIS_URL,
      keepQueues: true,
      ...(databaseUrl ? { databaseUrl, schema } : {}),
    });
    expect(result.released.map((r) => r.outputId)).toEqual(['care_demand']);
    expect(result.released[0]!.rows).toBeGreaterThan(0);
    expect(result.blocked.map((b) => b.outputId)).toEqual(['contact_list']);
    expect(result.blocked[0]!.failedChecks).toContain('B1');
    expect(result.auditLogOk).toBe(true);
    // The released table holds only cells of at least 10 persons, rounded to 5.
    const csv = readFileSync(result.released[0]!.file, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('area_name,age_band,sex,persons');
    for (const row of csv.slice(1)) {
      const persons = Number(row.split(',').at(-1));
      expect(persons % 5).toBe(0);
      expect(persons).toBeGreaterThanOrEqual(10);
    }
  });

  it('lets no raw ID number or mobile number out: not in Redis, logs, reports or API responses', async () => {
    const raw = await loadRawIdentifiers(result.rawFiles['population']!);
    expect(raw.ids.size).toBe(20000);
    // Positive control: the scan finds a raw value when one is there.
    const someId = raw.ids.values().next().value as string;
    expect(countRawHits(`x ${someId} y`, raw)).toBe(1);

    const redis = await dumpRedisPrefix(TEST_REDIS_URL, result.queuePrefix);
    expect(redis.keys).toBeGreaterThan(0);
    expect(countRawHits(redis.text, raw)).toBe(0);

    const logs = readdirSync(join(root, 'logs')).map((f) => readFileSync(join(root, 'logs', f), 'utf8')).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(countRawHits(logs, raw)).toBe(0);

    expect(responses.length).toBeGreaterThan(10);
    expect(countRawHits(responses.join('\n'), raw)).toBe(0);

    const reports = readdirSync(join(root, 'reports')).map((f) => readFileSync(join(root, 'reports', f), 'utf8'));
    expect(reports.length).toBe(2);
    // Each page draws its evidence (cells per size for the table, class sizes and risk for the extract).
    for (const html of reports) expect(html).toContain('<svg');
    expect(countRawHits(reports.join('\n'), raw)).toBe(0);

    expect(countRawHits(lines.join('\n'), raw)).toBe(0);
  });
});
