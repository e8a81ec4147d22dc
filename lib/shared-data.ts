import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSetting } from './config.js';

/**
 * The folder of the UCI Adult dataset as ARX ships it (adult.csv and its
 * hierarchies), with a trailing slash: `$SLUICE_ADULT_DIR`, else `shared/data/adult/`
 * beside the repository (where the project's shared folder lives, in CI too).
 * The project keeps no copy of Adult: only the comparisons about the UCI data
 * itself (and the benches) read it; everything else runs on synthetic/adult-like.ts.
 */
export const ADULT_DIR: string = readSetting('adultDir')?.replace(/\/?$/, '/') ?? fileURLToPath(new URL('../../shared/data/adult/', import.meta.url));

/** The files of ARX's Adult folder that the comparisons read: the table and one hierarchy per column. */
export const ADULT_FILES: readonly string[] = [
  'adult.csv',
  ...['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation', 'salary-class'].map((c) => `adult_hierarchy_${c}.csv`),
];

/**
 * Why the UCI Adult data cannot be read, as one line that says what is missing
 * and where to put it, or null when ADULT_DIR holds every file of ADULT_FILES.
 * Names files and folders only (never contents).
 */
export function adultDataMissing(dir: string = ADULT_DIR): string | null {
  const missing = ADULT_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length === 0) return null;
  const what = missing.length === ADULT_FILES.length ? 'UCI Adult data not found' : `UCI Adult data incomplete (no ${missing.join(', ')})`;
  return `${what} at ${dir}; put ARX's adult.csv and its adult_hierarchy_*.csv there or set SLUICE_ADULT_DIR`;
}
