import { SluiceError } from '../../lib/errors.js';
import { log } from '../../lib/log.js';
import { checkReviewAllowed, releaseDecision } from '../../audit/gate-policy.js';
import { requireInForce } from '../../domain/in-force.js';
import type { User } from '../../domain/types.js';
import type { Engine } from '../engine.js';
import { blockRun, requestRelease } from '../run/lifecycle.js';
import { extOf } from '../store/store.js';

/** A reviewer's decision on one staged artifact. */
export interface ReviewRequest {
  artifactHash: string;
  decision: 'approve' | 'reject';
  reason: string;
  /** An exception to a failed audit (needs two reviewers, neither the submitter). */
  exception?: boolean;
}

/**
 * Records a review. The approval binds to the artifact's hash: the staged file
 * is re-hashed first, and a review of anything else is refused. When the
 * reviews now make the artifact releasable, the release step is enqueued.
 * Every refusal is logged in the audit log before it is returned.
 */
export async function submitReview(engine: Engine, user: User, req: ReviewRequest): Promise<{ reviewId: string; releaseQueued: boolean }> {
  const refuse = async (e: unknown): Promise<never> => {
    const code = e instanceof SluiceError ? e.code : 'SLUICE_ERR_INTERNAL';
    await engine.cp.log({ actor: user.id, action: 'review.refused', subject: req.artifactHash, details: { code, decision: req.decision } });
    log.warn('review.refused', { user: user.id, artifact: req.artifactHash.slice(0, 12), code });
    throw e;
  };
  const artifact = await engine.cp.getArtifact(req.artifactHash, 'staging');
  if (!artifact) return refuse(new SluiceError('SLUICE_ERR_NOT_FOUND', `artifact ${req.artifactHash.slice(0, 12)} is not staged for review`));
  const report = await engine.cp.latestReportFor(req.artifactHash);
  if (!report) return refuse(new SluiceError('SLUICE_ERR_REVIEW_REFUSED', `artifact ${req.artifactHash.slice(0, 12)} has no audit report`));
  const run = report.runId ? await engine.cp.getRun(report.runId) : null;
  if (!run || !report.outputId) return refuse(new SluiceError('SLUICE_ERR_NOT_FOUND', `the run of artifact ${req.artifactHash.slice(0, 12)} does not exist`));
  await requireInForce(engine.cp, run.agreementId, { actor: user.id, operation: 'review', target: req.artifactHash }).catch(refuse);
  const ext = extOf(artifact.path);
  if (!(await engine.store.verify('staging', req.artifactHash, ext))) {
    return refuse(new SluiceError('SLUICE_ERR_REVIEW_REFUSED', `artifact ${req.artifactHash.slice(0, 12)} changed since its audit; it needs a new audit and new reviews`));
  }
  const existing = await engine.cp.listReviews(req.artifactHash);
  try {
    checkReviewAllowed({
      reviewer: { id: user.id, role: user.role },
      submitterId: run.submittedBy,
      artifactHash: req.artifactHash,
      reportArtifactHash: (report.report as { subject: { artifactHash: string } }).subject.artifactHash,
      reportStatus: report.status,
      decision: req.decision,
      exception: req.exception ?? false,
      reason: req.reason,
      existingReviews: existing,
    } as Parameters<typeof checkReviewAllowed>[0]);
  } catch (e) {
    return refuse(e);
  }
  const reviewId = await engine.cp.addReview({
    artifactHash: req.artifactHash, reportId: report.id, reviewerId: user.id, decision: req.decision, exception: req.exception ?? false, reason: req.reason,
  });
  const reviews = await engine.cp.listReviews(req.artifactHash);
  const decision = releaseDecision({ kind: artifact.kind as 'table' | 'extract' | 'model' | 'file', reportStatus: report.status, reviews, submitterId: run.submittedBy } as Parameters<typeof releaseDecision>[0]);
  let releaseQueued = false;
  if (decision.releasable) {
    await requestRelease(engine, { runId: run.id, outputId: report.outputId, artifactHash: req.artifactHash, approvedBy: user.id });
    releaseQueued = true;
  } else if (req.decision === 'reject') {
    await blockRun(engine, run.id, user.id, req.artifactHash);
  }
  return { reviewId, releaseQueued };
}
