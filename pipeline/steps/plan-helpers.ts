/** Small helpers the kinds' planners share: column copies, label and class order, type tests. */
import { LABELS, type ColumnClass, type Label } from '../../lib/vocabulary.js';
import type { PlannedColumn } from './definition.js';

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

/** A copy of a planned column, with `over` applied. */
export function col(c: PlannedColumn, over: Partial<PlannedColumn> = {}): PlannedColumn {
  const out: PlannedColumn = { name: c.name, type: c.type, class: c.class, label: c.label };
  if (c.source) out.source = { ...c.source };
  return Object.assign(out, over);
}
