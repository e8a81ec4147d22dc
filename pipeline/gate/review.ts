import { SluiceError } from '../../lib/errors.js';
import { log } from '../../lib/log.js';
import { checkReviewAllowed, releaseDecision } from '../../audit/gate-policy.js';
import { requireInForce } from '../../domain/in-force.js';
import type { ReportRecord, Run, User } from '../../domain/types.js';
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

/** Statuses of a run that waits on the reviews of its outputs. */
const WAITING = new Set(['awaiting-review', 'blocked']);

/** One run that staged the artifact, with its latest report on it. */
interface Staging {
  run: Run;
  report: ReportRecord & { outputId: string };
}

/**
 * Every run that staged this artifact and waits on its reviews, each with its
 * latest report on the hash (one per run and output): an identical artifact
 * staged by several runs is reviewed once and released for each. The run of
 * `latest` (the latest report) is always among them.
 */
async function stagingRuns(engine: Engine, artifactHash: string, latest: ReportRecord): Promise<Staging[]> {
  const byRunOutput = new Map<string, ReportRecord>();
  for (const r of await engine.cp.listReportsForArtifact(artifactHash)) if (r.runId && r.outputId) byRunOutput.set(`${r.runId}\u0000${r.outputId}`, r);
  const out: Staging[] = [];
  for (const report of byRunOutput.values()) {
    const run = await engine.cp.getRun(report.runId!);
    if (run && (report.runId === latest.runId || WAITING.has(run.status))) out.push({ run, report: report as Staging['report'] });
  }
  return out;
}

/** Reviews with the person behind each reviewer's account (where bound), so the policy compares people. */
async function withPersons<R extends { reviewerId: string }>(engine: Engine, reviews: readonly R[]): Promise<(R & { reviewerPerson?: string })[]> {
  const people = await engine.cp.personsOf(reviews.map((r) => r.reviewerId));
  return reviews.map((r) => {
    const person = people.get(r.reviewerId);
    return person === undefined ? r : { ...r, reviewerPerson: person };
  });
}

/**
 * Records a review. The approval binds to the artifact's hash: the staged file
 * is re-hashed first, and a review of anything else is refused. For each run
 * that staged the artifact and that the reviews now make releasable, a release
 * is enqueued; a reject blocks each of them. Reviewers and submitters are
 * compared as people (the person token behind each account): a reviewer who is
 * the person who submitted any of those runs may not review it, and two
 * accounts of one person count as one reviewer.
 * Every refusal is logged in the audit log before it is returned.
 */
export async function submitReview(engine: Engine, user: User, req: ReviewRequest): Promise<{ reviewId: string; releaseQueued: boolean }> {
  const refuse = async (e: unknown): Promise<never> => {
    const code = e instanceof SluiceError ? e.code : 'SLUICE_ERR_INTERNAL';
    const rule = e instanceof SluiceError ? e.details?.['rule'] : undefined;
    await engine.cp.log({ actor: user.id, action: 'review.refused', subject: req.artifactHash, details: { code, decision: req.decision, ...(typeof rule === 'string' ? { rule } : {}) } });
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
  const staging = await stagingRuns(engine, req.artifactHash, report);
  const people = await engine.cp.personsOf([user.id, ...staging.map((s) => s.run.submittedBy)]);
  const existing = await withPersons(engine, await engine.cp.listReviews(req.artifactHash));
  const me = people.get(user.id);
  // The submitter checked is the one who is this reviewer (account or person), if any run has one.
  const submitter = staging.find((s) => s.run.submittedBy === user.id || (me !== undefined && people.get(s.run.submittedBy) === me))?.run ?? run;
  try {
    checkReviewAllowed({
      reviewer: { id: user.id, role: user.role, person: me ?? null },
      submitterId: submitter.submittedBy,
      submitterPerson: people.get(submitter.submittedBy),
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
  const reviews = await withPersons(engine, await engine.cp.listReviews(req.artifactHash));
  let releaseQueued = false;
  for (const s of staging) {
    const decision = releaseDecision({
      kind: artifact.kind as 'table' | 'extract' | 'model' | 'file', reportStatus: s.report.status, reviews, submitterId: s.run.submittedBy, submitterPerson: people.get(s.run.submittedBy),
    } as Parameters<typeof releaseDecision>[0]);
    if (decision.releasable) {
      await requestRelease(engine, { runId: s.run.id, outputId: s.report.outputId, artifactHash: req.artifactHash, approvedBy: user.id });
      releaseQueued = true;
    } else if (req.decision === 'reject') {
      await blockRun(engine, s.run.id, user.id, req.artifactHash);
    }
  }
  return { reviewId, releaseQueued };
}
