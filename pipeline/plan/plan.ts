/**
 * The planner (dry run): checks a validated job spec against its agreement and
 * the dataset catalog, and derives, step by step in topological order, the
 * columns each step produces with their types, classes and labels. It reads
 * and writes no file: SQL steps are described against empty tables in an
 * in-memory sandbox.
 */
import { createHash } from 'node:crypto';
import { SluiceError, isSluiceError } from '../../lib/errors.js';
import { LABELS, strictestLabel, type ColumnClass, type Label } from '../../lib/vocabulary.js';
import type { Agreement, ColumnGrant, DatasetInfo } from '../../domain/types.js';
import { compileDesensitize } from '../../transforms/desensitize.js';
import type { ColumnTreatment } from '../../transforms/treatment-schema.js';
import type { SampleSpec } from '../../transforms/sample.js';
import { checkOperatorSql, openSqlSandbox } from '../sql-guard.js';
import { specPath, throwIssues, type JobSpec, type SpecIssue, type SpecStep, type StepKind } from '../spec/spec.js';

/** One column of a step's output. */
export interface PlannedColumn {
  name: string;
  /** DuckDB type name. */
  type: string;
  class: ColumnClass;
  label: Label;
  /** The dataset column it comes from unchanged in identity (through renames-free steps), if any. */
  source?: { dataset: string; column: string };
}

/** One planned step. */
export interface PlannedStep {
  id: string;
  kind: StepKind;
  /** Ids of the steps whose outputs it reads (empty for extract). */
  needs: string[];
  /** What the step executor needs: names and settings, never data values. */
  params: Record<string, unknown>;
  columns: PlannedColumn[];
  /**
   * Set when the step runs inside the job of a later step (see {@link fuseRowLevelSteps}):
   * the id of that step. Its output is never written; the later step reads it as SQL.
   */
  fusedInto?: string;
}

/** A planned job. */
export interface Plan {
  specName: string;
  /** sha256 (hex) of the canonical JSON of the spec. */
  specHash: string;
  agreementId: string;
  /** Steps in topological order (ties keep spec order). */
  steps: PlannedStep[];
  outputs: { id: string; from: string; kind: 'table' | 'extract' | 'file' | 'model'; format: 'parquet' | 'csv' | 'json' }[];
}

/** What {@link planJob} checks the spec against. */
export interface PlanContext {
  agreement: Agreement;
  /** Registered datasets by name. */
  datasets: Map<string, DatasetInfo>;
  /** The submitting operator; when given, their organization must be the agreement's operator. */
  user?: { id: string; organization: string };
  /** ISO date (YYYY-MM-DD) the agreement's term is checked on, and the reference date for age bands; default today (UTC). */
  today?: string;
  /** Fuse chains of row-level steps into one job (default true); see {@link fuseRowLevelSteps}. */
  fuse?: boolean;
}

/** JSON with object keys sorted at every level (undefined members dropped): stable input for hashing. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const CLASS_RANK: Record<ColumnClass, number> = { 'direct-identifier': 0, 'quasi-identifier': 1, sensitive: 2, other: 3 };

/** The most identifying of several classes (`other` for none). */
function strictestClass(classes: readonly ColumnClass[]): ColumnClass {
  let best: ColumnClass = 'other';
  for (const c of classes) if (CLASS_RANK[c] < CLASS_RANK[best]) best = c;
  return best;
}

/** True when `next` protects at least as much as `current` (labels are ordered raw … aggregate). */
function atLeastAsStrong(next: Label, current: Label): boolean {
  return LABELS.indexOf(next) >= LABELS.indexOf(current);
}

/** The treatment an agreement grant requires, as the transforms express it. */
function grantTreatment(g: ColumnGrant): ColumnTreatment {
  switch (g.treatment) {
    case 'generalize':
      return { treatment: 'generalize', level: (g.level ?? '*') as never };
    default:
      return { treatment: g.treatment } as ColumnTreatment;
  }
}

// Planning compiles treatments only to learn output types and labels; the SQL never runs, so a fixed key is fine.
const PLANNING_KEY = Buffer.alloc(32, 7);

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC)\b/i;

function col(c: PlannedColumn, over: Partial<PlannedColumn> = {}): PlannedColumn {
  const out: PlannedColumn = { name: c.name, type: c.type, class: c.class, label: c.label };
  if (c.source) out.source = { ...c.source };
  return Object.assign(out, over);
}

