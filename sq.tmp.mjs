import { DuckDBInstance, DuckDBScalarFunction, VARCHAR } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const mk = () => DuckDBScalarFunction.create({ name: 'sluice_sha512', returnType: VARCHAR, parameterTypes: [VARCHAR], mainFunction: (info, input, output) => {
  const v = input.getColumnVector(0);
  for (let i = 0; i < input.rowCount; i++) { const x = v.getItem(i); output.setItem(i, x === null ? null : createHash('sha512').update(x).digest('hex')); }
  output.flush(); } });
c.registerScalarFunction(mk());
const c2 = await inst.connect();
try { c2.registerScalarFunction(mk()); console.log('second ok'); } catch (e) { console.log('second', e.message); }
let t = performance.now();
const r = await c2.runAndReadAll(`select count(distinct sluice_sha512(i::varchar)) from range(1000000) t(i)`);
console.log(r.getRows(), performance.now() - t);
t = performance.now();
const r2 = await c2.runAndReadAll(`select count(distinct sha256(i::varchar)) from range(1000000) t(i)`);
console.log(r2.getRows(), performance.now() - t);
console.log((await c.runAndReadAll(`select sluice_sha512('abc')`)).getRows());
