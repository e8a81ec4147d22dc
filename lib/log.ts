import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULTS, readSetting } from './config.js';

/** Fields a log line may carry: ids, hashes, counts, codes and names. Never a data value. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Options for {@link configureLog}. */
export interface LogOptions {
  /** Also append JSON lines to this file (the domain keeps its logs). Default: none. */
  file?: string;
  /** Minimum level written to stderr; default `info` (`SLUICE_LOG_LEVEL` overrides). */
  level?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
let options: LogOptions = {};

/** Sets where log lines go. Called once by each process's entry point. */
export function configureLog(next: LogOptions): void {
  options = { ...options, ...next };
  if (next.file) mkdirSync(dirname(next.file), { recursive: true });
}

/** SLUICE_LOG_LEVEL, else the configured level, else info; a malformed variable counts as unset (a logger does not throw). */
function minLevel(): keyof typeof LEVELS {
  let fromEnv: keyof typeof LEVELS | undefined;
  try {
    fromEnv = readSetting('logLevel');
  } catch {
    fromEnv = undefined;
  }
  return fromEnv ?? options.level ?? DEFAULTS.logLevel;
}

function write(level: keyof typeof LEVELS, event: string, fields: LogFields): void {
  const line = JSON.stringify({ at: new Date().toISOString(), level, event, pid: process.pid, ...fields });
  if (options.file) appendFileSync(options.file, line + '\n');
  if (LEVELS[level] >= LEVELS[minLevel()]) process.stderr.write(line + '\n');
}

/**
 * The structured logger. An event name plus flat fields; by contract the fields
 * hold ids, hashes, counts and codes only — a data value never goes into a log
 * line, because logs leave the process and are read by people outside the domain.
 */
export const log = {
  debug: (event: string, fields: LogFields = {}) => write('debug', event, fields),
  info: (event: string, fields: LogFields = {}) => write('info', event, fields),
  warn: (event: string, fields: LogFields = {}) => write('warn', event, fields),
  error: (event: string, fields: LogFields = {}) => write('error', event, fields),
};