/**
 * Plans a validated spec: checks the agreement's scope (SLUICE_ERR_SPEC_SCOPE,
 * naming the path: agreement active and in term on `today`, the user's
 * organization is its operator, each input's dataset granted and registered,
 * each column granted and present), then derives each step's columns and
 * labels. Column problems in steps are SLUICE_ERR_SPEC_INVALID; a desensitize
 * treatment weaker than the column's current label is SLUICE_ERR_SPEC_SCOPE;
 * operator SQL is checked by {@link checkOperatorSql}. Reads and writes no file.
 */
export async function planJob(spec: JobSpec, ctx: PlanContext): Promise<Plan> {
  const today = ctx.today ?? new Date().toISOString().slice(0, 10);
  const { agreement } = ctx;
  const scope: SpecIssue[] = [];
  const addScope = (segs: PropertyKey[], expected: string, found: string) => scope.push({ path: specPath(segs), line: null, expected, found });

  if (spec.agreement !== agreement.id) addScope(['agreement'], `the agreement ${agreement.id}`, `the agreement ${spec.agreement}`);
  if (agreement.status !== 'active') addScope(['agreement'], 'an active agreement', `agreement ${agreement.id} with status ${agreement.status}`);
  if (today < agreement.validFrom || today > agreement.validTo) {
    addScope(['agreement'], `an agreement in term on ${today}`, `agreement ${agreement.id} valid ${agreement.validFrom} to ${agreement.validTo}`);
  }
  if (ctx.user && ctx.user.organization !== agreement.operator) {
    addScope(['agreement'], `an agreement whose operator is the submitter's organization`, `agreement ${agreement.id} of another operator`);
  }
  for (const [inputName, input] of Object.entries(spec.inputs)) {
    const grant = agreement.grants.find((g) => g.dataset === input.dataset);
    const ds = ctx.datasets.get(input.dataset);
    if (!grant) addScope(['inputs', inputName, 'dataset'], `a dataset agreement ${agreement.id} grants (${agreement.grants.map((g) => g.dataset).join(', ') || 'none'})`, `the dataset "${input.dataset}"`);
    if (!ds) addScope(['inputs', inputName, 'dataset'], 'a registered dataset', `the dataset "${input.dataset}", which is not registered`);
    const seen = new Set<string>();
    input.columns.forEach((c, k) => {
      if (seen.has(c)) addScope(['inputs', inputName, 'columns', k], 'each column once', `column ${c} listed twice`);
      seen.add(c);
      if (grant && !grant.columns.some((g) => g.name === c)) addScope(['inputs', inputName, 'columns', k], `a column agreement ${agreement.id} grants for dataset ${input.dataset}`, `column ${c}, which it does not grant`);
      if (ds && !ds.columns.some((d) => d.name === c)) addScope(['inputs', inputName, 'columns', k], `a column of dataset ${ds.name}`, `column ${c}, which dataset ${ds.name} does not have`);
    });
  }
  if (scope.length > 0) throwIssues('SLUICE_ERR_SPEC_SCOPE', scope);

  // Topological order (Kahn), ties in spec order; parseSpec has already refused cycles.
  const index = new Map(spec.steps.map((s, i) => [s.id, i]));
  const needsOf = (s: SpecStep): string[] => (s.kind === 'extract' ? [] : s.kind === 'sql' ? [...new Set(s.from)] : [s.from]);
  const done = new Set<string>();
  const order: SpecStep[] = [];
  while (order.length < spec.steps.length) {
    const next = spec.steps.find((s) => !done.has(s.id) && needsOf(s).every((n) => done.has(n)));
    if (!next) throw new SluiceError('SLUICE_ERR_SPEC_INVALID', 'steps: expected a DAG, found a cycle (validate the spec with parseSpec first)');
    done.add(next.id);
    order.push(next);
  }

  const invalid: SpecIssue[] = [];
  const policy: SpecIssue[] = [];
  const addInvalid = (segs: PropertyKey[], expected: string, found: string) => invalid.push({ path: specPath(segs), line: null, expected, found });
  const addPolicy = (segs: PropertyKey[], expected: string, found: string) => policy.push({ path: specPath(segs), line: null, expected, found });
  const outputs = new Map<string, PlannedColumn[]>();
  const planned: PlannedStep[] = [];

  for (const step of order) {
    const i = index.get(step.id)!;
    const at = (...rest: PropertyKey[]): PropertyKey[] => ['steps', i, ...rest];
    const upstream = step.kind === 'extract' ? [] : outputs.get(step.kind === 'sql' ? step.from[0]! : step.from) ?? [];
    const has = (name: string) => upstream.find((c) => c.name === name);
    const needColumn = (segs: PropertyKey[], name: string, from: string) => {
      const c = has(name);
      if (!c) addInvalid(segs, `a column of step ${from}'s output (${upstream.map((u) => u.name).join(', ') || 'none'})`, `column ${name}, which it does not have`);
      return c;
    };
    let columns: PlannedColumn[] = [];
    let params: Record<string, unknown> = {};

    switch (step.kind) {
      case 'extract': {
        const input = spec.inputs[step.input]!;
        const ds = ctx.datasets.get(input.dataset)!;
        const grant = agreement.grants.find((g) => g.dataset === input.dataset)!;
        const treatments: Record<string, ColumnTreatment> = {};
        const srcCols = input.columns.map((name) => {
          const d = ds.columns.find((x) => x.name === name)!;
          treatments[name] = grantTreatment(grant.columns.find((g) => g.name === name)!);
          return { name, type: d.type };
        });
        try {
          const compiled = compileDesensitize({ sourceSql: 'SELECT 1', columns: srcCols }, treatments, { key: PLANNING_KEY, seed: 0, asOf: today });
          columns = compiled.columns.map((c) => ({
            name: c.name,
            type: c.type,
            class: ds.columns.find((x) => x.name === c.name)!.class,
            label: c.label,
            source: { dataset: ds.name, column: c.name },
          }));
        } catch (e) {
          if (!isSluiceError(e)) throw e;
          addPolicy(['agreement'], `agreement ${agreement.id}'s treatments to fit dataset ${ds.name}`, e.message);
        }
        params = { input: step.input, dataset: input.dataset, columns: [...input.columns], treatments };
        break;
      }
      case 'sample': {
        const seed = step.seed;
        const keyColumns = step.key_columns;
        keyColumns?.forEach((c, k) => needColumn(at('key_columns', k), c, step.from));
        let sample: SampleSpec;
        if (step.stratified) {
          step.stratified.by.forEach((c, k) => needColumn(at('stratified', 'by', k), c, step.from));
          sample = { method: 'stratified', by: step.stratified.by, fraction: step.stratified.fraction, minPerStratum: step.stratified.min_per_stratum, seed };
        } else if (step.size !== undefined) {
          sample = { method: 'fixed', size: step.size, seed };
        } else {
          sample = { method: 'bernoulli', fraction: step.fraction!, seed };
        }
        if (keyColumns) sample.keyColumns = keyColumns;
        params = { sample };
        columns = upstream.map((c) => col(c));
        break;
      }
      case 'desensitize': {
        const treatments = step.columns as Record<string, ColumnTreatment>;
        let ok = true;
        for (const [name, t] of Object.entries(treatments)) {
          if (!needColumn(at('columns', name), name, step.from)) ok = false;
          if (t.treatment === 'shift-date' && !has(t.personColumn)) {
            needColumn(at('columns', name, 'personColumn'), t.personColumn, step.from);
            ok = false;
          }
        }
        if (ok) {
          try {
            const compiled = compileDesensitize(
              { sourceSql: 'SELECT 1', columns: upstream.map((c) => ({ name: c.name, type: c.type })) },
              treatments,
              { key: PLANNING_KEY, seed: step.seed ?? 0, asOf: today },
            );
            columns = compiled.columns.map((c) => {
              const before = has(c.name)!;
              const t = treatments[c.name];
              if (t === undefined || t.treatment === 'none') return col(before);
              if (!atLeastAsStrong(c.label, before.label)) {
                addPolicy(
                  at('columns', c.name),
                  `a treatment at least as strong as column ${c.name}'s current label ${before.label} (desensitize may only strengthen)`,
                  `${t.treatment}, which gives ${c.label}`,
                );
              }
              return col(before, { type: c.type, label: c.label });
            });
          } catch (e) {
            if (!isSluiceError(e)) throw e;
            addInvalid(at('columns'), 'treatments that fit the columns\' types', e.message);
          }
        }
        params = { columns: treatments, ...(step.seed === undefined ? {} : { seed: step.seed }) };
        break;
      }
      case 'aggregate': {
        const names = new Set<string>();
        step.group_by.forEach((g, k) => {
          const c = needColumn(at('group_by', k), g, step.from);
          if (names.has(g)) addInvalid(at('group_by', k), 'each column once', `column ${g} twice`);
          names.add(g);
          if (c) columns.push(col(c));
        });
        step.measures.forEach((m, k) => {
          if (names.has(m.as)) addInvalid(at('measures', k, 'as'), 'an output name not used by a group-by column or another measure', `the name ${m.as} again`);
          names.add(m.as);
          if (m.fn === 'count' || m.fn === 'count_units') {
            columns.push({ name: m.as, type: 'BIGINT', class: 'other', label: 'aggregate' });
            return;
          }
          const c = needColumn(at('measures', k, 'column'), m.column!, step.from);
          if (c && !NUMERIC.test(c.type)) addInvalid(at('measures', k, 'column'), `a numeric column to ${m.fn}`, `column ${c.name} of type ${c.type}`);
          columns.push({ name: m.as, type: 'DOUBLE', class: c?.class ?? 'other', label: 'aggregate' });
        });
        params = {
          group_by: [...step.group_by],
          measures: step.measures.map((m) => ({ ...m })),
          ...(step.round === undefined ? {} : { round: step.round }),
          ...(step.suppress_below === undefined ? {} : { suppress_below: step.suppress_below }),
        };
        break;
      }
      case 'kanonymize': {
        const qis = step.config.quasiIdentifiers.map((q) => q.column);
        qis.forEach((q, k) => needColumn(at('config', 'quasiIdentifiers', k, 'column'), q, step.from));
        step.config.sensitive?.forEach((c, k) => needColumn(at('config', 'sensitive', k), c, step.from));
        columns = upstream.map((c) =>
          qis.includes(c.name) ? col(c, { type: 'VARCHAR', label: atLeastAsStrong(c.label, 'generalized') ? c.label : 'generalized' }) : col(c),
        );
        params = { config: structuredClone(step.config) };
        break;
      }
      case 'train': {
        const f = step.features;
        needColumn(at('target'), step.target, step.from);
        f.numeric.forEach((c, k) => {
          const col = needColumn(at('features', 'numeric', k), c, step.from);
          if (col && !NUMERIC.test(col.type)) addInvalid(at('features', 'numeric', k), 'a numeric column', `column ${c} of type ${col.type}`);
        });
        f.categorical.forEach((c, k) => needColumn(at('features', 'categorical', k), c, step.from));
        if (f.numeric.length + f.categorical.length === 0) addInvalid(at('features'), 'at least one feature column', 'none');
        if ([...f.numeric, ...f.categorical].includes(step.target)) addInvalid(at('target'), 'a column that is not also a feature', `column ${step.target} among the features`);
        step.sensitive.forEach((c, k) => {
          if (![...f.numeric, ...f.categorical].includes(c)) addInvalid(at('sensitive', k), 'one of the feature columns', `column ${c}`);
        });
        // A model has no columns; it is audited by the model checks (C1–C6), not as a table.
        columns = [];
        params = {
          target: step.target,
          features: { numeric: [...f.numeric], categorical: [...f.categorical] },
          model: { kind: step.model.kind, hyperparameters: { ...step.model.hyperparameters } },
          test_fraction: step.test_fraction,
          seed: step.seed,
          sensitive: [...step.sensitive],
        };
        break;
      }
      case 'sql': {
        const path = specPath(at('query'));
        const env = new Map<string, PlannedColumn[]>();
        for (const f of step.from) env.set(f.toLowerCase(), outputs.get(f) ?? []);
        const missing = step.from.filter((f) => (outputs.get(f) ?? []).length === 0);
        if (missing.length > 0) {
          addInvalid(at('from'), 'inputs with at least one column', `step(s) ${missing.join(', ')} without columns`);
          params = { query: step.query, tables: [...step.from] };
          break;
        }
        const checked = await checkOperatorSql(step.query, step.from, { path });
        const sandbox = await openSqlSandbox(step.from.map((f) => ({ name: f, columns: outputs.get(f)!.map((c) => ({ name: c.name, type: c.type })) })));
        let described: { name: string; type: string }[];
        try {
          described = await sandbox.describe(step.query, path);
        } finally {
          await sandbox.close();
        }
        const analysed = analyseQuery(checked.node, env);
        const all = [...env.values()].flat();
        const fallbackClass = strictestClass(all.map((c) => c.class));
        columns = described.map((d, k) => {
          const a = analysed && analysed.length === described.length ? analysed[k] : undefined;
          if (!a) return { name: d.name, type: d.type, class: fallbackClass, label: 'unknown' };
          const out: PlannedColumn = { name: d.name, type: d.type, class: a.class, label: a.label };
          if (a.source) out.source = { ...a.source };
          return out;
        });
        params = { query: step.query, tables: [...step.from] };
        break;
      }
    }
    outputs.set(step.id, columns);
    planned.push({ id: step.id, kind: step.kind, needs: needsOf(step), params, columns });
  }
  if (policy.length > 0) throwIssues('SLUICE_ERR_SPEC_SCOPE', [...policy, ...invalid]);
  if (invalid.length > 0) throwIssues('SLUICE_ERR_SPEC_INVALID', invalid);

  const plannedOutputs = spec.outputs.map((o) => ({ id: o.id, from: o.from, kind: o.kind, format: o.kind === 'model' ? ('json' as const) : o.format }));
  if (ctx.fuse !== false) fuseRowLevelSteps(planned, plannedOutputs);
  return {
    specName: spec.name,
    specHash: createHash('sha256').update(canonicalJson(spec)).digest('hex'),
    agreementId: agreement.id,
    steps: planned,
    outputs: plannedOutputs,
  };
}

