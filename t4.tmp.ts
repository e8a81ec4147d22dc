import { openDuck } from './lib/duck.js';
const d = await openDuck();
await d.conn.run(`CREATE TABLE c AS SELECT ['王','李'][1 + i % 2] || ['伟','芳','一'][1 + i % 3] || i::VARCHAR AS v FROM range(1000000) t(i)`);
for (const [name, e] of [
  ['re1', `regexp_replace(v, '[一壹]', '1', 'g')`], ['re10', Array.from({length:10},(_, i)=>i).reduce((a, i) => `regexp_replace(${a}, '[一壹${i}]', '1', 'g')`, 'v')],
  ['repl', `replace(v, '一', '1')`], ['tr', `translate(v, '一二三四五六七八九', '123456789')`],
]) {
  const t0 = performance.now();
  await d.conn.runAndReadAll(`SELECT count(DISTINCT ${e}) FROM c`);
  console.log(name, (performance.now() - t0).toFixed(0));
}
