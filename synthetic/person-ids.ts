/**
 * Resident ID numbers for the people behind the demo's, the benches' and the
 * tests' accounts: valid GB 11643 numbers (area 331002, Jiaojiang, Taizhou;
 * born 1980-01-01), one per sequence number, made up and deterministic.
 */
import { residentIdCheckDigit } from '../transforms/identifiers.js';

/** The synthetic resident ID number of person `n` (0 ≤ n < 1000). */
export function syntheticResidentId(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= 1000) throw new RangeError('syntheticResidentId: expected an integer in [0, 1000)');
  const first17 = `33100219800101${String(n).padStart(3, '0')}`;
  return first17 + residentIdCheckDigit(first17);
}
