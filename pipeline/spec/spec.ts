/**
 * Sluice job specs (YAML, version 1): the schema, and {@link parseSpec}, which
 * turns text into a validated {@link JobSpec} or one SluiceError listing every
 * problem as `<path> (line L): expected <…>, found <…>`.
 *
 * Found values are described by type ("the string \"people\"" only for
 * identifier-shaped names, else "a string of N characters"), never echoed.
 */
import { LineCounter, parseDocument, isMap, isScalar, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';
import { ColumnTreatmentSchema } from '../../transforms/treatment-schema.js';
import { anonymizeConfigSchema } from '../../transforms/anonymize-config.js';

/** The spec format version this module reads. */
export const SPEC_VERSION = 1;
/** Step kinds, in the order a typical flow uses them. */
export const STEP_KINDS = ['extract', 'sample', 'desensitize', 'aggregate', 'sql', 'kanonymize', 'train'] as const;
/** A step kind. */
export type StepKind = (typeof STEP_KINDS)[number];
/** Output kinds. */
export const OUTPUT_KINDS = ['table', 'extract', 'file', 'model'] as const;
/** Output file formats. */
export const OUTPUT_FORMATS = ['parquet', 'csv', 'json'] as const;
/** Aggregate measure functions (as the aggregate step computes them). */
export const MEASURE_FNS = ['count', 'count_units', 'sum', 'mean'] as const;
/** Largest spec text accepted, in bytes (1 MiB). */
export const MAX_SPEC_BYTES = 1 << 20;

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

const IDENT_SHAPED = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

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
function name(pattern: RegExp, phrase: string) {
  return z.string({ error: phrase }).superRefine((s, ctx) => {
    if (isUnsafeName(s)) ctx.addIssue({ code: 'custom', message: `${phrase} (no path separators, "..", NUL or control characters)` });
    else if (!pattern.test(s)) ctx.addIssue({ code: 'custom', message: phrase });
  });
}

const SPEC_NAME = name(/^[a-z0-9-]{1,64}$/, 'a name of 1 to 64 characters a-z, 0-9 or "-"');
const AGREEMENT_ID = name(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an agreement id such as AGR-2026-001');
const DATASET_NAME = name(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'a dataset name of 1 to 64 characters A-Z, a-z, 0-9, "_" or "-"');
const STEP_ID = name(/^[a-z][a-z0-9_]{0,62}$/, 'a step id ([a-z][a-z0-9_]{0,62})');
const INPUT_NAME = name(/^[a-z][a-z0-9_]{0,62}$/, 'an input name ([a-z][a-z0-9_]{0,62})');
const OUTPUT_ID = name(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'an output id of 1 to 64 characters a-z, 0-9, "_" or "-"');
const COLUMN = name(/^[\p{L}_][\p{L}\p{N}_-]{0,127}$/u, 'a column name (letters, digits, "_" or "-", at most 128)');

const FRACTION = 'a number in (0, 1]';
const fraction = z.number({ error: FRACTION }).gt(0).lte(1);
const positiveInt = (what: string) => z.int({ error: what }).min(1).max(Number.MAX_SAFE_INTEGER);
const SEED = 'an integer seed (a safe integer)';

// ------------------------------------------------------------------ steps

const ExtractStep = z.strictObject({ id: STEP_ID, kind: z.literal('extract'), input: INPUT_NAME });

const SampleStep = z
  .strictObject({
    id: STEP_ID,
    kind: z.literal('sample'),
    from: STEP_ID,
    fraction: fraction.optional(),
    size: positiveInt('a whole number of rows of at least 1').optional(),
    stratified: z
      .strictObject(
        {
          by: z.array(COLUMN, { error: 'a list of column names' }).min(1),
          fraction,
          min_per_stratum: z.int({ error: 'an integer of at least 0' }).min(0).max(Number.MAX_SAFE_INTEGER).default(0),
        },
        { error: 'a mapping { by, fraction, min_per_stratum }' },
      )
      .optional(),
    key_columns: z.array(COLUMN, { error: 'a list of column names' }).min(1).optional(),
    seed: z.int({ error: SEED }).min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).default(0),
  })
  .superRefine((s, ctx) => {
    const n = [s.fraction, s.size, s.stratified].filter((x) => x !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', path: ['fraction'], message: 'exactly one of fraction, size or stratified', input: n });
  });

const DesensitizeStep = z.strictObject({
  id: STEP_ID,
  kind: z.literal('desensitize'),
  from: STEP_ID,
  columns: z
    .record(COLUMN, ColumnTreatmentSchema, { error: 'a mapping of column name to { treatment, … }' })
    .refine((r) => Object.keys(r).length > 0, { message: 'at least one column' }),
  seed: z.int({ error: SEED }).min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
});

const Measure = z
  .strictObject({
    fn: z.enum(MEASURE_FNS, { error: `one of ${MEASURE_FNS.join(', ')}` }),
    column: COLUMN.optional(),
    as: COLUMN,
  })
  .superRefine((m, ctx) => {
    if ((m.fn === 'sum' || m.fn === 'mean') && m.column === undefined) {
      ctx.addIssue({ code: 'custom', path: ['column'], message: `a column to ${m.fn}`, input: undefined });
    }
    if ((m.fn === 'count' || m.fn === 'count_units') && m.column !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['column'], message: `no column (${m.fn} counts rows or units)`, input: m.column });
    }
  });

