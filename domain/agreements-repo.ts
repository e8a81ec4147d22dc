import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';
import { ResourceLimitsSchema, type ResourceLimits } from '../lib/limits.js';
import { TREATMENTS } from '../lib/vocabulary.js';
import { appendAuditLog } from './audit-log.js';
import { fromJson, jsonParam, parseInput, toIso, type Db } from './db.js';
import type { Agreement, AgreementRecord, AgreementStatus, DatasetGrant } from './types.js';

/** The longest term an agreement may have, in years (§3.9). */
export const MAX_TERM_YEARS = 3;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function isCalendarDate(s: string): boolean {
  if (!ISO_DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/**
 * `date` plus `years`, clamping 29 February to the 28th as PostgreSQL does
 * (the database checks the same bound).
 */
export function addYears(date: string, years: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const last = new Date(Date.UTC(y + years, m, 0)).getUTCDate();
  return `${String(y + years).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`;
}

const AgreementSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected 1–128 letters, digits, _ . : -'),
    scenario: z.string().min(1),
    operator: z.string().min(1),
    purpose: z.string().min(1),
    useClass: z.enum(['public-interest', 'industry']),
    grants: z
      .array(
        z.object({
          dataset: z.string().min(1),
          columns: z
            .array(z.object({ name: z.string().min(1), treatment: z.enum(TREATMENTS), level: z.string().min(1).optional() }))
            .min(1, 'expected at least one granted column'),
        }),
      )
      .min(1, 'expected at least one granted dataset'),
    validFrom: z.string().refine(isCalendarDate, 'expected an ISO date YYYY-MM-DD'),
    validTo: z.string().refine(isCalendarDate, 'expected an ISO date YYYY-MM-DD'),
    status: z.enum(['active', 'terminated']),
    auditThresholds: z.record(z.string(), z.unknown()).optional(),
    resourceLimits: ResourceLimitsSchema.optional(),
  })
  .superRefine((a, ctx) => {
    if (!isCalendarDate(a.validFrom) || !isCalendarDate(a.validTo)) return;
    if (a.validTo < a.validFrom) {
      ctx.addIssue({ code: 'custom', path: ['validTo'], message: 'expected a date on or after validFrom (found an earlier one)' });
      return;
    }
    const limit = addYears(a.validFrom, MAX_TERM_YEARS);
    if (a.validTo >= limit) {
      const days = Math.round((Date.parse(a.validTo) - Date.parse(a.validFrom)) / 86_400_000) + 1;
      ctx.addIssue({
        code: 'custom',
        path: ['validTo'],
        message: `the term may be at most ${MAX_TERM_YEARS} years (§3.9): expected validTo before ${limit}, found a term of ${days} days`,
      });
    }
  });

interface AgreementRow {
  id: string;
  scenario: string;
  operator: string;
  purpose: string;
  use_class: Agreement['useClass'];
  grants: unknown;
  audit_thresholds: unknown;
  resource_limits: unknown;
  valid_from: string;
  valid_to: string;
  status: Agreement['status'];
  created_at: unknown;
  terminated_at: unknown;
  terminated_by: string | null;
  termination_reason: string | null;
  suspended_at: unknown;
  suspended_by: string | null;
  suspension_reason: string | null;
}

// Dates as text: drivers would turn `date` into a local-midnight Date.
const COLS = `id, scenario, operator, purpose, use_class, grants, audit_thresholds, resource_limits, valid_from::text AS valid_from, valid_to::text AS valid_to,
  status, created_at, terminated_at, terminated_by, termination_reason, suspended_at, suspended_by, suspension_reason`;

function toAgreement(r: AgreementRow): AgreementRecord {
  return {
    id: r.id,
    scenario: r.scenario,
    operator: r.operator,
    purpose: r.purpose,
    useClass: r.use_class,
    grants: fromJson<DatasetGrant[]>(r.grants),
    auditThresholds: fromJson<Record<string, unknown>>(r.audit_thresholds) ?? {},
    resourceLimits: fromJson<ResourceLimits>(r.resource_limits) ?? {},
    validFrom: r.valid_from,
    validTo: r.valid_to,
    status: r.status,
    createdAt: toIso(r.created_at) ?? '',
    terminatedAt: toIso(r.terminated_at),
    terminatedBy: r.terminated_by,
    terminationReason: r.termination_reason,
    suspendedAt: toIso(r.suspended_at),
    suspendedBy: r.suspended_by,
    suspensionReason: r.suspension_reason,
  };
}

/** Checks an agreement; throws SLUICE_ERR_INPUT_INVALID naming the field (e.g. `agreement.validTo`). */
export function validateAgreement(a: unknown): Agreement {
  return parseInput(AgreementSchema, a, 'agreement') as Agreement;
}

