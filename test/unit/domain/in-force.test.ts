import { describe, expect, it } from 'vitest';
import { assertInForce, inForceState, NOT_IN_FORCE_ACTION, requireInForce, type InForceSource } from '../../../domain/in-force.js';
import type { AuditLogInput } from '../../../domain/audit-log.js';
import type { AgreementRecord } from '../../../domain/types.js';
import { SluiceError } from '../../../lib/errors.js';

const base: AgreementRecord = {
  id: 'AGR-IF-1', scenario: 's', operator: 'ops', purpose: 'p', useClass: 'public-interest', grants: [{ dataset: 'population', columns: [{ name: 'sex', treatment: 'none' }] }],
  validFrom: '2026-01-01', validTo: '2026-12-31', status: 'active', createdAt: '2026-01-01T00:00:00.000Z',
  terminatedAt: null, terminatedBy: null, terminationReason: null, suspendedAt: null, suspendedBy: null, suspensionReason: null,
};
const at = (day: string, time = '12:00:00') => new Date(`${day}T${time}Z`);

function refusal(a: AgreementRecord, now: Date): SluiceError {
  try {
    assertInForce(a, now);
  } catch (e) {
    return e as SluiceError;
  }
  throw new Error('expected a refusal');
}

describe('an agreement is in force between its dates unless suspended or terminated', () => {
  it('is in force on its first and last day (inclusive, UTC), and not a moment outside', () => {
    expect(inForceState(base, at('2026-01-01', '00:00:00'))).toBe('in-force');
    expect(inForceState(base, at('2026-12-31', '23:59:59'))).toBe('in-force');
    expect(inForceState(base, at('2025-12-31', '23:59:59'))).toBe('not-yet-started');
    expect(inForceState(base, at('2027-01-01', '00:00:00'))).toBe('ended');
    expect(() => assertInForce(base, at('2026-06-01'))).not.toThrow();
  });

  it('a suspended or terminated agreement is not in force even within its term', () => {
    expect(inForceState({ ...base, status: 'suspended' }, at('2026-06-01'))).toBe('suspended');
    expect(inForceState({ ...base, status: 'terminated' }, at('2026-06-01'))).toBe('terminated');
    // Termination wins over the dates: the reason reported is the termination, not the end.
    expect(inForceState({ ...base, status: 'terminated' }, at('2027-06-01'))).toBe('terminated');
  });

  it('refuses with one code (403) naming the agreement and why, never the reason an admin typed', () => {
    const cases: [AgreementRecord, Date, string, string][] = [
      [base, at('2027-02-01'), 'ended', 'ended on 2026-12-31'],
      [base, at('2025-06-01'), 'not-yet-started', 'not yet started; in force from 2026-01-01'],
      [{ ...base, status: 'suspended', suspendedAt: '2026-05-02T08:00:00.000Z', suspendedBy: 'u-admin', suspensionReason: 'secret-reason-41' }, at('2026-06-01'), 'suspended', 'suspended since 2026-05-02'],
      [{ ...base, status: 'terminated', terminatedAt: '2026-05-03T08:00:00.000Z', terminatedBy: 'u-admin', terminationReason: 'secret-reason-42' }, at('2026-06-01'), 'terminated', 'terminated on 2026-05-03'],
    ];
    for (const [a, now, state, why] of cases) {
      const e = refusal(a, now);
      expect(e.code).toBe('SLUICE_ERR_AGREEMENT_NOT_IN_FORCE');
      expect(e.status).toBe(403);
      expect(e.retryable).toBe(false);
      expect(e.message).toBe(`agreement AGR-IF-1 is not in force (${why})`);
      expect(e.details).toMatchObject({ agreementId: 'AGR-IF-1', state });
      expect(JSON.stringify(e.toJSON())).not.toContain('secret-reason');
    }
  });

  it('requireInForce logs each refusal (audit log row naming operation, code and state) and passes an agreement in force', async () => {
    const rows: AuditLogInput[] = [];
    const agreements = new Map([[base.id, base], ['AGR-IF-2', { ...base, id: 'AGR-IF-2', status: 'terminated' as const }]]);
    const cp: InForceSource = { getAgreement: async (id) => agreements.get(id) ?? null, log: async (e) => void rows.push(e) };
    await expect(requireInForce(cp, 'AGR-IF-1', { actor: 'u-1', operation: 'plan' }, at('2026-06-01'))).resolves.toMatchObject({ id: 'AGR-IF-1' });
    expect(rows).toHaveLength(0);
    await expect(requireInForce(cp, 'AGR-IF-2', { actor: 'u-1', operation: 'download', target: 'rel-1' }, at('2026-06-01'))).rejects.toMatchObject({ code: 'SLUICE_ERR_AGREEMENT_NOT_IN_FORCE' });
    expect(rows).toEqual([{ actor: 'u-1', action: NOT_IN_FORCE_ACTION, subject: 'AGR-IF-2', details: { operation: 'download', code: 'SLUICE_ERR_AGREEMENT_NOT_IN_FORCE', state: 'terminated', target: 'rel-1' } }]);
    // The refusal stands when the audit log cannot take its row.
    const broken: InForceSource = { getAgreement: cp.getAgreement, log: async () => Promise.reject(new Error('db down')) };
    await expect(requireInForce(broken, 'AGR-IF-2', { actor: 'u-1', operation: 'step' }, at('2026-06-01'))).rejects.toMatchObject({ code: 'SLUICE_ERR_AGREEMENT_NOT_IN_FORCE' });
    await expect(requireInForce(cp, 'AGR-NONE', { actor: 'u-1', operation: 'plan' })).rejects.toMatchObject({ code: 'SLUICE_ERR_NOT_FOUND' });
  });
});
