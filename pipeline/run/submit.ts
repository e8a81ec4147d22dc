import { randomBytes } from 'node:crypto';
import type { FlowJob } from 'bullmq';
import { SluiceError } from '../../lib/errors.js';
import { log } from '../../lib/log.js';
import { requireInForce } from '../../domain/in-force.js';
import type { DatasetInfo, User } from '../../domain/types.js';
import type { Engine } from '../engine.js';
import { QUEUES } from '../engine.js';
import { checkJobData, StepJobDataSchema } from './job-data.js';
import { parseSpec, type JobSpec } from '../spec/spec.js';
import { recordRun } from './lifecycle.js';

export { cancelRun } from './lifecycle.js';
import { resolveThresholds } from '../../audit/thresholds.js';
import { planJob, type Plan } from '../plan/plan.js';
import { loadConfig } from '../../lib/config.js';

/** Default retry policy of a step: transient errors retry with exponential backoff. */
export const STEP_ATTEMPTS = 3;
export const STEP_BACKOFF_MS = 1000;

/** A new run id: sortable by time, unguessable. */
export function newRunId(): string {
  return `run-${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;
}

/** BullMQ job id of a run's step (or of its gate). */
export function stepJobId(runId: string, stepId: string): string {
  return `${runId}.${stepId}`;
}

/** Parses, validates and plans a spec for a user, without running anything. */
export async function planSpec(engine: Engine, specText: string, user: User): Promise<Plan> {
  return planParsedSpec(engine, parseSpec(specText), user);
}

/**
 * Plans an already parsed spec for a user (the agreement's scope, the catalog,
 * the audit thresholds). An agreement not in force is refused first
 * (SLUICE_ERR_AGREEMENT_NOT_IN_FORCE, logged as `operation`).
 */
export async function planParsedSpec(engine: Engine, spec: JobSpec, user: User, operation: 'plan' | 'submit' = 'plan'): Promise<Plan> {
  const agreement = await engine.cp.getAgreement(spec.agreement);
  if (!agreement) throw new SluiceError('SLUICE_ERR_SPEC_SCOPE', `agreement: no agreement ${spec.agreement} exists`);
  // Another company's operator learns nothing of the agreement's state: planJob refuses them as out of scope.
  if (user.role !== 'operator' || user.organization === agreement.operator) await requireInForce(engine.cp, agreement, { actor: user.id, operation, target: spec.name });
  const datasets = new Map<string, DatasetInfo>((await engine.cp.listDatasets()).map((d) => [d.name, d]));
  // Fails early, naming the field, when the spec would loosen the agreement's audit thresholds.
  resolveThresholds(agreement.auditThresholds, spec.audit?.thresholds);
  return planJob(spec, {
    agreement,
    datasets,
    ...(user.role === 'operator' ? { user: { id: user.id, organization: user.organization } } : {}),
    today: new Date().toISOString().slice(0, 10),
    fuse: loadConfig().fuseSteps,
  });
}

/**
 * Submits a spec: plans it, records the run and its steps, and enqueues the run
 * as a BullMQ flow. The flow is a chain in topological order with the gate on
 * top: a parent runs only after its child, and every child fails its parent on
 * failure, so a failed step fails the run instead of leaving it waiting. Steps
 * fused into a later step (`fusedInto`) get no job; their state is kept by the
 * job that runs them.
 */
export async function submitRun(engine: Engine, specText: string, user: User): Promise<{ runId: string; plan: Plan }> {
  // Parsed once: the plan and the stored spec are of the very same object.
  const spec = parseSpec(specText);
  const plan = await planParsedSpec(engine, spec, user, 'submit');
  const runId = newRunId();
  await recordRun(engine, {
    id: runId,
    agreementId: plan.agreementId,
    submittedBy: user.id,
    specName: plan.specName,
    specHash: plan.specHash,
    spec,
    plan,
    steps: plan.steps.map((s) => ({ stepId: s.id, kind: s.kind })),
  });
  let node: FlowJob | undefined;
  // A fused step has no job of its own: the step it is fused into runs it.
  for (const s of plan.steps.filter((x) => !x.fusedInto)) {
    const data = checkJobData(StepJobDataSchema, { runId, stepId: s.id });
    node = {
      name: s.kind,
      queueName: QUEUES.steps,
      data,
      opts: {
        jobId: stepJobId(runId, s.id),
        attempts: STEP_ATTEMPTS,
        backoff: { type: 'exponential', delay: STEP_BACKOFF_MS },
        failParentOnFailure: true,
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
      ...(node ? { children: [node] } : {}),
    };
  }
  const gate: FlowJob = {
    name: 'gate',
    queueName: QUEUES.steps,
    data: checkJobData(StepJobDataSchema, { runId }),
    opts: { jobId: stepJobId(runId, 'gate'), attempts: STEP_ATTEMPTS, backoff: { type: 'exponential', delay: STEP_BACKOFF_MS } },
    ...(node ? { children: [node] } : {}),
  };
  await engine.flow.add(gate, { queuesOptions: { [QUEUES.steps]: { defaultJobOptions: {} } } });
  log.info('run.submitted', { runId, steps: plan.steps.length, user: user.id });
  return { runId, plan };
}
