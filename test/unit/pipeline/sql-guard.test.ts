import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck } from '../../../lib/duck.js';
import { checkOperatorSql, openSqlSandbox, statementKeywords, walkParsedStatement, type SqlSandbox } from '../../../pipeline/steps/sql-guard.js';

async function refusal(sql: string, inputs = ['d']): Promise<{ code: string; message: string }> {
  try {
    await checkOperatorSql(sql, inputs, { path: 'steps[3].query' });
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('accepted');
}

describe('checkOperatorSql (static)', () => {
  it('accepts SELECTs over the inputs, CTEs and allowed table functions (negative control)', async () => {
    for (const sql of [
      'select area_code, count(*) as n from d group by 1',
      'with t as (select * from d) select t.area_code from t join e using (area_code)',
      'select * from d union all select * from e',
      'select x.range from range(10) as x',
      'select (select max(sex) from e) as m from d -- trailing comment',
      'select 1;',
    ]) {
      const checked = await checkOperatorSql(sql, ['d', 'e']);
      expect(checked.node['type']).toMatch(/_NODE$/);
    }
  });

  it.each([
    ['attach', "ATTACH '/tmp/x.duckdb' AS x", 'found an ATTACH statement'],
    ['copy', "COPY d TO '/tmp/leak.csv'", 'found a COPY statement'],
    ['install', 'INSTALL httpfs', 'found an INSTALL statement'],
    ['load', 'LOAD httpfs', 'found a LOAD statement'],
    ['set', 'SET enable_external_access = true', 'found a SET statement'],
    ['pragma', 'PRAGMA database_list', 'found a PRAGMA statement'],
    ['export', "EXPORT DATABASE '/tmp/dump'", 'found an EXPORT statement'],
    ['call', 'CALL duckdb_settings()', 'found a CALL statement'],
    ['create', 'CREATE TABLE z AS SELECT 1', 'found a CREATE statement'],
    ['create secret', "CREATE SECRET s (TYPE http)", 'found a CREATE statement'],
    ['select then attach', "select 1; ATTACH 'x.db'", 'found 2 statements, including an ATTACH statement'],
    ['two selects', 'select 1 from d; select 2 from d', 'found 2 statements'],
    ['empty', '   ', 'found no statement'],
  ])('refuses %s as SQL_FORBIDDEN, naming the statement but not the text', async (_, sql, expected) => {
    const e = await refusal(sql);
    expect(e.code).toBe('SLUICE_ERR_SQL_FORBIDDEN');
    expect(e.message).toBe(`steps[3].query: only a single SELECT is allowed; ${expected}`);
  });

  it.each([
    ['read_csv', "select * from read_csv('/etc/passwd')", 'read_csv'],
    ['read_parquet', "select * from read_parquet('raw/other.parquet')", 'read_parquet'],
    ['getenv', "select getenv('HOME') from d", 'getenv'],
    ['glob', "select * from glob('/etc/*')", 'glob'],
    ['current_setting', "select current_setting('allowed_directories') from d", 'current_setting'],
    ['catalog', 'select * from duckdb_settings()', 'duckdb_settings'],
    ['parquet metadata', "select * from parquet_metadata('x.parquet')", 'parquet_metadata'],
    ['dynamic SQL', "select * from query('select 1')", 'query'],
    ['inside a lambda', "select list_transform([1], x -> getenv('a')) from d", 'getenv'],
    ['inside a subquery', "select * from d where sex in (select current_setting('threads'))", 'current_setting'],
    ['sniff_csv', "select * from sniff_csv('/etc/passwd')", 'sniff_csv'],
  ])('refuses the function %s', async (_, sql, fn) => {
    const e = await refusal(sql);
    expect(e.code).toBe('SLUICE_ERR_SQL_FORBIDDEN');
    expect(e.message).toContain(fn);
    expect(e.message).not.toContain('/etc');
  });

  it('refuses tables that are not inputs: files, other tables, qualified names, DESCRIBE', async () => {
    expect((await refusal("select * from '/etc/passwd'")).message).toContain('a file path or URL of 11 characters');
    expect((await refusal('select * from secrets')).message).toContain('found the table secrets');
    expect((await refusal('select * from main.d')).message).toContain('qualified');
    expect((await refusal('select * from information_schema.tables')).message).toContain('qualified');
    expect((await refusal('select * from (describe d)')).message).toContain('DESCRIBE');
  });

  it('reports a syntax error by position, without echoing the text', async () => {
    const e = await refusal("select 'secret-literal' frm d where");
    expect(e.code).toBe('SLUICE_ERR_SQL_FAILED');
    expect(e.message).toMatch(/^steps\[3\]\.query: the query does not parse \(syntax error at character \d+\)$/);
  });

  it('names statements through comments and strings', () => {
    expect(statementKeywords("/* x; */ -- y;\n attach 'a;b'; select ';'")).toEqual(['ATTACH', 'SELECT']);
  });
});

describe('openSqlSandbox (runtime)', () => {
  let dir: string;
  let sandbox: SqlSandbox;
  const otherFile = () => join(dir, 'other.parquet');
  const inputFile = () => join(dir, 'input.parquet');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-sqlguard-'));
    const duck = await openDuck();
    try {
      await duck.conn.run(`COPY (SELECT 'A' || i AS area_code, i % 2 AS sex FROM range(10) t(i)) TO '${inputFile()}' (FORMAT parquet)`);
      await duck.conn.run(`COPY (SELECT 'secret' AS s) TO '${otherFile()}' (FORMAT parquet)`);
    } finally {
      duck.close();
    }
    sandbox = await openSqlSandbox([{ name: 'd', path: inputFile() }], { scratchDir: dir });
  });
  afterAll(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a checked SELECT to Parquet at a path outside its private directory (negative control)', async () => {
    const out = join(dir, 'result.parquet');
    const rows = await sandbox.runToParquet('select area_code, count(*) as n from d group by 1 -- note', out);
    expect(rows).toBe(10);
    expect(existsSync(out)).toBe(true);
    expect(await sandbox.describe('select area_code, count(*) as n from d group by 1')).toEqual([
      { name: 'area_code', type: 'VARCHAR' },
      { name: 'n', type: 'BIGINT' },
    ]);
  });

  it('checks again before running: a forbidden query never reaches DuckDB', async () => {
    await expect(sandbox.runToParquet("select * from read_csv('/etc/passwd')", join(dir, 'x.parquet'))).rejects.toMatchObject({ code: 'SLUICE_ERR_SQL_FORBIDDEN' });
    expect(existsSync(join(dir, 'x.parquet'))).toBe(false);
  });

  // Each attack runs with no static check: the locked configuration alone must stop it.
  it.each([
    ['read_csv of /etc/passwd', "select * from read_csv('/etc/passwd')"],
    ['a bare file path', "select * from '/etc/passwd'"],
    ['read_parquet of another file', () => `select * from read_parquet('${otherFile()}')`],
    ['read_text', "select * from read_text('/etc/hostname')"],
    ['ATTACH of a file', () => `ATTACH '${join(dir, 'x.duckdb')}' AS x`],
    ['INSTALL', 'INSTALL httpfs'],
    ['LOAD', 'LOAD httpfs'],
    ['COPY TO', () => `COPY d TO '${join(dir, 'leak.csv')}'`],
    ['EXPORT DATABASE', () => `EXPORT DATABASE '${join(dir, 'dump')}'`],
    ['getenv', "select getenv('HOME')"],
    ['SET enable_external_access', 'SET enable_external_access = true'],
    ['RESET enable_external_access', 'RESET enable_external_access'],
    ['SET allowed_directories', "SET allowed_directories = ['/']"],
    ['PRAGMA', 'PRAGMA enable_external_access = true'],
    ['PRAGMA threads', 'PRAGMA threads = 2'],
    ['CREATE SECRET', "CREATE SECRET s1 (TYPE s3, KEY_ID 'a', SECRET 'b')"],
    ['CREATE SECRET (again)', 'CREATE SECRET s2 (TYPE http)'],
    ['CREATE TEMPORARY SECRET', 'CREATE TEMPORARY SECRET s3 (TYPE http)'],
  ])('stops %s at runtime', async (_, sql) => {
    const text = typeof sql === 'function' ? sql() : sql;
    const err = await sandbox.runUnchecked(text).then(() => null, (e: unknown) => e as Error);
    expect(err, 'the attack succeeded').not.toBeNull();
    // Stopped by the configuration, not by a typo in the test.
    expect(err!.message).not.toMatch(/Parser Error|syntax error/);
    expect(existsSync(join(dir, 'leak.csv'))).toBe(false);
    expect(existsSync(join(dir, 'dump'))).toBe(false);
    expect(existsSync(join(dir, 'x.duckdb'))).toBe(false);
  });

  it('keeps its settings locked (positive control: the lock is what is read back)', async () => {
    const rows = await sandbox.runUnchecked("select current_setting('enable_external_access') as ext, current_setting('lock_configuration') as locked");
    expect(rows).toEqual([{ ext: false, locked: true }]);
  });

  it('removes its private directory on close', async () => {
    const s = await openSqlSandbox([{ name: 'd', path: inputFile() }], { scratchDir: dir });
    const before = readdirSync(dir).filter((f) => f.startsWith('sluice-sql-'));
    expect(before.length).toBeGreaterThanOrEqual(2);
    await s.close();
    expect(readdirSync(dir).filter((f) => f.startsWith('sluice-sql-')).length).toBe(before.length - 1);
  });

  it('a schema-only sandbox (planning) describes but cannot write', async () => {
    const s = await openSqlSandbox([{ name: 'd', columns: [{ name: 'area_code', type: 'VARCHAR' }] }]);
    try {
      expect(await s.describe('select count(*) as n from d')).toEqual([{ name: 'n', type: 'BIGINT' }]);
      await expect(s.runToParquet('select * from d', join(dir, 'y.parquet'))).rejects.toMatchObject({ code: 'SLUICE_ERR_INTERNAL' });
      await expect(s.runUnchecked(`COPY d TO '${join(dir, 'y.csv')}'`)).rejects.toThrow();
      expect(existsSync(join(dir, 'y.csv'))).toBe(false);
    } finally {
      await s.close();
    }
  });
});

