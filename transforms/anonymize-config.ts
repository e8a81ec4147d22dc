/**
 * The anonymization config, shared by a job spec's `kanonymize` step and by
 * `sluice anonymize --config FILE` (YAML or JSON). Validated with zod; errors
 * name the path, what was expected and what was found (a type, never a value).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';

const positiveInt = z.number().int().positive();

const builtinHierarchy = z.discriminatedUnion('builtin', [
  z.object({ builtin: z.literal('age'), bands: z.array(positiveInt).min(1).optional() }).strict(),
  z.object({ builtin: z.literal('date') }).strict(),
  z.object({ builtin: z.literal('area-code') }).strict(),
  z.object({ builtin: z.literal('address') }).strict(),
  z.object({ builtin: z.literal('interval'), widths: z.array(z.number().positive()).min(1) }).strict(),
  z
    .object({ builtin: z.literal('ordered'), order: z.array(z.string()).min(1), fanouts: z.array(z.number().int().min(2)).min(1) })
    .strict(),
  z.object({ builtin: z.literal('unordered'), groups: z.record(z.string(), z.array(z.string()).min(1)) }).strict(),
]);

/** A hierarchy: an ARX CSV file (path relative to the config's base directory) or a built-in builder with its options. */
export const hierarchySpecSchema = z.union([
  z.object({ arx: z.string().min(1), separator: z.string().min(1).optional() }).strict(),
  builtinHierarchy,
]);

/** The zod schema of {@link AnonymizeConfig}. */
export const anonymizeConfigSchema = z
  .object({
    quasiIdentifiers: z.array(z.object({ column: z.string().min(1), hierarchy: hierarchySpecSchema }).strict()).min(1),
    sensitive: z.array(z.string().min(1)).optional(),
    k: positiveInt,
    l: z
      .object({ variant: z.enum(['distinct', 'entropy', 'recursive']), l: z.number().min(1), c: z.number().positive().optional() })
      .strict()
      .optional(),
    t: z.object({ variant: z.enum(['equal', 'ordered']), t: z.number().min(0).max(1) }).strict().optional(),
    suppressionLimit: z.number().min(0).max(1).default(0),
    method: z.enum(['optimal', 'mondrian', 'mondrian-relaxed']).default('optimal'),
    metric: z.enum(['loss', 'discernibility']).default('loss'),
    // Columns the operator knows to be direct identifiers (names, ID numbers, phones…); they never reach the output.
    declaredIdentifiers: z.array(z.string().min(1)).optional(),
    // What happens to a direct identifier, declared or found by content: refuse the whole run, or drop the column and say so.
    directIdentifiers: z.enum(['refuse', 'drop']).default('refuse'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.l !== undefined || c.t !== undefined) && (c.sensitive === undefined || c.sensitive.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['sensitive'], message: 'expected at least one sensitive column when l or t is set, found none' });
    }
    if (c.l?.variant === 'recursive' && c.l.c === undefined) {
      ctx.addIssue({ code: 'custom', path: ['l', 'c'], message: 'expected a number c for recursive (c,l)-diversity, found undefined' });
    }
    if (c.method !== 'optimal' && (c.l !== undefined || c.t !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['method'], message: 'expected optimal when l or t is set (mondrian supports k only), found a mondrian method' });
    }
    c.declaredIdentifiers?.forEach((d, i) => {
      if (c.quasiIdentifiers.some((q) => q.column === d) || c.sensitive?.includes(d)) {
        ctx.addIssue({
          code: 'custom',
          path: ['declaredIdentifiers', i],
          message: 'expected a column that is neither a quasi-identifier nor sensitive (a direct identifier is dropped, never generalized), found it listed there too',
        });
      }
    });
    const seen = new Set<string>();
    c.quasiIdentifiers.forEach((q, i) => {
      if (seen.has(q.column)) {
        ctx.addIssue({ code: 'custom', path: ['quasiIdentifiers', i, 'column'], message: 'expected each column once, found a repeat' });
      }
      seen.add(q.column);
      if (c.sensitive?.includes(q.column)) {
        ctx.addIssue({ code: 'custom', path: ['quasiIdentifiers', i, 'column'], message: 'expected a column that is not also sensitive, found it in sensitive' });
      }
    });
  });

/** A hierarchy spec (ARX file or built-in). */
export type HierarchySpec = z.infer<typeof hierarchySpecSchema>;

/**
 * The anonymization config after validation. Defaults: `suppressionLimit` 0,
 * `method` 'optimal', `metric` 'loss', `directIdentifiers` 'refuse'.
 */
export type AnonymizeConfig = z.output<typeof anonymizeConfigSchema>;

/** The config as written (defaults may be omitted). */
export type AnonymizeConfigInput = z.input<typeof anonymizeConfigSchema>;

function typeOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** What each built-in hierarchy needs besides `builtin`, for messages about a missing or wrong option. */
const BUILTIN_NAMES = ['age', 'date', 'area-code', 'address', 'interval', 'ordered', 'unordered'];

/** What a key expects, in words, for "missing key" messages (zod only says "array" or "record"). */
const EXPECTED_KEY: Record<string, string> = {
  groups: 'a map from each group label to the list of values it covers (unordered hierarchy)',
  widths: 'a list of positive interval widths, finest first (interval hierarchy)',
  order: 'the list of every value in order (ordered hierarchy)',
  fanouts: 'a list of how many values each level merges, finest first (ordered hierarchy)',
  arx: 'the path of an ARX hierarchy CSV file',
  hierarchy: 'an ARX hierarchy { arx: path } or a built-in { builtin: age|date|area-code|address|interval|ordered|unordered, … }',
  column: 'a column name',
  quasiIdentifiers: 'a list of { column, hierarchy }',
  k: 'a whole number ≥ 1',
};

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown, base: readonly PropertyKey[] = []): string {
  const fullPath = [...base, ...issue.path];
  const path = fullPath.length === 0 ? '(config)' : fullPath.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
  const here = valueAt(input, fullPath);
  const found = typeOf(here);
  switch (issue.code) {
    case 'invalid_type': {
      const last = fullPath[fullPath.length - 1];
      if (here === undefined && typeof last === 'string') {
        return `${path}: missing key ${last}: expected ${EXPECTED_KEY[last] ?? issue.expected}, found nothing`;
      }
      return `${path}: expected ${issue.expected}, found ${found}`;
    }
    case 'invalid_value':
      return `${path}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${found}`;
    case 'too_small':
      return `${path}: expected ${issue.origin === 'array' ? 'at least ' + String(issue.minimum) + ' item(s)' : (issue.inclusive ? '≥ ' : '> ') + String(issue.minimum)}, found ${found}`;
    case 'too_big':
      return `${path}: expected ${issue.origin === 'array' ? 'at most ' + String(issue.maximum) + ' item(s)' : (issue.inclusive ? '≤ ' : '< ') + String(issue.maximum)}, found ${found}`;
    case 'unrecognized_keys':
      return `${path}: expected only known keys, found unknown key(s) ${issue.keys.join(', ')}`;
    case 'invalid_union': {
      // The hierarchy union: say what is wrong inside the branch the object chose (by its arx or builtin key).
      if (here !== null && typeof here === 'object' && !Array.isArray(here)) {
        const o = here as Record<string, unknown>;
        if ('arx' in o && !('builtin' in o) && issue.errors[0] && issue.errors[0].length > 0) {
          return issue.errors[0].map((i) => describeIssue(i, input, fullPath)).join('; ');
        }
        if ('builtin' in o && !('arx' in o)) {
          if (typeof o['builtin'] !== 'string' || !BUILTIN_NAMES.includes(o['builtin'])) {
            return `${path}.builtin: expected one of ${BUILTIN_NAMES.join(', ')}, found ${typeOf(o['builtin'])}`;
          }
          const inner = issue.errors[1];
          if (inner && inner.length > 0) return inner.map((i) => describeIssue(i, input, fullPath)).join('; ');
        }
        if ('builtin' in o && 'arx' in o) return `${path}: expected either arx or builtin, found both`;
      }
      const last = fullPath[fullPath.length - 1];
      if (here === undefined && typeof last === 'string') return `${path}: missing key ${last}: expected ${EXPECTED_KEY[last] ?? 'a value'}, found nothing`;
      return `${path}: expected ${EXPECTED_KEY['hierarchy']}, found ${found}`;
    }
    case 'custom':
      return `${path}: ${issue.message}`;
    default:
      return `${path}: ${issue.message} (found ${found})`;
  }
}

/**
 * Validates a config object. Throws SLUICE_ERR_ANON_CONFIG_INVALID whose
 * message lists every problem as `path: expected …, found …`.
 */
export function parseAnonymizeConfig(value: unknown, source = 'anonymize config'): AnonymizeConfig {
  const r = anonymizeConfigSchema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.flatMap((i) => describeIssue(i, value).split('; '));
  throw new SluiceError('SLUICE_ERR_ANON_CONFIG_INVALID', `${source}: ${problems.join('; ')}`, {
    details: { problems },
  });
}

/** Reads a YAML or JSON config file (by content; JSON is YAML) and validates it. */
export async function loadAnonymizeConfig(path: string): Promise<AnonymizeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SluiceError('SLUICE_ERR_NOT_FOUND', `anonymize config ${path}: expected a readable file, found none`, { cause });
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (cause) {
    throw new SluiceError('SLUICE_ERR_ANON_CONFIG_INVALID', `anonymize config ${path}: expected YAML or JSON, found text that does not parse`, { cause });
  }
  return parseAnonymizeConfig(value, `anonymize config ${path}`);
}
