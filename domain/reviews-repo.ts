import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';
import { appendAuditLog } from './audit-log.js';
import { parseInput, toIso, type Db } from './db.js';
import type { Review } from './types.js';

/** Input of {@link ReviewsRepo.addReview}: a review before it has an id and a time. An exception needs a written reason. */
export type NewReview = Omit<Review, 'id' | 'createdAt'>;

const NewReviewSchema = z
  .object({
    artifactHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'),
    reportId: z.string().min(1),
    reviewerId: z.string().min(1),
    decision: z.enum(['approve', 'reject']),
    exception: z.boolean(),
    reason: z.string().max(4000),
  })
  .superRefine((r, ctx) => {
    if (r.exception && r.reason.trim() === '') ctx.addIssue({ code: 'custom', path: ['reason'], message: 'an exception needs a written reason (found an empty one)' });
  });

interface ReviewRow {
  id: string;
  artifact_hash: string;
  report_id: string;
  reviewer_id: string;
  decision: 'approve' | 'reject';
  exception: boolean;
  reason: string;
  created_at: unknown;
}

const COLS = 'id, artifact_hash, report_id, reviewer_id, decision, exception, reason, created_at';

function toReview(r: ReviewRow): Review {
  return {
    id: r.id,
    artifactHash: r.artifact_hash,
    reportId: r.report_id,
    reviewerId: r.reviewer_id,
    decision: r.decision,
    exception: r.exception,
    reason: r.reason,
    createdAt: toIso(r.created_at) ?? '',
  };
}

/** Reviewers' decisions, each bound to one artifact hash. */
export class ReviewsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Records a review and returns its id (`rev_<uuid>`). Refused with
   * SLUICE_ERR_REVIEW_REFUSED when the report is about another hash (an
   * approval binds to the hash it saw) or when the reviewer submitted the run
   * (nobody reviews their own output); SLUICE_ERR_AUTH_FORBIDDEN when the
   * reviewer is unknown, disabled, or neither reviewer nor admin;
   * SLUICE_ERR_NOT_FOUND for an unknown report. Logged as `review.add`.
   */
  async addReview(input: NewReview): Promise<string> {
    const r = parseInput(NewReviewSchema, input, 'review');
    return this.db.tx(async (t) => {
      const rep = await t.query<{ artifact_hash: string; run_id: string | null }>('SELECT artifact_hash, run_id FROM audit_reports WHERE id = $1', [r.reportId]);
      if (!rep[0]) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `review.reportId: report ${r.reportId} not found`);
      if (rep[0].artifact_hash !== r.artifactHash) {
        throw new SluiceError('SLUICE_ERR_REVIEW_REFUSED', `review.artifactHash: report ${r.reportId} is about artifact ${rep[0].artifact_hash.slice(0, 12)}…, not ${r.artifactHash.slice(0, 12)}…; the artifact changed and needs a new audit`);
      }
      const who = await t.query<{ role: string; disabled: boolean }>('SELECT role, disabled FROM users WHERE id = $1', [r.reviewerId]);
      if (!who[0] || who[0].disabled || (who[0].role !== 'reviewer' && who[0].role !== 'admin')) {
        throw new SluiceError('SLUICE_ERR_AUTH_FORBIDDEN', `review.reviewerId: user ${r.reviewerId} is not an active reviewer or admin`);
      }
      if (rep[0].run_id !== null) {
        const run = await t.query<{ submitted_by: string }>('SELECT submitted_by FROM runs WHERE id = $1', [rep[0].run_id]);
        if (run[0]?.submitted_by === r.reviewerId) {
          throw new SluiceError('SLUICE_ERR_REVIEW_REFUSED', `review.reviewerId: user ${r.reviewerId} submitted run ${rep[0].run_id} and cannot review its output`);
        }
      }
      const id = `rev_${randomUUID()}`;
      await t.query(
        `INSERT INTO reviews (id, artifact_hash, report_id, reviewer_id, decision, exception, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [id, r.artifactHash, r.reportId, r.reviewerId, r.decision, r.exception, r.reason],
      );
      await appendAuditLog(t, {
        actor: r.reviewerId,
        action: 'review.add',
        subject: r.artifactHash,
        details: { reviewId: id, reportId: r.reportId, decision: r.decision, exception: r.exception },
      });
      return id;
    });
  }

  /** Reviews of exactly this hash, oldest first (reviews of earlier versions of an output do not count). */
  async listReviews(artifactHash: string): Promise<Review[]> {
    return (await this.db.query<ReviewRow>(`SELECT ${COLS} FROM reviews WHERE artifact_hash = $1 ORDER BY n`, [artifactHash])).map(toReview);
  }
}
