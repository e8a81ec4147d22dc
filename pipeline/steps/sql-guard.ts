// Over 500 lines because the guard is one allow-list walk over DuckDB's parse tree; every node kind it knows is listed here.
/**
 * Operator SQL safety, in two layers.
 *
 * 1. Static ({@link checkOperatorSql}): DuckDB's own parser (`json_serialize_sql`)
 *    turns the text into an AST, which is walked node by node, by kind (query
 *    node, table reference, expression, modifier), unknown kinds and fields
 *    refused: exactly one SELECT; tables are only the step's inputs and CTE
 *    names in scope; table functions only from an allowlist; no function from a
 *    denylist (files, environment, settings, catalog, dynamic SQL).
 * 2. Runtime ({@link openSqlSandbox}): an in-memory DuckDB that holds only the
 *    inputs, with extension auto-install/auto-load and community extensions off,
 *    then `enable_external_access=false` and `lock_configuration=true`. Even SQL
 *    that slipped past layer 1 can neither read nor write files outside the
 *    sandbox's private directory, load code, or undo the settings.
 *
 * No message here ever echoes SQL text: it may embed literals (data). Only
 * identifier-shaped names (tables, functions) and statement keywords are shown.
 */
import { onAbandon } from '../../lib/shutdown.js';
import { mkdtemp, rename, copyFile, unlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { SluiceError, isSluiceError } from '../../lib/errors.js';
import { quoteIdent, quoteLiteral } from '../../lib/duck.js';
import { limitError } from '../../lib/limits.js';

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

/** A CTE name visible at some point of the walk, lower case. */
type Scope = ReadonlySet<string>;

/** What the walk collects and needs. */
interface WalkState {
  path: string;
  allowedTables: ReadonlySet<string>;
  inputList: string;
  /** Inputs actually read. */
  tables: Set<string>;
  /** Every CTE name defined (for the caller). */
  ctes: Set<string>;
}

/**
 * How a field of a parse-tree node is walked. `scalar`: a flag, a number or a
 * name that is harmless by itself (names that matter are read by the node's own
 * check). `inert`: literal values and types, walked only for expressions or
 * queries hidden inside them. Anything else names the walker of the child;
 * `none` marks a field the node's own walker reads by hand (CASE branches,
 * VALUES rows, PIVOT entries, a table function, a WITH, an AT clause).
 */
type FieldKind = 'scalar' | 'strings' | 'inert' | 'expr' | 'exprs' | 'ref' | 'query' | 'queries' | 'statement' | 'modifiers' | 'orders' | 'none';

/** Fields every expression has. */
const EXPR_COMMON: Record<string, FieldKind> = { class: 'scalar', type: 'scalar', alias: 'scalar', query_location: 'scalar' };

/**
 * The expression classes ordinary SQL produces, and the fields of each. A class
 * not listed here (a prepared-statement parameter, DEFAULT, anything a newer
 * DuckDB adds) is refused, and so is a field not listed for its class.
 */
const EXPRESSION_FIELDS: Record<string, Record<string, FieldKind>> = {
  CONSTANT: { value: 'inert' },
  COLUMN_REF: { column_names: 'strings' },
  FUNCTION: {
    function_name: 'scalar', schema: 'scalar', catalog: 'scalar', children: 'exprs', filter: 'expr', order_bys: 'modifiers',
    distinct: 'scalar', is_operator: 'scalar', export_state: 'scalar',
  },
  WINDOW: {
    function_name: 'scalar', schema: 'scalar', catalog: 'scalar', children: 'exprs', partitions: 'exprs', orders: 'orders',
    start: 'scalar', end: 'scalar', start_expr: 'expr', end_expr: 'expr', offset_expr: 'expr', default_expr: 'expr',
    ignore_nulls: 'scalar', filter_expr: 'expr', exclude_clause: 'scalar', distinct: 'scalar', arg_orders: 'orders',
  },
  CASE: { case_checks: 'none', else_expr: 'expr' }, // case_checks walked by hand: [{ when_expr, then_expr }]
  CAST: { child: 'expr', cast_type: 'inert', try_cast: 'scalar' },
  COMPARISON: { left: 'expr', right: 'expr' },
  CONJUNCTION: { children: 'exprs' },
  OPERATOR: { children: 'exprs' },
  BETWEEN: { input: 'expr', lower: 'expr', upper: 'expr' },
  STAR: {
    relation_name: 'scalar', exclude_list: 'inert', replace_list: 'none', columns: 'scalar', expr: 'expr',
    qualified_exclude_list: 'inert', rename_list: 'inert', unpacked: 'scalar',
  },
  SUBQUERY: { subquery: 'statement', subquery_type: 'scalar', child: 'expr', comparison_type: 'scalar' },
  LAMBDA: { lhs: 'expr', expr: 'expr' },
  LAMBDA_REF: { lambda_idx: 'scalar', column_name: 'scalar' },
  COLLATE: { child: 'expr', collation: 'scalar' },
  POSITIONAL_REFERENCE: { index: 'scalar' },
};

/** Fields every table reference has. */
const REF_COMMON: Record<string, FieldKind> = { type: 'scalar', alias: 'scalar', sample: 'inert', query_location: 'scalar', column_name_alias: 'strings' };

/** The table references ordinary SQL produces (FROM items), and their fields. */
const TABLE_REF_FIELDS: Record<string, Record<string, FieldKind>> = {
  BASE_TABLE: { schema_name: 'scalar', table_name: 'scalar', catalog_name: 'scalar', at_clause: 'none' },
  JOIN: { left: 'ref', right: 'ref', condition: 'expr', join_type: 'scalar', ref_type: 'scalar', using_columns: 'strings', delim_flipped: 'scalar', duplicate_eliminated_columns: 'exprs' },
  SUBQUERY: { subquery: 'statement' },
  TABLE_FUNCTION: { function: 'none', with_ordinality: 'scalar' },
  EMPTY: {},
  EXPRESSION_LIST: { expected_names: 'strings', expected_types: 'inert', values: 'none' }, // values: rows of expressions
  PIVOT: { source: 'ref', aggregates: 'exprs', unpivot_names: 'strings', pivots: 'none', groups: 'strings', include_nulls: 'scalar' },
};

/** Fields every query node has. */
const NODE_COMMON: Record<string, FieldKind> = { type: 'scalar', modifiers: 'modifiers', cte_map: 'none' };

/** The query nodes ordinary SQL produces, and their fields. */
const QUERY_NODE_FIELDS: Record<string, Record<string, FieldKind>> = {
  SELECT_NODE: {
    select_list: 'exprs', from_table: 'ref', where_clause: 'expr', group_expressions: 'exprs', group_sets: 'inert',
    aggregate_handling: 'scalar', having: 'expr', sample: 'inert', qualify: 'expr',
  },
  SET_OPERATION_NODE: { setop_type: 'scalar', left: 'query', right: 'query', setop_all: 'scalar', children: 'queries' },
  RECURSIVE_CTE_NODE: { cte_name: 'scalar', union_all: 'scalar', left: 'query', right: 'query', aliases: 'strings', key_targets: 'exprs' },
};

/** Result modifiers: ORDER BY, LIMIT/OFFSET (also as a percentage), DISTINCT (ON). */
const MODIFIER_FIELDS: Record<string, Record<string, FieldKind>> = {
  ORDER_MODIFIER: { orders: 'orders' },
  LIMIT_MODIFIER: { limit: 'expr', offset: 'expr' },
  LIMIT_PERCENT_MODIFIER: { limit: 'expr', offset: 'expr' },
  DISTINCT_MODIFIER: { distinct_on_targets: 'exprs' },
};

/** What a parse-tree kind is called in a message (identifier-shaped; never SQL text). */
function kindName(v: unknown): string {
  return typeof v === 'string' ? showName(v) : 'an unnamed kind';
}

/**
 * The static walk over DuckDB's parse tree. Every node is walked by what it is
 * (a query node, a table reference, an expression, a modifier) with the fields
 * its kind has; an unknown kind or an unknown field that carries structure is
 * refused, so that a construct this walk has never seen cannot hide a table or a
 * function from it. CTE names are scoped as DuckDB scopes them: a CTE is visible
 * in the query that defines it, in later CTEs of the same WITH and, when
 * recursive, in itself; a name outside its scope is a catalog lookup and refused.
 */
class SqlWalker {
  constructor(private readonly st: WalkState) {}

  private refuse(what: string, extra: Record<string, unknown> = {}): never {
    throw forbidden(this.st.path, what, extra);
  }

  private fields(v: Record<string, unknown>, spec: Record<string, FieldKind>, common: Record<string, FieldKind>, where: string, scope: Scope): void {
    for (const [k, x] of Object.entries(v)) {
      const kind = spec[k] ?? common[k];
      if (kind === undefined) {
        // Unknown but empty: a field a newer DuckDB fills in with nothing.
        if (x === null || x === undefined || (Array.isArray(x) && x.length === 0) || typeof x !== 'object') continue;
        this.refuse(`the query uses a construct the guard does not know (${showName(k)} in ${where}); it is refused rather than guessed at`, { field: showName(k), node: where });
      }
      this.field(kind, x, scope);
    }
  }

  private field(kind: FieldKind, x: unknown, scope: Scope): void {
    switch (kind) {
      case 'scalar':
      case 'none':
        return;
      case 'strings':
        this.inert(x, scope);
        return;
      case 'inert':
        this.inert(x, scope);
        return;
      case 'expr':
        if (x !== null && x !== undefined) this.expr(x, scope);
        return;
      case 'exprs':
        if (Array.isArray(x)) for (const e of x) this.expr(e, scope);
        else if (x !== null && x !== undefined) this.expr(x, scope);
        return;
      case 'ref':
        if (x !== null && x !== undefined) this.ref(x, scope);
        return;
      case 'query':
        if (x !== null && x !== undefined) this.query(x, scope);
        return;
      case 'queries':
        if (Array.isArray(x)) for (const q of x) this.query(q, scope);
        else if (x !== null && x !== undefined) this.query(x, scope);
        return;
      case 'statement':
        this.statement(x, scope);
        return;
      case 'modifiers':
        if (Array.isArray(x)) for (const m of x) this.modifier(m, scope);
        else if (x !== null && x !== undefined) this.modifier(x, scope);
        return;
      case 'orders':
        if (Array.isArray(x)) for (const o of x) this.order(o, scope);
        return;
    }
  }

  /**
   * Literal values, types, name lists: nothing to check, but a structure here that
   * looks like an expression or a query (a type modifier, a default) is walked as one.
   */
  private inert(x: unknown, scope: Scope): void {
    if (Array.isArray(x)) {
      for (const y of x) this.inert(y, scope);
      return;
    }
    if (!isObject(x)) return;
    if (typeof x['class'] === 'string') return this.expr(x, scope);
    if (typeof x['type'] === 'string' && x['type'].endsWith('_NODE')) return this.query(x, scope);
    for (const y of Object.values(x)) this.inert(y, scope);
  }

  /** `{ node, named_param_map }`: a statement or a subquery. */
  statement(x: unknown, scope: Scope): void {
    if (!isObject(x) || !isObject(x['node'])) this.refuse('the query has a subquery the guard cannot read');
    const params = x['named_param_map'];
    if (Array.isArray(params) && params.length > 0) this.refuse('named prepared-statement parameters are not allowed');
    this.query(x['node'], scope);
  }

  query(x: unknown, outer: Scope): void {
    if (!isObject(x)) this.refuse('the query has a part the guard cannot read');
    const type = x['type'];
    const spec = typeof type === 'string' ? QUERY_NODE_FIELDS[type] : undefined;
    if (!spec) this.refuse(`a query of kind ${kindName(type)} is not allowed`, { node: kindName(type) });
    const scope = this.ctes(x['cte_map'], outer);
    this.fields(x, spec, NODE_COMMON, String(type), scope);
  }

  /** Walks the CTEs of a WITH in order, each seeing the ones before it; returns the scope of the body. */
  private ctes(cteMap: unknown, outer: Scope): Scope {
    if (cteMap === null || cteMap === undefined) return outer;
    if (!isObject(cteMap) || !Array.isArray(cteMap['map'])) this.refuse('the query has a WITH clause the guard cannot read');
    const scope = new Set(outer);
    for (const entry of cteMap['map']) {
      if (!isObject(entry) || typeof entry['key'] !== 'string' || !isObject(entry['value'])) this.refuse('the query has a WITH clause the guard cannot read');
      const name = entry['key'].toLowerCase();
      const value = entry['value'];
      for (const k of Object.keys(value)) {
        if (!['query', 'aliases', 'materialized', 'key_targets'].includes(k)) this.refuse(`the query uses a construct the guard does not know (${showName(k)} in a CTE)`, { field: showName(k) });
      }
      const q = value['query'];
      const recursive = isObject(q) && isObject(q['node']) && q['node']['type'] === 'RECURSIVE_CTE_NODE';
      const inner = recursive ? new Set([...scope, name]) : scope;
      this.statement(q, new Set(inner));
      if (Array.isArray(value['key_targets'])) for (const e of value['key_targets']) this.expr(e, inner);
      scope.add(name);
      this.st.ctes.add(name);
    }
    return scope;
  }

  private modifier(x: unknown, scope: Scope): void {
    if (!isObject(x)) this.refuse('the query has a modifier the guard cannot read');
    const type = x['type'];
    const spec = typeof type === 'string' ? MODIFIER_FIELDS[type] : undefined;
    if (!spec) this.refuse(`a result modifier of kind ${kindName(type)} is not allowed`, { modifier: kindName(type) });
    this.fields(x, spec, { type: 'scalar' }, String(type), scope);
  }

  private order(x: unknown, scope: Scope): void {
    if (!isObject(x)) this.refuse('the query has an ORDER BY the guard cannot read');
    this.fields(x, { type: 'scalar', null_order: 'scalar', expression: 'expr' }, {}, 'ORDER BY', scope);
  }

  ref(x: unknown, scope: Scope): void {
    if (!isObject(x)) this.refuse('the query has a FROM item the guard cannot read');
    const type = x['type'];
    const spec = typeof type === 'string' ? TABLE_REF_FIELDS[type] : undefined;
    if (!spec) {
      const what = type === 'SHOW_REF' ? 'a DESCRIBE, SHOW or SUMMARIZE' : `a table reference of kind ${kindName(type)}`;
      this.refuse(`${what} is not allowed in FROM`, { tableRef: kindName(type) });
    }
    if (x['at_clause'] !== null && x['at_clause'] !== undefined) this.refuse('time travel (an AT clause on a table) is not allowed', { construct: 'AT' });
    if (type === 'BASE_TABLE') this.baseTable(x, scope);
    if (type === 'TABLE_FUNCTION') this.tableFunction(x['function'], scope);
    if (type === 'EXPRESSION_LIST') {
      const rows = x['values'];
      if (Array.isArray(rows)) for (const row of rows) this.field('exprs', row, scope);
    }
    if (type === 'PIVOT' && Array.isArray(x['pivots'])) {
      for (const p of x['pivots']) {
        if (!isObject(p)) continue;
        this.fields(p, { pivot_expressions: 'exprs', unpivot_names: 'strings', entries: 'none', pivot_enum: 'scalar' }, {}, 'PIVOT', scope);
        if (typeof p['pivot_enum'] === 'string' && p['pivot_enum'] !== '') this.refuse('a PIVOT over a catalog ENUM type is not allowed; list the values with IN (…)', { construct: 'PIVOT' });
        if (Array.isArray(p['entries'])) {
          for (const e of p['entries']) if (isObject(e)) this.fields(e, { values: 'inert', star_expr: 'expr', alias: 'scalar' }, {}, 'PIVOT', scope);
        }
      }
    }
    this.fields(x, spec, REF_COMMON, String(type), scope);
  }

  private baseTable(x: Record<string, unknown>, scope: Scope): void {
    const name = String(x['table_name'] ?? '');
    const schema = String(x['schema_name'] ?? '');
    const catalog = String(x['catalog_name'] ?? '');
    if (schema !== '' || catalog !== '') {
      const qualified = [catalog, schema, name].filter((x) => x !== '').map(showName).join('.');
      this.refuse(`tables must be named without schema or catalog; found a qualified table name (${qualified})`, { table: showName(name) });
    }
    const lower = name.toLowerCase();
    if (scope.has(lower)) return;
    if (!this.st.allowedTables.has(lower)) {
      const found = /[/\\.:]/.test(name) ? `a file path or URL of ${[...name].length} characters` : `the table ${showName(name)}`;
      this.refuse(`only the step's inputs (${this.st.inputList}) and its own CTEs may be read; found ${found}`, { table: showName(name) });
    }
    this.st.tables.add(lower);
  }

  private tableFunction(fnNode: unknown, scope: Scope): void {
    if (!isObject(fnNode) || fnNode['class'] !== 'FUNCTION') this.refuse('a table function the guard cannot read is not allowed in FROM');
    const fn = typeof fnNode['function_name'] === 'string' ? fnNode['function_name'] : '';
    if (!SQL_TABLE_FUNCTION_ALLOWLIST.includes(fn.toLowerCase())) {
      this.refuse(`the table function ${showName(fn)} is not allowed (allowed: ${SQL_TABLE_FUNCTION_ALLOWLIST.join(', ')})`, { function: showName(fn) });
    }
    this.expr(fnNode, scope);
  }

  expr(x: unknown, scope: Scope): void {
    if (!isObject(x)) this.refuse('the query has an expression the guard cannot read');
    const cls = x['class'];
    const spec = typeof cls === 'string' ? EXPRESSION_FIELDS[cls] : undefined;
    if (!spec) {
      const what = cls === 'PARAMETER' ? 'a prepared-statement parameter ($1, ?)' : cls === 'DEFAULT' ? 'DEFAULT' : `an expression of kind ${kindName(cls)}`;
      this.refuse(`${what} is not allowed`, { expression: kindName(cls) });
    }
    if (cls === 'FUNCTION' || cls === 'WINDOW') {
      const fn = typeof x['function_name'] === 'string' ? x['function_name'] : '';
      if (isDeniedFunction(fn)) {
        this.refuse(`the function ${showName(fn)} is not allowed (it reads files, settings, the environment or the catalog)`, { function: showName(fn) });
      }
      const schema = typeof x['schema'] === 'string' ? x['schema'] : '';
      const catalog = typeof x['catalog'] === 'string' ? x['catalog'] : '';
      // The parser itself names main for desugared forms ([1, 2] is main.list_value); any other schema is refused.
      if ((schema !== '' && schema !== 'main') || (catalog !== '' && catalog !== 'system')) {
        const qualified = [catalog, schema, fn].filter((x) => x !== '').map(showName).join('.');
        this.refuse(`functions must be named without schema or catalog; found a qualified function name (${qualified})`, { function: showName(fn) });
      }
    }
    if (cls === 'CASE' && Array.isArray(x['case_checks'])) {
      for (const c of x['case_checks']) {
        if (!isObject(c)) this.refuse('the query has a CASE the guard cannot read');
        this.fields(c, { when_expr: 'expr', then_expr: 'expr' }, {}, 'CASE', scope);
      }
    }
    if (cls === 'STAR' && Array.isArray(x['replace_list'])) {
      for (const r of x['replace_list']) {
        if (!isObject(r)) this.refuse('the query has a REPLACE the guard cannot read');
        this.fields(r, { key: 'scalar', value: 'expr' }, {}, 'REPLACE', scope);
      }
    }
    this.fields(x, spec, EXPR_COMMON, String(cls), scope);
  }
}

/**
 * Checks operator SQL statically and returns its parsed form. Throws
 * SLUICE_ERR_SQL_FORBIDDEN (naming `options.path`) when it is not exactly one
 * SELECT, reads a table other than `inputs` or its own CTEs, uses a table
 * function outside {@link SQL_TABLE_FUNCTION_ALLOWLIST}, calls a denied or
 * schema-qualified function, uses time travel, a prepared-statement parameter,
 * a DESCRIBE/SHOW in FROM, or any node kind or field of DuckDB's parse tree the
 * walk does not know (deny by default); SLUICE_ERR_SQL_FAILED when it does not
 * parse. Everything ordinary SQL produces is known: literals of every type,
 * casts, CASE, aggregates with FILTER/ORDER BY/DISTINCT, window functions and
 * frames, QUALIFY, GROUP BY ALL/ROLLUP/CUBE/GROUPING SETS, (recursive,
 * materialized) CTEs scoped as DuckDB scopes them, UNION/INTERSECT/EXCEPT,
 * ORDER BY/LIMIT/OFFSET/DISTINCT ON, subqueries and LATERAL, joins of every
 * kind, VALUES, PIVOT with an IN list, lambdas, STAR with EXCLUDE/REPLACE/COLUMNS,
 * USING SAMPLE. Messages name statement keywords, node kinds, function and
 * table names, never SQL text.
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
    if (other === undefined && keywords.length === 1 && /\b(UN)?PIVOT\b/i.test(sql)) {
      // A PIVOT without IN (…) makes DuckDB create an ENUM first: several statements behind one.
      throw forbidden(path, 'a PIVOT whose values are not listed is not allowed (DuckDB runs it as several statements); list them with ON col IN (…)', { construct: 'PIVOT' });
    }
    // A WITH before INSERT/UPDATE/DELETE starts like a SELECT: name the statement by its verb.
    const verb = other === undefined ? /\b(INSERT|UPDATE|DELETE|MERGE|COPY|CREATE|DROP|ALTER|EXPLAIN)\b/i.exec(sql)?.[1]?.toUpperCase() : undefined;
    if (verb !== undefined) {
      throw forbidden(path, `only a single SELECT is allowed; found ${keywords.length > 1 ? `${keywords.length} statements, including ` : ''}${article(verb)} statement`, { statement: verb });
    }
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

  return { node, ...walkParsedStatement(first, inputs, path) };
}

/**
 * Walks one statement as DuckDB's `json_serialize_sql` gives it
 * (`statements[0]`: `{ node, named_param_map }`) and returns the inputs it
 * reads and the CTEs it defines; throws SLUICE_ERR_SQL_FORBIDDEN naming the
 * construct otherwise (see {@link checkOperatorSql}). Exported so that tests can
 * feed it trees DuckDB does not produce today (deny by default).
 */
export function walkParsedStatement(statement: unknown, inputs: string[], path = 'query'): { tables: string[]; ctes: string[] } {
  const st: WalkState = {
    path,
    allowedTables: new Set(inputs.map((t) => t.toLowerCase())),
    inputList: inputs.length > 0 ? inputs.map(showName).join(', ') : 'none',
    tables: new Set(),
    ctes: new Set(),
  };
  new SqlWalker(st).statement(statement, new Set());
  return { tables: [...st.tables], ctes: [...st.ctes] };
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
  /** Most spill space, e.g. `'20GB'` (`max_temp_directory_size`); default DuckDB's own. */
  maxTempSize?: string;
  /**
   * Watches the sandbox's connection until it is closed (a step's guard:
   * its time limit and cancellation interrupt the running statement); default none.
   */
  watch?: (conn: { interrupt(): void }) => () => void;
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

/** Maps a DuckDB failure of operator SQL to a message without SQL text or literals; a memory or spill limit to its own code. */
function sqlFailure(path: string, e: unknown, limits: { memory: string; tempMax: string }): SluiceError {
  if (isSluiceError(e)) return e;
  const limit = limitError(e, path, limits);
  if (limit) return limit;
  const msg = e instanceof Error ? e.message : String(e);
  const kind = /^([A-Za-z ]+? Error):/.exec(msg)?.[1] ?? 'Error';
  const col = /Referenced column "([^"]+)" not found/.exec(msg)?.[1];
  const tbl = /Table with name ([^ ]+) does not exist/.exec(msg)?.[1];
  const detail = col !== undefined ? `; no column ${showName(col)}` : tbl !== undefined ? `; no table ${showName(tbl)}` : '';
  const retry = kind === 'IO Error';
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
  const limits = { memory: options.memoryLimit ?? 'DuckDB\'s default', tempMax: options.maxTempSize ?? 'DuckDB\'s default' };
  let instance: DuckDBInstance | undefined;
  let conn: DuckDBConnection | undefined;
  let unwatch: () => void = () => undefined;
  try {
    instance = await DuckDBInstance.create(':memory:', config);
    conn = await instance.connect();
    // From here on the step's guard may interrupt it: loading the inputs is under the step's limits too.
    if (options.watch) unwatch = options.watch(conn);
    // Given at create time, DuckDB resets it when it sets up the temp directory.
    if (options.maxTempSize !== undefined) await conn.run(`SET max_temp_directory_size=${quoteLiteral(options.maxTempSize)}`);
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
    unwatch();
    conn?.closeSync();
    instance?.closeSync();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (isSluiceError(e)) throw e;
    const limit = limitError(e, 'sandbox', limits);
    if (limit) throw limit;
    throw new SluiceError('SLUICE_ERR_SQL_FAILED', `sandbox: could not load the inputs (${names.map(showName).join(', ')})`, { cause: e });
  }
  const c = conn;
  const inst = instance;
  let outputs = 0;
  let closed = false;

  const guarded = async <T>(work: Promise<T>): Promise<T> => {
    // A statement still running when the process hands its jobs back is interrupted, so the process can exit.
    const stopListening = onAbandon(() => c.interrupt());
    try {
      return await work;
    } finally {
      stopListening();
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
        throw sqlFailure(path, e, limits);
      }
    },
    async runToParquet(sql, outPath) {
      const path = 'query';
      if (!dir) throw new SluiceError('SLUICE_ERR_INTERNAL', 'sandbox: opened for planning only (no private directory); cannot write results');
      await checkOperatorSql(sql, names, { path });
      try {
        (await prepareSelect(sql, path)).destroySync();
      } catch (e) {
        // DuckDB's own text may quote the SQL's literals: only the error class goes on.
        throw sqlFailure(path, e, limits);
      }
      // A trailing `;` or line comment would break the wrapper; the newlines keep a comment inside.
      const body = sql.replace(/[\s;]+$/u, '');
      const tmp = join(dir, `out-${++outputs}.parquet`);
      try {
        const reader = await guarded(c.runAndReadAll(`COPY (\n${body}\n) TO ${quoteLiteral(tmp)} (FORMAT parquet)`));
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
        throw sqlFailure(path, e, limits);
      }
    },
    async runUnchecked(sql) {
      const reader = await guarded(c.runAndReadAll(sql));
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    },
    async close() {
      if (closed) return;
      closed = true;
      unwatch();
      c.closeSync();
      inst.closeSync();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
