/**
 * Operator SQL safety, in two layers.
 *
 * 1. Static ({@link checkOperatorSql}): DuckDB's own parser (`json_serialize_sql`)
 *    turns the text into an AST, which is walked: exactly one SELECT; tables are
 *    only the step's inputs and CTE names; table functions only from an
 *    allowlist; no function from a denylist (files, environment, settings,
 *    catalog, dynamic SQL).
 * 2. Runtime ({@link openSqlSandbox}): an in-memory DuckDB that holds only the
 *    inputs, with extension auto-install/auto-load and community extensions off,
 *    then `enable_external_access=false` and `lock_configuration=true`. Even SQL
 *    that slipped past layer 1 can neither read nor write files outside the
 *    sandbox's private directory, load code, or undo the settings.
 *
 * No message here ever echoes SQL text: it may embed literals (data). Only
 * identifier-shaped names (tables, functions) and statement keywords are shown.
 */
import { mkdtemp, rename, copyFile, unlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { SluiceError, isSluiceError } from '../../lib/errors.js';
import { quoteIdent, quoteLiteral } from '../../lib/duck.js';

/** Table functions operator SQL may use in FROM (they produce numbers or unnest values; no I/O). */
export const SQL_TABLE_FUNCTION_ALLOWLIST: readonly string[] = ['range', 'generate_series', 'unnest'];

/** Functions refused by exact (lower-case) name. */
const DENIED_FUNCTIONS = new Set([
  'getenv', 'glob', 'current_setting', 'sniff_csv', 'query', 'query_table', 'load', 'install',
  'json_execute_serialized_sql', 'json_serialize_sql', 'json_deserialize_sql', 'json_serialize_plan',
  'which_secret', 'getvariable', 'set_variable', 'checkpoint', 'force_checkpoint', 'summary',
  'current_database', 'current_catalog', 'current_schema', 'current_schemas', 'current_query',
  'enable_profiling', 'disable_profiling', 'test_all_types', 'test_vector_types',
]);

/** Functions refused by prefix or suffix (files, catalog, pragmas, scans, secrets). */
const DENIED_PREFIXES = ['read_', 'duckdb_', 'parquet_', 'pragma_', 'iceberg_', 'delta_', 'sqlite_', 'postgres_', 'mysql_', 'pg_'];
const DENIED_SUFFIXES = ['_scan', '_secret', '_secrets', '_metadata'];

/** True when operator SQL may not call function `name` (case-insensitive; any schema). */
export function isDeniedFunction(name: string): boolean {
  const n = name.toLowerCase();
  if (DENIED_FUNCTIONS.has(n)) return true;
  if (DENIED_PREFIXES.some((p) => n.startsWith(p))) return true;
  return DENIED_SUFFIXES.some((s) => n.endsWith(s)) || n.includes('secret');
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A name as it may appear in a message: itself if identifier-shaped, else its length only. */
function showName(name: string): string {
  return IDENT.test(name) ? name : `a name of ${[...name].length} characters`;
}

/** Table reference types the walk accepts (others, e.g. DESCRIBE/SHOW in FROM, are refused). */
const TABLE_REF_TYPES = new Set(['BASE_TABLE', 'JOIN', 'SUBQUERY', 'TABLE_FUNCTION', 'EMPTY', 'EXPRESSION_LIST', 'PIVOT']);

/** Options of {@link checkOperatorSql}. */
export interface CheckSqlOptions {
  /** The spec path the messages name; default `query`. */
  path?: string;
}

/** What a successful {@link checkOperatorSql} returns: the parsed statement and what it reads. */
export interface CheckedSql {
  /** The statement's query node as DuckDB serializes it (`statements[0].node`). */
  node: Record<string, unknown>;
  /** Input tables the query reads (lower case). */
  tables: string[];
  /** CTE names it defines (lower case). */
  ctes: string[];
}

let parser: Promise<DuckDBInstance> | undefined;

/** A private, locked DuckDB used only to parse: it never sees data. */
function parserInstance(): Promise<DuckDBInstance> {
  parser ??= (async () => {
    const inst = await DuckDBInstance.create(':memory:', {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      allow_community_extensions: 'false',
      threads: '1',
      temp_directory: '',
    });
    const conn = await inst.connect();
    try {
      await conn.run('SET enable_external_access=false');
      await conn.run('SET lock_configuration=true');
    } finally {
      conn.closeSync();
    }
    return inst;
  })();
  return parser;
}

/** `a`/`an` + keyword, for "found an ATTACH statement". */
function article(word: string): string {
  return /^[AEIOU]/.test(word) ? `an ${word}` : `a ${word}`;
}

/**
 * Splits SQL into statements at top-level `;` and returns each one's first
 * keyword (upper case), skipping comments, strings and quoted identifiers.
 * Used only to name what a non-SELECT statement is; DuckDB's parser decides.
 */
export function statementKeywords(sql: string): string[] {
  const out: string[] = [];
  let current: string | null = null;
  let i = 0;
  const n = sql.length;
  const endStatement = () => {
    if (current !== null) out.push(current);
    current = null;
  };
  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (ch === "'" || ch === '"') {
      current ??= ch === '"' ? 'IDENT' : 'LITERAL';
      i++;
      while (i < n) {
        if (sql[i] === ch) {
          if (sql[i + 1] === ch) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (ch === '$' && /[$A-Za-z_]/.test(next ?? '')) {
      const m = /^\$[A-Za-z_0-9]*\$/.exec(sql.slice(i));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        current ??= 'LITERAL';
        i = end < 0 ? n : end + m[0].length;
      } else i++;
    } else if (ch === ';') {
      endStatement();
      i++;
    } else if (/\s/.test(ch)) {
      i++;
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))!;
      current ??= m[0].toUpperCase();
      i += m[0].length;
    } else {
      current ??= ch === '(' ? 'SELECT' : 'SYMBOL';
      i++;
    }
  }
  endStatement();
  return out;
}

const SELECT_KEYWORDS = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE']);

function forbidden(path: string, what: string, extra: Record<string, unknown> = {}): SluiceError {
  return new SluiceError('SLUICE_ERR_SQL_FORBIDDEN', `${path}: ${what}`, { details: { path, ...extra } });
}

/** Parses with DuckDB; returns the JSON AST (never throws on bad SQL: DuckDB reports it in the JSON). */
async function serialize(sql: string): Promise<Record<string, unknown>> {
  const inst = await parserInstance();
  const conn = await inst.connect();
  try {
    const reader = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)::VARCHAR AS j', [sql]);
    const text = reader.getRowObjects()[0]?.['j'];
    if (typeof text !== 'string') throw new SluiceError('SLUICE_ERR_INTERNAL', 'the SQL parser returned no result');
    return JSON.parse(text) as Record<string, unknown>;
  } finally {
    conn.closeSync();
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Every CTE name defined anywhere in the tree (lower case). */
function collectCtes(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const x of node) collectCtes(x, into);
    return;
  }
  if (!isObject(node)) return;
  const cteMap = node['cte_map'];
  if (isObject(cteMap) && Array.isArray(cteMap['map'])) {
    for (const e of cteMap['map']) if (isObject(e) && typeof e['key'] === 'string') into.add(e['key'].toLowerCase());
  }
  for (const v of Object.values(node)) collectCtes(v, into);
}

