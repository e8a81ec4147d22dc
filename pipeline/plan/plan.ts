/**
 * The planner (dry run): checks a validated job spec against its agreement and
 * the dataset catalog, and derives, step by step in topological order, the
 * columns each step produces with their types, classes and labels (each kind's
 * own planner, from the step registry). It reads and writes no file: SQL steps
 * are described against empty tables in an in-memory sandbox.
 */
import { createHash } from 'node:crypto';
import { SluiceError } from '../../lib/errors.js';
import { inForceState } from '../../domain/in-force.js';
import type { Agreement, DatasetInfo } from '../../domain/types.js';
import type { PlannedColumn } from '../steps/definition.js';
import { copyOrigins, mergeOrigins, stepTag } from '../steps/plan-helpers.js';
import { findStepDefinition, stepDefinition, type PlannedStep, type SpecStep } from '../steps/index.js';
import { assertLineage } from './lineage-policy.js';
import { assertStructure } from '../gate/structure.js';
import { resolveThresholds } from '../../audit/thresholds.js';
import { specPath, throwIssues, type SpecIssue } from '../spec/fields.js';
import type { JobSpec } from '../spec/spec.js';

export type { PlannedColumn } from '../steps/definition.js';
export type { PlannedStep, PlannedStepOf } from '../steps/index.js';

/** One planned output: which step it stages, as what. */
export interface PlannedOutput {
  id: string;
  from: string;
  kind: 'table' | 'extract' | 'file' | 'model';
  format: 'parquet' | 'csv' | 'json';
  /** Declared synthetic in the spec: the audit runs B6. */
  synthetic?: boolean;
}

