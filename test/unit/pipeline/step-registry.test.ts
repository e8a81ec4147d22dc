import { describe, expect, it } from 'vitest';
import { grantTreatment } from '../../../pipeline/steps/extract.js';
import { STEPS, registerStepKind, stepDefinition, stepDefinitions } from '../../../pipeline/steps/index.js';

describe('the step registry', () => {
  it('is the one list of kinds: every definition is found under its own kind', () => {
    for (const [kind, def] of Object.entries(STEPS)) expect(stepDefinition(kind)).toBe(def);
    expect(stepDefinitions().map((d) => d.kind)).toEqual(Object.keys(STEPS));
    expect(() => stepDefinition('nope')).toThrow(/step kind: expected one of extract, sample/);
  });

  it('refuses to register a kind that shadows a built-in one', () => {
    // The cast only lets a test try what the types forbid.
    expect(() => registerStepKind(STEPS.sample as never)).toThrow(/already registered/);
  });
});

describe('grantTreatment (one implementation for planner and runner)', () => {
  it('refuses a generalize grant without a level, naming the column (positive control)', () => {
    expect(() => grantTreatment({ name: 'birth_date', treatment: 'generalize' })).toThrow(/birth_date: expected a generalization level/);
  });
  it('keeps a grant with its level, and the other treatments as they are (negative control)', () => {
    expect(grantTreatment({ name: 'birth_date', treatment: 'generalize', level: 'year' })).toEqual({ treatment: 'generalize', level: 'year' });
    expect(grantTreatment({ name: 'id_number', treatment: 'tokenize' })).toEqual({ treatment: 'tokenize' });
  });
});
