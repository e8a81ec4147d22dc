/**
 * The field schemas and issue helpers that the spec schema and every step
 * kind's schema fragment share: names refused when path-like, found values
 * described by type (never echoed), and the one way spec problems are thrown.
 */
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';

/** One problem found in a spec. */
export interface SpecIssue {
  /** Path in the spec, e.g. `steps[2].fraction`; `(spec)` for the whole document. */
  path: string;
  /** 1-based line of the offending node, when known. */
  line: number | null;
  expected: string;
  found: string;
}

// ------------------------------------------------------------------ names

/** A name that may be shown in a message as it is. */
export const IDENT_SHAPED = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** True when a name contains a path separator, `..`, NUL or another control character. */
export function isUnsafeName(s: string): boolean {
  return /[/\\\u0000-\u001f\u007f]/u.test(s) || s.includes('..');
}

/**
 * Describes a found value for a message: its type, and its text only when it
 * is an identifier-shaped string (a name, not data).
 */
export function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    if (IDENT_SHAPED.test(value)) return `the string "${value}"`;
    const len = [...value].length;
    if (isUnsafeName(value)) return `a path-like string of ${len} characters (it contains "/", "\\", "..", NUL or a control character)`;
    return `a string of ${len} characters`;
  }
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return `a mapping with ${Object.keys(value).length} key${Object.keys(value).length === 1 ? '' : 's'}`;
  return `a value of type ${typeof value}`;
}

/** `a.b[2].c` from path segments. */
export function specPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else {
      const key = String(s);
      out += IDENT_SHAPED.test(key) ? (out === '' ? key : `.${key}`) : `[key of ${[...key].length} characters]`;
    }
  }
  return out === '' ? '(spec)' : out;
}

/** A string schema for a name: refuses path-like names first, then checks the pattern. */
export function name(pattern: RegExp, phrase: string) {
  return z.string({ error: phrase }).superRefine((s, ctx) => {
    if (isUnsafeName(s)) ctx.addIssue({ code: 'custom', message: `${phrase} (no path separators, "..", NUL or control characters)` });
    else if (!pattern.test(s)) ctx.addIssue({ code: 'custom', message: phrase });
  });
}

/** Schema of a spec name. */
export const SPEC_NAME = name(/^[a-z0-9-]{1,64}$/, 'a name of 1 to 64 characters a-z, 0-9 or "-"');
/** Schema of a agreement id. */
export const AGREEMENT_ID = name(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an agreement id such as AGR-2026-001');
/** Schema of a dataset name. */
export const DATASET_NAME = name(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'a dataset name of 1 to 64 characters A-Z, a-z, 0-9, "_" or "-"');
/** Schema of a step id. */
export const STEP_ID = name(/^[a-z][a-z0-9_]{0,62}$/, 'a step id ([a-z][a-z0-9_]{0,62})');
/** Schema of a input name. */
export const INPUT_NAME = name(/^[a-z][a-z0-9_]{0,62}$/, 'an input name ([a-z][a-z0-9_]{0,62})');
/** Schema of a output id. */
export const OUTPUT_ID = name(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'an output id of 1 to 64 characters a-z, 0-9, "_" or "-"');
/** Schema of a column. */
export const COLUMN = name(/^[\p{L}_][\p{L}\p{N}_-]{0,127}$/u, 'a column name (letters, digits, "_" or "-", at most 128)');

/** What a fraction must be. */
export const FRACTION = 'a number in (0, 1]';
/** A fraction in (0, 1]. */
export const fraction = z.number({ error: FRACTION }).gt(0).lte(1);
/** A whole number of at least 1, described as `what`. */
export const positiveInt = (what: string) => z.int({ error: what }).min(1).max(Number.MAX_SAFE_INTEGER);
/** What a seed must be. */
export const SEED = 'an integer seed (a safe integer)';

/** A seed: any safe integer. */
export const seedInt = () => z.int({ error: SEED }).min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

/** Formats one issue as `<path> (line L): expected <…>, found <…>`. */
export function formatIssue(issue: SpecIssue): string {
  return `${issue.path}${issue.line === null ? '' : ` (line ${issue.line})`}: expected ${issue.expected}, found ${issue.found}`;
}

/** Throws one SLUICE_ERR_SPEC_INVALID (or another code) listing every issue. */
export function throwIssues(code: 'SLUICE_ERR_SPEC_INVALID' | 'SLUICE_ERR_SPEC_SCOPE', issues: SpecIssue[], source?: string): never {
  const where = source === undefined ? 'spec' : `spec ${source}`;
  const list = issues.map((i) => ({ path: i.path, line: i.line, expected: i.expected, found: i.found }));
  const message =
    list.length === 1 ? `${where}: ${formatIssue(list[0]!)}` : `${where} has ${list.length} problems:\n${list.map((i) => `  - ${formatIssue(i)}`).join('\n')}`;
  throw new SluiceError(code, message, { details: { ...(source === undefined ? {} : { source }), issues: list } });
}
