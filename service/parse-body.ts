import type { z } from 'zod';
import { SluiceError } from '../lib/errors.js';

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

/**
 * Validates an HTTP body or CLI input with a zod schema; a failure is one
 * SluiceError listing every problem as `<path>: expected …, found …`.
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, what = 'body'): T {
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
