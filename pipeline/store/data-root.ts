import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../lib/config.js';

/** The zones of the domain's store, in the order data moves through them. */
export const ZONES = ['raw', 'sandbox', 'work', 'staging', 'release'] as const;
export type Zone = (typeof ZONES)[number];

/** Every path under one data root. */
export interface DataRoot {
  root: string;
  zone(z: Zone): string;
  /** Temporary files: written here, then renamed into a zone (same filesystem). */
  tmp: string;
  /** Domain keys (tokenization master key, report-signing key). Never leave the domain. */
  keys: string;
  /** The embedded control plane (PGlite). */
  controlPlane: string;
  /** Log files. */
  logs: string;
}

/**
 * Resolves the data root: the argument, else `SLUICE_DATA_ROOT`, else `./.sluice`.
 * Creates every folder it names.
 */
export function openDataRoot(path?: string): DataRoot {
  const root = resolve(path ?? loadConfig().dataRoot);
  const dr: DataRoot = {
    root,
    zone: (z) => join(root, z),
    tmp: join(root, 'tmp'),
    keys: join(root, 'keys'),
    controlPlane: join(root, 'control-plane'),
    logs: join(root, 'logs'),
  };
  for (const z of ZONES) mkdirSync(dr.zone(z), { recursive: true });
  mkdirSync(dr.tmp, { recursive: true });
  mkdirSync(dr.keys, { recursive: true, mode: 0o700 });
  mkdirSync(dr.logs, { recursive: true });
  return dr;
}