/**
 * Checks operator SQL statically and returns its parsed form. Throws
 * SLUICE_ERR_SQL_FORBIDDEN (naming `options.path`) when it is not exactly one
 * SELECT, reads a table other than `inputs` or its own CTEs, uses a table
 * function outside {@link SQL_TABLE_FUNCTION_ALLOWLIST}, or calls a denied
 * function; SLUICE_ERR_SQL_FAILED when it does not parse. Messages name
 * statement keywords, function and table names, never SQL text.
 *
 * Asynchronous because DuckDB's Node API has no synchronous query: await it.
 * The returned promise has a rejection handler attached, so an un-awaited call
 * does not crash the process ({@link SqlSandbox.runToParquet} checks again).
 */
export function checkOperatorSql(sql: string, inputs: string[], options: CheckSqlOptions = {}): Promise<CheckedSql> {
  const p = checkOperatorSqlAsync(sql, inputs, options.path ?? 'query');
  p.catch(() => undefined);
  return p;
}

async function checkOperatorSqlAsync(sql: string, inputs: string[], path: string): Promise<CheckedSql> {
  if (typeof sql !== 'string') throw forbidden(path, `expected SQL text, found ${typeof sql}`);
  const ast = await serialize(sql);
  const keywords = statementKeywords(sql);
  if (ast['error'] === true) {
    if (ast['error_type'] === 'parser') {
      const pos = Number(ast['position']);
      const where = Number.isFinite(pos) ? ` at character ${pos + 1}` : '';
      throw new SluiceError('SLUICE_ERR_SQL_FAILED', `${path}: the query does not parse (syntax error${where})`, { details: { path } });
    }
    const other = keywords.find((k) => !SELECT_KEYWORDS.has(k));
    const what = other && other !== 'LITERAL' && other !== 'IDENT' && other !== 'SYMBOL' ? `${article(other)} statement` : 'a statement that is not a SELECT';
    const count = keywords.length > 1 ? `${keywords.length} statements, including ` : '';
    throw forbidden(path, `only a single SELECT is allowed; found ${count}${what}`, { statement: other ?? null });
  }
  const statements = Array.isArray(ast['statements']) ? ast['statements'] : [];
  if (statements.length !== 1) {
    throw forbidden(path, `only a single SELECT is allowed; found ${statements.length === 0 ? 'no statement' : `${statements.length} statements`}`, {
      statements: statements.length,
    });
  }
  const first = statements[0];
  const node = isObject(first) && isObject(first['node']) ? first['node'] : undefined;
  if (!node) throw new SluiceError('SLUICE_ERR_INTERNAL', `${path}: the SQL parser returned an unexpected shape`);

  const allowedTables = new Set(inputs.map((t) => t.toLowerCase()));
  const ctes = new Set<string>();
  collectCtes(node, ctes);
  const tables = new Set<string>();
  const inputList = inputs.length > 0 ? inputs.map(showName).join(', ') : 'none';

  const walk = (v: unknown, parentKey: string): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, parentKey);
      return;
    }
    if (!isObject(v)) return;
    const cls = v['class'];
    const type = v['type'];
    if ((cls === 'FUNCTION' || cls === 'WINDOW') && typeof v['function_name'] === 'string') {
      const fn = v['function_name'];
      if (isDeniedFunction(fn)) {
        throw forbidden(path, `the function ${showName(fn)} is not allowed (it reads files, settings, the environment or the catalog)`, { function: showName(fn) });
      }
    }
    // Table references carry an alias and no expression class; query nodes end in _NODE.
    if (cls === undefined && typeof type === 'string' && 'alias' in v && !type.endsWith('_NODE') && parentKey !== 'value' && parentKey !== 'cast_type') {
      if (!TABLE_REF_TYPES.has(type)) {
        const what = type === 'SHOW_REF' ? 'a DESCRIBE, SHOW or SUMMARIZE' : `a table reference of kind ${showName(type)}`;
        throw forbidden(path, `${what} is not allowed in FROM`, { tableRef: showName(type) });
      }
      if (type === 'BASE_TABLE') {
        const name = String(v['table_name'] ?? '');
        const schema = String(v['schema_name'] ?? '');
        const catalog = String(v['catalog_name'] ?? '');
        if (schema !== '' || catalog !== '') {
          throw forbidden(path, `tables must be named without schema or catalog; found a qualified table name (${showName(schema || catalog)}.${showName(name)})`, { table: showName(name) });
        }
        const lower = name.toLowerCase();
        if (!allowedTables.has(lower) && !ctes.has(lower)) {
          const found = /[/\\.:]/.test(name) ? `a file path or URL of ${[...name].length} characters` : `the table ${showName(name)}`;
          throw forbidden(path, `only the step's inputs (${inputList}) and its own CTEs may be read; found ${found}`, { table: showName(name) });
        }
        if (allowedTables.has(lower)) tables.add(lower);
      }
      if (type === 'TABLE_FUNCTION') {
        const fnNode = v['function'];
        const fn = isObject(fnNode) && typeof fnNode['function_name'] === 'string' ? fnNode['function_name'] : '';
        if (!SQL_TABLE_FUNCTION_ALLOWLIST.includes(fn.toLowerCase())) {
          throw forbidden(path, `the table function ${showName(fn)} is not allowed (allowed: ${SQL_TABLE_FUNCTION_ALLOWLIST.join(', ')})`, { function: showName(fn) });
        }
      }
    }
    for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(node, '');
  return { node, tables: [...tables], ctes: [...ctes] };
}

