/**
 * What the gate refuses about an output on its structure alone, before any
 * row is read: one home for the predicates the gate applies to a staged
 * output and the planner applies to a planned one (so `plan` says at once
 * what the gate would say at the end of a run), each with the gate's check id
 * and a hint of what to write instead.
 */
import { fileTypeAllowed } from '../../audit/package-gates.js';
import { SluiceError } from '../../lib/errors.js';
import type { DatasetInfo } from '../../domain/types.js';
import type { PlannedColumn } from '../steps/definition.js';
import { stepDefinition, type PlannedStep } from '../steps/index.js';

/** One structural reason the gate would refuse an output. */
export interface StructuralProblem {
  /** The gate's check id (D0: cannot be audited; A10: package gates). */
  check: 'D0' | 'A10';
  reason: string;
  /** What to write instead. */
  hint: string;
}

/** An output as these checks see it. */
export interface OutputShape {
  id: string;
  /** The step it stages. */
  from: string;
  kind: 'table' | 'extract' | 'file' | 'model';
  format: 'parquet' | 'csv' | 'json';
}

/**
 * D0: a table needs the per-unit evidence only a step with table evidence (the
 * aggregate step) records, and a model needs a step that trains one. Null when
 * the output's kind fits its step.
 */
export function evidenceProblem(output: OutputShape, step: PlannedStep): StructuralProblem | null {
  const evidence = stepDefinition(step.kind).evidence;
  if (output.kind === 'table' && !evidence?.table) {
    return {
      check: 'D0',
      reason: `a table must come from an aggregate step, which records each unit's contributions for the audit; step ${step.id} is a ${step.kind} step`,
      hint: `add a step { kind: aggregate, from: ${step.id}, group_by: [...], measures: [...] } and take the output from it, or declare the output kind: extract (row-level, always reviewed)`,
    };
  }
  if (output.kind === 'model' && !evidence?.model) {
    return { check: 'D0', reason: `a model must come from a step that trains one; step ${step.id} is a ${step.kind} step`, hint: 'take the output from a train step' };
  }
  return null;
}

/** A10: the declared format of a table is not in the allowlist (the agreement's, tightened by the spec). */
export function formatProblem(output: OutputShape, allowedFileTypes: readonly string[]): StructuralProblem | null {
  if (output.kind !== 'table' || fileTypeAllowed(output.format, allowedFileTypes)) return null;
  return { check: 'A10', reason: `file type not in the allowlist (${allowedFileTypes.join(', ')})`, hint: `write format: ${allowedFileTypes[0] ?? 'csv'}` };
}

/**
 * The column of `columns` that identifies persons or entities: the one whose
 * lineage is a dataset's unit column unchanged in identity (tokenized is fine).
 * Null when there is none. The aggregate step counts units by it.
 */
export function unitColumnOf(columns: readonly PlannedColumn[], datasets: ReadonlyMap<string, Pick<DatasetInfo, 'unitColumn'>>): string | null {
  for (const c of columns) {
    if (!c.source) continue;
    if (datasets.get(c.source.dataset)?.unitColumn === c.source.column) return c.name;
  }
  return null;
}

/** D0: a table whose aggregate's input keeps no unit column cannot be counted per unit. */
export function unitProblem(output: OutputShape, step: PlannedStep, input: PlannedStep | undefined, datasets: ReadonlyMap<string, Pick<DatasetInfo, 'unitColumn'>>): StructuralProblem | null {
  if (output.kind !== 'table' || !stepDefinition(step.kind).evidence?.table || !input) return null;
  if (unitColumnOf(input.columns, datasets) !== null) return null;
  return {
    check: 'D0',
    reason: `step ${step.id}'s input (step ${input.id}) keeps no column that identifies persons or entities, so no cell can be counted per unit`,
    hint: `keep the dataset's unit column (e.g. id_number, tokenized) in step ${input.id}'s output`,
  };
}

/**
 * Throws SLUICE_ERR_PLAN_GATE listing every structural problem of the planned
 * outputs (each with the gate's check id and a hint), if there is any.
 */
export function assertStructure(
  outputs: readonly OutputShape[],
  steps: readonly PlannedStep[],
  ctx: { allowedFileTypes: readonly string[]; datasets: ReadonlyMap<string, Pick<DatasetInfo, 'unitColumn'>> },
): void {
  const found = outputs.flatMap((o) => structuralProblems(o, steps, ctx).map((p) => ({ output: o.id, ...p })));
  if (found.length === 0) return;
  const errs = found.map((f) => SluiceError.of('SLUICE_ERR_PLAN_GATE', { output: f.output, check: f.check, reason: f.reason, hint: f.hint }));
  const message = errs.length === 1 ? errs[0]!.message : `the plan is refused: the gate would refuse ${errs.length} things on structure alone:\n${errs.map((e) => `  - ${e.message}`).join('\n')}`;
  throw new SluiceError('SLUICE_ERR_PLAN_GATE', message, { details: { problems: found } });
}

/** Every structural problem of a planned output (see {@link evidenceProblem}, {@link formatProblem}, {@link unitProblem}). */
export function structuralProblems(
  output: OutputShape,
  steps: readonly PlannedStep[],
  ctx: { allowedFileTypes: readonly string[]; datasets: ReadonlyMap<string, Pick<DatasetInfo, 'unitColumn'>> },
): StructuralProblem[] {
  const step = steps.find((s) => s.id === output.from);
  if (!step) return [];
  const input = steps.find((s) => s.id === step.needs[0]);
  return [evidenceProblem(output, step), formatProblem(output, ctx.allowedFileTypes), unitProblem(output, step, input, ctx.datasets)].filter((p): p is StructuralProblem => p !== null);
}
