/**
 * Keys that reach into an object's prototype chain when a parsed document is
 * merged, spread or indexed: `__proto__`, `constructor` and `prototype`. Specs
 * and HTTP bodies carrying one at any depth are refused before anything else
 * is done with them; {@link findUnsafeKey} scans a parsed value's own keys
 * (JSON.parse and the YAML parser keep `__proto__` as an own key).
 */

/** The refused key names. */
export const UNSAFE_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** What a refused key's message says was expected. */
export const SAFE_KEY_EXPECTED = `a key other than ${UNSAFE_KEYS.join(', ')}`;

/** True for `__proto__`, `constructor` or `prototype`. */
export function isUnsafeKey(key: string): boolean {
  return UNSAFE_KEYS.includes(key);
}

/**
 * The path (keys and list indexes) of the first own key named `__proto__`,
 * `constructor` or `prototype` in `value`, depth first in document order, or
 * null when there is none. Shared or cyclic objects are visited once.
 */
export function findUnsafeKey(value: unknown): (string | number)[] | null {
  const seen = new Set<object>();
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    const children: { v: unknown; path: (string | number)[] }[] = [];
    if (Array.isArray(v)) v.forEach((item, i) => children.push({ v: item, path: [...path, i] }));
    else {
      for (const key of Object.getOwnPropertyNames(v)) {
        if (isUnsafeKey(key)) return [...path, key];
        children.push({ v: (v as Record<string, unknown>)[key], path: [...path, key] });
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return null;
}