const AggregateStep = z.strictObject({
  id: STEP_ID,
  kind: z.literal('aggregate'),
  from: STEP_ID,
  group_by: z.array(COLUMN, { error: 'a list of column names' }),
  measures: z.array(Measure, { error: 'a list of measures' }).min(1),
  round: positiveInt('a rounding base (a whole number of at least 1)').optional(),
  suppress_below: positiveInt('a minimum number of units per cell (a whole number of at least 1)').optional(),
});

const SqlStep = z.strictObject({
  id: STEP_ID,
  kind: z.literal('sql'),
  from: z.array(STEP_ID, { error: 'a list of step ids' }).min(1).max(16),
  query: z.string({ error: 'SQL text (one SELECT)' }).min(1).max(100_000),
});

const KAnonymizeStep = z.strictObject({
  id: STEP_ID,
  kind: z.literal('kanonymize'),
  from: STEP_ID,
  config: anonymizeConfigSchema,
});

/** `train`: a model on a sampled, desensitized input, with a held-out split recorded for the attacks (§4.3). */
const TrainStep = z.strictObject({
  id: STEP_ID,
  kind: z.literal('train'),
  from: STEP_ID,
  target: COLUMN,
  features: z.strictObject(
    {
      numeric: z.array(COLUMN, { error: 'a list of column names' }).default([]),
      categorical: z.array(COLUMN, { error: 'a list of column names' }).default([]),
    },
    { error: 'a mapping { numeric, categorical } of column lists' },
  ),
  model: z.strictObject(
    {
      kind: z.enum(['logistic', 'tree', 'forest', 'knn'], { error: 'one of logistic, tree, forest, knn' }),
      hyperparameters: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]), { error: 'a mapping of hyperparameter to a number, string or boolean' }).default({}),
    },
    { error: 'a mapping { kind, hyperparameters }' },
  ),
  test_fraction: z.number({ error: 'a number in (0, 1)' }).gt(0).lt(1).default(0.3),
  seed: z.int({ error: SEED }).min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).default(0),
  /** Feature columns declared sensitive: the attribute-inference check (C6) attacks them. */
  sensitive: z.array(COLUMN, { error: 'a list of column names' }).default([]),
});

const StepSchema = z.discriminatedUnion('kind', [ExtractStep, SampleStep, DesensitizeStep, AggregateStep, SqlStep, KAnonymizeStep, TrainStep], {
  error: 'a step mapping with id and kind',
});

const OutputSchema = z.strictObject({
  id: OUTPUT_ID,
  from: STEP_ID,
  kind: z.enum(OUTPUT_KINDS, { error: `one of ${OUTPUT_KINDS.join(', ')}` }),
  format: z.enum(OUTPUT_FORMATS, { error: `one of ${OUTPUT_FORMATS.join(', ')}` }).default('parquet'),
});

const InputSchema = z.strictObject(
  {
    dataset: DATASET_NAME,
    columns: z.array(COLUMN, { error: 'a list of column names' }).min(1).max(1000),
  },
  { error: 'a mapping { dataset, columns }' },
);

/** The job spec schema (version 1). Unknown keys are errors. */
export const JobSpecSchema = z.strictObject({
  version: z.literal(SPEC_VERSION, { error: `the spec version ${SPEC_VERSION}` }),
  name: SPEC_NAME,
  agreement: AGREEMENT_ID,
  description: z.string({ error: 'text' }).max(4000).optional(),
  inputs: z
    .record(INPUT_NAME, InputSchema, { error: 'a mapping of input name to { dataset, columns }' })
    .refine((r) => Object.keys(r).length > 0, { message: 'at least one input' }),
  steps: z.array(StepSchema, { error: 'a list of steps' }).min(1).max(200),
  outputs: z.array(OutputSchema, { error: 'a list of outputs' }).min(1).max(100),
  /** Audit thresholds this job asks for: they may only tighten the agreement's (checked when planning). */
  audit: z
    .strictObject({ thresholds: z.record(z.string(), z.unknown(), { error: 'a mapping of check id to its thresholds, e.g. { A1: { threshold: 20 } }' }) })
    .optional(),
});

