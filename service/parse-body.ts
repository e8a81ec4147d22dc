import type { z } from 'zod';
import { SluiceError } from '../lib/errors.js';
import { SAFE_KEY_EXPECTED, findUnsafeKey } from '../lib/unsafe-keys.js';

/** Describes a found value by its type only: request bodies may carry data. */
export function describeFound(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  return `a ${typeof v}`;
}

function at(value: unknown, path: readonly PropertyKey[]): unknown {
  let cur = value;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** `what.a.b[2].c` from path segments; a key that is not name-shaped is shown by its length only. */
function bodyPath(what: string, path: readonly (string | number)[]): string {
  const seg = (s: string | number) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(s) ? `.${s}` : `[key of ${[...s].length} characters]`);
  return path.reduce<string>((out, s) => out + seg(s), what);
}

/**
 * Refuses a parsed body (or CLI input) with a `__proto__`, `constructor` or
 * `prototype` key at any depth: SLUICE_ERR_INPUT_INVALID naming its path.
 */
export function refuseUnsafeKeys(body: unknown, what = 'body'): void {
  const path = findUnsafeKey(body);
  if (!path) return;
  const where = bodyPath(what, path);
  const key = String(path[path.length - 1]);
  throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${where}: expected ${SAFE_KEY_EXPECTED}; found the key "${key}"`, {
    details: { issues: [{ path: where, expected: SAFE_KEY_EXPECTED, found: `the key "${key}"` }] },
  });
}

/**
 * Validates an HTTP body or CLI input with a zod schema; a failure is one
 * SluiceError listing every problem as `<path>: expected …, found …`. A body
 * with a prototype-reaching key is refused first ({@link refuseUnsafeKeys}).
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, what = 'body'): T {
  refuseUnsafeKeys(body, what);
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    const path = i.path.length ? i.path.map(String).join('.') : what;
    const keys = (i as { keys?: string[] }).keys;
    const found = i.code === 'unrecognized_keys' && keys ? `unknown key(s) ${keys.join(', ')}` : describeFound(at(body, i.path));
    return { path, expected: i.message, found };
  });
  throw new SluiceError('SLUICE_ERR_INPUT_INVALID', issues.map((i) => `${i.path}: ${i.expected}; found ${i.found}`).join('; '), { details: { issues } });
}