describe('checkOperatorSql: ordinary constructs (issue 11 item 5) and deny by default', () => {
  it('accepts decimal and scientific literals and casts that it used to refuse as DECIMAL_TYPE_INFO', async () => {
    for (const sql of ['select 0.5 as x from d', 'select 1.5::double as y', 'select 2.5e-3 * 4 as z', "select cast('1.25' as decimal(10, 2)) as w", "select '[1]'::json as j"]) {
      await expect(checkOperatorSql(sql, ['d'])).resolves.toMatchObject({ tables: expect.any(Array) });
    }
  });

  it('reports the inputs read and the CTEs defined; a CTE shadowing an input is not a read of the input', async () => {
    expect(await checkOperatorSql('with t as (select * from d) select * from t, e', ['d', 'e'])).toMatchObject({ tables: ['d', 'e'], ctes: ['t'] });
    expect((await checkOperatorSql('with d as (select 1 as x) select * from d', ['d'])).tables).toEqual([]);
  });

  it('refuses a parse-tree kind or field it does not know, naming it', async () => {
    const { node } = await checkOperatorSql('select sex from d where sex = 1', ['d']);
    const clone = (): Record<string, unknown> => JSON.parse(JSON.stringify(node)) as Record<string, unknown>;
    const stmt = (n: Record<string, unknown>) => ({ node: n, named_param_map: [] });
    // positive control: the unchanged tree passes
    expect(walkParsedStatement(stmt(clone()), ['d'])).toEqual({ tables: ['d'], ctes: [] });
    const unknownField = clone();
    unknownField['future_clause'] = { class: 'FUNCTION', function_name: 'read_csv' };
    expect(() => walkParsedStatement(stmt(unknownField), ['d'], 'q')).toThrow(/construct the guard does not know \(future_clause in SELECT_NODE\)/);
    const unknownExpr = clone();
    (unknownExpr['where_clause'] as Record<string, unknown>)['class'] = 'BOUND_REF';
    expect(() => walkParsedStatement(stmt(unknownExpr), ['d'], 'q')).toThrow(/an expression of kind BOUND_REF is not allowed/);
    const unknownNode = clone();
    unknownNode['type'] = 'CTE_NODE';
    expect(() => walkParsedStatement(stmt(unknownNode), ['d'], 'q')).toThrow(/a query of kind CTE_NODE is not allowed/);
    const unknownRef = clone();
    (unknownRef['from_table'] as Record<string, unknown>)['type'] = 'COLUMN_DATA';
    expect(() => walkParsedStatement(stmt(unknownRef), ['d'], 'q')).toThrow(/a table reference of kind COLUMN_DATA is not allowed in FROM/);
    // an expression hidden inside a literal's structure is still walked
    const hidden = clone();
    ((hidden['where_clause'] as Record<string, unknown>)['right'] as Record<string, unknown>)['value'] = { type: { id: 'X', type_info: { class: 'FUNCTION', type: 'FUNCTION', function_name: 'getenv', schema: '', catalog: '', children: [] } } };
    expect(() => walkParsedStatement(stmt(hidden), ['d'], 'q')).toThrow(/the function getenv is not allowed/);
  });

  it('a runtime failure of a checked query names the DuckDB error class, not its text', async () => {
    const s = await openSqlSandbox([{ name: 'd', columns: [{ name: 'sex', type: 'VARCHAR' }] }], { scratchDir: tmpdir() });
    try {
      const e = await s.runToParquet("select nosuch_column_7f3a from d where sex = 'literal-7f3a'", join(tmpdir(), 'never.parquet')).then(() => null, (x: unknown) => x as Error);
      expect(e).not.toBeNull();
      expect((e as { code?: string }).code).toBe('SLUICE_ERR_SQL_FAILED');
      expect(e!.message).not.toContain('literal-7f3a');
    } finally {
      await s.close();
    }
  });
});

describe('checkOperatorSql: set operations as a list of branches', () => {
  it('walks every branch of a set operation given as children (the form of newer DuckDB versions)', async () => {
    const { node } = await checkOperatorSql('select sex from d union all select sex from e', ['d', 'e']);
    const n = JSON.parse(JSON.stringify(node)) as Record<string, unknown>;
    const left = n['left'];
    n['children'] = [left, { ...(left as Record<string, unknown>), from_table: { type: 'BASE_TABLE', alias: '', sample: null, query_location: 0, schema_name: '', table_name: 'secrets', column_name_alias: [], catalog_name: '', at_clause: null } }];
    expect(() => walkParsedStatement({ node: n, named_param_map: [] }, ['d', 'e'], 'q')).toThrow(/found the table secrets/);
  });
});
