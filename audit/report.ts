/**
 * The audit report (AUDIT.md §D): built from the check results, summarised for
 * a terminal, and scanned for raw values before any text leaves the domain.
 */
import { SluiceError } from '../lib/errors.js';
import { STATUSES, worstStatus, type Status } from '../lib/vocabulary.js';
import { flattenThresholds, type Thresholds } from './thresholds.js';
import type { AuditReport, CheckResult, ReportException, ReportReview, ReportSubject } from './types.js';

/** Input of {@link buildReport}. */
export interface BuildReportInput {
  subject: ReportSubject;
  /** The thresholds in force: the resolved nested object, or already flattened. */
  thresholds: Readonly<Thresholds> | Record<string, number | string | boolean>;
  checks: CheckResult[];
  /** When the audit ran: an ISO string or a Date (required, so that a report is reproducible). */
  createdAt: string | Date;
  /** Exceptions already granted (normally none when the audit runs). */
  exceptions?: ReportException[];
  /** Reviews already recorded (normally none when the audit runs). */
  reviews?: ReportReview[];
  /** The audit log's head when the report is written (ControlPlane.auditLogHead): signed with it. */
  auditLogHead?: { seq: number; mac: string } | null;
}

function isNested(t: BuildReportInput['thresholds']): t is Readonly<Thresholds> {
  const a1 = (t as Record<string, unknown>)['A1'];
  return a1 !== null && typeof a1 === 'object';
}

/**
 * Assembles the report: the subject, the thresholds flattened (`A1.threshold`
 * → 10), the checks in the order given and the overall status, which is the
 * worst check status (fail > review > pass; no checks is pass). Throws
 * SLUICE_ERR_AUDIT_FAILED when a check carries an unknown status or the subject
 * has no artifact hash, so that a malformed report is never signed.
 */
export function buildReport(input: BuildReportInput): AuditReport {
  const { subject, checks } = input;
  if (typeof subject.artifactHash !== 'string' || subject.artifactHash === '') {
    throw new SluiceError('SLUICE_ERR_AUDIT_FAILED', 'report: subject.artifactHash is empty; a report must bind to an artifact hash');
  }
  checks.forEach((c, i) => {
    if (!STATUSES.includes(c.status)) {
      throw new SluiceError('SLUICE_ERR_AUDIT_FAILED', `report: checks[${i}] (${c.id}) has status outside pass/review/fail`);
    }
  });
  const createdAt = input.createdAt instanceof Date ? input.createdAt.toISOString() : input.createdAt;
  if (Number.isNaN(Date.parse(createdAt))) {
    throw new SluiceError('SLUICE_ERR_AUDIT_FAILED', 'report: createdAt is not an ISO date-time');
  }
  const report: AuditReport = {
    version: 1,
    subject: structuredClone(subject),
    thresholds: isNested(input.thresholds) ? flattenThresholds(input.thresholds) : { ...input.thresholds },
    checks: structuredClone(checks),
    status: worstStatus(checks.map((c) => c.status)),
    createdAt,
  };
  if (input.exceptions !== undefined) report.exceptions = structuredClone(input.exceptions);
  if (input.reviews !== undefined) report.reviews = structuredClone(input.reviews);
  if (input.auditLogHead !== undefined) report.auditLogHead = input.auditLogHead === null ? null : { seq: input.auditLogHead.seq, mac: input.auditLogHead.mac };
  return report;
}

function statusWord(s: Status): string {
  return s.toUpperCase().padEnd(6);
}

/**
 * A terminal summary: one header line with the overall status and the
 * artifact hash (first 12 hex digits), the count per status, then one line
 * per check: `  A1   FAIL    threshold: <summary>`.
 */
export function summarizeReport(report: AuditReport): string {
  const n = (s: Status): number => report.checks.filter((c) => c.status === s).length;
  const head =
    `audit of ${report.subject.kind} ${report.subject.artifactHash.slice(0, 12)}: ${report.status.toUpperCase()} ` +
    `(${n('fail')} fail, ${n('review')} review, ${n('pass')} pass)`;
  const width = Math.max(3, ...report.checks.map((c) => c.id.length));
  const lines = report.checks.map((c) => `  ${c.id.padEnd(width)}  ${statusWord(c.status)}  ${c.name}: ${c.summary}`);
  const extra: string[] = [];
  if (report.exceptions && report.exceptions.length > 0) extra.push(`  exceptions: ${report.exceptions.map((e) => e.checkId).join(', ')}`);
  if (report.reviews && report.reviews.length > 0) {
    const approve = report.reviews.filter((r) => r.decision === 'approve').length;
    extra.push(`  reviews: ${approve} approve, ${report.reviews.length - approve} reject`);
  }
  return [head, ...lines, ...extra].join('\n');
}

/** Options of {@link assertNoRawValues}. */
export interface RawScanOptions {
  /** Raw values shorter than this (after normalising) are not scanned. Default 1: every value counts. */
  minLength?: number;
}

function normalise(s: string): string {
  // Same normalisation as B1: NFKC folds full-width forms, then case.
  return s.normalize('NFKC').toLowerCase();
}

const ASCII_ALNUM = /[a-z0-9]/;

/**
 * Counts occurrences of raw values in `text` (a report, a log line, an error)
 * after normalising case and width (NFKC). A value that begins or ends with an
 * ASCII letter or digit only matches at a token edge there, so `35` is not found
 * inside `1350`; values in CJK scripts match as substrings. Returns the number of
 * hits and never the hits themselves, so the result can be logged. Note that a
 * short numeric raw value can coincide with a count in a report; scan values
 * that identify (names, ids, phone numbers), or raise `minLength`.
 */
export function assertNoRawValues(text: string, rawValues: Iterable<string>, options: RawScanOptions = {}): number {
  const minLength = options.minLength ?? 1;
  const hay = normalise(text);
  const seen = new Set<string>();
  let hits = 0;
  for (const raw of rawValues) {
    const needle = normalise(String(raw));
    if (needle.length < minLength || needle.length === 0 || seen.has(needle)) continue;
    seen.add(needle);
    const checkStart = ASCII_ALNUM.test(needle[0]!);
    const checkEnd = ASCII_ALNUM.test(needle[needle.length - 1]!);
    let from = 0;
    for (;;) {
      const at = hay.indexOf(needle, from);
      if (at < 0) break;
      const before = at > 0 ? hay[at - 1]! : '';
      const after = at + needle.length < hay.length ? hay[at + needle.length]! : '';
      const edgeOk = (!checkStart || !ASCII_ALNUM.test(before)) && (!checkEnd || !ASCII_ALNUM.test(after));
      if (edgeOk) {
        hits++;
        from = at + needle.length;
      } else {
        from = at + 1;
      }
    }
  }
  return hits;
}