/** Authorized-operation agreements. */
export class AgreementsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Stores a new agreement after {@link validateAgreement}: a term of at most
   * 3 years, validFrom ≤ validTo, at least one grant. An existing id is
   * SLUICE_ERR_CONFLICT. Logged as `agreement.create`.
   */
  async createAgreement(input: Agreement, by = 'system'): Promise<AgreementRecord> {
    const a = validateAgreement(input);
    return this.db.tx(async (t) => {
      const clash = await t.query<{ id: string }>('SELECT id FROM agreements WHERE id = $1', [a.id]);
      if (clash.length > 0) throw new SluiceError('SLUICE_ERR_CONFLICT', `agreement ${a.id} already exists`);
      const rows = await t.query<AgreementRow>(
        `INSERT INTO agreements (id, scenario, operator, purpose, use_class, grants, audit_thresholds, resource_limits, valid_from, valid_to, status)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9::date, $10::date, $11) RETURNING ${COLS}`,
        [a.id, a.scenario, a.operator, a.purpose, a.useClass, jsonParam(a.grants), jsonParam(a.auditThresholds ?? {}), jsonParam(a.resourceLimits ?? {}), a.validFrom, a.validTo, a.status],
      );
      await appendAuditLog(t, {
        actor: by,
        action: 'agreement.create',
        subject: a.id,
        details: { operator: a.operator, useClass: a.useClass, validFrom: a.validFrom, validTo: a.validTo, datasets: a.grants.map((g) => g.dataset) },
      });
      return toAgreement(rows[0] as AgreementRow);
    });
  }

  /** One agreement, or null. */
  async getAgreement(id: string): Promise<AgreementRecord | null> {
    const rows = await this.db.query<AgreementRow>(`SELECT ${COLS} FROM agreements WHERE id = $1`, [id]);
    return rows[0] ? toAgreement(rows[0]) : null;
  }

  /** All agreements, oldest first. */
  async listAgreements(): Promise<AgreementRecord[]> {
    return (await this.db.query<AgreementRow>(`SELECT ${COLS} FROM agreements ORDER BY created_at, id`)).map(toAgreement);
  }

  /**
   * Marks an agreement terminated, for good (idempotent: terminating twice
   * keeps the first time, person and reason). A suspended agreement may be
   * terminated. From then on nothing is done under it (domain/in-force.ts);
   * deleting its data is the termination procedure's job. SLUICE_ERR_NOT_FOUND
   * for an unknown id. Logged as `agreement.terminate` with the reason.
   */
  async terminateAgreement(id: string, by: string, reason: string | null = null): Promise<AgreementRecord> {
    return this.db.tx(async (t) => {
      const rows = await t.query<AgreementRow>(
        `UPDATE agreements SET status = 'terminated', terminated_at = now(), terminated_by = $2, termination_reason = $3,
           suspended_at = NULL, suspended_by = NULL, suspension_reason = NULL
         WHERE id = $1 AND status <> 'terminated' RETURNING ${COLS}`,
        [id, by, reason],
      );
      if (rows[0]) {
        await appendAuditLog(t, { actor: by, action: 'agreement.terminate', subject: id, details: reason === null ? {} : { reason } });
        return toAgreement(rows[0]);
      }
      return toAgreement(await this.#existing(t, id));
    });
  }

  /**
   * Suspends an active agreement until {@link resumeAgreement}: nothing is done
   * under it meanwhile. SLUICE_ERR_CONFLICT when it is already suspended or
   * terminated; SLUICE_ERR_NOT_FOUND for an unknown id. Logged as
   * `agreement.suspend` with the reason.
   */
  async suspendAgreement(id: string, by: string, reason: string): Promise<AgreementRecord> {
    return this.#move(id, 'suspend', by, reason, 'active', [`status = 'suspended', suspended_at = now(), suspended_by = $3, suspension_reason = $4`, by, reason]);
  }

  /**
   * Resumes a suspended agreement: in force again (within its term).
   * SLUICE_ERR_CONFLICT unless it is suspended (a terminated one stays
   * terminated); SLUICE_ERR_NOT_FOUND for an unknown id. Logged as
   * `agreement.resume` with the reason.
   */
  async resumeAgreement(id: string, by: string, reason: string): Promise<AgreementRecord> {
    return this.#move(id, 'resume', by, reason, 'suspended', [`status = 'active', suspended_at = NULL, suspended_by = NULL, suspension_reason = NULL`]);
  }

  /**
   * One status move from `from`, with its audit row in the same transaction; a
   * conflict names the status found. `set` is the SET clause (its parameters
   * from $3 on) followed by those parameters.
   */
  async #move(id: string, verb: 'suspend' | 'resume', by: string, reason: string, from: AgreementStatus, [set, ...params]: [string, ...string[]]): Promise<AgreementRecord> {
    return this.db.tx(async (t) => {
      const rows = await t.query<AgreementRow>(`UPDATE agreements SET ${set} WHERE id = $1 AND status = $2 RETURNING ${COLS}`, [id, from, ...params]);
      if (!rows[0]) {
        const found = await this.#existing(t, id);
        throw SluiceError.of('SLUICE_ERR_CONFLICT', { kind: 'agreement', id, reason: `cannot ${verb} an agreement that is ${found.status}${found.status === 'terminated' ? ' (termination is final)' : ''}` });
      }
      await appendAuditLog(t, { actor: by, action: `agreement.${verb}`, subject: id, details: { reason } });
      return toAgreement(rows[0]);
    });
  }

  /** The stored row of `id`; SLUICE_ERR_NOT_FOUND when there is none. */
  async #existing(t: Db, id: string): Promise<AgreementRow> {
    const existing = await t.query<AgreementRow>(`SELECT ${COLS} FROM agreements WHERE id = $1`, [id]);
    if (!existing[0]) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `agreement ${id} not found`);
    return existing[0];
  }
}
