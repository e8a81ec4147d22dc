import { DuckDBConnection } from '@duckdb/node-api';
const proto = DuckDBConnection.prototype as any;
for (const m of ['run', 'runAndReadAll']) {
  const orig = proto[m];
  proto[m] = async function (sql: string, ...rest: unknown[]) { const t0 = performance.now(); try { return await orig.call(this, sql, ...rest); } finally { const ms = performance.now() - t0; if (ms > 250) console.log(ms.toFixed(0).padStart(6), sql.replace(/\s+/g, ' ').slice(0, 130)); } };
}
const mod = await import('./bench/audit.bench.ts');
await mod.default.run({ quick: false });
