import { openDuck } from './lib/duck.js';
import { normalizeSql, foldSql, SEPARATOR_CLASS } from './audit/pii-sql.js';
const d = await openDuck();
await d.conn.run(`CREATE TABLE c AS SELECT ['王','李'][1 + i % 2] || ['伟','芳','一'][1 + i % 3] || i::VARCHAR AS v FROM range(1000000) t(i)`);
await d.conn.run(`CREATE TABLE h AS SELECT sha256(i::VARCHAR) AS v FROM range(1000000) t(i)`);
for (const [name, e] of [
  ['upper', `upper(v)`], ['bind', `list_transform([v], lambda x: upper(x))[1]`], ['fold', foldSql('v')], ['sep', `regexp_matches(v, '${SEPARATOR_CLASS}')`], ['norm', normalizeSql('v')],
]) for (const t of ['c', 'h']) {
  const t0 = performance.now();
  await d.conn.runAndReadAll(`SELECT count(DISTINCT ${e}) FROM ${t}`);
  console.log(name, t, (performance.now() - t0).toFixed(0));
}
