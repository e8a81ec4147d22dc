/**
 * The package gate on a file's type (A10), as one predicate: the audit (A10)
 * and the planner (which refuses at plan time what A10 would refuse on the
 * declared format alone) both ask it.
 */

/** True when a file type (a format name such as `csv`, with or without a leading dot) is in the allowlist. */
export function fileTypeAllowed(type: string, allowed: readonly string[]): boolean {
  return allowed.map((x) => x.toLowerCase()).includes(type.toLowerCase().replace(/^\./, ''));
}
