/**
 * Who may approve what (AUDIT.md: "Any fail blocks release; a written exception
 * needs two independent reviewers. Any review needs one reviewer who is not the
 * submitter."). Pure functions over ids, hashes and statuses; the service calls
 * them and records the outcome. Every refusal is a SluiceError
 * SLUICE_ERR_REVIEW_REFUSED or SLUICE_ERR_RELEASE_REFUSED.
 *
 * Policy choices documented here:
 * - Only the `reviewer` role reviews. Administrators manage agreements and
 *   people and are not reviewers: one person may not both grant access and
 *   approve its products. A person who should review needs the reviewer role.
 * - Approval binds to an artifact hash. Reviews of another hash never count; a
 *   changed artifact starts with no reviews.
 * - Any reject of this hash blocks release, whoever else approved.
 * - People, not accounts: where the person behind an account is given (its
 *   person token), every comparison — self-approval, "already reviewed", the
 *   two reviewers of an exception — is between persons, so a second account of
 *   the submitter, or two accounts of one reviewer, count as that one person.
 *   A reviewer whose account is bound to no person (`person: null`) may not
 *   review. Without person tokens (pure callers), accounts stand for persons.
 */
import { SluiceError } from '../lib/errors.js';
import type { Status } from '../lib/vocabulary.js';

/** A review as the policy sees it (structurally compatible with domain `Review`). */
export interface PolicyReview {
  reviewerId: string;
  /** The person behind the reviewer's account (its person token); the account id stands in when absent. */
  reviewerPerson?: string | undefined;
  /** The hash reviewed; when present, reviews of other hashes are ignored. */
  artifactHash?: string;
  decision: 'approve' | 'reject';
  /** Approval of a failed output under a written exception. */
  exception?: boolean;
}

/** Input of {@link checkReviewAllowed}. */
export interface ReviewAttempt {
  /** `person`: the reviewer's person token; null when the account is bound to no person (refused). */
  reviewer: { id: string; role: 'operator' | 'reviewer' | 'admin' | string; person?: string | null };
  /** Who submitted the run that produced the artifact. */
  submitterId: string;
  /** The person behind the submitter's account (its person token), when known. */
  submitterPerson?: string | undefined;
  /** The artifact hash the reviewer is deciding on (as re-hashed from the staged file). */
  artifactHash: string;
  /** The artifact hash the audit report is about. */
  reportArtifactHash: string;
  reportStatus: Status;
  decision: 'approve' | 'reject';
  /** Approving despite a failed audit. Default false. */
  exception?: boolean;
  /** The written reason; required for an exception. */
  reason?: string | undefined;
  /** Reviews already recorded (of any hash; only this hash's count). */
  existingReviews: readonly PolicyReview[];
}

function refuseReview(message: string, details: Record<string, unknown> = {}): SluiceError {
  return new SluiceError('SLUICE_ERR_REVIEW_REFUSED', message, { details });
}

function short(hash: string): string {
  return hash.slice(0, 12);
}

/** The person a review counts for: its reviewer's person token, else the account. */
function personOf(r: PolicyReview): string {
  return r.reviewerPerson ?? r.reviewerId;
}

/** True when a review is by the submitter: the same account, or another account of the same person. */
function bySubmitter(r: PolicyReview, submitterId: string, submitterPerson: string | undefined): boolean {
  return r.reviewerId === submitterId || (submitterPerson !== undefined && personOf(r) === submitterPerson);
}

/**
 * Throws SLUICE_ERR_REVIEW_REFUSED unless this review may be recorded:
 * the reviewer has the role `reviewer`, is not the submitter and has not yet
 * reviewed this hash; the report is about exactly this artifact hash; an
 * exception is only for a failed report, and approving a failed report needs
 * `exception: true` with a non-empty reason. Returns nothing when allowed.
 */
