/**
 * Desensitization throughput: compileDesensitize's SQL against hand-written
 * DuckDB SQL doing the same work (mask the mobile, tokenize the ID number,
 * generalize the birth date to year and the address to county), both written
 * as `COPY … TO parquet` in a temp dir, in the same process and DuckDB
 * instance, runs interleaved. Data (5,000,000 rows; 500,000 in quick mode) is
 * built with SQL from range() outside the timed part, in an on-disk DuckDB
 * database with a memory limit and a temp directory so that it works out of core.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { openDuck, queryRows } from '../lib/duck.js';
import { median, peakRssMiB, type BenchCase, type BenchSuite } from './harness.js';
import { compileDesensitize } from '../transforms/desensitize.js';

const MEMORY_LIMIT = '1GB';
const THREADS = 2;

/** Synthetic people: 18-char ID numbers, 11-digit mobiles, birth dates, 台州 addresses. */
function buildSql(rows: number): string {
  const counties = `['椒江区','黄岩区','路桥区','临海市','温岭市','玉环市','天台县','仙居县','三门县']`;
  const streets = `['白云街道','葭沚街道','海门街道','新前街道','古城街道','横峰街道','坎门街道','平桥镇','下各镇','海游街道']`;
  const communities = `['东山社区','西岙村','南门社区','北山村','中心社区','前所村','后洋村','洪家社区']`;
  return `CREATE OR REPLACE TABLE people AS
    SELECT i AS id,
      '3310' || lpad(((i * 7) % 30)::VARCHAR, 2, '0')
        || strftime(DATE '1930-01-01' + ((i * 7919) % 32000)::INTEGER, '%Y%m%d')
        || lpad(((i * 31) % 1000)::VARCHAR, 3, '0') || (['0','1','2','3','4','5','6','7','8','9','X'])[(i % 11) + 1] AS id_number,
      '1' || (['3','5','7','8','9'])[(i % 5) + 1] || lpad(((i * 104729) % 1000000000)::VARCHAR, 9, '0') AS mobile,
      DATE '1930-01-01' + ((i * 7919) % 32000)::INTEGER AS birth_date,
      '浙江省台州市' || ${counties}[(i % 9) + 1] || ${streets}[((i // 9) % 10) + 1]
        || ${communities}[((i // 90) % 8) + 1] || ((i % 997) + 1)::VARCHAR || '号' AS address
    FROM range(${rows}) t(i)`;
}

/** The hand-written baseline: the same four treatments written directly. */
function handWrittenSql(key: Buffer, from = 'people'): string {
  const k = Buffer.alloc(64);
  key.copy(k);
  const ipad = Buffer.from(k.map((b) => b ^ 0x36)).toString('hex');
  const opad = Buffer.from(k.map((b) => b ^ 0x5c)).toString('hex');
  return `SELECT id,
      left(sha256(unhex('${opad}') || unhex(sha256(unhex('${ipad}') || encode(id_number)))), 32) AS id_number,
      left(mobile, 3) || '****' || right(mobile, 4) AS mobile,
      CAST(year(birth_date) AS VARCHAR) AS birth_date,
      regexp_extract(address, '^.*?省.*?市.*?[区县市]') AS address
    FROM ${from}`;
}

const suite: BenchSuite = {
  name: 'desensitize',
  async run({ quick }) {
    const rows = quick ? 500_000 : 5_000_000;
    // HMAC-SHA-256 dominates (DuckDB's sha256 costs ~3 µs a call), so the full run keeps to 3 pairs.
    const iterations = 3;
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-desensitize-'));
    const duck = await openDuck({
      path: join(dir, 'bench.duckdb'),
      threads: THREADS,
      memoryLimit: MEMORY_LIMIT,
      tempDirectory: join(dir, 'spill'),
    });
    try {
      await duck.conn.run(buildSql(rows));
      await duck.conn.run('CHECKPOINT');
      // A fixed, made-up bench key: a keyed hash of the suite name.
      const key = createHash('sha256').update('sluice bench desensitize key').digest();
      const compile = (sourceSql: string): string => compileDesensitize(
        {
          sourceSql,
          columns: [
            { name: 'id', type: 'BIGINT' },
            { name: 'id_number', type: 'VARCHAR' },
            { name: 'mobile', type: 'VARCHAR' },
            { name: 'birth_date', type: 'DATE' },
            { name: 'address', type: 'VARCHAR' },
          ],
        },
        {
          mobile: { treatment: 'mask' },
          id_number: { treatment: 'tokenize' },
          birth_date: { treatment: 'generalize', level: 'year' },
          address: { treatment: 'generalize', level: 'county', hierarchy: 'address' },
        },
        { key, seed: 1 },
      ).sql;
      const compiled = compile('SELECT * FROM people');
      const baseline = handWrittenSql(key);

      // Both must produce the same table, or the comparison means nothing (checked on a 100,000-row slice).
      const slice = '(SELECT * FROM people WHERE id < 100000)';
      const sliceCompiled = compile(`SELECT * FROM ${slice}`);
      const sliceBaseline = handWrittenSql(key, slice);
      const diff = await queryRows<{ n: bigint }>(
        duck.conn,
        `SELECT count(*) AS n FROM ((${sliceCompiled} EXCEPT ALL ${sliceBaseline}) UNION ALL (${sliceBaseline} EXCEPT ALL ${sliceCompiled}))`,
      );
      const differing = Number(diff[0]?.n ?? -1);

      const copy = async (sql: string, file: string): Promise<number> => {
        const t0 = performance.now();
        await duck.conn.run(`COPY (${sql}) TO '${join(dir, file)}' (FORMAT parquet)`);
        return performance.now() - t0;
      };
      // Warm the buffer pool with every column both queries read, untimed.
      await duck.conn.run('SELECT max(id), max(id_number), max(mobile), max(birth_date), max(address) FROM people');
      const base: number[] = [];
      const comp: number[] = [];
      // Interleaved so that drift (other processes on the shared cores) hits both alike.
      for (let i = 0; i < iterations; i++) {
        base.push(await copy(baseline, `base-${i}.parquet`));
        comp.push(await copy(compiled, `compiled-${i}.parquet`));
      }
      const baseMs = median(base);
      const compMs = median(comp);
      const ratio = compMs / baseMs;
      const rss = peakRssMiB();
      const size = `${rows} rows`;
      const cases: BenchCase[] = [
        {
          name: `hand-written SQL to parquet ${size}`,
          metric: 'median ms',
          value: baseMs,
          notes: `samples ${base.map((x) => x.toFixed(0)).join(', ')}`,
        },
        {
          name: `compileDesensitize SQL to parquet ${size}`,
          metric: 'median ms',
          value: compMs,
          baseline: { name: `hand-written SQL to parquet ${size}`, value: baseMs },
          ratio,
          target: 'ratio ≤ 1.2',
          meetsTarget: ratio <= 1.2,
          notes: `samples ${comp.map((x) => x.toFixed(0)).join(', ')}; rows differing from the baseline on a 100000-row slice: ${differing}; threads ${THREADS}, memory_limit ${MEMORY_LIMIT}`,
        },
        {
          name: `peak RSS ${size}`,
          metric: 'MiB',
          value: rss,
          target: 'peak RSS < 2048 MiB',
          meetsTarget: rss < 2048,
          notes: 'process maxRSS, data build included',
        },
      ];
      return cases;
    } finally {
      duck.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
