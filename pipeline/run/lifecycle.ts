/**
 * The run lifecycle: the one module that moves a run or a step from one
 * status to another. Each allowed move is in a table below; each run move is
 * written once, here, with its audit-log row in the same transaction; and the
 * one release path — the gate's pass on a table and a reviewer's approval alike
 * — goes through the release queue to {@link releaseOutput}, which alone
 * decides that a run is released.
 */
import type { RunStatus, StepStatus, User } from '../../domain/types.js';
import type { NewRun } from '../../domain/runs-repo.js';
import { SluiceError } from '../../lib/errors.js';
import { requireInForce } from '../../domain/in-force.js';
import { log } from '../../lib/log.js';
import type { Engine } from '../engine.js';
import { releaseArtifact } from '../gate/release.js';
import type { Plan } from '../plan/plan.js';
import type { JobSpec } from '../spec/spec.js';
import { checkJobData, ReleaseJobDataSchema, type ReleaseJobData } from './job-data.js';

/**
 * Where a run may go from each status. `succeeded` is kept for runs recorded
 * by earlier versions; nothing moves a run into it now. Terminal statuses
 * (failed, cancelled, released) lead nowhere.
 */
export const RUN_TRANSITIONS: { readonly [S in RunStatus]: readonly RunStatus[] } = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['failed', 'cancelled', 'blocked', 'awaiting-review', 'released'],
  'awaiting-review': ['released', 'blocked', 'cancelled'],
  // An exception approved by two reviewers releases a blocked output.
  blocked: ['released', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
  released: [],
};

/** Where a step may go from each status. A step re-run after its worker died goes running → running. */
export const STEP_TRANSITIONS: { readonly [S in StepStatus]: readonly StepStatus[] } = {
  waiting: ['running', 'failed', 'skipped', 'cancelled'],
  running: ['running', 'done', 'failed', 'waiting', 'cancelled'],
  // Its output vanished from work/: the step runs again.
  done: ['running'],
  failed: [],
  skipped: [],
  cancelled: [],
};

/** The statuses a run may enter `to` from. */
function runFrom(to: RunStatus): RunStatus[] {
  return (Object.keys(RUN_TRANSITIONS) as RunStatus[]).filter((s) => RUN_TRANSITIONS[s].includes(to));
}

/** The statuses a step may enter `to` from. */
function stepFrom(to: StepStatus): StepStatus[] {
  return (Object.keys(STEP_TRANSITIONS) as StepStatus[]).filter((s) => STEP_TRANSITIONS[s].includes(to));
}

/** Moves a run to `to` when the table allows it from its current status, with its audit row; returns whether it moved. */
async function moveRun(
  engine: Engine,
  runId: string,
  to: RunStatus,
  audit: { actor: string; action: string; details?: Record<string, unknown> },
  error: { errorCode?: string; errorMessage?: string } = {},
): Promise<boolean> {
  const moved = await engine.cp.setRunStatus(runId, to, error, {
    from: runFrom(to),
    audit: { actor: audit.actor, action: audit.action, subject: runId, details: { status: to, ...(audit.details ?? {}) } },
  });
  if (moved) log.info('run.status', { runId, status: to });
  return moved;
}

/** Moves steps to `to` where the table allows it. */
async function moveSteps(engine: Engine, runId: string, stepIds: readonly string[], to: StepStatus, patch: { progress?: number; rows?: number; artifactHash?: string; errorCode?: string; errorMessage?: string; attemptsIncrement?: number } = {}): Promise<void> {
  for (const id of stepIds) await engine.cp.updateStep(runId, id, { ...patch, status: to, from: stepFrom(to) });
}

// ------------------------------------------------------------------ submit and cancel

/** Records a submitted run (`queued`, its steps `waiting`; the repository logs `run.create`). */
export async function recordRun(engine: Engine, run: Omit<NewRun, 'spec' | 'plan'> & { spec: JobSpec; plan: Plan }): Promise<void> {
  await engine.cp.createRun(run);
}

/**
 * Cancels a run (terminal; its waiting and running steps are cancelled in the
 * same transaction); workers stop its steps at their next check. An operator
 * may cancel only their own runs.
 */