export function checkReviewAllowed(attempt: ReviewAttempt): void {
  const { reviewer, submitterId, artifactHash, reportArtifactHash, reportStatus, decision } = attempt;
  const exception = attempt.exception === true;
  if (reviewer.role !== 'reviewer') {
    throw refuseReview(`user ${reviewer.id} has role ${reviewer.role}; only a reviewer may review an output`, { reviewer: reviewer.id });
  }
  if (reviewer.person === null) {
    throw refuseReview(`user ${reviewer.id} is bound to no person; a reviewer account needs the person's ID number (sluice user create --id-number)`, {
      reviewer: reviewer.id, rule: 'person-unknown',
    });
  }
  if (reviewer.id === submitterId) {
    throw refuseReview(`user ${reviewer.id} submitted this run and may not review its outputs`, { reviewer: reviewer.id });
  }
  const self: PolicyReview = { reviewerId: reviewer.id, reviewerPerson: reviewer.person ?? undefined, decision };
  if (bySubmitter(self, submitterId, attempt.submitterPerson)) {
    throw refuseReview(`user ${reviewer.id} is another account of the person who submitted this run, who may not review its outputs`, {
      reviewer: reviewer.id, rule: 'same-person',
    });
  }
  if (artifactHash !== reportArtifactHash) {
    throw refuseReview(
      `the audit report is for artifact ${short(reportArtifactHash)} but the review is for ${short(artifactHash)}; a changed artifact needs a new audit and new reviews`,
      { artifactHash, reportArtifactHash },
    );
  }
  const ofThisHash = attempt.existingReviews.filter((r) => r.artifactHash === undefined || r.artifactHash === artifactHash);
  if (ofThisHash.some((r) => r.reviewerId === reviewer.id)) {
    throw refuseReview(`user ${reviewer.id} has already reviewed artifact ${short(artifactHash)}`, { reviewer: reviewer.id });
  }
  if (ofThisHash.some((r) => personOf(r) === personOf(self))) {
    throw refuseReview(`user ${reviewer.id} is another account of a person who has already reviewed artifact ${short(artifactHash)}`, {
      reviewer: reviewer.id, rule: 'same-person',
    });
  }
  if (exception && reportStatus !== 'fail') {
    throw refuseReview(`an exception applies only to a failed audit; this report's status is ${reportStatus}`);
  }
  if (exception && decision !== 'approve') {
    throw refuseReview('an exception is a kind of approval; a reject needs no exception');
  }
  if (decision === 'approve' && reportStatus === 'fail') {
    if (!exception) {
      throw refuseReview(
        'the audit failed; approving it needs exception: true with a written reason, and a second reviewer who is neither you nor the submitter',
      );
    }
    if ((attempt.reason ?? '').trim() === '') {
      throw refuseReview('an exception needs a written reason (found an empty one)');
    }
  }
}

/** Input of {@link releaseDecision}. */
export interface ReleaseQuestion {
  kind: 'table' | 'extract' | 'model' | 'file';
  reportStatus: Status;
  /** Reviews of this artifact's hash (others are ignored when `artifactHash` is given). */
  reviews: readonly PolicyReview[];
  submitterId: string;
  /** The person behind the submitter's account (its person token), when known. */
  submitterPerson?: string | undefined;
  /** The artifact hash; when given, reviews of another hash are ignored. */
  artifactHash?: string;
}

/** Whether an artifact may be released now, and if not, what it still needs (one sentence). */
export interface ReleaseAnswer {
  releasable: boolean;
  needs: string;
}

/**
 * Decides release from the audit status, the kind and the reviews of this hash:
 * - any reject → blocked;
 * - fail → only with an exception approved by two distinct reviewers, neither the submitter;
 * - review → one approving reviewer who is not the submitter;
 * - pass + model → one approving reviewer who is not the submitter (§4.4: models are reviewed);
 * - pass + extract / file → one approving reviewer (row-level products are reviewed);
 * - pass + table → releasable without review.
 * Approvals by the submitter (any account of theirs) never count; reviewers
 * are counted as persons.
 */
export function releaseDecision(question: ReleaseQuestion): ReleaseAnswer {
  const { kind, reportStatus, submitterId, submitterPerson, artifactHash } = question;
  const reviews = question.reviews.filter((r) => artifactHash === undefined || r.artifactHash === undefined || r.artifactHash === artifactHash);
  const rejects = reviews.filter((r) => r.decision === 'reject');
  if (rejects.length > 0) {
    return { releasable: false, needs: `rejected by ${rejects.length === 1 ? 'a reviewer' : `${rejects.length} reviewers`}; a changed artifact needs a new audit` };
  }
  const approvers = new Set(reviews.filter((r) => r.decision === 'approve' && !bySubmitter(r, submitterId, submitterPerson)).map(personOf));
  if (reportStatus === 'fail') {
    const excepting = new Set(
      reviews.filter((r) => r.decision === 'approve' && r.exception === true && !bySubmitter(r, submitterId, submitterPerson)).map(personOf),
    );
    return excepting.size >= 2
      ? { releasable: true, needs: 'nothing: exception approved by two independent reviewers' }
      : {
          releasable: false,
          needs: `the audit failed: an exception approved by two distinct reviewers, neither the submitter (${excepting.size} of 2 so far)`,
        };
  }
  const needsReview = reportStatus === 'review' || kind !== 'table';
  if (!needsReview) return { releasable: true, needs: 'nothing: a table that passed the audit needs no review' };
  if (approvers.size >= 1) return { releasable: true, needs: 'nothing: approved by a reviewer who is not the submitter' };
  const why =
    reportStatus === 'review'
      ? 'the audit asks for review'
      : kind === 'model'
        ? 'models are always reviewed'
        : 'row-level products are always reviewed';
  return { releasable: false, needs: `${why}: one approving review by a reviewer who is not the submitter (0 so far)` };
}

/** Throws SLUICE_ERR_RELEASE_REFUSED with {@link releaseDecision}'s `needs` unless the artifact is releasable. */
export function assertReleasable(question: ReleaseQuestion): void {
  const answer = releaseDecision(question);
  if (!answer.releasable) {
    throw new SluiceError('SLUICE_ERR_RELEASE_REFUSED', `release refused: ${answer.needs}`, {
      details: { kind: question.kind, reportStatus: question.reportStatus },
    });
  }
}
