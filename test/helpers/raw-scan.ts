import { Redis } from 'ioredis';
import { openDuck, queryRows, quoteLiteral } from '../../lib/duck.js';

/** The raw direct identifiers of the generated population: what must never leave. */
export async function loadRawIdentifiers(populationParquet: string): Promise<{ ids: Set<string>; mobiles: Set<string> }> {
  const duck = await openDuck();
  try {
    const rows = await queryRows<{ id_number: string; mobile: string }>(duck.conn, `SELECT id_number, mobile FROM read_parquet(${quoteLiteral(populationParquet)})`);
    return { ids: new Set(rows.map((r) => r.id_number)), mobiles: new Set(rows.map((r) => r.mobile)) };
  } finally {
    duck.close();
  }
}

/**
 * Counts raw ID numbers and mobile numbers appearing in a text. It pulls every
 * 18-character ID-shaped and 11-digit mobile-shaped run out of the text and
 * looks each up in the raw sets, so the scan is linear in the text.
 */
export function countRawHits(text: string, raw: { ids: Set<string>; mobiles: Set<string> }): number {
  let hits = 0;
  for (const m of text.matchAll(/\d{17}[\dXx]/g)) if (raw.ids.has(m[0].toUpperCase())) hits++;
  for (const m of text.matchAll(/1\d{10}/g)) if (raw.mobiles.has(m[0])) hits++;
  return hits;
}

/** Everything Redis holds under a key prefix, as one text (strings, hashes, lists, sets, sorted sets, streams). */
export async function dumpRedisPrefix(url: string, prefix: string): Promise<{ keys: number; text: string }> {
  const r = new Redis(url);
  const parts: string[] = [];
  let keys = 0;
  try {
    let cursor = '0';
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', '500');
      cursor = next;
      for (const key of batch) {
        keys++;
        parts.push(key);
        const type = await r.type(key);
        if (type === 'string') parts.push((await r.get(key)) ?? '');
        else if (type === 'hash') parts.push(JSON.stringify(await r.hgetall(key)));
        else if (type === 'list') parts.push(JSON.stringify(await r.lrange(key, 0, -1)));
        else if (type === 'set') parts.push(JSON.stringify(await r.smembers(key)));
        else if (type === 'zset') parts.push(JSON.stringify(await r.zrange(key, '0', '-1')));
        else if (type === 'stream') parts.push(JSON.stringify(await r.xrange(key, '-', '+')));
      }
    } while (cursor !== '0');
    return { keys, text: parts.join('\n') };
  } finally {
    r.disconnect();
  }
}

/** The PostgreSQL URL the integration suite uses. */
export const TEST_PG_URL = process.env['SLUICE_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The Redis URL the integration suite uses. */
export const TEST_REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
