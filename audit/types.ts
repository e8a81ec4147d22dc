import type { Status } from '../lib/vocabulary.js';

/** Result of one audit check. Never holds a raw data value. */
export interface CheckResult {
  /** The check id from AUDIT.md, e.g. `A1`, `B3`, `C4`. */
  id: string;
  /** Short name, e.g. `threshold`. */
  name: string;
  status: Status;
  /** One line a reviewer reads first; counts and column names only. */
  summary: string;
  /** Columns the finding concerns (names only). */
  columns: string[];
  /** Numbers the check measured (counts, shares, AUCs, …). */
  metrics: Record<string, number | string | boolean | null>;
  /** The thresholds and options the check ran with. */
  parameters: Record<string, number | string | boolean | null>;
  /**
   * Small evidence series for plots; never values. Points are `[x, y]`. Names the
   * HTML report knows (audit/report-html.ts): `roc` (FPR, TPR), any name ending in
   * `Histogram` (bin lower edge, count; e.g. `cellSizeHistogram`,
   * `classSizeHistogram`, `riskHistogram`), `scoreHistogramMembers` /
   * `scoreHistogramNonMembers` (drawn together); anything else as a line.
   */
  series?: Record<string, Array<[number, number]>>;
}

/** What a report is about. */
export interface ReportSubject {
  kind: 'table' | 'extract' | 'model' | 'file';
  artifactHash: string;
  recipeHash?: string;
  runId?: string;
  outputId?: string;
  /** Hashes of the inputs the artifact descends from. */
  inputs: string[];
}

/** A written exception to a failed check, as recorded on a report (AUDIT.md §D). */
export interface ReportException {
  /** The check excepted, e.g. `A6`. */
  checkId: string;
  reason: string;
  /** The reviewers who approved the exception (two distinct ones are needed). */
  approvedBy: string[];
}

/** A review of the reported artifact, as recorded on a report (AUDIT.md §D). */
export interface ReportReview {
  reviewerId: string;
  decision: 'approve' | 'reject';
  exception: boolean;
  reason: string;
  createdAt: string;
}

/** The non-restoration audit report (AUDIT.md §D). */
export interface AuditReport {
  version: 1;
  subject: ReportSubject;
  /** The thresholds in force, flattened: `A1.threshold` → 10. */
  thresholds: Record<string, number | string | boolean>;
  checks: CheckResult[];
  status: Status;
  createdAt: string;
  /** Exceptions granted on failed checks, when the report is shown after review. */
  exceptions?: ReportException[];
  /** Reviews of this artifact hash, when the report is shown after review. */
  reviews?: ReportReview[];
  /**
   * The audit log's head (seq and MAC of its last row) when the report was
   * written; signed with the report, so a log cut short or rewritten below it
   * no longer matches any report. Null: the log was empty.
   */
  auditLogHead?: { seq: number; mac: string } | null;
}
