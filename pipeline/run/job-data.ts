import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';

/** The most a job's data may weigh in Redis, in bytes: ids and hashes only. */
export const MAX_JOB_DATA_BYTES = 1024;

const id = z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/);

/** Data of a step job or the gate job of a run. */
export const StepJobDataSchema = z.strictObject({ runId: id, stepId: id.optional() });
export type StepJobData = z.infer<typeof StepJobDataSchema>;

/** Data of a release job: which staged artifact to release, and who approved. */
export const ReleaseJobDataSchema = z.strictObject({
  runId: id,
  outputId: id,
  artifactHash: z.string().regex(/^[0-9a-f]{64}$/),
  approvedBy: id,
});
export type ReleaseJobData = z.infer<typeof ReleaseJobDataSchema>;

/**
 * Validates job data before it is enqueued or after it is dequeued. Redis is
 * plaintext and shared, so job data is held to ids and hashes under a size cap.
 */
export function checkJobData<T>(schema: z.ZodType<T>, data: unknown): T {
  const size = Buffer.byteLength(JSON.stringify(data ?? null));
  if (size > MAX_JOB_DATA_BYTES) {
    throw new SluiceError('SLUICE_ERR_PAYLOAD_TOO_LARGE', `job data: expected at most ${MAX_JOB_DATA_BYTES} bytes, found ${size}`);
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `job data${first?.path.length ? '.' + first.path.join('.') : ''}: ${first?.message ?? 'invalid'}`);
  }
  return r.data;
}
