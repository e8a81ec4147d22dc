/**
 * Labels and lineage of operator SQL's output columns, derived from DuckDB's
 * parse tree: each output column gets the strictest label and class of what it
 * references, counting aggregates make `aggregate`, and anything not
 * understood is `unknown` (treated as deny). Its origins are those of every
 * column it references, through subqueries, CTEs, joins and set operations;
 * a function of a value (a hash, substring, concatenation, replace or
 * translate) keeps the origin's label — SQL has no key, so a keyless
 * derivation of a raw value is still raw. Only `count` makes a value's origin
 * `aggregate` (it says how many, not what); `sum`, `min`, `string_agg` and the
 * rest over a group of one row return that row's value.
 */
import { strictestLabel, type ColumnClass, type Label } from '../../lib/vocabulary.js';
import type { ColumnOrigin, PlannedColumn } from './definition.js';
import { copyOrigins, mergeOrigins, strictestClass } from './plan-helpers.js';

/** What an expression derives from: label and class as before, its origins, and whether any part of it was not understood. */
type Derived = { label: Label; class: ColumnClass; source?: { dataset: string; column: string }; origins: ColumnOrigin[]; unknown?: boolean };
type Named = Derived & { name: string };
type Scope = { alias: string; cols: Named[] | null }[];

/** Aggregates whose result is a count, sum or mean over rows, not one row's value. */
const COUNTING_AGGREGATES = new Set(['count', 'count_star', 'sum', 'avg', 'mean', 'fsum', 'sumkahan', 'kahan_sum', 'sum_no_overflow']);
/** Aggregates that only count (rows or distinct values): their result carries nothing of a value's content. */
const COUNT_ONLY = new Set(['count', 'count_star', 'approx_count_distinct']);

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function combine(parts: Derived[]): Derived {
  const origins = mergeOrigins(parts.map((p) => p.origins));
  const unknown = parts.some((p) => p.unknown === true);
  if (parts.length === 0) return { label: 'derived', class: 'other', origins };
  return { label: strictestLabel(parts.map((p) => p.label)), class: strictestClass(parts.map((p) => p.class)), origins, ...(unknown ? { unknown } : {}) };
}

/** Table functions that make rows out of their (constant) arguments alone. */
const CONSTANT_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest']);

/** What a constant derives from: nothing. */
const constantDerived = (): Derived => ({ label: 'derived', class: 'other', origins: [] });

/** True when an expression reads no column and nothing the analysis does not follow. */
const isConstant = (d: Derived): boolean => d.origins.length === 0 && d.unknown !== true && d.label !== 'unknown';

/** Something the analysis does not follow: deny, and taint whatever it flows into. */
const unknownDerived = (): Derived => ({ label: 'unknown', class: 'direct-identifier', origins: [], unknown: true });

/** Nested expressions of an expression (not descending into subqueries). */
function subExpressions(expr: Record<string, unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const visit = (v: unknown, key: string) => {
    if (key === 'subquery' || key === 'value' || key === 'cast_type') return;
    if (Array.isArray(v)) v.forEach((x) => visit(x, ''));
    else if (isObj(v)) {
      if (typeof v['class'] === 'string') out.push(v);
      else for (const [k, x] of Object.entries(v)) visit(x, k);
    }
  };
  for (const [k, v] of Object.entries(expr)) visit(v, k);
  return out;
}

function labelExpr(expr: Record<string, unknown>, scope: Scope, env: Map<string, Named[] | null>): Derived {
  switch (expr['class']) {
    case 'CONSTANT':
      return constantDerived();
    case 'COLUMN_REF': {
      const names = (expr['column_names'] as unknown[]).map((n) => String(n).toLowerCase());
      const column = names[names.length - 1]!;
      const table = names.length >= 2 ? names[names.length - 2] : undefined;
      const matches: Named[] = [];
      for (const entry of scope) {
        if (table !== undefined && entry.alias !== table) continue;
        if (entry.cols === null) return unknownDerived();
        const m = entry.cols.find((c) => c.name.toLowerCase() === column);
        if (m) matches.push(m);
      }
      if (matches.length === 0) return unknownDerived();
      if (matches.length === 1) return { ...matches[0]!, origins: copyOrigins(matches[0]!.origins) };
      return combine(matches);
    }
    case 'FUNCTION': {
      const fn = String(expr['function_name']).toLowerCase();
      const inner = subExpressions(expr).map((e) => labelExpr(e, scope, env));
      if (COUNTING_AGGREGATES.has(fn)) {
        if (inner.some((d) => d.label === 'unknown' || d.unknown === true)) return unknownDerived();
        const all = combine(inner);
        // A count reveals how many, not what; a sum or mean over a group of one row is that row's value.
        const origins = COUNT_ONLY.has(fn) ? all.origins.map((o) => ({ ...o, label: 'aggregate' as const })) : all.origins;
        return { label: 'aggregate', class: fn.startsWith('count') ? 'other' : all.class, origins };
      }
      return combine(inner);
    }
    case 'SUBQUERY': {
      const sub = expr['subquery'];
      const node = isObj(sub) ? sub['node'] : undefined;
      const cols = isObj(node) ? analyseNode(node, env) : null;
      if (cols === null) return unknownDerived();
      return combine([...cols, ...subExpressions(expr).map((e) => labelExpr(e, scope, env))]);
    }
    case 'STAR':
      return unknownDerived();
    default:
      // Windows, casts, CASE, operators, comparisons, lambdas: the strictest of what they reference.
      return combine(subExpressions(expr).map((e) => labelExpr(e, scope, env)));
  }
}

