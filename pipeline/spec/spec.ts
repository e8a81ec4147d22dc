/**
 * Sluice job specs (YAML, version 1): the schema, and {@link parseSpec}, which
 * turns text into a validated {@link JobSpec} or one SluiceError listing every
 * problem as `<path> (line L): expected <…>, found <…>`.
 *
 * Found values are described by type ("the string \"people\"" only for
 * identifier-shaped names, else "a string of N characters"), never echoed.
 */
import { LineCounter, parseDocument, isMap, isScalar, isSeq, isPair, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';
import { SAFE_KEY_EXPECTED, findUnsafeKey, isUnsafeKey } from '../../lib/unsafe-keys.js';
import { Measure } from '../steps/aggregate.js';
import { findStepDefinition, registryGeneration, stepDefinitions, type SpecStep } from '../steps/index.js';
import { AGREEMENT_ID, COLUMN, DATASET_NAME, IDENT_SHAPED, INPUT_NAME, OUTPUT_ID, SPEC_NAME, STEP_ID, describeFound, specPath, throwIssues, type SpecIssue } from './fields.js';

export { describeFound, formatIssue, isUnsafeName, specPath, throwIssues, type SpecIssue } from './fields.js';
export type { SpecStep, StepKind } from '../steps/index.js';

/** The spec format version this module reads. */
export const SPEC_VERSION = 1;
/** Output kinds. */
export const OUTPUT_KINDS = ['table', 'extract', 'file', 'model'] as const;
/** Output file formats. */
export const OUTPUT_FORMATS = ['parquet', 'csv', 'json'] as const;
/** Largest spec text accepted, in bytes (1 MiB). */
export const MAX_SPEC_BYTES = 1 << 20;

const OutputSchema = z.strictObject({
  id: OUTPUT_ID,
  from: STEP_ID,
  kind: z.enum(OUTPUT_KINDS, { error: `one of ${OUTPUT_KINDS.join(', ')}` }),
  format: z.enum(OUTPUT_FORMATS, { error: `one of ${OUTPUT_FORMATS.join(', ')}` }).default('parquet'),
  /** The rows are synthetic (generated, not the raw rows): the audit runs B6 (singling out, inference). */
  synthetic: z.boolean({ error: 'true or false' }).optional(),
}).superRefine((o, ctx) => {
  if (o.synthetic === true && o.kind !== 'extract' && o.kind !== 'file') {
    ctx.addIssue({ code: 'custom', path: ['synthetic'], message: 'synthetic only on a row-level output (kind extract or file)', input: o.kind });
  }
});

const InputSchema = z.strictObject(
  {
    dataset: DATASET_NAME,
    columns: z.array(COLUMN, { error: 'a list of column names' }).min(1).max(1000),
  },
  { error: 'a mapping { dataset, columns }' },
);

/** The spec's frame around `step`, the schema of one step (every registered kind's fragment). */
function jobSpecObject<T extends z.ZodType>(step: T) {
  return z.strictObject({
    version: z.literal(SPEC_VERSION, { error: `the spec version ${SPEC_VERSION}` }),
    name: SPEC_NAME,
    agreement: AGREEMENT_ID,
    description: z.string({ error: 'text' }).max(4000).optional(),
    inputs: z
      .record(INPUT_NAME, InputSchema, { error: 'a mapping of input name to { dataset, columns }' })
      .refine((r) => Object.keys(r).length > 0, { message: 'at least one input' }),
    steps: z.array(step, { error: 'a list of steps' }).min(1).max(200),
    outputs: z.array(OutputSchema, { error: 'a list of outputs' }).min(1).max(100),
    /** Audit thresholds this job asks for: they may only tighten the agreement's (checked when planning). */
    audit: z
      .strictObject({ thresholds: z.record(z.string(), z.unknown(), { error: 'a mapping of check id to its thresholds, e.g. { A1: { threshold: 20 } }' }) })
      .optional(),
  });
}

const frame = jobSpecObject(z.never());

/** A validated job spec. */
export type JobSpec = Omit<z.output<typeof frame>, 'steps'> & { steps: SpecStep[] };

let cached: { generation: number; schema: ReturnType<typeof buildJobSpecSchema> } | null = null;

function buildJobSpecSchema() {
  const [first, ...rest] = stepDefinitions().map((d) => d.schema);
  return jobSpecObject(z.discriminatedUnion('kind', [first!, ...rest], { error: 'a step mapping with id and kind' }));
}

/** The job spec schema (version 1), its step union read from the step registry. Unknown keys are errors. */
export function jobSpecSchema(): ReturnType<typeof buildJobSpecSchema> {
  if (!cached || cached.generation !== registryGeneration()) cached = { generation: registryGeneration(), schema: buildJobSpecSchema() };
  return cached.schema;
}

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
  const p = path.map(String);
  if (p.length === 0) return Object.keys(jobSpecSchema().shape);
  if (p.length === 2 && p[0] === 'inputs') return Object.keys(InputSchema.shape);
  if (p.length === 2 && p[0] === 'outputs') return Object.keys(OutputSchema.shape);
  if (p.length === 2 && p[0] === 'steps') {
    const kind = (parent as { kind?: unknown } | null)?.kind;
    const def = typeof kind === 'string' ? findStepDefinition(kind) : undefined;
    return def ? Object.keys(def.schema.shape) : null;
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
  const unsafe = findUnsafeKey(value);
  if (unsafe) {
    // Refused before the schema looks at the document.
    add(unsafe, SAFE_KEY_EXPECTED, `the key "${String(unsafe[unsafe.length - 1])}"`);
    return { spec: null, issues };
  }
  const steps = valueAt(value, ['steps']);
  const nonExtractInput = new Set<number>();
  if (Array.isArray(steps)) {
    steps.forEach((s, i) => {
      if (s && typeof s === 'object' && 'input' in s && !readsInput((s as { kind?: unknown }).kind)) nonExtractInput.add(i);
    });
  }
  const r = jobSpecSchema().safeParse(value);
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
  // The step union is built from the registry at run time, so its static type is loose; the schema is what checked it.
  if (r.success && issues.length === 0) return { spec: r.data as JobSpec, issues: [] };
  return { spec: null, issues };
}

// ------------------------------------------------------------------ references

type Add = (segments: PropertyKey[], expected: string, found: string) => void;

/** True for a kind that reads a spec input (raw/) rather than earlier steps. */
function readsInput(kind: unknown): boolean {
  return typeof kind === 'string' && findStepDefinition(kind)?.readsRaw !== undefined;
}

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
    if (readsInput(s['kind'])) {
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
    const def = typeof s['kind'] === 'string' ? findStepDefinition(s['kind']) : undefined;
    def?.checkRaw?.(s, (segs, expected, found) => add(['steps', i, ...segs], expected, found));
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
      const makesModel = typeof fromKind === 'string' && findStepDefinition(fromKind)?.produces === 'model';
      if (makesModel && !isModel) add(['outputs', i, 'kind'], 'model (the output of a train step is a model)', describeFound(rec['kind']));
      if (!makesModel && isModel && typeof fromKind === 'string') add(['outputs', i, 'kind'], 'table, extract or file (only a train step makes a model)', 'model');
    }
    const id = rec['id'];
    if (typeof id === 'string') {
      if (outIds.has(id)) add(['outputs', i, 'id'], `an output id not used by an earlier output (outputs[${outIds.get(id)!}] has it)`, `the duplicate id "${id}"`);
      else outIds.set(id, i);
    }
  });
}

// ------------------------------------------------------------------ YAML

/**
 * The first mapping key named `__proto__`, `constructor` or `prototype` in the
 * YAML document itself (before it becomes objects), with its path and line.
 * Keys that are themselves collections are searched too.
 */
function unsafeYamlKey(node: unknown, path: PropertyKey[], lc: LineCounter): SpecIssue | null {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : null;
      if (key !== null && isUnsafeKey(key)) {
        const range = (pair.key as YamlNode).range;
        return { path: specPath([...path, key]), line: range ? lc.linePos(range[0]).line : null, expected: SAFE_KEY_EXPECTED, found: `the key "${key}"` };
      }
      const found = (key === null ? unsafeYamlKey(pair.key, path, lc) : null) ?? unsafeYamlKey(pair.value, key === null ? path : [...path, key], lc);
      if (found) return found;
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const found = unsafeYamlKey(node.items[i], [...path, i], lc);
      if (found) return found;
    }
  }
  return null;
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
  const unsafe = unsafeYamlKey(doc.contents, [], lc);
  if (unsafe) throwIssues('SLUICE_ERR_SPEC_INVALID', [unsafe], source);
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
