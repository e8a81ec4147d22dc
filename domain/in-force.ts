/**
 * The one notion of an agreement "in force" (issue 12): between its start and
 * end dates (inclusive calendar days, UTC), unless it is suspended or
 * terminated. Every path that does work under an agreement — plan, submit,
 * each step's job, the gate, review, release, download, serving, and an
 * operator's requests about its runs — asks {@link requireInForce}, so each
 * refuses with the one code SLUICE_ERR_AGREEMENT_NOT_IN_FORCE and each refusal
 * is written to the audit log and the domain log.
 */
import { SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import type { AuditLogInput } from './audit-log.js';
import type { Agreement, AgreementRecord } from './types.js';

/** Where an agreement stands on a day: in force, or why not. */
export type InForceState = 'in-force' | 'not-yet-started' | 'ended' | 'suspended' | 'terminated';

/** The kinds of work {@link requireInForce} guards; they name the refusal in the logs. */
export const IN_FORCE_OPERATIONS = ['plan', 'submit', 'step', 'gate', 'review', 'release', 'download', 'predict', 'access'] as const;
export type InForceOperation = (typeof IN_FORCE_OPERATIONS)[number];

/** The audit-log action of a refusal (subject: the agreement id). */
export const NOT_IN_FORCE_ACTION = 'agreement.refused';

/** The UTC calendar day of `now`, as agreements' dates are written (YYYY-MM-DD). */
export function isoDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** Where `a` stands at `now`: a status other than active wins over the dates. */
export function inForceState(a: Pick<Agreement, 'status' | 'validFrom' | 'validTo'>, now: Date = new Date()): InForceState {
  if (a.status === 'terminated') return 'terminated';
  if (a.status === 'suspended') return 'suspended';
  const today = isoDay(now);
  if (today < a.validFrom) return 'not-yet-started';
  if (today > a.validTo) return 'ended';
  return 'in-force';
}

/** Why an agreement is not in force, in words that hold only its own dates (never a reason an admin typed). */
function describe(a: Pick<AgreementRecord, 'validFrom' | 'validTo'> & { terminatedAt?: string | null; suspendedAt?: string | null }, state: Exclude<InForceState, 'in-force'>): string {
  switch (state) {
    case 'terminated':
      return a.terminatedAt ? `terminated on ${a.terminatedAt.slice(0, 10)}` : 'terminated';
    case 'suspended':
      return a.suspendedAt ? `suspended since ${a.suspendedAt.slice(0, 10)}` : 'suspended';
    case 'ended':
      return `ended on ${a.validTo}`;
    case 'not-yet-started':
      return `not yet started; in force from ${a.validFrom}`;
  }
}

/**
 * Throws SLUICE_ERR_AGREEMENT_NOT_IN_FORCE (403) unless `a` is in force at
 * `now`; the message names the agreement and why (ended, not yet started,
 * suspended, terminated), its details the agreement id and the state.
 */
export function assertInForce(
  a: Pick<AgreementRecord, 'id' | 'status' | 'validFrom' | 'validTo'> & { terminatedAt?: string | null; suspendedAt?: string | null },
  now: Date = new Date(),
): void {
  const state = inForceState(a, now);
  if (state === 'in-force') return;
  throw SluiceError.of('SLUICE_ERR_AGREEMENT_NOT_IN_FORCE', { id: a.id, reason: describe(a, state) }, { details: { agreementId: a.id, state } });
}

/** What {@link requireInForce} needs of the control plane (ControlPlane has both). */
export interface InForceSource {
  getAgreement(id: string): Promise<AgreementRecord | null>;
  log(entry: AuditLogInput): Promise<unknown>;
}

/** Who asks to do what under an agreement: the refusal's audit row names them (ids only). */
export interface InForceUse {
  /** A user id, or `worker` for a step, the gate or the release job. */
  actor: string;
  operation: InForceOperation;
  /** The run, artifact, release or model the work concerns. */
  target?: string;
}

/**
 * The agreement (given, or loaded by id) when it is in force at `now`. Otherwise the
 * refusal is written to the audit log (`agreement.refused`: operation, code,
 * state, target; never a value) and to the domain log, then thrown as
 * SLUICE_ERR_AGREEMENT_NOT_IN_FORCE. An unknown agreement is SLUICE_ERR_NOT_FOUND.
 */
export async function requireInForce(cp: InForceSource, agreementOrId: string | AgreementRecord, use: InForceUse, now: Date = new Date()): Promise<AgreementRecord> {
  const agreement = typeof agreementOrId === 'string' ? await cp.getAgreement(agreementOrId) : agreementOrId;
  if (!agreement) throw SluiceError.of('SLUICE_ERR_NOT_FOUND', { kind: 'agreement', id: String(agreementOrId) });
  try {
    assertInForce(agreement, now);
  } catch (e) {
    const err = e as SluiceError;
    const state = String(err.details?.['state']);
    const fields = { operation: use.operation, code: err.code, state, ...(use.target !== undefined ? { target: use.target } : {}) };
    log.warn(NOT_IN_FORCE_ACTION, { agreement: agreement.id, actor: use.actor, ...fields });
    // The refusal stands even when the audit log cannot take its row; the domain log has it.
    await cp.log({ actor: use.actor, action: NOT_IN_FORCE_ACTION, subject: agreement.id, details: fields }).catch((logErr: unknown) => {
      log.error('audit-log.append-failed', { action: NOT_IN_FORCE_ACTION, agreement: agreement.id, name: (logErr as Error).name });
    });
    throw err;
  }
  return agreement;
}
