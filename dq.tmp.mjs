import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const sql = process.argv.slice(2).join(' ');
for (const s of sql.split(';;')) { try { const r = await c.runAndReadAll(s); console.log(JSON.stringify(r.getRowObjectsJson())); } catch(e) { console.log('ERR', e.message); } }
