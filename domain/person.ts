/**
 * People behind accounts. A person is known by a keyed token of their
 * resident ID number (GB 11643): HMAC-SHA256 under the domain secret
 * `keys/person.key` ({@link PERSON_KEY_PURPOSE}), so the token identifies the
 * same person across accounts while the number itself is never stored, logged
 * or returned, and a database dump cannot be matched against a list of
 * numbers without the key. Errors name the field, never the value.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SluiceError } from '../lib/errors.js';
import { isValidResidentId } from '../transforms/identifiers.js';
import { loadOrCreateSecret } from './audit-key-store.js';

/** The key purpose (file `keys/person.key`) of the person-token key. */
export const PERSON_KEY_PURPOSE = 'person';

/** What a resident ID number must be, as an error says it. */
export const RESIDENT_ID_EXPECTED = 'an 18-character resident ID number (17 digits and a GB 11643 check character)';

/** Why `s` is not a resident ID number, describing its shape only (never its characters). */
function whatIsWrong(s: unknown): string {
  if (typeof s !== 'string') return s === undefined ? 'nothing' : `a ${s === null ? 'null' : typeof s}`;
  if (s.length !== 18) return `a string of ${[...s].length} characters`;
  if (!/^\d{17}[\dX]$/.test(s)) return 'a string of 18 characters that are not 17 digits and a check character';
  return 'an 18-character number whose check character, area or birth date is not valid';
}

/**
 * The normalised resident ID number (a lower-case `x` check character
 * upper-cased), or SLUICE_ERR_INPUT_INVALID naming `field`, never the value.
 */
export function checkResidentId(value: unknown, field = 'personId'): string {
  const s = typeof value === 'string' ? value.trim().toUpperCase() : value;
  if (typeof s === 'string' && isValidResidentId(s)) return s;
  throw SluiceError.of('SLUICE_ERR_INPUT_INVALID', { path: field, expected: RESIDENT_ID_EXPECTED, found: whatIsWrong(s) });
}

/** The person token of a (validated) resident ID number under `key`: 64 hex characters. */
export function personToken(key: Buffer, residentId: string): string {
  return createHmac('sha256', key).update('sluice.person.v1\u0000').update(checkResidentId(residentId)).digest('hex');
}

let processKey: Buffer | null = null;

/**
 * The person-token key: `<dataRoot>/keys/person.key` (created on first use;
 * every process sharing the database must share that folder); without a data
 * root, one key for this process's lifetime (tests, in-memory databases).
 */
export function loadPersonKey(dataRoot: string | undefined): Buffer {
  if (dataRoot !== undefined) return loadOrCreateSecret(join(dataRoot, 'keys'), PERSON_KEY_PURPOSE).key;
  processKey ??= randomBytes(32);
  return processKey;
}
