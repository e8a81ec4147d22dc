/**
 * The step registry: the one list of step kinds. The spec schema, the
 * planner, fusion, the runner and the audit look a kind up here and nowhere
 * else. Adding a kind is one module under pipeline/steps/ and one line in
 * {@link STEPS}.
 */
import { SluiceError } from '../../lib/errors.js';
import type { StepDefinition, StepRef } from './definition.js';
import { aggregate } from './aggregate.js';
import { desensitize } from './desensitize.js';
import { extract } from './extract.js';
import { kanonymize } from './kanonymize.js';
import { sample } from './sample.js';
import { sql } from './sql.js';
import { train } from './train.js';

/** Every built-in step kind, in the order a typical flow uses them. `output` is not a step: outputs are staged by the gate. */
export const STEPS = { extract, sample, desensitize, aggregate, sql, kanonymize, train } as const;

type Builtin = typeof STEPS;
/** Each built-in kind's spec step and planned parameters, read off its definition. */
export type BuiltinStepKinds = {
  [K in keyof Builtin]: Builtin[K] extends StepDefinition<infer S, infer P> ? { spec: S; params: P } : never;
};

/**
 * Kinds registered at run time by tests (see {@link registerStepKind}); a test
 * adds its kind here by module augmentation. Empty in the product.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ExtraStepKinds {}

/** Every kind: its spec step and its planned parameters. */
export type StepKinds = BuiltinStepKinds & ExtraStepKinds;
/** A step kind. */
export type StepKind = keyof StepKinds & string;
/** The validated spec step of kind `K`. */
export type SpecStepOf<K extends StepKind> = StepKinds[K]['spec'];
/** The planned parameters of kind `K`. */
export type ParamsOf<K extends StepKind> = StepKinds[K]['params'];
/** One validated spec step, of any kind. */
export type SpecStep = { [K in StepKind]: SpecStepOf<K> }[StepKind];
/** A planned step of kind `K`. */
export type PlannedStepOf<K extends StepKind> = StepRef<ParamsOf<K>, K>;
/** One planned step: a union discriminated by `kind`, so `params` is typed per kind. */
export type PlannedStep = { [K in StepKind]: PlannedStepOf<K> }[StepKind];
/** A definition of any kind. */
export type AnyStepDefinition = StepDefinition<SpecStep, PlannedStep['params']>;

const builtin: Readonly<Record<string, AnyStepDefinition>> = STEPS;
const extra = new Map<string, AnyStepDefinition>();
let generation = 0;

/**
 * Registers a step kind at run time; returns the function that removes it.
 * For tests only (the product's kinds are {@link STEPS}): the kind must be
 * declared in {@link ExtraStepKinds} and must not shadow a built-in kind.
 */
export function registerStepKind<K extends keyof ExtraStepKinds & string>(def: StepDefinition<SpecStepOf<K>, ParamsOf<K>>): () => void {
  if (def.kind in builtin || extra.has(def.kind)) throw new SluiceError('SLUICE_ERR_CONFLICT', `step kind ${def.kind} is already registered`);
  extra.set(def.kind, def);
  generation++;
  return () => {
    extra.delete(def.kind);
    generation++;
  };
}

/** A counter that changes whenever the set of kinds does (the spec schema is rebuilt then). */
export function registryGeneration(): number {
  return generation;
}

/** Every registered kind's definition, built-in kinds first. */
export function stepDefinitions(): AnyStepDefinition[] {
  return [...Object.values(builtin), ...extra.values()];
}

/** The definition of a kind, or undefined for an unknown one. */
export function findStepDefinition(kind: string): AnyStepDefinition | undefined {
  return Object.hasOwn(builtin, kind) ? builtin[kind] : extra.get(kind);
}

/** The definition of a kind; SLUICE_ERR_SPEC_INVALID naming it when it is not registered. */
export function stepDefinition(kind: string): AnyStepDefinition {
  const def = findStepDefinition(kind);
  if (!def) throw new SluiceError('SLUICE_ERR_SPEC_INVALID', `step kind: expected one of ${stepDefinitions().map((d) => d.kind).join(', ')}, found the kind "${kind}"`);
  return def;
}
