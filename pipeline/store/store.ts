import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { SluiceError } from '../../lib/errors.js';
import type { DataRoot, Zone } from './data-root.js';

/** A file the store holds: content-addressed by sha256. */
export interface StoredArtifact {
  hash: string;
  zone: Zone;
  /** Absolute path. */
  path: string;
  /** Path relative to the data root (what the control plane records). */
  relPath: string;
  bytes: number;
}

/** sha256 hex of a file, streamed. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  // 1 MiB reads: the default 64 KiB chunks double the time on large files (one event per chunk).
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

const HASH_RE = /^[0-9a-f]{64}$/;
const HOST = hostname().replace(/[^A-Za-z0-9_]/g, '_');
const TMP_OWNER = `${HOST}-${process.pid}`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}
const EXT_RE = /^[a-z0-9]{1,10}$/;

/**
 * The domain's store: zones of content-addressed files under one data root.
 * Writers get a temporary path, write there, and {@link DomainStore.commit}
 * hashes the file and renames it into `<zone>/<sha256>.<ext>`: a reader never
 * sees a half-written file, and writing the same content twice yields the same
 * artifact (which is what makes retried steps idempotent).
 */
export class DomainStore {
  constructor(readonly dataRoot: DataRoot) {}

  /** A fresh temporary path with the given extension, on the store's filesystem. */
  tmpPath(ext = 'parquet'): string {
    // Host and pid in the name let a sweeper tell a dead writer's leftovers from live work.
    return join(this.dataRoot.tmp, `${TMP_OWNER}.${randomUUID()}.${ext}`);
  }

  /**
   * Removes temporary files and folders left by writers on this host that are
   * no longer alive (a worker killed mid-step). Returns how many it removed.
   * Files of other hosts (a shared data root) are left to those hosts.
   */
  async sweepTmp(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dataRoot.tmp)) {
      const m = /^(.+)-(\d+)\./.exec(name) ?? /^duck-.*-(\d+)$/.exec(name);
      if (!m) continue;
      const host = m.length === 3 ? m[1] : HOST;
      const pid = Number(m.length === 3 ? m[2] : m[1]);
      if (host !== HOST || pidAlive(pid)) continue;
      await rm(join(this.dataRoot.tmp, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** The path an artifact of `hash` has in `zone`. */
  pathOf(zone: Zone, hash: string, ext = 'parquet'): string {
    if (!HASH_RE.test(hash)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'artifact hash: expected 64 lowercase hex characters');
    if (!EXT_RE.test(ext)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'artifact extension: expected 1–10 lowercase letters or digits');
    return join(this.dataRoot.zone(zone), `${hash}.${ext}`);
  }

  /** Whether the artifact exists in the zone. */
  has(zone: Zone, hash: string, ext = 'parquet'): boolean {
    return existsSync(this.pathOf(zone, hash, ext));
  }

  /**
   * Hashes a finished temporary file and renames it into the zone. If the zone
   * already holds that content, the temporary file is removed and the existing
   * artifact returned. Files in staging/ and release/ are frozen (read-only).
   */
  async commit(tmp: string, zone: Zone, ext = 'parquet'): Promise<StoredArtifact> {
    try {
      const hash = await hashFile(tmp);
      const dest = this.pathOf(zone, hash, ext);
      if (existsSync(dest)) {
        await unlink(tmp);
      } else {
        await rename(tmp, dest);
        if (zone === 'staging' || zone === 'release' || zone === 'raw') await chmod(dest, 0o444);
      }
      const { size } = await stat(dest);
      return { hash, zone, path: dest, relPath: relative(this.dataRoot.root, dest), bytes: size };
    } catch (e) {
      if (e instanceof SluiceError) throw e;
      throw new SluiceError('SLUICE_ERR_STORE_IO', `could not commit an artifact into ${zone}/`, { cause: e });
    }
  }

  /**
   * Copies an artifact from one zone to another (a frozen copy: staging and
   * release never share an inode with work/, so nothing can edit them in place).
   * The content is re-hashed on the way; a mismatch means the source was altered.
   */
  async copy(from: Zone, hash: string, to: Zone, ext = 'parquet'): Promise<StoredArtifact> {
    const src = this.pathOf(from, hash, ext);
    if (!existsSync(src)) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `artifact ${hash.slice(0, 12)} is not in ${from}/`);
    const tmp = this.tmpPath(ext);
    await copyFile(src, tmp);
    const stored = await this.commit(tmp, to, ext);
    if (stored.hash !== hash) {
      throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', `artifact ${hash.slice(0, 12)} in ${from}/ no longer matches its hash`);
    }
    return stored;
  }

  /** Verifies an artifact's bytes still hash to its name. */
  async verify(zone: Zone, hash: string, ext = 'parquet'): Promise<boolean> {
    const p = this.pathOf(zone, hash, ext);
    return existsSync(p) && (await hashFile(p)) === hash;
  }

  /** Reads or creates a 32-byte domain secret in keys/ (mode 0600). */
  secret(name: string): Buffer {
    if (!/^[a-z0-9-]{1,64}$/.test(name)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'secret name: expected [a-z0-9-]{1,64}');
    const p = join(this.dataRoot.keys, `${name}.key`);
    if (existsSync(p)) return Buffer.from(readFileSync(p, 'utf8').trim(), 'base64');
    const key = randomBytes(32);
    try {
      writeFileSync(p, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      return key;
    } catch {
      // Another process created it first: use theirs, so every process agrees.
      return Buffer.from(readFileSync(p, 'utf8').trim(), 'base64');
    }
  }
}

/** The extension of an artifact path (`parquet`, `csv`, `json`). */
export function extOf(path: string): 'parquet' | 'csv' | 'json' {
  return path.endsWith('.csv') ? 'csv' : path.endsWith('.json') ? 'json' : 'parquet';
}
