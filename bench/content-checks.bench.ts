/**
 * The content checks of the extract audit (issue 11: B1 embedded identifiers
 * and column combinations, B2 with context salts and digit ciphers) on an
 * output of 1,000,000 rows against its 1,000,000-row raw source, beside the
 * audit without them (as it was before) in the same process. The output is an
 * ordinary desensitized extract that gives every content search work: a keyed
 * token (a digest column, so B2 hashes under every salt), generalized QIs,
 * short digit columns (column pairs are concatenated), a free-text remark with
 * numbers in it (digit runs and windows), and an amount with long digit
 * strings. Target: the audit with content checks at most 2× the audit without.
 * Quick mode: 100,000 rows.
 */
import { openDuck } from '../lib/duck.js';
import { auditExtract, type ExtractAuditInput } from '../audit/extract-checks.js';
import { peakRssMiB, timeMedian, type BenchCase, type BenchSuite } from './harness.js';

// The same raw people as bench/audit.bench.ts (copied: that file exports only its suite).
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
  name: 'content-checks',
  async run({ quick }) {
    const n = quick ? 100_000 : 1_000_000;
    const duck = await openDuck();
    const { conn } = duck;
    try {
      await conn.run(`CREATE TABLE raw AS ${rawSql(n)}`);
      await conn.run(`CREATE TABLE extract AS SELECT sha256('bench-secret-key-9c1e' || id_number) AS person_token,
          (year(birth_date) // 10 * 10)::INTEGER AS birth_decade, sex, left(area_code, 2) AS province, right(area_code, 2) AS district,
          education, diagnosis, (income // 20000)::INTEGER AS income_band,
          ['随访正常，', '建议复查，', '已电话联系家属，'][1 + income % 3] || (income % 30)::VARCHAR || '天后复诊，编号' || (income % 900 + 100)::VARCHAR AS remark,
          (income::BIGINT * 700001 + income % 1000) AS income_fen
        FROM raw`);
      const input: ExtractAuditInput = {
        output: 'extract',
        outputColumns: [
          { name: 'person_token', class: 'direct-identifier', label: 'token' },
          { name: 'birth_decade', class: 'quasi-identifier', label: 'generalized' },
          { name: 'sex', class: 'quasi-identifier', label: 'derived' },
          { name: 'province', class: 'quasi-identifier', label: 'generalized' },
          { name: 'district', class: 'other', label: 'derived' },
          { name: 'education', class: 'other', label: 'derived' },
          { name: 'diagnosis', class: 'sensitive', label: 'derived' },
          { name: 'income_band', class: 'sensitive', label: 'generalized' },
          { name: 'remark', class: 'other', label: 'derived' },
          { name: 'income_fen', class: 'other', label: 'derived' },
        ],
        raw: [{ table: 'raw', directIdentifiers: ['id_number', 'mobile', 'name'], quasiIdentifiers: ['birth_date', 'sex', 'area_code'], sensitive: ['income', 'diagnosis'] }],
        declaredQuasiIdentifiers: ['birth_decade', 'sex', 'province'],
        sensitive: ['diagnosis'],
        context: { literals: ['care-demand-by-area', 'AGR-2026-TZ-001', 'population', 'residents', 'banded', 'q', 'demand', 'care_demand', '随访正常，', '天后复诊，编号', '30', '900', '100'] },
      };
      const iterations = process.env['AUDIT_BENCH_ITER'] ? Number(process.env['AUDIT_BENCH_ITER']) : quick ? 2 : 1;
      let before = '';
      let after = '';
      const base = await timeMedian(async () => {
        before = (await auditExtract(conn, input, undefined, { contentChecks: false })).map((c) => `${c.id}:${c.status}`).join(' ');
      }, { iterations, warmup: 1 });
      const full = await timeMedian(async () => {
        after = (await auditExtract(conn, input)).map((c) => `${c.id}:${c.status}`).join(' ');
      }, { iterations, warmup: quick ? 1 : 0 });
      const ratio = full.medianMs / base.medianMs;
      const cases: BenchCase[] = [
        { name: `extract audit without content checks, output ${n} rows vs raw ${n} rows`, metric: 'median ms', value: base.medianMs, notes: `statuses ${before}` },
        {
          name: `extract audit with content checks (B1 embedded + column pairs/triples, B2 context salts + digit ciphers), output ${n} rows vs raw ${n} rows`,
          metric: 'median ms',
          value: full.medianMs,
          baseline: { name: 'audit without content checks', value: base.medianMs },
          ratio,
          target: 'ratio ≤ 2',
          meetsTarget: ratio <= 2,
          notes: `statuses ${after}; samples ${full.samplesMs.map((s) => s.toFixed(0)).join('/')} ms`,
        },
        { name: `peak RSS after content audit ${n} rows`, metric: 'MiB', value: peakRssMiB() },
      ];
      return cases;
    } finally {
      duck.close();
    }
  },
};

export default suite;
