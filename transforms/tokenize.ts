/**
 * Keyed tokenization: HMAC-SHA-256 computed inside DuckDB SQL under a key
 * that belongs to one agreement and never leaves the domain.
 *
 * DuckDB 1.5 has `sha256(VARCHAR)` and `sha256(BLOB)` (both return lowercase
 * hex) but no HMAC, so the HMAC construction of RFC 2104 is spelled out:
 * `HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))`. The two padded keys are
 * computed here in JS and inlined as BLOB constants (`unhex('…')`); the inner
 * digest comes back from DuckDB as hex and is turned back into 32 bytes with
 * `unhex` before the outer hash. The message is the UTF-8 text of the value
 * (`encode(CAST(expr AS VARCHAR))`), so a JS caller reproduces a token with
 * {@link hmacToken} from the same text.
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { SluiceError } from '../lib/errors.js';
import { quoteLiteral } from '../lib/duck.js';

/** Options of {@link compileTokenize} and {@link hmacToken}. */
export interface TokenizeOptions {
  /** Hex characters of the digest kept, 8..64; default 32 (128 bits). */
  length?: number;
  /** Text put before every token, e.g. `'tk_'`; default none. */
  prefix?: string;
}

/** Default number of hex characters kept in a token (128 bits). */
export const DEFAULT_TOKEN_LENGTH = 32;

const BLOCK_BYTES = 64;
const MIN_KEY_BYTES = 16;
const HKDF_SALT = 'sluice/agreement-key/v1';

function checkLength(length: number | undefined): number {
  const n = length ?? DEFAULT_TOKEN_LENGTH;
  if (!Number.isInteger(n) || n < 8 || n > 64) {
    throw new SluiceError(
      'SLUICE_ERR_TRANSFORM_INVALID',
      `tokenize: length must be an integer from 8 to 64 hex characters, found ${String(n)}`,
    );
  }
  return n;
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length < MIN_KEY_BYTES) {
    throw new SluiceError(
      'SLUICE_ERR_TRANSFORM_INVALID',
      `tokenize: key must be a Buffer of at least ${MIN_KEY_BYTES} bytes, found ${Buffer.isBuffer(key) ? `${key.length} bytes` : typeof key}`,
    );
  }
}

/** The inner and outer padded keys of HMAC-SHA-256, as hex (64 bytes each). */
function hmacPads(key: Buffer): { ipadHex: string; opadHex: string } {
  // RFC 2104: keys longer than the block are hashed first, shorter ones zero-padded.
  const k = Buffer.alloc(BLOCK_BYTES);
  (key.length > BLOCK_BYTES ? createHash('sha256').update(key).digest() : key).copy(k);
  const ipad = Buffer.alloc(BLOCK_BYTES);
  const opad = Buffer.alloc(BLOCK_BYTES);
  for (let i = 0; i < BLOCK_BYTES; i++) {
    ipad[i] = k[i]! ^ 0x36;
    opad[i] = k[i]! ^ 0x5c;
  }
  return { ipadHex: ipad.toString('hex'), opadHex: opad.toString('hex') };
}

/**
 * The full HMAC-SHA-256 of `expr`'s text under `key`, as an SQL expression
 * returning 64 lowercase hex characters (VARCHAR); NULL for NULL.
 * `expr` is any SQL expression; non-VARCHAR values are cast to VARCHAR first.
 */
export function compileHmacHex(expr: string, key: Buffer): string {
  checkKey(key);
  const { ipadHex, opadHex } = hmacPads(key);
  const message = `encode(CAST(${expr} AS VARCHAR))`;
  const inner = `sha256(unhex('${ipadHex}') || ${message})`;
  return `sha256(unhex('${opadHex}') || unhex(${inner}))`;
}

/**
 * Compiles keyed tokenization of `expr` to a DuckDB SQL expression (VARCHAR).
 * The token is `prefix` followed by the first `length` hex characters
 * (default 32) of HMAC-SHA-256(key, UTF-8 text of the value). Same value and
 * key give the same token; NULL stays NULL. Use a key from
 * {@link deriveAgreementKey} so tokens of different agreements cannot be linked.
 * A token equals its input only if the input is itself `prefix` plus `length`
 * hex characters and the digest matches it: probability 16^-length.
 */
export function compileTokenize(expr: string, key: Buffer, opts: TokenizeOptions = {}): string {
  const length = checkLength(opts.length);
  const digest = compileHmacHex(expr, key);
  const cut = length === 64 ? digest : `left(${digest}, ${length})`;
  return opts.prefix ? `(${quoteLiteral(opts.prefix)} || ${cut})` : cut;
}

/**
 * The JS reference of {@link compileTokenize}: the same token for the same
 * text, key and options (computed with node:crypto's HMAC).
 */
export function hmacToken(value: string, key: Buffer, opts: TokenizeOptions = {}): string {
  const length = checkLength(opts.length);
  checkKey(key);
  const hex = createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, length);
  return (opts.prefix ?? '') + hex;
}

/**
 * Derives the tokenization key of one agreement from the domain's master key
 * with HKDF-SHA-256 (salt `sluice/agreement-key/v1`, info = the agreement id,
 * 32 bytes). Keys of different agreements are unlinkable without the master
 * key, so the same value gets unrelated tokens under different agreements.
 */
export function deriveAgreementKey(masterKey: Buffer, agreementId: string): Buffer {
  if (!Buffer.isBuffer(masterKey) || masterKey.length < MIN_KEY_BYTES) {
    throw new SluiceError(
      'SLUICE_ERR_TRANSFORM_INVALID',
      `deriveAgreementKey: masterKey must be a Buffer of at least ${MIN_KEY_BYTES} bytes`,
    );
  }
  if (typeof agreementId !== 'string' || agreementId.length === 0) {
    throw new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', 'deriveAgreementKey: agreementId must be a non-empty string');
  }
  return Buffer.from(hkdfSync('sha256', masterKey, HKDF_SALT, agreementId, 32));
}

/**
 * A sub-key of `key` for one purpose (`'shift-date'`, `'noise'`, …), so that
 * material derived for one transform never equals another's (HMAC-SHA-256 of
 * the purpose label, 32 bytes).
 */
export function deriveSubKey(key: Buffer, purpose: string): Buffer {
  checkKey(key);
  return createHmac('sha256', key).update(`sluice/subkey/${purpose}`, 'utf8').digest();
}
