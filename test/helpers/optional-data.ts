/**
 * What some comparisons need from outside the clone, and the one line they
 * print when it is missing. The UCI Adult data (comparisons about Adult itself)
 * lives beside the repository or at $SLUICE_ADULT_DIR; scikit-learn (the
 * trainers' and ROC comparisons) in Debian's python3-sklearn. Without either,
 * those tests skip and say so once per file; everything else runs on data the
 * project generates.
 */
import { spawnSync } from 'node:child_process';
import { adultDataMissing } from '../../lib/shared-data.js';

/** The python3 the scikit-learn comparisons run: `$SLUICE_PYTHON`, else /usr/bin/python3 (as bench/models.bench.ts). */
export const PYTHON: string = process.env['SLUICE_PYTHON'] ?? '/usr/bin/python3';

/** Why scikit-learn cannot be used, as one line with the fix, or null when PYTHON imports sklearn and numpy. */
export function sklearnMissingReason(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import sklearn, numpy'], { encoding: 'utf8', timeout: 60_000 });
  if (!r.error && r.status === 0) return null;
  const why = r.error ? `${PYTHON} cannot be run` : `${PYTHON} cannot import sklearn/numpy`;
  return `scikit-learn not found (${why}); apt-get install python3-sklearn, or set SLUICE_PYTHON to a python3 that has it`;
}

/**
 * Prints `skipped: <what>: <reason>` once (call it once per test file, at the
 * top) when `reason` is not null, and returns whether to skip.
 */
export function skipNotice(what: string, reason: string | null): boolean {
  if (reason !== null) console.warn(`skipped: ${what}: ${reason}`);
  return reason !== null;
}

/** skipNotice for tests that read the UCI Adult data: true (after the one line) when it is missing. */
export function skipWithoutAdult(what: string): boolean {
  return skipNotice(what, adultDataMissing());
}

/** skipNotice for the scikit-learn comparisons: true (after the one line) when scikit-learn is missing. */
export function skipWithoutSklearn(what: string): boolean {
  return skipNotice(what, sklearnMissingReason());
}
