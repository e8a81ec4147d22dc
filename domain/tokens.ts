import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The prefix of every Sluice API token (lets secret scanners recognise one). */
export const TOKEN_PREFIX = 'slc_';

/** 32 random bytes, base64url without padding: 43 characters. */
const TOKEN_RE = /^slc_[A-Za-z0-9_-]{43}$/;

/**
 * A new API token and its sha256 hex. The token is shown to its owner once;
 * only the hash is stored.
 */
export function newToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/** sha256 hex of a token: what the users table stores. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when `token` has the shape of a Sluice token (prefix and length); says nothing of validity. */
export function looksLikeToken(token: string): boolean {
  return TOKEN_RE.test(token);
}

/** Constant-time comparison of two sha256 hex strings; false when either is malformed. */
export function tokenHashesEqual(a: string, b: string): boolean {
  if (a.length !== 64 || b.length !== 64) return false;
  return timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
