import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';
import { appendAuditLog, type AuditLogInput } from './audit-log.js';
import { fromJson, jsonParam, parseInput, toIso, toNum, toNumber, type Db } from './db.js';
import type { JobSpec, Plan, Run, RunStatus, RunSummary, Step, StepStatus } from './types.js';

/** Every run status. */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'blocked', 'awaiting-review', 'released'] as const satisfies readonly RunStatus[];

/** Run states nothing moves a run out of: a cancelled run stays cancelled. */
export const TERMINAL_RUN_STATUSES = ['succeeded', 'failed', 'cancelled', 'released'] as const satisfies readonly RunStatus[];

/** States in which the pipeline has stopped working on the run (they set `finishedAt`). */
const STOPPED: readonly RunStatus[] = [...TERMINAL_RUN_STATUSES, 'blocked', 'awaiting-review'];

/** Every step status. */
export const STEP_STATUSES = ['waiting', 'running', 'done', 'skipped', 'failed', 'cancelled'] as const satisfies readonly StepStatus[];

const STEP_FINISHED: readonly StepStatus[] = ['done', 'skipped', 'failed', 'cancelled'];

/** Input of {@link RunsRepo.createRun}. */
export interface NewRun {
  id: string;
  agreementId: string;
  submittedBy: string;
  specName: string;
  specHash: string;
  /** The parsed spec: names and parameters, never data values (stored as given; the pipeline gives a JobSpec). */
  spec: unknown;
  /** The plan (stored as given; the pipeline gives its Plan). */
  plan: unknown;
  /** In flow order. */
  steps: { stepId: string; kind: string }[];
}

/** Filters of {@link RunsRepo.listRuns}. */
export interface RunQuery {
  submittedBy?: string;
  agreementId?: string;
  /** Runs under the agreements of this operator organisation (an agreement's `operator`). */
  organization?: string;
  status?: RunStatus;
  /** Default 100, at most 1,000. Newest first. */
  limit?: number;
}

/** A change to one step; absent fields are kept. */
export interface StepPatch {
  status?: StepStatus;
  /** 0..1. Set to 1 when status becomes `done` and no progress is given. */
  progress?: number;
  artifactHash?: string;
  rows?: number;
  errorCode?: string;
  /** Stored as given (≤ 2,000 characters): must hold no data value, like every SluiceError message. */
  errorMessage?: string;
  /** Adds this many attempts (a retry). */
  attemptsIncrement?: number;
  /** With `status`: change the step only when its status is one of these (the caller's transition table). */
  from?: readonly StepStatus[];
}

/** Conditions and side records of {@link RunsRepo.setRunStatus}. */
export interface RunTransition {
  /** Move the run only when its status is one of these (the caller's transition table). */
  from?: readonly RunStatus[];
  /** An audit-log row appended in the same transaction, only when the run moved. */
  audit?: AuditLogInput;
}

const ID = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected 1–128 letters, digits, _ . : -');

const NewRunSchema = z
  .object({
    id: ID,
    agreementId: z.string().min(1),
    submittedBy: z.string().min(1),
    specName: z.string().min(1),
    specHash: z.string().min(1),
    spec: z.unknown().refine((v) => v !== undefined, 'expected the parsed spec'),
    plan: z.unknown().refine((v) => v !== undefined, 'expected the plan'),
    steps: z.array(z.object({ stepId: ID, kind: z.string().min(1) })),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.steps.forEach((s, i) => {
      if (seen.has(s.stepId)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'stepId'], message: 'duplicate step id' });
      seen.add(s.stepId);
    });
  });

const StepPatchSchema = z.object({
  status: z.enum(STEP_STATUSES).optional(),
  progress: z.number().min(0).max(1).optional(),
  artifactHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters').optional(),
  rows: z.number().int().min(0).optional(),
  errorCode: z.string().min(1).max(100).optional(),
  errorMessage: z.string().optional(),
  attemptsIncrement: z.number().int().min(0).optional(),
  from: z.array(z.enum(STEP_STATUSES)).optional(),
});

interface RunRow {
  id: string;
  agreement_id: string;
  submitted_by: string;
  spec_name: string;
  spec_hash: string;
  spec: unknown;
  plan: unknown;
  status: RunStatus;
  error_code: string | null;
  error_message: string | null;
  created_at: unknown;
  started_at: unknown;
  finished_at: unknown;
}

interface StepRow {
  run_id: string;
  step_id: string;
  kind: string;
  status: StepStatus;
  progress: unknown;
  attempts: unknown;
  artifact_hash: string | null;
  rows: unknown;
  error_code: string | null;
  error_message: string | null;
  started_at: unknown;
  finished_at: unknown;
}

const RUN_COLS = 'id, agreement_id, submitted_by, spec_name, spec_hash, spec, plan, status, error_code, error_message, created_at, started_at, finished_at';
const STEP_COLS = 'run_id, step_id, kind, status, progress, attempts, artifact_hash, rows, error_code, error_message, started_at, finished_at';

