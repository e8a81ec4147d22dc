/**
 * The row-level extract audit (AUDIT.md B1–B5) of a desensitized extract
 * against its raw source, both built in DuckDB outside the timed part, compared
 * with a plain DuckDB scan of both tables (count and a hash of every column) in
 * the same process. Target: the audit of 1,000,000 output rows against
 * 1,000,000 raw rows in under 15 s. Quick mode: 100,000 rows.
 */
import { openDuck } from '../lib/duck.js';
import { auditExtract } from '../audit/extract-checks.js';
import { peakRssMiB, timeMedian, type BenchCase, type BenchSuite } from './harness.js';
import { rawSql } from './raw-people.js';

const suite: BenchSuite = {
  name: 'audit',
  async run({ quick }) {
    const n = quick ? 100_000 : 1_000_000;
    const duck = await openDuck();
    const { conn } = duck;
    try {
      await conn.run(`CREATE TABLE raw AS ${rawSql(n)}`);
      // The extract: a keyed token (sha256 of a secret prefix, standing in for an HMAC; the key is not
      // in the output), generalized QIs, and the sensitive columns coarsened.
      await conn.run(`CREATE TABLE extract AS SELECT sha256('bench-secret-key-9c1e' || id_number) AS person_token,
          (year(birth_date) // 10 * 10)::INTEGER AS birth_decade, sex, left(area_code, 2) AS province,
          education, diagnosis, (income // 20000)::INTEGER AS income_band
        FROM raw`);
      const input = {
        output: 'extract',
        outputColumns: [
          { name: 'person_token', class: 'direct-identifier', label: 'token' },
          { name: 'birth_decade', class: 'quasi-identifier', label: 'generalized' },
          { name: 'sex', class: 'quasi-identifier', label: 'derived' },
          { name: 'province', class: 'quasi-identifier', label: 'generalized' },
          { name: 'education', class: 'other', label: 'derived' },
          { name: 'diagnosis', class: 'sensitive', label: 'derived' },
          { name: 'income_band', class: 'sensitive', label: 'generalized' },
        ],
        raw: [{ table: 'raw', directIdentifiers: ['id_number', 'mobile', 'name'], quasiIdentifiers: ['birth_date', 'sex', 'area_code'], sensitive: ['income', 'diagnosis'] }],
        declaredQuasiIdentifiers: ['birth_decade', 'sex', 'province'],
        sensitive: ['diagnosis'],
      };
      const scanSql = (t: string, cols: string[]): string => `SELECT count(*) AS n, bit_xor(hash(${cols.join(', ')})) AS h FROM ${t}`;
      const scan = async (): Promise<void> => {
        await conn.runAndReadAll(scanSql('raw', ['id_number', 'mobile', 'name', 'birth_date', 'sex', 'area_code', 'education', 'income', 'diagnosis']));
        await conn.runAndReadAll(scanSql('extract', input.outputColumns.map((c) => c.name)));
      };
      let statuses = '';
      const iterations = process.env["AUDIT_BENCH_ITER"] ? Number(process.env["AUDIT_BENCH_ITER"]) : 3;
      const base = await timeMedian(scan, { iterations, warmup: 1 });
      const audit = await timeMedian(async () => {
        const r = await auditExtract(conn, input);
        statuses = r.map((c) => `${c.id}:${c.status}`).join(' ');
      }, { iterations, warmup: 1 });
      const ratio = audit.medianMs / base.medianMs;
      const cases: BenchCase[] = [
        { name: `plain scan raw ${n} + extract ${n} rows (count, hash of every column)`, metric: 'median ms', value: base.medianMs },
        {
          name: `extract audit B1-B5 output ${n} rows vs raw ${n} rows`,
          metric: 'median ms',
          value: audit.medianMs,
          baseline: { name: 'plain scan', value: base.medianMs },
          ratio,
          target: quick ? 'none (quick mode)' : 'median < 15000 ms',
          meetsTarget: quick ? true : audit.medianMs < 15_000,
          notes: `statuses ${statuses}; samples ${audit.samplesMs.map((s) => s.toFixed(0)).join('/')} ms`,
        },
        { name: `peak RSS after audit ${n} rows`, metric: 'MiB', value: peakRssMiB() },
      ];
      return cases;
    } finally {
      duck.close();
    }
  },
};

export default suite;
