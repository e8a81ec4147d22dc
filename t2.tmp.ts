import { openDuck } from './lib/duck.js';
import { DIGIT_FOLDS } from './audit/pii-sql.js';
const d = await openDuck();
await d.conn.run(`CREATE TABLE c AS SELECT ['王','李'][1 + i % 2] || ['伟','芳','一'][1 + i % 3] || i::VARCHAR AS v FROM range(1000000) t(i)`);
const cls = `[${[...DIGIT_FOLDS.keys()].map((c) => `\\x{${c.codePointAt(0)!.toString(16)}}`).join('')}]`;
const from = [...DIGIT_FOLDS].filter(([, t]) => t.length === 1).map(([c]) => c).join('');
const to = [...DIGIT_FOLDS].filter(([, t]) => t.length === 1).map(([, t]) => t).join('');
for (const [name, e] of [
  ['strlen', `strlen(v) <> length(v)`],
  ['bigclass', `regexp_matches(v, '${cls}')`],
  ['nd', `regexp_matches(v, '[^\\x00-\\x7F]')`],
  ['translate', `translate(v, '${from}', '${to}')`],
  ['sep', `regexp_matches(v, '[\\s_/]')`],
]) {
  const t0 = performance.now();
  await d.conn.runAndReadAll(`SELECT count(DISTINCT ${e}) FROM c`);
  console.log(name, (performance.now() - t0).toFixed(0));
}
