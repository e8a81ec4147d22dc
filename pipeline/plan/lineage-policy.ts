/**
 * The lineage policy, checked at plan time (and so at submit, which plans):
 * no column of an output, and no column a step writes to work/, carries a
 * direct identifier other than through an approved keyed treatment — a token
 * under the agreement's key, a count, a drop (the column is gone), or a mask
 * that keeps no more than the agreement's. A raw direct identifier, or one
 * derived from it without a key (a hash, a salted hash, a substring, a
 * concatenation, a digit substitution: SQL has no key), is refused; so is any
 * column whose lineage the planner cannot follow (`unknown` means deny).
 * Errors name the output (or the step), the column and the path of steps.
 */
import { SluiceError } from '../../lib/errors.js';
import { forbiddenGrants } from '../../domain/grant-policy.js';
import { MASK_PRESETS } from '../../transforms/mask.js';
import type { Agreement, DatasetInfo } from '../../domain/types.js';
import type { ColumnOrigin, PlannedColumn } from '../steps/definition.js';
import { stepDefinition, type PlannedStep } from '../steps/index.js';
import { stepTag } from '../steps/plan-helpers.js';

/** One column the policy refuses. */
export interface LineageIssue {
  /** The output that would carry it, or null for a step's artifact in work/. */
  output: string | null;
  /** The step whose column it is. */
  step: string;
  column: string;
  /** Why, naming the dataset column (never a value). */
  reason: string;
  /** The path: dataset column → steps → output, e.g. `population.mobile → extract:people → sql:q1 → output contacts`. */
  path: string;
}

/** The outputs as the policy needs them. */
interface OutputRef {
  id: string;
  from: string;
}

/** Why an origin may not reach where it is, or null when it may. */
function refusal(o: ColumnOrigin, agreement: Agreement): string | null {
  const name = `${o.dataset}.${o.column}`;
  if (o.label === 'unknown') return `lineage the planner cannot follow (it may carry ${o.class} ${name})`;
  if (o.class !== 'direct-identifier') return null;
  switch (o.label) {
    case 'token':
    case 'aggregate':
      return null;
    case 'raw':
      return `a raw or keyless-derived direct identifier (${name}); tokenize it under the agreement's key, drop it, or count it`;
    default: {
      const t = o.treatment;
      if (t && (t.by === 'agreement' || maskWithinAgreement(o, agreement))) return null;
      const how = t ? `${t.name} at ${t.at}` : o.label;
      return `direct identifier ${name} treated by ${how}, which keeps more than agreement ${agreement.id} allows; tokenize it, drop it, or keep the agreement's mask`;
    }
  }
}

/** A mask (or redaction) that keeps nothing, or no more than the mask the agreement grants for that column. */
function maskWithinAgreement(o: ColumnOrigin, agreement: Agreement): boolean {
  const keeps = o.treatment?.keeps;
  if (!keeps) return false;
  if (keeps.start === 0 && keeps.end === 0) return true;
  const grant = agreement.grants.find((g) => g.dataset === o.dataset)?.columns.find((c) => c.name === o.column);
  return grant?.treatment === 'mask' && keeps.start <= MASK_PRESETS.mobile.keepStart && keeps.end <= MASK_PRESETS.mobile.keepEnd;
}

function pathOf(o: ColumnOrigin, end: string[]): string {
  return [`${o.dataset}.${o.column}`, ...o.path, ...end].join(' → ');
}

/** The issues of one column: one per distinct reason (the first origin that has it names the path). */
function columnIssues(c: PlannedColumn, agreement: Agreement, at: { output: string | null; step: string; end: string[] }): LineageIssue[] {
  const byReason = new Map<string, LineageIssue>();
  for (const o of c.lineage ?? []) {
    const reason = refusal(o, agreement);
    if (reason === null) continue;
    const key = o.label === 'unknown' ? 'unknown' : reason;
    if (!byReason.has(key)) byReason.set(key, { output: at.output, step: at.step, column: c.name, reason, path: pathOf(o, at.end) });
  }
  if (c.label === 'unknown' && byReason.size === 0) {
    byReason.set('unknown', { output: at.output, step: at.step, column: c.name, reason: 'lineage the planner cannot follow', path: [...at.end].join(' → ') });
  }
  return [...byReason.values()];
}

/**
 * Every column the policy refuses: first those of each output (for a model,
 * the columns its training step reads), then any raw direct identifier an
 * agreement grant would put into work/ (an extract of a column granted `none`).
 */
export function lineageIssues(steps: readonly PlannedStep[], outputs: readonly OutputRef[], agreement: Agreement, datasets: ReadonlyMap<string, DatasetInfo>): LineageIssue[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const issues: LineageIssue[] = [];
  for (const out of outputs) {
    const step = byId.get(out.from);
    if (!step) continue;
    const carried = stepDefinition(step.kind).carries?.(step.params as never);
    if (carried) {
      // A model: the columns it was fitted on, of the step it reads.
      const input = byId.get(step.needs[0] ?? '');
      for (const c of input?.columns.filter((x) => carried.includes(x.name)) ?? []) {
        issues.push(...columnIssues(c, agreement, { output: out.id, step: step.id, end: [stepTag(step), `output ${out.id}`] }));
      }
      continue;
    }
    for (const c of step.columns) issues.push(...columnIssues(c, agreement, { output: out.id, step: step.id, end: [`output ${out.id}`] }));
  }
  // work/ never receives a raw direct identifier, even one no output carries.
  for (const s of steps) {
    const raw = stepDefinition(s.kind).readsRaw?.(s.params as never);
    if (!raw) continue;
    const grant = agreement.grants.filter((g) => g.dataset === raw.dataset);
    const cols = new Set(s.columns.map((c) => c.name));
    for (const f of forbiddenGrants(grant, datasets)) {
      if (!cols.has(f.column)) continue;
      issues.push({
        output: null, step: s.id, column: f.column,
        reason: `agreement ${agreement.id} grants direct identifier ${f.dataset}.${f.column} with treatment ${f.treatment}; the extract would pass it raw into work/ and the operator's SQL`,
        path: `${f.dataset}.${f.column} → ${stepTag(s)}`,
      });
    }
  }
  return issues;
}

function formatIssue(i: LineageIssue): string {
  return `${i.output !== null ? `output ${i.output}` : `step ${i.step} (work/)`} column ${i.column}: ${i.reason} (lineage ${i.path})`;
}

/** Throws SLUICE_ERR_PLAN_LINEAGE listing every issue (each names output or step, column and path), if there is any. */
export function assertLineage(steps: readonly PlannedStep[], outputs: readonly OutputRef[], agreement: Agreement, datasets: ReadonlyMap<string, DatasetInfo>): void {
  const issues = lineageIssues(steps, outputs, agreement, datasets);
  if (issues.length === 0) return;
  const first = issues[0]!;
  const message =
    issues.length === 1
      ? formatIssue(first)
      : `the plan is refused: ${issues.length} columns carry what may not leave raw/:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`;
  throw new SluiceError('SLUICE_ERR_PLAN_LINEAGE', message, { details: { issues: issues.map((i) => ({ ...i })) } });
}