/** An input of the sandbox: a Parquet file, or a schema for an empty table (planning). */
export type SandboxInput = { name: string; path: string } | { name: string; columns: { name: string; type: string }[] };

/** Options of {@link openSqlSandbox}. */
export interface SqlSandboxOptions {
  /**
   * Parent of the sandbox's private directory (the only place DuckDB may write:
   * query results and spill files). Default: the OS temp directory. A sandbox
   * whose inputs are all schemas and that has no `scratchDir` gets no private
   * directory and cannot {@link SqlSandbox.runToParquet} (planning never writes).
   */
  scratchDir?: string;
  /** DuckDB threads; default 1. */
  threads?: number;
  /** DuckDB memory limit, e.g. `'1GB'`; default DuckDB's own. */
  memoryLimit?: string;
  /** Interrupt a query after this many milliseconds; default: no limit. */
  timeoutMs?: number;
}

/** A locked DuckDB holding only a step's inputs. */
export interface SqlSandbox {
  /** The output columns of a (checked) SELECT, without running it; `path` names the query in messages (default `query`). */
  describe(sql: string, path?: string): Promise<{ name: string; type: string }[]>;
  /** Checks `sql`, runs `COPY (sql) TO` a Parquet file in the private directory, then moves it to `outPath`; returns the row count. */
  runToParquet(sql: string, outPath: string): Promise<number>;
  /**
   * Runs SQL with no static check and returns rows as JSON-friendly objects.
   * Exists so tests can prove the runtime lock holds on its own; never pass operator SQL.
   */
  runUnchecked(sql: string): Promise<Record<string, unknown>[]>;
  /** Releases DuckDB and removes the private directory. */
  close(): Promise<void>;
}