function toRunSummary(r: RunRow): RunSummary {
  return {
    id: r.id,
    agreementId: r.agreement_id,
    submittedBy: r.submitted_by,
    specName: r.spec_name,
    specHash: r.spec_hash,
    spec: fromJson<JobSpec>(r.spec),
    plan: fromJson<Plan>(r.plan),
    status: r.status,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    createdAt: toIso(r.created_at) ?? '',
    startedAt: toIso(r.started_at),
    finishedAt: toIso(r.finished_at),
  };
}

function toStep(r: StepRow): Step {
  return {
    runId: r.run_id,
    stepId: r.step_id,
    kind: r.kind,
    status: r.status,
    progress: toNum(r.progress),
    attempts: toNum(r.attempts),
    artifactHash: r.artifact_hash,
    rows: toNumber(r.rows),
    errorCode: r.error_code,
    errorMessage: r.error_message,
    startedAt: toIso(r.started_at),
    finishedAt: toIso(r.finished_at),
  };
}

function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}

/** Runs and their steps. */
export class RunsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Stores a run (status `queued`) and its steps (`waiting`) in one
   * transaction, logged as `run.create`. The agreement must exist (SLUICE_ERR_NOT_FOUND) and be active
   * (SLUICE_ERR_SPEC_SCOPE): the check holds a share lock on the agreement, so
   * a concurrent termination either waits for this run or is seen by it.
   */
  async createRun(input: NewRun): Promise<Run> {
    const r = parseInput(NewRunSchema, input, 'run');
    return this.db.tx(async (t) => {
      const ag = await t.query<{ status: string }>('SELECT status FROM agreements WHERE id = $1 FOR SHARE', [r.agreementId]);
      if (!ag[0]) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `run.agreementId: agreement ${r.agreementId} not found`);
      if (ag[0].status !== 'active') throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `run.agreementId: agreement ${r.agreementId} is ${ag[0].status}`);
      const clash = await t.query<{ id: string }>('SELECT id FROM runs WHERE id = $1', [r.id]);
      if (clash.length > 0) throw new SluiceError('SLUICE_ERR_CONFLICT', `run ${r.id} already exists`);
      await t.query(
        `INSERT INTO runs (id, agreement_id, submitted_by, spec_name, spec_hash, spec, plan)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)`,
        [r.id, r.agreementId, r.submittedBy, r.specName, r.specHash, jsonParam(r.spec), jsonParam(r.plan)],
      );
      if (r.steps.length > 0) {
        // One statement for all steps: a plan may have many.
        const params: unknown[] = [r.id];
        const values = r.steps.map((s, i) => {
          params.push(s.stepId, s.kind, i);
          const b = params.length;
          return `($1, $${b - 2}, $${b - 1}, $${b}::integer)`;
        });
        await t.query(`INSERT INTO steps (run_id, step_id, kind, ordinal) VALUES ${values.join(', ')}`, params);
      }
      await appendAuditLog(t, {
        actor: r.submittedBy,
        action: 'run.create',
        subject: r.id,
        details: { agreementId: r.agreementId, specName: r.specName, specHash: r.specHash, steps: r.steps.length },
      });
      const run = await getRunIn(t, r.id);
      return run as Run;
    });
  }

  /** A run with its steps in flow order, or null. */
  async getRun(id: string): Promise<Run | null> {
    return getRunIn(this.db, id);
  }

  /** Runs, newest first, filtered. */
  async listRuns(q: RunQuery = {}): Promise<RunSummary[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (col: string, v: unknown) => {
      params.push(v);
      where.push(`${col} = $${params.length}`);
    };
    if (q.submittedBy !== undefined) add('submitted_by', q.submittedBy);
    if (q.agreementId !== undefined) add('agreement_id', q.agreementId);
    if (q.status !== undefined) add('status', q.status);
    if (q.organization !== undefined) {
      params.push(q.organization);
      where.push(`agreement_id IN (SELECT id FROM agreements WHERE operator = $${params.length})`);
    }
    params.push(Math.min(Math.max(Math.trunc(q.limit ?? 100), 1), 1000));
    const rows = await this.db.query<RunRow>(
      `SELECT ${RUN_COLS} FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY created_at DESC, id LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRunSummary);
  }

  /**
   * Moves a run to `status`. Sets `startedAt` the first time it runs and
   * `finishedAt` when it stops (terminal, blocked or awaiting review); stores
   * the error code and message when given. A run in a terminal state
   * (succeeded, failed, cancelled, released) is never moved: returns false, as
   * it does when the run already has that status. Cancelling also cancels its
   * waiting and running steps, so a late worker cannot revive them.
   * SLUICE_ERR_NOT_FOUND for an unknown run.
   */
  async setRunStatus(id: string, status: RunStatus, error: { errorCode?: string; errorMessage?: string } = {}, transition: RunTransition = {}): Promise<boolean> {
    if (transition.from && transition.from.some((f) => !(RUN_STATUSES as readonly string[]).includes(f))) {
      throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `run transition.from: expected statuses among ${RUN_STATUSES.join('|')}`);
    }
    const fromClause = transition.from ? ` AND status IN (${transition.from.length > 0 ? sqlList(transition.from) : 'NULL'})` : '';
    if (!(RUN_STATUSES as readonly string[]).includes(status)) {
      throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `run status: expected one of ${RUN_STATUSES.join('|')}`);
    }
    return this.db.tx(async (t) => {
      // One conditional UPDATE: two workers racing cannot both move the run.
      const rows = await t.query<{ id: string }>(
        `UPDATE runs SET status = $2::text,
           error_code = COALESCE($3::text, error_code),
           error_message = COALESCE($4::text, error_message),
           started_at = CASE WHEN $2::text = 'running' AND started_at IS NULL THEN now() ELSE started_at END,
           finished_at = CASE WHEN $2::text IN (${sqlList(STOPPED)}) THEN now() ELSE finished_at END
         WHERE id = $1 AND status <> $2::text AND status NOT IN (${sqlList(TERMINAL_RUN_STATUSES)})${fromClause}
         RETURNING id`,
        [id, status, error.errorCode ?? null, error.errorMessage?.slice(0, 2000) ?? null],
      );
      if (rows.length === 0) {
        const exists = await t.query<{ id: string }>('SELECT id FROM runs WHERE id = $1', [id]);
        if (exists.length === 0) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `run ${id} not found`);
        return false;
      }
      if (status === 'cancelled') {
        await t.query(
          `UPDATE steps SET status = 'cancelled', finished_at = now() WHERE run_id = $1 AND status IN ('waiting', 'running')`,
          [id],
        );
      }
      if (transition.audit) await appendAuditLog(t, transition.audit);
      return true;
    });
  }

  /**
   * Applies a patch to one step and returns whether a row changed. A cancelled
   * step is never changed (false). Status `running` sets `startedAt` once and
   * clears `finishedAt` (a retry); done/skipped/failed/cancelled set
   * `finishedAt`. SLUICE_ERR_NOT_FOUND for an unknown step.
   */
  async updateStep(runId: string, stepId: string, patch: StepPatch): Promise<boolean> {
    const p = parseInput(StepPatchSchema, patch, 'step');
    const sets: string[] = [];
    const params: unknown[] = [runId, stepId];
    const set = (col: string, v: unknown, cast = '') => {
      params.push(v);
      sets.push(`${col} = $${params.length}${cast}`);
    };
    if (p.status !== undefined) {
      set('status', p.status, '::text');
      const s = `$${params.length}::text`;
      sets.push(`started_at = CASE WHEN ${s} = 'running' AND started_at IS NULL THEN now() ELSE started_at END`);
      sets.push(`finished_at = CASE WHEN ${s} = 'running' THEN NULL WHEN ${s} IN (${sqlList(STEP_FINISHED)}) THEN now() ELSE finished_at END`);
    }
    const progress = p.progress ?? (p.status === 'done' ? 1 : undefined);
    if (progress !== undefined) set('progress', progress, '::double precision');
    if (p.artifactHash !== undefined) set('artifact_hash', p.artifactHash);
    if (p.rows !== undefined) set('rows', p.rows, '::bigint');
    if (p.errorCode !== undefined) set('error_code', p.errorCode);
    if (p.errorMessage !== undefined) set('error_message', p.errorMessage.slice(0, 2000));
    if (p.attemptsIncrement !== undefined) {
      params.push(p.attemptsIncrement);
      sets.push(`attempts = attempts + $${params.length}::integer`);
    }
    if (sets.length === 0) return false;
    return this.db.tx(async (t) => {
      const rows = await t.query<{ step_id: string }>(
        `UPDATE steps SET ${sets.join(', ')} WHERE run_id = $1 AND step_id = $2 AND status <> 'cancelled'${
          p.status !== undefined && p.from ? ` AND status IN (${p.from.length > 0 ? sqlList(p.from) : 'NULL'})` : ''
        } RETURNING step_id`,
        params,
      );
      if (rows.length > 0) return true;
      const exists = await t.query<{ step_id: string }>('SELECT step_id FROM steps WHERE run_id = $1 AND step_id = $2', [runId, stepId]);
      if (exists.length === 0) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `step ${stepId} of run ${runId} not found`);
      return false;
    });
  }
}

async function getRunIn(db: Db, id: string): Promise<Run | null> {
  const runs = await db.query<RunRow>(`SELECT ${RUN_COLS} FROM runs WHERE id = $1`, [id]);
  if (!runs[0]) return null;
  const steps = await db.query<StepRow>(`SELECT ${STEP_COLS} FROM steps WHERE run_id = $1 ORDER BY ordinal`, [id]);
  return { ...toRunSummary(runs[0]), steps: steps.map(toStep) };
}
