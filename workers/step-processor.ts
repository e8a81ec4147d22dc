import { UnrecoverableError, type Job } from 'bullmq';
import { errorToWire, isSluiceError, SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import { abandonSignal } from '../lib/shutdown.js';
import type { Engine } from '../pipeline/engine.js';
import { runGate } from '../pipeline/gate/gate.js';
import { checkJobData, ReleaseJobDataSchema, StepJobDataSchema } from '../pipeline/run/job-data.js';
import { failSteps, releaseOutput } from '../pipeline/run/lifecycle.js';
import { runStep } from '../pipeline/run/run-step.js';

/**
 * Turns any error into one that is safe to store in Redis as a job's failure
 * reason: our own errors keep code and message (which never hold values);
 * anything else becomes its wire form ({@link errorToWire}: its class only,
 * because foreign messages may quote data), and may be retried.
 */
export function safeError(e: unknown): SluiceError {
  if (isSluiceError(e)) return e as SluiceError;
  const wire = errorToWire(e, 'a step');
  return new SluiceError('SLUICE_ERR_INTERNAL', wire.message, { retryable: true });
}

/** The failure BullMQ records (in Redis): code and message only; a non-retryable one is not attempted again. */
function failure(err: SluiceError): Error {
  const reason = `${err.code}: ${err.message}`;
  return err.retryable ? new Error(reason) : new UnrecoverableError(reason);
}

/** The processor of the steps queue: steps and each run's gate. */
export function stepProcessor(engine: Engine) {
  return async (job: Job): Promise<unknown> => {
    const data = checkJobData(StepJobDataSchema, job.data);
    const attempts = job.opts.attempts ?? 1;
    try {
      if (job.name === 'gate') return await runGate(engine, data.runId);
      if (!data.stepId) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'job data.stepId: expected a step id');
      return await runStep(engine, data.runId, data.stepId, (f) => job.updateProgress(Math.round(f * 100)));
    } catch (e) {
      const err = safeError(e);
      // Handed back at shutdown (its statement interrupted): the step is the next worker's now, not failed.
      if (abandonSignal.aborted) throw failure(err);
      const final = !err.retryable || job.attemptsMade + 1 >= attempts;
      log.warn('step.failed', { runId: data.runId, stepId: data.stepId ?? 'gate', code: err.code, attempt: job.attemptsMade + 1, final });
      await failSteps(engine, data.runId, data.stepId, err, final);
      throw failure(err);
    }
  };
}

/**
 * A step job BullMQ failed without running it: its worker died while running
 * it (BullMQ's stalled-job check found it so) more often than the workers'
 * `maxStalledCount` allows, so this time BullMQ failed it instead of starting
 * it again (its `deferredFailure`). The processor never saw this last
 * delivery: the run lifecycle hears of it here, as SLUICE_ERR_STEP_STALLED.
 * Returns whether the job was such a one.
 */
export async function onStalledStepFailed(engine: Engine, job: Job): Promise<boolean> {
  if (!job.deferredFailure) return false;
  const data = checkJobData(StepJobDataSchema, job.data);
  const step = data.stepId ?? 'gate';
  const err = SluiceError.of('SLUICE_ERR_STEP_STALLED', { subject: `run ${data.runId} step ${step}`, count: job.stalledCounter });
  log.error('step.stalled', { runId: data.runId, stepId: step, job: job.id ?? null, stalled: job.stalledCounter });
  await failSteps(engine, data.runId, data.stepId, err, true);
  return true;
}

/** The processor of the release queue: a reviewer approved; copy into release/. */
export function releaseProcessor(engine: Engine) {
  return async (job: Job): Promise<unknown> => {
    const data = checkJobData(ReleaseJobDataSchema, job.data);
    try {
      return await releaseOutput(engine, data);
    } catch (e) {
      const err = safeError(e);
      throw failure(err);
    }
  };
}
