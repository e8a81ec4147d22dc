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
 * `method` 'optimal', `metric` 'loss'.
 */
export type AnonymizeConfig = z.output<typeof anonymizeConfigSchema>;

/** The config as written (defaults may be omitted). */
export type AnonymizeConfigInput = z.input<typeof anonymizeConfigSchema>;

function typeOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return `a ${typeof v}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.length === 0 ? '(config)' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
  const found = typeOf(valueAt(input, issue.path));
  switch (issue.code) {
    case 'invalid_type':
      return `${path}: expected ${issue.expected}, found ${found}`;
    case 'invalid_value':
      return `${path}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${found}`;
    case 'too_small':
      return `${path}: expected ${issue.origin === 'array' ? 'at least ' + String(issue.minimum) + ' item(s)' : (issue.inclusive ? '≥ ' : '> ') + String(issue.minimum)}, found ${found}`;
    case 'too_big':
      return `${path}: expected ${issue.origin === 'array' ? 'at most ' + String(issue.maximum) + ' item(s)' : (issue.inclusive ? '≤ ' : '< ') + String(issue.maximum)}, found ${found}`;
    case 'unrecognized_keys':
      return `${path}: expected only known keys, found unknown key(s) ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return `${path}: expected an ARX hierarchy { arx: path } or a built-in { builtin: age|date|area-code|address|interval|ordered|unordered, … }, found ${found}`;
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
  const problems = r.error.issues.map((i) => describeIssue(i, value));
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