/** Steps whose whole output is one SQL SELECT over their input, with nothing to report that needs the rows. */
const FUSABLE = new Set<StepKind>(['extract', 'desensitize']);
/** Steps that can read an input as SQL instead of as a file. */
const FUSING = new Set<StepKind>(['desensitize', 'aggregate']);

/**
 * Operator fusion, as a query engine pipelines operators: an extract or
 * desensitize step whose output only one desensitize or aggregate step reads,
 * and which is no output, is compiled into that step's statement instead of
 * being written to work/ and read back. A chain extract → desensitize →
 * aggregate becomes one job and one DuckDB statement; the untreated rows still
 * never exist outside raw/ (the treatments are in the same statement, as in
 * extract alone). Sets `fusedInto` to the id of the step whose job runs it.
 */
export function fuseRowLevelSteps(steps: PlannedStep[], outputs: readonly { from: string }[]): void {
  const readers = new Map<string, PlannedStep[]>();
  for (const s of steps) for (const n of s.needs) readers.set(n, [...(readers.get(n) ?? []), s]);
  const published = new Set(outputs.map((o) => o.from));
  // Reverse topological order: a reader's own fusion is settled before its input's.
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    const r = readers.get(s.id) ?? [];
    if (!FUSABLE.has(s.kind) || published.has(s.id) || r.length !== 1) continue;
    const reader = r[0]!;
    if (!FUSING.has(reader.kind) || reader.needs.length !== 1) continue;
    s.fusedInto = reader.fusedInto ?? reader.id;
  }
}

