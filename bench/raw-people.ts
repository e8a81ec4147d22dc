/** The raw people both extract-audit benches read (bench/audit.bench.ts, bench/content-checks.bench.ts). */

/**
 * Seeded raw people, all in SQL: GB 11643-valid ID numbers, mobiles, names, QIs and sensitive columns.
 * Columns hash the string i:k (high bits): DuckDB's hash(i, k) is a fixed combination of hash(i) and hash(k),
 * so columns drawn from it were functions of each other (two diagnoses per birth decade).
 */
export function rawSql(n: number): string {
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
