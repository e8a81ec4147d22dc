import { describe, expect, it } from 'vitest';
import { assertReleasable, checkReviewAllowed, releaseDecision, type PolicyReview, type ReviewAttempt } from '../../../audit/gate-policy.js';
import { SluiceError } from '../../../lib/errors.js';

const H = 'a1'.repeat(32);
const H2 = 'b2'.repeat(32);

function attempt(over: Partial<ReviewAttempt> = {}): ReviewAttempt {
  return {
    reviewer: { id: 'rev-1', role: 'reviewer' },
    submitterId: 'op-1',
    artifactHash: H,
    reportArtifactHash: H,
    reportStatus: 'review',
    decision: 'approve',
    existingReviews: [],
    ...over,
  };
}

function refusal(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SluiceError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('checkReviewAllowed', () => {
  it('allows a reviewer who is not the submitter to approve a report of this hash', () => {
    expect(() => checkReviewAllowed(attempt())).not.toThrow();
    expect(() => checkReviewAllowed(attempt({ decision: 'reject', reportStatus: 'fail' }))).not.toThrow();
  });

  it('refuses self-approval', () => {
    const e = refusal(() => checkReviewAllowed(attempt({ reviewer: { id: 'op-1', role: 'reviewer' } })));
    expect(e.code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    expect(e.message).toContain('submitted');
  });

  it('refuses a non-reviewer, admins included', () => {
    for (const role of ['operator', 'admin']) {
      const e = refusal(() => checkReviewAllowed(attempt({ reviewer: { id: 'x', role } })));
      expect(e.code).toBe('SLUICE_ERR_REVIEW_REFUSED');
      expect(e.message).toContain(role);
    }
  });

  it('refuses a review of a changed artifact (the report is for another hash)', () => {
    const e = refusal(() => checkReviewAllowed(attempt({ artifactHash: H2 })));
    expect(e.code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    expect(e.message).toContain('new audit');
  });

  it('refuses a second review of the same hash by the same reviewer, but not after the artifact changed', () => {
    const existing: PolicyReview[] = [{ reviewerId: 'rev-1', artifactHash: H, decision: 'approve' }];
    expect(refusal(() => checkReviewAllowed(attempt({ existingReviews: existing }))).code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    expect(() =>
      checkReviewAllowed(attempt({ artifactHash: H2, reportArtifactHash: H2, existingReviews: existing })),
    ).not.toThrow();
  });

  it('refuses approving a failed output without an exception, or with an exception but no reason', () => {
    expect(refusal(() => checkReviewAllowed(attempt({ reportStatus: 'fail' }))).message).toContain('exception');
    expect(refusal(() => checkReviewAllowed(attempt({ reportStatus: 'fail', exception: true, reason: '  ' }))).message).toContain('reason');
    expect(() => checkReviewAllowed(attempt({ reportStatus: 'fail', exception: true, reason: 'structural zeros confirmed by provider' }))).not.toThrow();
  });

  it('refuses an exception on an output that did not fail', () => {
    expect(refusal(() => checkReviewAllowed(attempt({ reportStatus: 'review', exception: true, reason: 'r' }))).code).toBe('SLUICE_ERR_REVIEW_REFUSED');
  });
});

describe('releaseDecision', () => {
  const approve = (id: string, exception = false): PolicyReview => ({ reviewerId: id, artifactHash: H, decision: 'approve', exception });

  it('releases a passed table without review', () => {
    expect(releaseDecision({ kind: 'table', reportStatus: 'pass', reviews: [], submitterId: 'op-1' }).releasable).toBe(true);
  });

  it('holds a passed extract, file or model for one reviewer who is not the submitter', () => {
    for (const kind of ['extract', 'file', 'model'] as const) {
      const none = releaseDecision({ kind, reportStatus: 'pass', reviews: [], submitterId: 'op-1' });
      expect(none.releasable).toBe(false);
      expect(none.needs).toContain('one approving review');
      expect(releaseDecision({ kind, reportStatus: 'pass', reviews: [approve('op-1')], submitterId: 'op-1' }).releasable).toBe(false);
      expect(releaseDecision({ kind, reportStatus: 'pass', reviews: [approve('rev-1')], submitterId: 'op-1' }).releasable).toBe(true);
    }
  });

  it('holds a review status for one approving reviewer, even for a table', () => {
    expect(releaseDecision({ kind: 'table', reportStatus: 'review', reviews: [], submitterId: 'op-1' }).releasable).toBe(false);
    expect(releaseDecision({ kind: 'table', reportStatus: 'review', reviews: [approve('rev-1')], submitterId: 'op-1' }).releasable).toBe(true);
  });

  it('releases a failed output only with an exception approved by two distinct reviewers, neither the submitter', () => {
    const q = (reviews: PolicyReview[]) => releaseDecision({ kind: 'table', reportStatus: 'fail', reviews, submitterId: 'op-1' });
    expect(q([]).releasable).toBe(false);
    expect(q([approve('rev-1', true)]).releasable).toBe(false);
    expect(q([approve('rev-1', true)]).needs).toContain('1 of 2');
    expect(q([approve('rev-1', true), approve('rev-1', true)]).releasable).toBe(false);
    expect(q([approve('rev-1', true), approve('op-1', true)]).releasable).toBe(false);
    expect(q([approve('rev-1', true), approve('rev-2', false)]).releasable).toBe(false);
    expect(q([approve('rev-1', true), approve('rev-2', true)]).releasable).toBe(true);
  });

  it('blocks on any reject', () => {
    const reviews: PolicyReview[] = [approve('rev-1', true), approve('rev-2', true), { reviewerId: 'rev-3', artifactHash: H, decision: 'reject' }];
    expect(releaseDecision({ kind: 'table', reportStatus: 'fail', reviews, submitterId: 'op-1' }).releasable).toBe(false);
    expect(releaseDecision({ kind: 'model', reportStatus: 'pass', reviews: reviews.slice(1), submitterId: 'op-1' }).releasable).toBe(false);
  });

  it('counts only reviews of this hash: a changed artifact starts again', () => {
    const old: PolicyReview[] = [{ reviewerId: 'rev-1', artifactHash: H, decision: 'approve' }];
    expect(releaseDecision({ kind: 'model', reportStatus: 'pass', reviews: old, submitterId: 'op-1', artifactHash: H2 }).releasable).toBe(false);
    expect(releaseDecision({ kind: 'model', reportStatus: 'pass', reviews: old, submitterId: 'op-1', artifactHash: H }).releasable).toBe(true);
  });

  it('assertReleasable refuses with SLUICE_ERR_RELEASE_REFUSED and what is missing', () => {
    const e = refusal(() => assertReleasable({ kind: 'model', reportStatus: 'pass', reviews: [], submitterId: 'op-1' }));
    expect(e.code).toBe('SLUICE_ERR_RELEASE_REFUSED');
    expect(e.message).toContain('models are always reviewed');
    expect(() => assertReleasable({ kind: 'table', reportStatus: 'pass', reviews: [], submitterId: 'op-1' })).not.toThrow();
  });
});
