import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { STATUSES, type Status } from '../lib/vocabulary.js';
import { appendAuditLog } from './audit-log.js';
import { fromJson, jsonParam, parseInput, toIso, type Db } from './db.js';
import type { ReportRecord } from './types.js';

/** Input of {@link ReportsRepo.saveReport}: a report before it has an id and a time. */
export type NewReport = Omit<ReportRecord, 'id' | 'createdAt'>;

const NewReportSchema = z.object({
  artifactHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'),
  runId: z.string().min(1).nullable(),
  outputId: z.string().min(1).nullable(),
  status: z.enum(STATUSES),
  report: z.unknown().refine((v) => v !== undefined && v !== null, 'expected the report'),
  signature: z.string().min(1),
});

interface ReportRow {
  id: string;
  artifact_hash: string;
  run_id: string | null;
  output_id: string | null;
  status: Status;
  report: unknown;
  signature: string;
  created_at: unknown;
}

const COLS = 'id, artifact_hash, run_id, output_id, status, report, signature, created_at';

function toReport(r: ReportRow): ReportRecord {
  return {
    id: r.id,
    artifactHash: r.artifact_hash,
    runId: r.run_id,
    outputId: r.output_id,
    status: r.status,
    report: fromJson(r.report),
    signature: r.signature,
    createdAt: toIso(r.created_at) ?? '',
  };
}

/** Non-restoration audit reports, bound to artifact hashes. */
export class ReportsRepo {
  constructor(private readonly db: Db) {}

  /** Stores a report and returns its id (`rpt_<uuid>`). Logged as `report.save` with the status. */
  async saveReport(input: NewReport): Promise<string> {
    const r = parseInput(NewReportSchema, input, 'report');
    const id = `rpt_${randomUUID()}`;
    await this.db.tx(async (t) => {
      await t.query(
        `INSERT INTO audit_reports (id, artifact_hash, run_id, output_id, status, report, signature)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)`,
        [id, r.artifactHash, r.runId, r.outputId, r.status, jsonParam(r.report), r.signature],
      );
      await appendAuditLog(t, {
        actor: 'system',
        action: 'report.save',
        subject: id,
        details: { artifactHash: r.artifactHash, runId: r.runId, outputId: r.outputId, status: r.status },
      });
    });
    return id;
  }

  /** One report, or null. */
  async getReport(id: string): Promise<ReportRecord | null> {
    const rows = await this.db.query<ReportRow>(`SELECT ${COLS} FROM audit_reports WHERE id = $1`, [id]);
    return rows[0] ? toReport(rows[0]) : null;
  }

  /** The most recently saved report on exactly this hash, or null. */
  async latestReportFor(artifactHash: string): Promise<ReportRecord | null> {
    const rows = await this.db.query<ReportRow>(`SELECT ${COLS} FROM audit_reports WHERE artifact_hash = $1 ORDER BY n DESC LIMIT 1`, [artifactHash]);
    return rows[0] ? toReport(rows[0]) : null;
  }

  /** Every report on exactly this hash (of every run that staged it), in the order they were saved. */
  async listReportsForArtifact(artifactHash: string): Promise<ReportRecord[]> {
    return (await this.db.query<ReportRow>(`SELECT ${COLS} FROM audit_reports WHERE artifact_hash = $1 ORDER BY n`, [artifactHash])).map(toReport);
  }

  /** A run's reports, in the order they were saved. */
  async listReportsForRun(runId: string): Promise<ReportRecord[]> {
    return (await this.db.query<ReportRow>(`SELECT ${COLS} FROM audit_reports WHERE run_id = $1 ORDER BY n`, [runId])).map(toReport);
  }
}