export async function cancelRun(engine: Engine, runId: string, user: User): Promise<boolean> {
  const run = await engine.cp.getRun(runId);
  if (!run) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `run ${runId} does not exist`);
  if (user.role === 'operator' && run.submittedBy !== user.id) {
    throw new SluiceError('SLUICE_ERR_AUTH_FORBIDDEN', `run ${runId} was submitted by someone else`);
  }
  // Jobs are not removed from the flow (a parent would then wait for a child
  // that never comes): each remaining step fails fast as cancelled when a worker
  // takes it, an active one is interrupted, and the failure climbs the chain.
  return moveRun(engine, runId, 'cancelled', { actor: user.id, action: 'run.cancel' }, { errorCode: 'SLUICE_ERR_RUN_CANCELLED', errorMessage: `cancelled by ${user.id}` });
}

// ------------------------------------------------------------------ steps

/** A step job starts: the run is running, the step (and the steps fused into it) running, one more attempt. */
export async function startSteps(engine: Engine, runId: string, runStatus: RunStatus, stepIds: readonly string[]): Promise<void> {
  if (runStatus === 'queued') await moveRun(engine, runId, 'running', { actor: 'worker', action: 'run.start' });
  await moveSteps(engine, runId, stepIds, 'running', { progress: 0, attemptsIncrement: 1 });
}

/** Progress of a job's steps (no status change); best effort. */
export function reportProgress(engine: Engine, runId: string, stepIds: readonly string[], fraction: number): void {
  for (const id of stepIds) void engine.cp.updateStep(runId, id, { progress: fraction }).catch(() => undefined);
}

/** A step job finished: the steps fused into it are done with the rows they passed on, then the step with its output. */
export async function finishSteps(
  engine: Engine,
  runId: string,
  step: { id: string; artifactHash: string; rows: number },
  fused: { ids: readonly string[]; rows?: number },
): Promise<void> {
  await moveSteps(engine, runId, fused.ids, 'done', { progress: 1, ...(fused.rows !== undefined ? { rows: fused.rows } : {}) });
  await moveSteps(engine, runId, [step.id], 'done', { progress: 1, artifactHash: step.artifactHash, rows: step.rows });
}

/**
 * A step job failed. Its steps (and those fused into it) wait for a retry,
 * or, on the last attempt, are failed (cancelled for a cancelled run); then
 * the run fails and its waiting steps are skipped. The gate's job (no step)
 * fails the run the same way. Best effort: a failure here must not hide the job's.
 */
export async function failSteps(engine: Engine, runId: string, stepId: string | undefined, err: SluiceError, final: boolean): Promise<void> {
  const run = await engine.cp.getRun(runId).catch(() => null);
  if (stepId) {
    const ids = [stepId, ...(run?.plan.steps ?? []).filter((s) => s.fusedInto === stepId).map((s) => s.id)];
    const to: StepStatus = final ? (err.code === 'SLUICE_ERR_RUN_CANCELLED' ? 'cancelled' : 'failed') : 'waiting';
    await moveSteps(engine, runId, ids, to, { errorCode: err.code, errorMessage: err.message }).catch(() => undefined);
  }
  if (!final) return;
  await moveRun(engine, runId, 'failed', { actor: 'worker', action: 'run.fail', details: { code: err.code, step: stepId ?? 'gate' } }, { errorCode: err.code, errorMessage: err.message }).catch(() => undefined);
  const after = await engine.cp.getRun(runId).catch(() => null);
  const waiting = (after?.steps ?? []).filter((s) => s.status === 'waiting').map((s) => s.stepId);
  await moveSteps(engine, runId, waiting, 'skipped').catch(() => undefined);
}

// ------------------------------------------------------------------ gate, review, release

/** What the gate decided for each output of a run. */
export type OutputState = 'released' | 'awaiting-review' | 'blocked';

/**
 * The gate decided every output: the run is blocked if one is, else awaiting
 * review if one is; when all are releasable it stays running until
 * {@link releaseOutput} has released the last one. Logged as `run.gated`.
 */
