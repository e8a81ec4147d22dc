import { UnrecoverableError, type Job } from 'bullmq';
import { errorToWire, isSluiceError, SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
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
      const final = !err.retryable || job.attemptsMade + 1 >= attempts;
      log.warn('step.failed', { runId: data.runId, stepId: data.stepId ?? 'gate', code: err.code, attempt: job.attemptsMade + 1, final });
      await failSteps(engine, data.runId, data.stepId, err, final);
      throw failure(err);
    }
  };
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
