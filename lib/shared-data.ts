import { fileURLToPath } from 'node:url';

/**
 * The folder of the UCI Adult dataset as ARX ships it (adult.csv and its
 * hierarchies), with a trailing slash: `$SLUICE_ADULT_DIR`, else `shared/data/adult/`
 * beside the repository (where the project's shared folder lives, in CI too).
 */
export const ADULT_DIR: string = process.env['SLUICE_ADULT_DIR']
  ? process.env['SLUICE_ADULT_DIR'].replace(/\/?$/, '/')
  : fileURLToPath(new URL('../../shared/data/adult/', import.meta.url));