// ------------------------------------------------------------------ SQL labels

type Derived = { label: Label; class: ColumnClass; source?: { dataset: string; column: string } };
type Named = Derived & { name: string };
type Scope = { alias: string; cols: Named[] | null }[];

/** Aggregates whose result is a count, sum or mean over rows, not one row's value. */
const COUNTING_AGGREGATES = new Set(['count', 'count_star', 'sum', 'avg', 'mean', 'fsum', 'sumkahan', 'kahan_sum', 'sum_no_overflow']);

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function combine(parts: Derived[]): Derived {
  if (parts.length === 0) return { label: 'derived', class: 'other' };
  return { label: strictestLabel(parts.map((p) => p.label)), class: strictestClass(parts.map((p) => p.class)) };
}

const UNKNOWN: Derived = { label: 'unknown', class: 'direct-identifier' };

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
      return { label: 'derived', class: 'other' };
    case 'COLUMN_REF': {
      const names = (expr['column_names'] as unknown[]).map((n) => String(n).toLowerCase());
      const column = names[names.length - 1]!;
      const table = names.length >= 2 ? names[names.length - 2] : undefined;
      const matches: Named[] = [];
      for (const entry of scope) {
        if (table !== undefined && entry.alias !== table) continue;
        if (entry.cols === null) return UNKNOWN;
        const m = entry.cols.find((c) => c.name.toLowerCase() === column);
        if (m) matches.push(m);
      }
      if (matches.length === 0) return UNKNOWN;
      if (matches.length === 1) return matches[0]!;
      return combine(matches);
    }
    case 'FUNCTION': {
      const fn = String(expr['function_name']).toLowerCase();
      const inner = subExpressions(expr).map((e) => labelExpr(e, scope, env));
      if (COUNTING_AGGREGATES.has(fn)) {
        if (inner.some((d) => d.label === 'unknown')) return UNKNOWN;
        return { label: 'aggregate', class: fn.startsWith('count') ? 'other' : combine(inner).class };
      }
      return combine(inner);
    }
    case 'SUBQUERY': {
      const sub = expr['subquery'];
      const node = isObj(sub) ? sub['node'] : undefined;
      const cols = isObj(node) ? analyseNode(node, env) : null;
      if (cols === null) return UNKNOWN;
      return combine([...cols, ...subExpressions(expr).map((e) => labelExpr(e, scope, env))]);
    }
    case 'STAR':
      return UNKNOWN;
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
    out.push({ name, label: d.label, class: d.class, ...keep });
  }
  return out;
}

