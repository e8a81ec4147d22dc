import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig, readEnv, readSetting } from '../../lib/config.js';

describe('lib/config: options, then the environment, then the defaults', () => {
  it('fills every default from an empty environment', () => {
    expect(loadConfig({}, {})).toEqual({ ...DEFAULTS });
  });
  it('reads each variable, and lets an option win over it', () => {
    const env = { SLUICE_DATA_ROOT: '/d', DATABASE_URL: 'postgres://x', SLUICE_DB_SCHEMA: 's', SLUICE_FUSE_STEPS: '0', SLUICE_DUCKDB_MEMORY: '1GB', SLUICE_DUCKDB_THREADS: '2', SLUICE_LOCK_MS: '4000', SLUICE_QUEUE_PREFIX: 'p' };
    expect(loadConfig({}, env)).toMatchObject({ dataRoot: '/d', databaseUrl: 'postgres://x', dbSchema: 's', fuseSteps: false, duckdbMemory: '1GB', duckdbThreads: 2, lockMs: 4000, queuePrefix: 'p' });
    expect(loadConfig({ dataRoot: '/o', fuseSteps: true }, env)).toMatchObject({ dataRoot: '/o', fuseSteps: true });
    expect(readEnv({ SLUICE_FUSE_STEPS: '1' }).fuseSteps).toBe(true);
  });
  it('refuses a malformed number, naming the variable and not echoing the value', () => {
    expect(() => readEnv({ SLUICE_LOCK_MS: 'soon' })).toThrow(/SLUICE_LOCK_MS: expected a whole number of at least 1, found a string of 4 characters/);
    expect(() => readEnv({ SLUICE_DUCKDB_THREADS: '-1' })).toThrow(/SLUICE_DUCKDB_THREADS/);
  });
  it('reads one setting without tripping over a malformed other (the logger reads only its own)', () => {
    const env = { SLUICE_LOG_LEVEL: 'warn', SLUICE_LOCK_MS: 'soon', SLUICE_URL: '' };
    expect(readSetting('logLevel', env)).toBe('warn');
    expect(readSetting('serviceUrl', env)).toBeUndefined();
    expect(() => readSetting('lockMs', env)).toThrow(/SLUICE_LOCK_MS/);
    expect(() => readSetting('logLevel', { SLUICE_LOG_LEVEL: 'loud' })).toThrow(/SLUICE_LOG_LEVEL: expected one of debug, info, warn, error, silent/);
  });
});
