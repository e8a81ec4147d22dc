import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, queryJson, quoteLiteral } from '../../../lib/duck.js';
import { checkOperatorSql, openSqlSandbox, type SqlSandbox } from '../../../pipeline/steps/sql-guard.js';
import { CORPUS_INPUTS, ORDINARY_QUERIES } from '../../fixtures/sql/ordinary.sql.js';
import { ESCAPE_ATTEMPTS, SECRET_LITERAL } from '../../fixtures/sql/escapes.js';

const INPUTS = Object.keys(CORPUS_INPUTS);

describe('the SQL guard corpus', () => {
  let dir: string;
  let sandbox: SqlSandbox;
  /** The planner's sandbox: the inputs as empty tables of their column types, no private directory. */
  let planning: SqlSandbox;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-sqlcorpus-'));
    const duck = await openDuck();
    const schemas: { name: string; columns: { name: string; type: string }[] }[] = [];
    try {
      for (const [name, sql] of Object.entries(CORPUS_INPUTS)) {
        await duck.conn.run(`COPY (${sql}) TO ${quoteLiteral(join(dir, `${name}.parquet`))} (FORMAT parquet)`);
        const cols = await queryJson<{ column_name: string; column_type: string }>(duck.conn, `DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(join(dir, `${name}.parquet`))})`);
        schemas.push({ name, columns: cols.map((c) => ({ name: c.column_name, type: c.column_type })) });
      }
    } finally {
      duck.close();
    }
    // The sandbox exactly as the sql step opens it: the inputs as Parquet, nothing else.
    planning = await openSqlSandbox(schemas);
    sandbox = await openSqlSandbox(INPUTS.map((name) => ({ name, path: join(dir, `${name}.parquet`) })), { scratchDir: dir });
  });
  afterAll(async () => {
    await sandbox?.close();
    await planning?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds at least 60 ordinary queries and 30 escape attempts, each once', () => {
    expect(ORDINARY_QUERIES.length).toBeGreaterThanOrEqual(60);
    expect(ESCAPE_ATTEMPTS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(ORDINARY_QUERIES).size).toBe(ORDINARY_QUERIES.length);
    expect(new Set(ESCAPE_ATTEMPTS.map((a) => a.sql)).size).toBe(ESCAPE_ATTEMPTS.length);
  });

  // Negative controls: ordinary SQL passes the guard and runs in the sandbox.
  it.each(ORDINARY_QUERIES.map((q, i) => [i + 1, q] as const))('ordinary query %i passes the guard, plans and runs', async (i, sql) => {
    const checked = await checkOperatorSql(sql, INPUTS, { path: `corpus[${i}]` });
    expect(checked.node['type']).toMatch(/_NODE$/);
    // what plan does: describe the output columns against the inputs' schemas
    expect((await planning.describe(sql, `corpus[${i}]`)).length).toBeGreaterThan(0);
    const rows = await sandbox.runToParquet(sql, join(dir, `out-${i}.parquet`));
    expect(rows).toBeGreaterThanOrEqual(0);
  });

  it('the ordinary queries return rows (the data is not empty, so the runs mean something)', async () => {
    const rows = await sandbox.runToParquet(ORDINARY_QUERIES[0]!, join(dir, 'first.parquet'));
    expect(rows).toBe(2);
  });

  // Positive controls: every escape attempt is refused, naming the construct, echoing no literal.
  it.each(ESCAPE_ATTEMPTS.map((a) => [a.what, a] as const))('refuses %s', async (_what, attempt) => {
    const err = await checkOperatorSql(attempt.sql, INPUTS, { path: 'steps[1].query' }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err, 'the guard accepted it').not.toBeNull();
    expect(err!.code).toBe('SLUICE_ERR_SQL_FORBIDDEN');
    expect(err!.message.toLowerCase()).toContain(attempt.names.toLowerCase());
    expect(err!.message).not.toContain(SECRET_LITERAL);
    expect(err!.message).not.toContain('/etc');
    expect(err!.message).not.toContain('/tmp');
  });
});