/** Labels of a checked query's output columns by position, or null when it cannot be analysed. */
function analyseQuery(node: Record<string, unknown>, inputs: Map<string, PlannedColumn[]>): Named[] | null {
  const env = new Map<string, Named[] | null>();
  for (const [k, cols] of inputs) env.set(k, cols.map((c) => ({ ...c })));
  return analyseNode(node, env);
}

// ------------------------------------------------------------------ printing

/** Short, value-free summary of a step's parameters for the terminal. */
function summarizeParams(s: PlannedStep): string {
  const p = s.params;
  switch (s.kind) {
    case 'extract':
      return `reads input ${String(p['input'])} (dataset ${String(p['dataset'])})`;
    case 'sample': {
      const sp = p['sample'] as SampleSpec;
      const how = sp.method === 'fixed' ? `size ${sp.size}` : sp.method === 'stratified' ? `stratified by ${sp.by.join(', ')}, fraction ${sp.fraction}` : `fraction ${sp.fraction}`;
      return `${sp.method}: ${how}, seed ${sp.seed}`;
    }
    case 'desensitize':
      return Object.entries(p['columns'] as Record<string, ColumnTreatment>)
        .map(([c, t]) => `${c} → ${t.treatment}${t.treatment === 'generalize' ? ` ${t.level}` : ''}`)
        .join(', ');
    case 'aggregate':
      return `group by ${(p['group_by'] as string[]).join(', ') || '(all rows)'}`;
    case 'sql':
      return `SELECT over ${(p['tables'] as string[]).join(', ')} (${[...String(p['query'])].length} characters)`;
    case 'kanonymize':
      return `k = ${String((p['config'] as { k?: unknown }).k)}`;
    case 'train': {
      const m = p['model'] as { kind: string };
      const f = p['features'] as { numeric: string[]; categorical: string[] };
      return `${m.kind} model of ${String(p['target'])} on ${f.numeric.length + f.categorical.length} feature column(s), test fraction ${String(p['test_fraction'])}`;
    }
  }
}