/** A validated job spec. */
export type JobSpec = z.output<typeof JobSpecSchema>;
/** One validated step. */
export type SpecStep = JobSpec['steps'][number];

// ------------------------------------------------------------------ zod issues → spec issues

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg as string];
  }
  return v;
}

function expectedFrom(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.message.startsWith('Invalid input')) return issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`;
      return issue.message;
    case 'too_small':
      if (issue.message.startsWith('Too small')) {
        return issue.origin === 'array'
          ? `a list of at least ${issue.minimum as number} item(s)`
          : issue.origin === 'string'
            ? 'a non-empty string'
            : `a number ${issue.inclusive ? 'of at least' : 'greater than'} ${String(issue.minimum)}`;
      }
      return issue.message;
    case 'too_big':
      if (issue.message.startsWith('Too big')) {
        return issue.origin === 'array' ? `a list of at most ${issue.maximum as number} items` : issue.origin === 'string' ? `at most ${String(issue.maximum)} characters` : `a value of at most ${String(issue.maximum)}`;
      }
      return issue.message;
    case 'invalid_union': {
      const opts = (issue as { options?: unknown[] }).options;
      if (Array.isArray(opts)) return `one of ${opts.map(String).join(', ')}`;
      return issue.message.startsWith('Invalid input') ? 'one of the allowed forms' : issue.message;
    }
    case 'invalid_value':
      return issue.message.startsWith('Invalid') ? `one of ${issue.values.map(String).join(', ')}` : issue.message;
    default:
      return issue.message;
  }
}

/** The keys the schema allows at a path, where it is a known object. */
function allowedKeys(path: readonly PropertyKey[], parent: unknown): string[] | null {
  const shapes: Record<string, { shape: Record<string, unknown> }> = {
    extract: ExtractStep, sample: SampleStep, desensitize: DesensitizeStep, aggregate: AggregateStep, sql: SqlStep, kanonymize: KAnonymizeStep, train: TrainStep,
  };
  const p = path.map(String);
  if (p.length === 0) return Object.keys(JobSpecSchema.shape);
  if (p.length === 2 && p[0] === 'inputs') return Object.keys(InputSchema.shape);
  if (p.length === 2 && p[0] === 'outputs') return Object.keys(OutputSchema.shape);
  if (p.length === 2 && p[0] === 'steps') {
    const kind = (parent as { kind?: unknown } | null)?.kind;
    return typeof kind === 'string' && kind in shapes ? Object.keys(shapes[kind]!.shape) : null;
  }
  if (p.length === 4 && p[0] === 'steps' && p[2] === 'measures') return Object.keys(Measure.shape);
  if (p.length === 3 && p[0] === 'steps' && p[2] === 'stratified') return ['by', 'fraction', 'min_per_stratum'];
  return null;
}

/** Validates a parsed spec object; returns the spec or every issue (without line numbers). */
export function validateSpecObject(value: unknown): { spec: JobSpec; issues: [] } | { spec: null; issues: (SpecIssue & { segments: PropertyKey[] })[] } {
  const issues: (SpecIssue & { segments: PropertyKey[] })[] = [];
  const add = (segments: PropertyKey[], expected: string, found: string) => {
    const path = specPath(segments);
    if (!issues.some((i) => i.path === path && i.expected === expected)) issues.push({ path, line: null, expected, found, segments });
  };
  const steps = valueAt(value, ['steps']);
  const nonExtractInput = new Set<number>();
  if (Array.isArray(steps)) {
    steps.forEach((s, i) => {
      if (s && typeof s === 'object' && 'input' in s && (s as { kind?: unknown }).kind !== 'extract') nonExtractInput.add(i);
    });
  }
  const r = JobSpecSchema.safeParse(value);
  if (!r.success) {
    for (const issue of r.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const parent = valueAt(value, issue.path);
        const allowed = allowedKeys(issue.path, parent) ?? Object.keys(parent && typeof parent === 'object' ? parent : {}).filter((k) => !issue.keys.includes(k));
        for (const key of issue.keys) {
          // Reported below with a clearer message.
          if (key === 'input' && issue.path.length === 2 && issue.path[0] === 'steps' && nonExtractInput.has(issue.path[1] as number)) continue;
          const shown = IDENT_SHAPED.test(key) ? `the unknown key "${key}"` : `an unknown key of ${[...key].length} characters`;
          add([...issue.path, key], `no key other than ${allowed.join(', ') || 'the documented ones'}`, shown);
        }
        continue;
      }
      if (issue.code === 'invalid_key') {
        const k = issue.path[issue.path.length - 1];
        add(issue.path, issue.issues[0]?.message ?? 'a valid name', `the key ${describeFound(String(k))}`);
        continue;
      }
      const split = /^expected (.+), found (.+)$/.exec(issue.message);
      if (issue.code === 'custom' && split) {
        add(issue.path, split[1]!, split[2]!);
        continue;
      }
      const found = issue.code === 'custom' && issue.path[issue.path.length - 1] === 'fraction' && issue.message.startsWith('exactly one')
        ? `${String((issue as { input?: unknown }).input ?? 'another number of')} of them`
        : describeFound(valueAt(value, issue.path));
      add(issue.path, expectedFrom(issue), found);
    }
  }
  checkReferences(value, add, nonExtractInput);
  if (r.success && issues.length === 0) return { spec: r.data, issues: [] };
  return { spec: null, issues };
}

// ------------------------------------------------------------------ references

type Add = (segments: PropertyKey[], expected: string, found: string) => void;

/** Reference checks over the raw object (defensive: it may be partly invalid). */
function checkReferences(value: unknown, add: Add, nonExtractInput: Set<number>): void {
  const root = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const inputs = root['inputs'] && typeof root['inputs'] === 'object' ? Object.keys(root['inputs']) : [];
  const stepsRaw = Array.isArray(root['steps']) ? (root['steps'] as unknown[]) : [];
  const steps = stepsRaw.map((s) => (s && typeof s === 'object' ? (s as Record<string, unknown>) : {}));
  const ids = new Map<string, number>();
  steps.forEach((s, i) => {
    const id = s['id'];
    if (typeof id !== 'string') return;
    if (ids.has(id)) add(['steps', i, 'id'], `a step id not used by an earlier step (steps[${ids.get(id)!}] has it)`, `the duplicate id "${id}"`);
    else ids.set(id, i);
  });
  const stepList = [...ids.keys()].join(', ') || 'none';
  const edges = new Map<number, number[]>();
  const refStep = (i: number, segs: PropertyKey[], ref: unknown) => {
    if (typeof ref !== 'string') return;
    const j = ids.get(ref);
    if (j !== undefined) {
      edges.set(i, [...(edges.get(i) ?? []), j]);
      return;
    }
    if (inputs.includes(ref)) add(segs, 'a step id (only an extract step reads an input; read it through an extract step)', `the input "${ref}"`);
    else add(segs, `one of the step ids (${stepList})`, describeFound(ref));
  };
  steps.forEach((s, i) => {
    if (s['kind'] === 'extract') {
      const inp = s['input'];
      if (typeof inp === 'string' && !inputs.includes(inp)) add(['steps', i, 'input'], `one of the inputs (${inputs.join(', ') || 'none'})`, describeFound(inp));
      return;
    }
    if (nonExtractInput.has(i)) {
      add(['steps', i, 'input'], 'no input key: only an extract step reads an input directly (use from: <an extract step>)', describeFound(s['input']));
    }
    const from = s['from'];
    if (Array.isArray(from)) from.forEach((f, k) => refStep(i, ['steps', i, 'from', k], f));
    else refStep(i, ['steps', i, 'from'], from);
  });
  steps.forEach((s, i) => {
    const qis = s['kind'] === 'kanonymize' && s['config'] && typeof s['config'] === 'object' ? (s['config'] as Record<string, unknown>)['quasiIdentifiers'] : undefined;
    if (!Array.isArray(qis)) return;
    qis.forEach((q, k) => {
      const arx = (q as { hierarchy?: { arx?: unknown } } | null)?.hierarchy?.arx;
      if (typeof arx === 'string' && isUnsafeName(arx)) {
        add(['steps', i, 'config', 'quasiIdentifiers', k, 'hierarchy', 'arx'], 'a hierarchy file name (no path separators, "..", NUL or control characters)', describeFound(arx));
      }
    });
  });
  // Cycles: depth-first search with colours; each cycle reported once, at the step that closes it.
  const colour = new Map<number, 1 | 2>();
  const stack: number[] = [];
  const visit = (i: number): void => {
    colour.set(i, 1);
    stack.push(i);
    for (const j of edges.get(i) ?? []) {
      if (colour.get(j) === 1) {
        const cycle = [...stack.slice(stack.indexOf(j)), j].map((k) => String(steps[k]?.['id']));
        add(['steps', i, 'from'], 'a step that does not depend on itself (steps must form a DAG)', `a cycle ${cycle.join(' → ')}`);
      } else if (colour.get(j) === undefined) visit(j);
    }
    stack.pop();
    colour.set(i, 2);
  };
  for (const i of ids.values()) if (colour.get(i) === undefined) visit(i);

  const outputs = Array.isArray(root['outputs']) ? (root['outputs'] as unknown[]) : [];
  const outIds = new Map<string, number>();
  outputs.forEach((o, i) => {
    if (!o || typeof o !== 'object') return;
    const rec = o as Record<string, unknown>;
    const from = rec['from'];
    if (typeof from === 'string' && !ids.has(from)) {
      if (inputs.includes(from)) add(['outputs', i, 'from'], 'a step id (an output never comes straight from an input)', `the input "${from}"`);
      else add(['outputs', i, 'from'], `one of the step ids (${stepList})`, describeFound(from));
    }
    if (typeof from === 'string' && ids.has(from)) {
      const fromKind = (Array.isArray(steps) ? (steps[ids.get(from)!] as { kind?: unknown } | undefined)?.kind : undefined);
      const isModel = rec['kind'] === 'model';
      if (fromKind === 'train' && !isModel) add(['outputs', i, 'kind'], 'model (the output of a train step is a model)', describeFound(rec['kind']));
      if (fromKind !== 'train' && isModel && typeof fromKind === 'string') add(['outputs', i, 'kind'], 'table, extract or file (only a train step makes a model)', 'model');
    }
    const id = rec['id'];
    if (typeof id === 'string') {
      if (outIds.has(id)) add(['outputs', i, 'id'], `an output id not used by an earlier output (outputs[${outIds.get(id)!}] has it)`, `the duplicate id "${id}"`);
      else outIds.set(id, i);
    }
  });
}

// ------------------------------------------------------------------ YAML

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

function nodeLine(doc: ReturnType<typeof parseDocument>, lc: LineCounter, segments: readonly PropertyKey[]): number | null {
  // Walk down as far as the path exists; an unknown key points at the key itself.
  let node: unknown = doc.contents;
  let best: number | null = null;
  const lineOf = (n: unknown) => {
    const range = (n as YamlNode | undefined)?.range;
    return range ? lc.linePos(range[0]).line : null;
  };
  best = lineOf(node) ?? best;
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      best = lineOf(pair.key) ?? best;
      node = pair.value;
      if (node) best = lineOf(node) ?? best;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items) && typeof seg === 'number') {
      node = (node as { items: unknown[] }).items[seg];
      if (node === undefined) break;
      best = lineOf(node) ?? best;
    } else break;
  }
  return best;
}

/**
 * Parses and validates a job spec. Throws SLUICE_ERR_PAYLOAD_TOO_LARGE over
 * {@link MAX_SPEC_BYTES}; SLUICE_ERR_SPEC_INVALID for malformed YAML (with
 * line and column) or for any schema or reference problem, all of them listed
 * in the message and in `details.issues` ([{ path, line, expected, found }]).
 * `source` (a file name) only labels messages.
 */
export function parseSpec(text: string, source?: string): JobSpec {
  if (typeof text !== 'string') throw new SluiceError('SLUICE_ERR_SPEC_INVALID', `spec: expected YAML text, found ${typeof text}`);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_SPEC_BYTES) {
    throw new SluiceError('SLUICE_ERR_PAYLOAD_TOO_LARGE', `spec: expected at most ${MAX_SPEC_BYTES} bytes, found ${bytes}`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues: SpecIssue[] = doc.errors.slice(0, 3).map((e) => {
      const pos = lc.linePos(e.pos[0]);
      // YAML error messages can quote source text; keep only the error code.
      return { path: '(yaml)', line: pos.line, expected: 'well-formed YAML', found: `malformed YAML at line ${pos.line}, column ${pos.col} (${e.code})` };
    });
    throwIssues('SLUICE_ERR_SPEC_INVALID', issues, source);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_SPEC_INVALID', `${source ?? 'spec'}: expected YAML without excessive aliases, found too many alias expansions`, { cause: e });
  }
  const r = validateSpecObject(value);
  if (r.spec) return r.spec;
  const located = r.issues.map((i) => ({ path: i.path, line: nodeLine(doc, lc, i.segments), expected: i.expected, found: i.found }));
  located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throwIssues('SLUICE_ERR_SPEC_INVALID', located, source);
}