function renamed(cols: Named[] | null, aliases: unknown): Named[] | null {
  if (cols === null || !Array.isArray(aliases) || aliases.length === 0) return cols;
  if (aliases.length > cols.length) return null;
  return cols.map((c, k) => (k < aliases.length ? { ...c, name: String(aliases[k]) } : c));
}

function buildScope(ref: unknown, env: Map<string, Named[] | null>): Scope {
  if (!isObj(ref)) return [];
  const alias = String(ref['alias'] ?? '').toLowerCase();
  switch (ref['type']) {
    case 'EMPTY':
      return [];
    case 'BASE_TABLE': {
      const name = String(ref['table_name']).toLowerCase();
      const cols = env.has(name) ? env.get(name)! : null;
      return [{ alias: alias || name, cols: renamed(cols, ref['column_name_alias']) }];
    }
    case 'JOIN':
      return [...buildScope(ref['left'], env), ...buildScope(ref['right'], env)];
    case 'SUBQUERY': {
      const sub = ref['subquery'];
      const cols = isObj(sub) && isObj(sub['node']) ? analyseNode(sub['node'], env) : null;
      return [{ alias, cols: renamed(cols, ref['column_name_alias']) }];
    }
    case 'TABLE_FUNCTION': {
      // range(10), generate_series(…), unnest([1, 2]) over constants: a relation of constants, named as DuckDB names it.
      const fn = isObj(ref['function']) ? ref['function'] : undefined;
      const name = String(fn?.['function_name'] ?? '').toLowerCase();
      if (!fn || !CONSTANT_TABLE_FUNCTIONS.has(name) || !isConstant(labelExpr(fn, [], env))) return [{ alias, cols: null }];
      return [{ alias: alias || name, cols: renamed([{ name, ...constantDerived() }], ref['column_name_alias']) }];
    }
    case 'EXPRESSION_LIST': {
      // VALUES (…), (…) of constants.
      const rows = Array.isArray(ref['values']) ? (ref['values'] as unknown[]) : [];
      const first = Array.isArray(rows[0]) ? (rows[0] as unknown[]) : [];
      const constant = rows.length > 0 && rows.every((r) => Array.isArray(r) && r.length === first.length && r.every((e) => isObj(e) && isConstant(labelExpr(e, [], env))));
      return [{ alias, cols: constant ? first.map((_, k) => ({ name: `col${k}`, ...constantDerived() })) : null }];
    }
    default:
      return [{ alias, cols: null }];
  }
}

function withCtes(node: Record<string, unknown>, env: Map<string, Named[] | null>): Map<string, Named[] | null> {
  const map = isObj(node['cte_map']) ? node['cte_map']['map'] : undefined;
  if (!Array.isArray(map) || map.length === 0) return env;
  const next = new Map(env);
  for (const e of map) {
    if (!isObj(e) || !isObj(e['value'])) continue;
    const q = e['value']['query'];
    const inner = isObj(q) && isObj(q['node']) ? analyseNode(q['node'], next) : null;
    next.set(String(e['key']).toLowerCase(), renamed(inner, e['value']['aliases']));
  }
  return next;
}

/** Output columns of a query node with derived labels, or null when it cannot be analysed. */
function analyseNode(node: Record<string, unknown>, outer: Map<string, Named[] | null>): Named[] | null {
  const env = withCtes(node, outer);
  if (node['type'] === 'SET_OPERATION_NODE') {
    const l = isObj(node['left']) ? analyseNode(node['left'], env) : null;
    const r = isObj(node['right']) ? analyseNode(node['right'], env) : null;
    if (!l || !r || l.length !== r.length) return null;
    return l.map((c, k) => ({ name: c.name, ...combine([c, r[k]!]) }));
  }
  if (node['type'] !== 'SELECT_NODE') return null;
  const scope = buildScope(node['from_table'], env);
  const out: Named[] = [];
  for (const e of (node['select_list'] as unknown[]) ?? []) {
    if (!isObj(e)) return null;
    if (e['class'] === 'STAR') {
      const plain = e['columns'] === false && e['expr'] === null && [e['replace_list'], e['rename_list'], e['qualified_exclude_list']].every((x) => !Array.isArray(x) || x.length === 0);
      if (!plain) return null;
      const rel = String(e['relation_name'] ?? '').toLowerCase();
      const exclude = new Set(((e['exclude_list'] as unknown[]) ?? []).map((x) => String(x).toLowerCase()));
      for (const entry of scope) {
        if (rel !== '' && entry.alias !== rel) continue;
        if (entry.cols === null) return null;
        for (const c of entry.cols) if (!exclude.has(c.name.toLowerCase())) out.push({ ...c });
      }
      continue;
    }
    const d = labelExpr(e, scope, env);
    const alias = String(e['alias'] ?? '');
    const name = alias !== '' ? alias : e['class'] === 'COLUMN_REF' ? String((e['column_names'] as unknown[]).at(-1)) : '';
    // Only a bare column reference keeps its dataset lineage.
    const keep = e['class'] === 'COLUMN_REF' && d.source ? { source: d.source } : {};
    out.push({ name, label: d.label, class: d.class, origins: d.origins, ...(d.unknown ? { unknown: true } : {}), ...keep });
  }
  return out;
}

/** Labels of a checked query's output columns by position, or null when it cannot be analysed. */
export function analyseQuery(node: Record<string, unknown>, inputs: Map<string, PlannedColumn[]>): Named[] | null {
  const env = new Map<string, Named[] | null>();
  for (const [k, cols] of inputs) env.set(k, cols.map((c) => ({ name: c.name, label: c.label, class: c.class, origins: copyOrigins(c.lineage), ...(c.source ? { source: { ...c.source } } : {}) })));
  return analyseNode(node, env);
}
