import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Redis } from 'ioredis';
import { openDuck, queryRows, quoteIdent, quoteLiteral } from '../../lib/duck.js';

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

/** A file outside raw/ that holds whole rows of a registered raw table. */
export interface RawCopy {
  /** Path relative to the data root. */
  file: string;
  /** The raw table's file name in raw/. */
  raw: string;
  /** Rows of the raw table the file holds whole. */
  rows: number;
  /** How the columns were matched: by name, or by position (a copy with renamed headers). */
  match: 'name' | 'position';
}

function listFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listFiles(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * Every Parquet or CSV file under the data root but outside raw/'s own files
 * (sub-folders of raw/ count as outside: registration consumes them) that
 * holds at least one whole row of a raw table — matched on all of the raw
 * table's columns by name, or, for a file with as many columns, by position
 * (renamed headers). Values are compared as text, so a CSV copy of a Parquet
 * table is found too. Files are recognised by content, not by extension.
 */
export async function findRawCopies(dataRoot: string): Promise<RawCopy[]> {
  const rawDir = join(dataRoot, 'raw');
  const raws = readdirSync(rawDir, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.parquet')).map((e) => join(rawDir, e.name));
  const candidates = listFiles(dataRoot).filter((f) => !raws.includes(f) && !f.startsWith(join(dataRoot, 'control-plane') + sep));
  const duck = await openDuck();
  const found: RawCopy[] = [];
  try {
    const describe = async (src: string) => (await queryRows<{ column_name: string }>(duck.conn, `DESCRIBE SELECT * FROM ${src}`)).map((c) => c.column_name);
    const rawTables = [];
    for (const r of raws) {
      const src = `read_parquet(${quoteLiteral(r)})`;
      rawTables.push({ file: r, src, columns: await describe(src) });
    }
    for (const file of candidates) {
      let src: string | null = null;
      let columns: string[] = [];
      for (const s of [`read_parquet(${quoteLiteral(file)})`, `read_csv(${quoteLiteral(file)}, header = true, all_varchar = true)`]) {
        try {
          columns = await describe(s);
          src = s;
          break;
        } catch {
          // Not this format.
        }
      }
      if (!src || columns.length === 0) continue;
      for (const raw of rawTables) {
        const q = (names: string[]) => names.map((n) => `CAST(${quoteIdent(n)} AS VARCHAR)`).join(', ');
        const tries: { match: RawCopy['match']; mine: string[] }[] = [];
        if (raw.columns.every((c) => columns.includes(c))) tries.push({ match: 'name', mine: raw.columns });
        if (columns.length === raw.columns.length) tries.push({ match: 'position', mine: columns });
        for (const t of tries) {
          const sql = `SELECT count(*) AS n FROM (SELECT ${q(t.mine)} FROM ${src} INTERSECT SELECT ${q(raw.columns)} FROM ${raw.src})`;
          const n = Number((await queryRows<{ n: bigint }>(duck.conn, sql))[0]?.n ?? 0);
          if (n > 0) {
            found.push({ file: relative(dataRoot, file), raw: relative(rawDir, raw.file), rows: n, match: t.match });
            break;
          }
        }
      }
    }
    return found;
  } finally {
    duck.close();
  }
}
