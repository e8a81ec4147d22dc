/**
 * The words every layer shares: column classes, treatments and labels.
 * Kept here (not in domain/) so that transforms/ and audit/ can use them
 * without importing the control plane.
 */

/** The class a data provider gives each column of a registered dataset. */
export const COLUMN_CLASSES = ['direct-identifier', 'quasi-identifier', 'sensitive', 'other'] as const;
export type ColumnClass = (typeof COLUMN_CLASSES)[number];

/**
 * The treatment an agreement requires before a column leaves raw/.
 * `none` is only allowed for `other` and `sensitive` columns the agreement grants as-is.
 */
export const TREATMENTS = ['drop', 'mask', 'tokenize', 'generalize', 'none'] as const;
export type Treatment = (typeof TREATMENTS)[number];

/**
 * The label an artifact column carries, derived through the steps. Ordered from
 * most to least restrictive; when inputs are fused the strictest wins and
 * `unknown` means deny.
 */
export const LABELS = ['raw', 'unknown', 'masked', 'generalized', 'token', 'derived', 'aggregate'] as const;
export type Label = (typeof LABELS)[number];

/** The strictest of several labels (raw beats everything; unknown beats the rest). */
export function strictestLabel(labels: readonly Label[]): Label {
  let best: Label = 'aggregate';
  for (const l of labels) if (LABELS.indexOf(l) < LABELS.indexOf(best)) best = l;
  return labels.length === 0 ? 'unknown' : best;
}

/** Audit status, per check and overall, as in ACRO. */
export const STATUSES = ['pass', 'review', 'fail'] as const;
export type Status = (typeof STATUSES)[number];

/** The worse of statuses: fail > review > pass. */
export function worstStatus(statuses: readonly Status[]): Status {
  if (statuses.includes('fail')) return 'fail';
  if (statuses.includes('review')) return 'review';
  return 'pass';
}

/** Description of one column of a table as the audit and the planner see it. */
export interface ColumnInfo {
  name: string;
  class: ColumnClass;
  label: Label;
}