/** Maps a DuckDB failure of operator SQL to a message without SQL text or literals. */
function sqlFailure(path: string, e: unknown): SluiceError {
  if (isSluiceError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const kind = /^([A-Za-z ]+? Error):/.exec(msg)?.[1] ?? 'Error';
  const col = /Referenced column "([^"]+)" not found/.exec(msg)?.[1];
  const tbl = /Table with name ([^ ]+) does not exist/.exec(msg)?.[1];
  const detail = col !== undefined ? `; no column ${showName(col)}` : tbl !== undefined ? `; no table ${showName(tbl)}` : '';
  const retry = kind === 'Out of Memory Error' || kind === 'IO Error';
  return new SluiceError('SLUICE_ERR_SQL_FAILED', `${path}: the query failed (${kind}${detail})`, { details: { path, kind }, retryable: retry });
}

/**
 * Opens a sandboxed in-memory DuckDB holding the inputs as tables (from Parquet
 * with `CREATE TABLE … AS FROM read_parquet(…)`, or empty from column lists),
 * then disables external access and locks the configuration. DuckDB may write
 * only in a fresh private directory (`allowed_directories`, set before the
 * lock): a result is written there and moved to its destination by this
 * (trusted) code, so operator SQL can never name a path it could read or write
 * beyond its own results. Extensions cannot be installed or loaded; secrets
 * cannot be created (their storage is outside the allowed directory).
 */
