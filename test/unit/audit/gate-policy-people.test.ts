import { describe, expect, it } from 'vitest';
import { checkReviewAllowed, releaseDecision, type ReviewAttempt } from '../../../audit/gate-policy.js';
import { checkResidentId, personToken } from '../../../domain/person.js';
import { isSluiceError, type SluiceError } from '../../../lib/errors.js';
import { syntheticResidentId } from '../../../synthetic/person-ids.js';

const H = 'a'.repeat(64);
const attempt = (over: Partial<ReviewAttempt>): ReviewAttempt => ({
  reviewer: { id: 'u-rev', role: 'reviewer', person: 'p-rev' },
  submitterId: 'u-sub',
  submitterPerson: 'p-sub',
  artifactHash: H,
  reportArtifactHash: H,
  reportStatus: 'pass',
  decision: 'approve',
  existingReviews: [],
  ...over,
});
const refusal = (f: () => void): SluiceError => {
  try {
    f();
  } catch (e) {
    if (isSluiceError(e)) return e as SluiceError;
    throw e;
  }
  throw new Error('allowed');
};

describe('the gate policy compares people, not accounts', () => {
  it("refuses another account of the submitter's person, and allows a different person", () => {
    const e = refusal(() => checkReviewAllowed(attempt({ reviewer: { id: 'u-second', role: 'reviewer', person: 'p-sub' } })));
    expect(e.code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    expect(e.details?.['rule']).toBe('same-person');
    expect(() => checkReviewAllowed(attempt({}))).not.toThrow();
  });

  it('refuses a reviewer account bound to no person', () => {
    expect(refusal(() => checkReviewAllowed(attempt({ reviewer: { id: 'u-old', role: 'reviewer', person: null } }))).details?.['rule']).toBe('person-unknown');
  });

  it('refuses a second account of a person who already reviewed the hash', () => {
    const existing = [{ reviewerId: 'u-a1', reviewerPerson: 'p-a', artifactHash: H, decision: 'approve' as const, exception: true }];
    const e = refusal(() => checkReviewAllowed(attempt({ reviewer: { id: 'u-a2', role: 'reviewer', person: 'p-a' }, reportStatus: 'fail', exception: true, reason: 'ok', existingReviews: existing })));
    expect(e.details?.['rule']).toBe('same-person');
    expect(() => checkReviewAllowed(attempt({ reviewer: { id: 'u-b', role: 'reviewer', person: 'p-b' }, reportStatus: 'fail', exception: true, reason: 'ok', existingReviews: existing }))).not.toThrow();
  });

  it('counts two accounts of one person as one exception reviewer, and never counts the submitter', () => {
    const ex = (id: string, person: string) => ({ reviewerId: id, reviewerPerson: person, artifactHash: H, decision: 'approve' as const, exception: true });
    const q = { kind: 'extract' as const, reportStatus: 'fail' as const, submitterId: 'u-sub', submitterPerson: 'p-sub', artifactHash: H };
    expect(releaseDecision({ ...q, reviews: [ex('u-a1', 'p-a'), ex('u-a2', 'p-a')] }).releasable).toBe(false);
    expect(releaseDecision({ ...q, reviews: [ex('u-a1', 'p-a'), ex('u-s2', 'p-sub')] }).releasable).toBe(false);
    expect(releaseDecision({ ...q, reviews: [ex('u-a1', 'p-a'), ex('u-b', 'p-b')] }).releasable).toBe(true);
    expect(releaseDecision({ ...q, reportStatus: 'pass', reviews: [ex('u-s2', 'p-sub')] }).releasable).toBe(false);
    expect(releaseDecision({ ...q, reportStatus: 'pass', reviews: [ex('u-b', 'p-b')] }).releasable).toBe(true);
  });
});

describe('person tokens', () => {
  const id = syntheticResidentId(7);
  it('validates GB 11643 and names the field, never the value', () => {
    expect(checkResidentId(id)).toBe(id);
    for (const bad of [id.slice(0, 17) + (id[17] === '1' ? '2' : '1'), id.slice(1), `${id.slice(0, 17)}Y`, 42, undefined]) {
      const e = refusal(() => checkResidentId(bad, 'personId'));
      expect(e.code).toBe('SLUICE_ERR_INPUT_INVALID');
      expect(e.message).toMatch(/^personId: expected an 18-character resident ID number/);
      expect(e.message).not.toContain(id.slice(0, 10));
    }
  });

  it('is keyed: the same number under two keys gives two tokens; one key gives one', () => {
    const k1 = Buffer.alloc(32, 1);
    const k2 = Buffer.alloc(32, 2);
    expect(personToken(k1, id)).toBe(personToken(k1, id));
    expect(personToken(k1, id)).not.toBe(personToken(k2, id));
    expect(personToken(k1, id)).not.toBe(personToken(k1, syntheticResidentId(8)));
    const x = Array.from({ length: 100 }, (_, n) => syntheticResidentId(n)).find((s) => s.endsWith('X'));
    expect(x).toBeDefined();
    expect(personToken(k1, x!.toLowerCase())).toBe(personToken(k1, x!));
  });
});
