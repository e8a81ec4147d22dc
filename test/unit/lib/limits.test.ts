import { describe, expect, it } from 'vitest';
import { loadConfig, readEnv } from '../../../lib/config.js';
import { limitError, resolveLimits, ResourceLimitsSchema } from '../../../lib/limits.js';

describe('lib/limits: a step\'s limits from the configuration and its agreement', () => {
  it('reads the limit settings, with their defaults', () => {
    expect(loadConfig({}, {})).toMatchObject({ stepTimeMs: 3_600_000, duckdbMemory: '2GB', duckdbTempMax: '20GB', maxStalled: 1 });
    expect(loadConfig({}, { SLUICE_STEP_TIME_MS: '2000', SLUICE_DUCKDB_MEMORY: '256MB', SLUICE_DUCKDB_TEMP_MAX: '1.5GiB', SLUICE_MAX_STALLED: '0' })).toMatchObject({
      stepTimeMs: 2000, duckdbMemory: '256MB', duckdbTempMax: '1.5GiB', maxStalled: 0,
    });
  });
  it('refuses a size that is not one, naming the variable and not echoing the value', () => {
    expect(() => readEnv({ SLUICE_DUCKDB_TEMP_MAX: 'plenty' })).toThrow(/SLUICE_DUCKDB_TEMP_MAX: expected a size such as 512MB or 2GB, found a string of 6 characters/);
    expect(() => readEnv({ SLUICE_DUCKDB_MEMORY: "1GB'; SET x=1" })).toThrow(/SLUICE_DUCKDB_MEMORY/);
    expect(() => readEnv({ SLUICE_MAX_STALLED: '-1' })).toThrow(/SLUICE_MAX_STALLED/);
  });
  it('takes the agreement\'s own limits where it sets them, else the configured ones', () => {
    const config = loadConfig({}, {});
    expect(resolveLimits(config)).toEqual({ timeMs: 3_600_000, memory: '2GB', tempMax: '20GB' });
    expect(resolveLimits(config, { memory: '256MB' })).toEqual({ timeMs: 3_600_000, memory: '256MB', tempMax: '20GB' });
    expect(ResourceLimitsSchema.safeParse({ memory: '256MB', timeMs: 2000, tempMax: '1GB' }).success).toBe(true);
    for (const bad of [{ memory: '256' }, { timeMs: 1.5 }, { timeMs: 10 }, { other: 1 }, { tempMax: '1GB; x' }]) expect(ResourceLimitsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });
  it('names the limit a DuckDB out-of-memory error hit, and nothing else', () => {
    const limits = { memory: '256MB', tempMax: '16MB' };
    expect(limitError(new Error('Out of Memory Error: could not allocate block of size 128.0 MiB'), 'step q', limits)).toMatchObject({ code: 'SLUICE_ERR_LIMIT_MEMORY', message: 'step q: stopped at its memory limit of 256MB' });
    expect(limitError(new Error("Out of Memory Error: failed to offload data block\nThis limit was set by the 'max_temp_directory_size' setting."), 'step q', limits)).toMatchObject({ code: 'SLUICE_ERR_LIMIT_TEMP', message: 'step q: stopped at its temp-space limit of 16MB' });
    expect(limitError(new Error('Conversion Error: could not convert string to INT32'), 'step q', limits)).toBeNull();
  });
});