export async function openSqlSandbox(inputs: SandboxInput[], options: SqlSandboxOptions = {}): Promise<SqlSandbox> {
  const names = inputs.map((i) => i.name);
  const needsDir = options.scratchDir !== undefined || inputs.some((i) => 'path' in i);
  const dir = needsDir ? await mkdtemp(join(options.scratchDir ?? tmpdir(), 'sluice-sql-')) : null;
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    threads: String(options.threads ?? 1),
    // Without a private directory nothing may spill; with one, spill stays inside it.
    temp_directory: dir ? join(dir, 'spill') : '',
  };
  if (options.memoryLimit !== undefined) config['memory_limit'] = options.memoryLimit;
  let instance: DuckDBInstance | undefined;
  let conn: DuckDBConnection | undefined;
  try {
    instance = await DuckDBInstance.create(':memory:', config);
    conn = await instance.connect();
    for (const input of inputs) {
      if ('path' in input) {
        await conn.run(`CREATE TABLE ${quoteIdent(input.name)} AS FROM read_parquet(${quoteLiteral(input.path)})`);
      } else {
        if (input.columns.length === 0) throw new SluiceError('SLUICE_ERR_INTERNAL', `sandbox input ${showName(input.name)} has no columns`);
        const cols = input.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
        await conn.run(`CREATE TABLE ${quoteIdent(input.name)} (${cols})`);
      }
    }
    // Order matters: the allowed directory must be set while settings can still change.
    await conn.run(`SET allowed_directories=${dir ? `[${quoteLiteral(dir + '/')}]` : '[]'}`);
    await conn.run('SET enable_external_access=false');
    await conn.run('SET lock_configuration=true');
  } catch (e) {
    conn?.closeSync();
    instance?.closeSync();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (isSluiceError(e)) throw e;
    throw new SluiceError('SLUICE_ERR_SQL_FAILED', `sandbox: could not load the inputs (${names.map(showName).join(', ')})`, { cause: e });
  }
  const c = conn;
  const inst = instance;
  let outputs = 0;
  let closed = false;

  const withTimeout = async <T>(work: Promise<T>): Promise<T> => {
    if (options.timeoutMs === undefined) return work;
    const timer = setTimeout(() => c.interrupt(), options.timeoutMs);
    try {
      return await work;
    } finally {
      clearTimeout(timer);
    }
  };

  /** Runtime re-check: the text must prepare as exactly one SELECT in this locked instance. */
  const prepareSelect = async (sql: string, path: string) => {
    const extracted = await c.extractStatements(sql);
    if (extracted.count !== 1) throw forbidden(path, `only a single SELECT is allowed; found ${extracted.count} statements`);
    const prepared = await extracted.prepare(0);
    if (prepared.statementType !== StatementType.SELECT) {
      prepared.destroySync();
      throw forbidden(path, 'only a single SELECT is allowed; found a statement that is not a SELECT');
    }
    return prepared;
  };

  return {
    async describe(sql, path = 'query') {
      await checkOperatorSql(sql, names, { path });
      try {
        const prepared = await prepareSelect(sql, path);
        try {
          const cols: { name: string; type: string }[] = [];
          for (let i = 0; i < prepared.columnCount; i++) cols.push({ name: prepared.columnName(i), type: prepared.columnType(i).toString() });
          return cols;
        } finally {
          prepared.destroySync();
        }
      } catch (e) {
        throw sqlFailure(path, e);
      }
    },
    async runToParquet(sql, outPath) {
      const path = 'query';
      if (!dir) throw new SluiceError('SLUICE_ERR_INTERNAL', 'sandbox: opened for planning only (no private directory); cannot write results');
      await checkOperatorSql(sql, names, { path });
      (await prepareSelect(sql, path)).destroySync();
      // A trailing `;` or line comment would break the wrapper; the newlines keep a comment inside.
      const body = sql.replace(/[\s;]+$/u, '');
      const tmp = join(dir, `out-${++outputs}.parquet`);
      try {
        const reader = await withTimeout(c.runAndReadAll(`COPY (\n${body}\n) TO ${quoteLiteral(tmp)} (FORMAT parquet)`));
        const rows = Number(reader.getRows()[0]?.[0] ?? 0);
        try {
          await rename(tmp, outPath);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
          await copyFile(tmp, outPath);
          await unlink(tmp);
        }
        return rows;
      } catch (e) {
        await rm(tmp, { force: true });
        throw sqlFailure(path, e);
      }
    },
    async runUnchecked(sql) {
      const reader = await withTimeout(c.runAndReadAll(sql));
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    },
    async close() {
      if (closed) return;
      closed = true;
      c.closeSync();
      inst.closeSync();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
