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

/**
 * Seeded raw people, all in SQL: GB 11643-valid ID numbers, mobiles, names, QIs and sensitive columns.
 * Columns hash the string i:k (high bits): DuckDB's hash(i, k) is a fixed combination of hash(i) and hash(k),
 * so columns drawn from it were functions of each other (two diagnoses per birth decade).
 */
function rawSql(n: number): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = w.map((x, i) => `(ascii(substr(f, ${i + 1}, 1)) - 48) * ${x}`).join(' + ');
  return `
    WITH b AS (
      SELECT i,
        ['110101','110105','310104','310115','440305','440106','330106','320102','510107','420102','610113','120101'][1 + ((hash(i || ':1') >> 17) % 12)::INTEGER] AS area_code,
        DATE '1950-01-01' + ((hash(i || ':2') >> 17) % 20000)::INTEGER AS birth_date,
        CASE WHEN (hash(i || ':3') >> 17) % 2 = 0 THEN 'M' ELSE 'F' END AS sex
      FROM range(${n}) t(i)),
    f AS (SELECT *, area_code || strftime(birth_date, '%Y%m%d') || lpad((i % 1000)::VARCHAR, 3, '0') AS f FROM b)
    SELECT f || substr('10X98765432', ((${sum}) % 11)::INTEGER + 1, 1) AS id_number,
      '1' || (3 + (hash(i || ':4') >> 17) % 7)::VARCHAR || lpad(((hash(i || ':5') >> 17) % 1000000000)::VARCHAR, 9, '0') AS mobile,
      ['王','李','张','刘','陈','杨','黄','赵'][1 + ((hash(i || ':6') >> 17) % 8)::INTEGER] || ['伟','芳','娜','敏','静','丽','强','磊','军','洋'][1 + ((hash(i || ':7') >> 17) % 10)::INTEGER] || ['','明','超','秀','霞'][1 + ((hash(i || ':8') >> 17) % 5)::INTEGER] AS name,
      birth_date, sex, area_code,
      ['primary','middle','high','college','bachelor','master','doctor'][1 + ((hash(i || ':9') >> 17) % 7)::INTEGER] AS education,
      (20000 + (hash(i || ':10') >> 17) % 180000)::INTEGER AS income,
      ['none','hypertension','diabetes','asthma','arthritis','depression','migraine','gastritis'][1 + ((hash(i || ':11') >> 17) % 8)::INTEGER] AS diagnosis
    FROM f`;
}

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