/**
 * Prints a plan for a terminal: each step in order with its kind, what it
 * needs, a short parameter summary and its columns (type, class, label), then
 * the outputs.
 */
export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`plan ${plan.specName}  agreement ${plan.agreementId}  spec sha256 ${plan.specHash.slice(0, 16)}…`);
  lines.push('steps:');
  plan.steps.forEach((s, n) => {
    const needs = s.needs.length > 0 ? ` ← ${s.needs.join(', ')}` : '';
    const fused = s.fusedInto ? `  (runs inside step ${s.fusedInto}'s job; not written)` : '';
    lines.push(`  ${n + 1}. ${s.id} [${s.kind}]${needs}  ${summarizeParams(s)}${fused}`);
    const w = Math.max(4, ...s.columns.map((c) => c.name.length));
    const t = Math.max(4, ...s.columns.map((c) => c.type.length));
    for (const c of s.columns) {
      const flag = c.label === 'raw' || c.label === 'unknown' ? '  !' : '';
      lines.push(`       ${c.name.padEnd(w)}  ${c.type.padEnd(t)}  ${c.class.padEnd(17)}  ${c.label}${flag}`);
    }
  });
  lines.push('outputs:');
  for (const o of plan.outputs) lines.push(`  ${o.id} ← ${o.from}  ${o.kind} (${o.format})`);
  return lines.join('\n');
}
