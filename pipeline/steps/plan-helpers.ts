/** Small helpers the kinds' planners share: column copies, label and class order, type tests. */
import { LABELS, type ColumnClass, type Label } from '../../lib/vocabulary.js';
import type { ColumnOrigin, OriginTreatment, PlannedColumn } from './definition.js';

const CLASS_RANK: Record<ColumnClass, number> = { 'direct-identifier': 0, 'quasi-identifier': 1, sensitive: 2, other: 3 };

/** The most identifying of several classes (`other` for none). */
export function strictestClass(classes: readonly ColumnClass[]): ColumnClass {
  let best: ColumnClass = 'other';
  for (const c of classes) if (CLASS_RANK[c] < CLASS_RANK[best]) best = c;
  return best;
}

/** True when `next` protects at least as much as `current` (labels are ordered raw … aggregate). */
export function atLeastAsStrong(next: Label, current: Label): boolean {
  return LABELS.indexOf(next) >= LABELS.indexOf(current);
}

/** Planning compiles treatments only to learn output types and labels; the SQL never runs, so a fixed key is fine. */
export const PLANNING_KEY = Buffer.alloc(32, 7);

/** DuckDB numeric type names. */
export const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC)\b/i;

/** A copy of a planned column (its lineage copied too), with `over` applied. */
export function col(c: PlannedColumn, over: Partial<PlannedColumn> = {}): PlannedColumn {
  const out: PlannedColumn = { name: c.name, type: c.type, class: c.class, label: c.label, lineage: copyOrigins(c.lineage) };
  if (c.source) out.source = { ...c.source };
  return Object.assign(out, over);
}

/** How a step appears in a path of lineage: `kind:id` (e.g. `extract:residents`). */
export function stepTag(step: { kind: string; id: string }): string {
  return `${step.kind}:${step.id}`;
}

/** Deep copies of origins (paths and treatments are never shared between columns). */
export function copyOrigins(origins: readonly ColumnOrigin[] | undefined): ColumnOrigin[] {
  return (origins ?? []).map((o) => {
    const c: ColumnOrigin = { dataset: o.dataset, column: o.column, class: o.class, label: o.label, path: [...o.path] };
    if (o.treatment) c.treatment = { ...o.treatment, ...(o.treatment.keeps ? { keeps: { ...o.treatment.keeps } } : {}) };
    return c;
  });
}

/**
 * The origins after a treatment that gives `label`: each origin takes `label`
 * unless it is already protected at least as strongly (a treatment never
 * weakens what an earlier one did), and records `treatment` when it changes.
 */
export function treatOrigins(origins: readonly ColumnOrigin[] | undefined, label: Label, treatment?: OriginTreatment): ColumnOrigin[] {
  return copyOrigins(origins).map((o) => {
    if (o.label === 'unknown' || atLeastAsStrong(o.label, label)) return o;
    const next: ColumnOrigin = { ...o, label };
    if (treatment) next.treatment = { ...treatment, ...(treatment.keeps ? { keeps: { ...treatment.keeps } } : {}) };
    return next;
  });
}

/** The union of several columns' origins, each (dataset column, label, path, treatment) once. */
export function mergeOrigins(lists: readonly (readonly ColumnOrigin[] | undefined)[]): ColumnOrigin[] {
  const seen = new Map<string, ColumnOrigin>();
  for (const list of lists) {
    for (const o of copyOrigins(list)) {
      const key = JSON.stringify([o.dataset, o.column, o.label, o.path, o.treatment?.name ?? null, o.treatment?.at ?? null]);
      if (!seen.has(key)) seen.set(key, o);
    }
  }
  return [...seen.values()];
}
