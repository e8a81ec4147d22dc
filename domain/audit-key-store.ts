/**
 * Where the audit log's secret and its out-of-database checkpoint live.
 *
 * The key is a 32-byte domain secret in the data root's `keys/` folder, in the
 * same format and naming as the other domain secrets (`keys/<purpose>.key`,
 * base64 and a newline, mode 0600: see `DomainStore.secret` for the
 * tokenization master key and audit/sign.ts for the report-signing key); the
 * purpose is {@link AUDIT_LOG_KEY_PURPOSE}. It is never written to the
 * database, never logged and never put in an error message.
 *
 * The checkpoint (the last committed sequence number and MAC, itself MACed)
 * sits next to the key, so that whoever can rewrite the database but not the
 * domain's key folder cannot move it, and so that a backup of `keys/` carries
 * both. It is replaced atomically: written to a private temp file, flushed,
 * then renamed over the old one.
 *
 * Without a data root (tests, an in-memory control plane) both live in this
 * process's memory only: the log is verifiable for as long as the process runs.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../lib/errors.js';

/** The key purpose (file `keys/audit-log.key`) of the audit log's HMAC key. */
export const AUDIT_LOG_KEY_PURPOSE = 'audit-log';

const PURPOSE_RE = /^[a-z0-9-]{1,64}$/;

/** A loaded secret and whether this call created it. */
export interface LoadedSecret {
  key: Buffer;
  /** True when the key did not exist and this call wrote it. */
  created: boolean;
}

/**
 * Reads, or creates on first use, the 32-byte domain secret `<dir>/<purpose>.key`.
 * Creation is atomic across processes (a private temp file hard-linked into
 * place: the process that loses the race reads the winner's key, and nobody
 * ever reads a half-written file). A key file others can read is tightened to
 * 0600. Errors: SLUICE_ERR_STORE_IO when the folder cannot be read or written;
 * SLUICE_ERR_STORE_CORRUPT when the file does not hold a 32-byte key.
 */
export function loadOrCreateSecret(dir: string, purpose: string): LoadedSecret {
  if (!PURPOSE_RE.test(purpose)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'key purpose: expected [a-z0-9-]{1,64}');
  const path = join(dir, `${purpose}.key`);
  let created = false;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(path)) {
      const tmp = join(dir, `.${purpose}.key.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      writeDurably(tmp, randomBytes(32).toString('base64') + '\n', 'wx');
      try {
        linkSync(tmp, path);
        created = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        unlinkSync(tmp);
      }
    }
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) {
      throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', `key file keys/${purpose}.key does not hold a 32-byte base64 key`);
    }
    return { key, created };
  } catch (cause) {
    if (cause instanceof SluiceError) throw cause;
    throw new SluiceError('SLUICE_ERR_STORE_IO', `the ${purpose} key under ${dir} could not be loaded or created`, { cause });
  }
}

/** What {@link CheckpointStore.read} found. */
export type StoredCheckpoint = { state: 'missing' } | { state: 'present'; text: string };

/** Holds the text of one checkpoint outside the database. */
export interface CheckpointStore {
  /** Where it is, for messages (a path, or `(memory)`). */
  readonly where: string;
  /** The stored text, or missing. Errors: SLUICE_ERR_STORE_IO when it exists but cannot be read. */
  read(): StoredCheckpoint;
  /** Replaces the stored text atomically. Errors: SLUICE_ERR_STORE_IO. */
  write(text: string): void;
}

/** The checkpoint file name for a schema (`public` keeps the short name). */
export function checkpointFileName(schema: string): string {
  return schema === 'public' ? 'audit-log-head.json' : `audit-log-head.${schema}.json`;
}

/** A checkpoint kept in a file (mode 0600), replaced by write, fsync and rename. */
export function fileCheckpointStore(path: string): CheckpointStore {
  return {
    where: path,
    read() {
      try {
        return { state: 'present', text: readFileSync(path, 'utf8') };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
        throw new SluiceError('SLUICE_ERR_STORE_IO', `the audit-log checkpoint ${path} could not be read`, { cause: e });
      }
    },
    write(text) {
      const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        writeDurably(tmp, text, 'wx');
        renameSync(tmp, path);
      } catch (e) {
        try {
          unlinkSync(tmp);
        } catch {
          // never written, or already renamed
        }
        throw new SluiceError('SLUICE_ERR_STORE_IO', `the audit-log checkpoint ${path} could not be written`, { cause: e });
      }
    },
  };
}

/** A checkpoint held in this process's memory (no data root). */
export function memoryCheckpointStore(): CheckpointStore {
  let text: string | null = null;
  return {
    where: '(memory)',
    read: () => (text === null ? { state: 'missing' } : { state: 'present', text }),
    write: (t) => {
      text = t;
    },
  };
}

// The rename must not publish a file whose blocks a crash could still lose.
function writeDurably(path: string, text: string, flag: 'wx'): void {
  const fd = openSync(path, flag, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