export async function recordGateDecision(engine: Engine, runId: string, states: readonly OutputState[], worst: string): Promise<void> {
  const status: RunStatus | null = states.includes('blocked') ? 'blocked' : states.includes('awaiting-review') ? 'awaiting-review' : null;
  const details = { worst, outputs: states.length };
  if (status) await moveRun(engine, runId, status, { actor: 'gate', action: 'run.gated', details });
  else await engine.cp.log({ actor: 'gate', action: 'run.gated', subject: runId, details: { status: 'releasing', ...details } });
}

/** A reviewer rejected an output of the run: the run is blocked. */
export async function blockRun(engine: Engine, runId: string, reviewerId: string, artifactHash: string): Promise<void> {
  await moveRun(engine, runId, 'blocked', { actor: reviewerId, action: 'run.reject', details: { artifactHash } });
}

/** The release job's id: one per release (run, output and artifact), never per artifact alone. */
export function releaseJobId(data: Pick<ReleaseJobData, 'runId' | 'outputId' | 'artifactHash'>): string {
  return `rel.${data.runId}.${data.outputId}.${data.artifactHash.slice(0, 16)}`;
}

/**
 * The one way to ask for a release, for the gate and for a reviewer alike:
 * a job on the release queue. Its id is unique per release ({@link releaseJobId}),
 * so a retried approval does not release twice (BullMQ keeps one job per id),
 * while two runs staging an identical artifact are released each. A release
 * job of that id that had failed is retried, so an approved artifact is released.
 */
export async function requestRelease(engine: Engine, req: ReleaseJobData): Promise<void> {
  const data = checkJobData(ReleaseJobDataSchema, req);
  const jobId = releaseJobId(data);
  const earlier = await engine.releaseQueue.getJob(jobId);
  if (earlier && (await earlier.isFailed())) {
    await earlier.retry('failed');
    return;
  }
  await engine.releaseQueue.add('release', data, {
    jobId,
    attempts: 3,
    backoff: { type: 'exponential', delay: 1000 },
  });
}

/**
 * The release queue's work: copies the staged artifact into release/ (re-hashed;
 * idempotent), then, when every output of its run is released, moves the run to
 * released: the one place that decides it.
 */
export async function releaseOutput(engine: Engine, job: ReleaseJobData): Promise<{ releaseId: string; path: string }> {
  const before = await engine.cp.getRun(job.runId);
  if (before) {
    // Nothing leaves under an agreement not in force; a run still running (its gate queued this) fails with the code.
    await requireInForce(engine.cp, before.agreementId, { actor: 'worker', operation: 'release', target: job.artifactHash }).catch(async (e: unknown) => {
      await failSteps(engine, job.runId, undefined, e as SluiceError, true);
      throw e;
    });
  }
  const r = await releaseArtifact(engine, job);
  const run = await engine.cp.getRun(job.runId);
  if (run) {
    const releases = await engine.cp.listReleases({ runId: job.runId });
    if (run.plan.outputs.every((o) => releases.some((x) => x.outputId === o.id))) {
      await moveRun(engine, job.runId, 'released', { actor: job.approvedBy, action: 'run.release', details: { outputs: run.plan.outputs.length } });
    }
  }
  return r;
}

/**
 * An agreement was resumed: its release jobs refused while it was suspended
 * (SLUICE_ERR_AGREEMENT_NOT_IN_FORCE) are tried again, so an output approved
 * before the suspension is still released. Runs that ended meanwhile (a run
 * still running when its release was refused failed) are left alone. Returns
 * how many were retried.
 */
export async function retryRefusedReleases(engine: Engine, agreementId: string): Promise<number> {
  let retried = 0;
  for (const job of await engine.releaseQueue.getFailed()) {
    if (!job.failedReason?.startsWith('SLUICE_ERR_AGREEMENT_NOT_IN_FORCE')) continue;
    const data = checkJobData(ReleaseJobDataSchema, job.data);
    const run = await engine.cp.getRun(data.runId);
    if (!run || run.agreementId !== agreementId || RUN_TRANSITIONS[run.status].length === 0) continue;
    await job.retry('failed');
    retried++;
  }
  if (retried > 0) log.info('release.retried', { agreement: agreementId, jobs: retried });
  return retried;
}