/** A planned job. */
export interface Plan {
  specName: string;
  /** sha256 (hex) of the canonical JSON of the spec. */
  specHash: string;
  agreementId: string;
  /** Steps in topological order (ties keep spec order). */
  steps: PlannedStep[];
  outputs: PlannedOutput[];
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

/**
 * Plans a validated spec: checks the agreement's scope (SLUICE_ERR_SPEC_SCOPE,
 * naming the path: agreement active and in term on `today`, the user's
 * organization is its operator, each input's dataset granted and registered,
 * each column granted and present), then derives each step's columns and
 * labels. Column problems in steps are SLUICE_ERR_SPEC_INVALID; a desensitize
 * treatment weaker than the column's current label is SLUICE_ERR_SPEC_SCOPE;
 * operator SQL is checked by {@link checkOperatorSql}. Then the lineage policy
 * (SLUICE_ERR_PLAN_LINEAGE, see {@link assertLineage}): no output column, and
 * nothing written to work/, carries a raw, keyless-derived or untraceable
 * direct identifier; and what the gate would refuse on structure alone
 * (SLUICE_ERR_PLAN_GATE with the gate's check id and a hint, see
 * {@link assertStructure}). Reads and writes no file.
 */
export async function planJob(spec: JobSpec, ctx: PlanContext): Promise<Plan> {
  const today = ctx.today ?? new Date().toISOString().slice(0, 10);
  const { agreement } = ctx;
  const scope: SpecIssue[] = [];
  const addScope = (segs: PropertyKey[], expected: string, found: string) => scope.push({ path: specPath(segs), line: null, expected, found });

  if (spec.agreement !== agreement.id) addScope(['agreement'], `the agreement ${agreement.id}`, `the agreement ${spec.agreement}`);
  // The one notion of "in force" (the engine refuses before planning, with SLUICE_ERR_AGREEMENT_NOT_IN_FORCE).
  const inForce = inForceState(agreement, new Date(`${today}T00:00:00Z`));
  if (agreement.status !== 'active') addScope(['agreement'], 'an active agreement', `agreement ${agreement.id} with status ${agreement.status}`);
  else if (inForce !== 'in-force') {
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
  const needsOf = (s: SpecStep): string[] => stepDefinition(s.kind).needs(s);
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
    const def = stepDefinition(step.kind);
    const needs = needsOf(step);
    const inputs = new Map(needs.map((n) => [n, outputs.get(n) ?? []]));
    const upstream = needs.length > 0 ? inputs.get(needs[0]!)! : [];
    const has = (name: string) => upstream.find((c) => c.name === name);
    const { columns, params } = await def.plan(step, {
      at: (...rest) => ['steps', i, ...rest],
      inputs,
      upstream,
      has,
      needColumn: (segs, name, from) => {
        const c = has(name);
        if (!c) addInvalid(segs, `a column of step ${from}'s output (${upstream.map((u) => u.name).join(', ') || 'none'})`, `column ${name}, which it does not have`);
        return c;
      },
      addInvalid,
      addPolicy,
      specInputs: spec.inputs,
      agreement,
      datasets: ctx.datasets,
      today,
    });
    const traced = traceThrough(step, columns, [...inputs.values()].flat());
    outputs.set(step.id, traced);
    // The kind's planner made `params` for this very step: kind and params agree by construction.
    planned.push({ id: step.id, kind: step.kind, needs, params, columns: traced } as PlannedStep);
  }
  if (policy.length > 0) throwIssues('SLUICE_ERR_SPEC_SCOPE', [...policy, ...invalid]);
  if (invalid.length > 0) throwIssues('SLUICE_ERR_SPEC_INVALID', invalid);

  const plannedOutputs = spec.outputs.map((o): PlannedOutput => ({ id: o.id, from: o.from, kind: o.kind, format: o.kind === 'model' ? 'json' : o.format, ...(o.synthetic === true ? { synthetic: true } : {}) }));
  assertLineage(planned, plannedOutputs, agreement, ctx.datasets);
  const thresholds = resolveThresholds(agreement.auditThresholds, spec.audit?.thresholds);
  assertStructure(plannedOutputs, planned, { allowedFileTypes: thresholds.A10.allowedFileTypes, datasets: ctx.datasets });
  if (ctx.fuse !== false) fuseRowLevelSteps(planned, plannedOutputs);
  return {
    specName: spec.name,
    specHash: createHash('sha256').update(canonicalJson(spec)).digest('hex'),
    agreementId: agreement.id,
    steps: planned,
    outputs: plannedOutputs,
  };
}

/**
 * Every column of a step's output with the step added to the path of each of
 * its origins. A column a kind's planner gave no lineage is taken to carry any
 * of the step's input columns, as `unknown` (deny).
 */
function traceThrough(step: SpecStep, columns: PlannedColumn[], inputs: PlannedColumn[]): PlannedColumn[] {
  const tag = stepTag(step);
  return columns.map((c) => {
    const lineage = Array.isArray(c.lineage) ? copyOrigins(c.lineage) : mergeOrigins(inputs.map((i) => i.lineage)).map((o) => ({ ...o, label: 'unknown' as const }));
    return { ...c, lineage: lineage.map((o) => (o.path.at(-1) === tag ? o : { ...o, path: [...o.path, tag] })) };
  });
}

/**
 * Operator fusion, as a query engine pipelines operators: a step whose kind
 * compiles to one SELECT over its input (extract, desensitize), whose output
 * only one step reads, which reads it as SQL (desensitize, aggregate), and
 * which is no output, is compiled into that step's statement instead of being
 * written to work/ and read back. A chain extract → desensitize → aggregate
 * becomes one job and one DuckDB statement; the untreated rows still never
 * exist outside raw/ (the treatments are in the same statement, as in extract
 * alone). Sets `fusedInto` to the id of the step whose job runs it.
 */
export function fuseRowLevelSteps(steps: PlannedStep[], outputs: readonly { from: string }[]): void {
  const readers = new Map<string, PlannedStep[]>();
  for (const s of steps) for (const n of s.needs) readers.set(n, [...(readers.get(n) ?? []), s]);
  const published = new Set(outputs.map((o) => o.from));
  // Reverse topological order: a reader's own fusion is settled before its input's.
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    const r = readers.get(s.id) ?? [];
    if (!findStepDefinition(s.kind)?.fusion?.compile || published.has(s.id) || r.length !== 1) continue;
    const reader = r[0]!;
    if (!findStepDefinition(reader.kind)?.fusion?.readsSql || reader.needs.length !== 1) continue;
    s.fusedInto = reader.fusedInto ?? reader.id;
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
    lines.push(`  ${n + 1}. ${s.id} [${s.kind}]${needs}  ${stepDefinition(s.kind).summarize(s.params)}${fused}`);
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
