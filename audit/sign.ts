/**
 * The domain's signature on audit reports: Ed25519 (node:crypto) over the
 * canonical JSON of the report, so that a stored report cannot be edited after
 * the fact. The private key is created once under the data root's `keys/` with
 * mode 0600 and never leaves the domain.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../lib/errors.js';
import type { AuditReport } from './types.js';

/** File name of the private key (PKCS#8 PEM) inside the keys directory. */
export const DOMAIN_KEY_FILE = 'audit-ed25519.key';
/** File name of the public key (SPKI PEM) inside the keys directory; safe to hand to verifiers. */
export const DOMAIN_PUBLIC_KEY_FILE = 'audit-ed25519.pub';

/** The domain's report-signing key pair. */
export interface DomainKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as SPKI PEM. */
  publicKeyPem: string;
  /** First 16 hex digits of the SHA-256 of the public key (DER): names the key in logs. */
  keyId: string;
}

function toDomainKey(privateKey: KeyObject): DomainKey {
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { privateKey, publicKey, publicKeyPem, keyId: createHash('sha256').update(der).digest('hex').slice(0, 16) };
}

/**
 * Loads the domain's Ed25519 key from `dir` (the data root's `keys/`
 * directory), creating the directory (0700) and the key (0600) on first use.
 * Creation is atomic across processes: the key is written to a private temp
 * file and hard-linked into place, so a second process that loses the race
 * reads the winner's key. An existing key file readable by group or others is
 * tightened to 0600. Synchronous: called once at start-up.
 */
export function loadOrCreateDomainKey(dir: string): DomainKey {
  const keyPath = join(dir, DOMAIN_KEY_FILE);
  const pubPath = join(dir, DOMAIN_PUBLIC_KEY_FILE);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(keyPath)) {
      const { privateKey } = generateKeyPairSync('ed25519');
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const tmp = join(dir, `.${DOMAIN_KEY_FILE}.${process.pid}.${Date.now()}.tmp`);
      writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
      try {
        linkSync(tmp, keyPath);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        unlinkSync(tmp);
      }
    }
    // A key others could read may already have been copied; tightening limits further exposure.
    if ((statSync(keyPath).mode & 0o077) !== 0) chmodSync(keyPath, 0o600);
    const key = toDomainKey(createPrivateKey(readFileSync(keyPath)));
    if (!existsSync(pubPath) || readFileSync(pubPath, 'utf8') !== key.publicKeyPem) {
      writeFileSync(pubPath, key.publicKeyPem, { mode: 0o644 });
    }
    return key;
  } catch (cause) {
    if (cause instanceof SluiceError) throw cause;
    throw new SluiceError('SLUICE_ERR_STORE_IO', `domain signing key under ${dir} could not be loaded or created`, { cause });
  }
}

/**
 * Canonical JSON: keys sorted (by UTF-16 code units) at every level, no
 * whitespace, otherwise JSON.stringify's rules (undefined properties dropped,
 * non-finite numbers as null, toJSON honoured). A report stored as JSON and
 * parsed again has the same canonical form.
 */
export function canonicalJson(value: unknown): string {
  const out = canonical(value);
  return out === undefined ? 'null' : out;
}

function canonical(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return canonical((value as { toJSON: () => unknown }).toJSON());
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      throw new SluiceError('SLUICE_ERR_AUDIT_FAILED', 'canonical JSON: a bigint cannot be signed; convert it to a number or string');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v) ?? 'null').join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const v = canonical(obj[k]);
    if (v !== undefined) parts.push(`${JSON.stringify(k)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

function privateOf(key: DomainKey | KeyObject): KeyObject {
  return 'privateKey' in key ? key.privateKey : key;
}

/** Signs a report with the domain key: Ed25519 over {@link canonicalJson}; returns the signature in base64. */
export function signReport(report: AuditReport, key: DomainKey | KeyObject): string {
  return sign(null, Buffer.from(canonicalJson(report), 'utf8'), privateOf(key)).toString('base64');
}

/**
 * True when `signature` (base64) is the domain's signature of exactly this
 * report. Any edit (a status, a count, a key's order does not matter) makes it
 * false; a malformed signature or key also gives false rather than throwing.
 */
export function verifyReport(report: AuditReport, signature: string, publicKey: KeyObject | string): boolean {
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    const sig = Buffer.from(signature, 'base64');
    if (sig.length !== 64) return false;
    return verify(null, Buffer.from(canonicalJson(report), 'utf8'), key, sig);
  } catch {
    return false;
  }
}
