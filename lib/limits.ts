/**
 * The resource limits of a step's DuckDB work, in one place: a time limit
 * over all its statements, a memory limit and a spill (temp-space) limit.
 * Defaults come from the configuration (lib/config.ts); an agreement may set
 * its own ({@link ResourceLimitsSchema}, stored with the agreement). Hitting
 * one fails the step for good with the code naming the limit.
 */
import { z } from 'zod';
import { DUCK_SIZE, type Config } from './config.js';
import { SluiceError, isSluiceError } from './errors.js';

/** The limits one step runs under. */
export interface StepLimits {
  /** Wall-clock time over all the step's DuckDB statements, in ms. */
  timeMs: number;
  /** DuckDB `memory_limit`, e.g. `2GB`. */
  memory: string;
  /** DuckDB `max_temp_directory_size`, e.g. `20GB`. */
  tempMax: string;
}

/** Bounds an agreement's own limits must keep (a typo of a day or a petabyte is refused). */
const MAX_TIME_MS = 24 * 3600 * 1000;

const size = z.string().regex(DUCK_SIZE, 'expected a size such as 512MB or 2GB');

/** An agreement's own limits, each optional (the configured default applies where absent). */
export const ResourceLimitsSchema = z.strictObject({
  timeMs: z.number().int().min(100, 'expected at least 100 ms').max(MAX_TIME_MS, `expected at most ${MAX_TIME_MS} ms (a day)`).optional(),
  memory: size.optional(),
  tempMax: size.optional(),
});

/** An agreement's own limits. */
export type ResourceLimits = z.output<typeof ResourceLimitsSchema>;

/** The limits of a step: the agreement's own where it sets them, else the configuration's. */
export function resolveLimits(config: Pick<Config, 'stepTimeMs' | 'duckdbMemory' | 'duckdbTempMax'>, own: ResourceLimits = {}): StepLimits {
  return { timeMs: own.timeMs ?? config.stepTimeMs, memory: own.memory ?? config.duckdbMemory, tempMax: own.tempMax ?? config.duckdbTempMax };
}

/**
 * The limit a DuckDB error reports hitting, as our error; null for any other
 * error. DuckDB says "Out of Memory Error" for both; a spill that would pass
 * `max_temp_directory_size` names that setting. Only the error's class and
 * the setting's name are looked at: the rest of the text is never passed on.
 */
export function limitError(e: unknown, subject: string, limits: Pick<StepLimits, 'memory' | 'tempMax'>): SluiceError | null {
  if (isSluiceError(e)) return null;
  const text = e instanceof Error ? e.message : String(e);
  if (!/^Out of Memory Error:/i.test(text)) return null;
  if (text.includes('max_temp_directory_size')) return SluiceError.of('SLUICE_ERR_LIMIT_TEMP', { subject, limit: limits.tempMax });
  return SluiceError.of('SLUICE_ERR_LIMIT_MEMORY', { subject, limit: limits.memory });
}
