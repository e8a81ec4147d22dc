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
import { rawSql } from './raw-people.js';

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
