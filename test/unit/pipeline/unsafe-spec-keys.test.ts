import { describe, expect, it } from 'vitest';
import { isSluiceError, type SluiceError } from '../../../lib/errors.js';
import { findUnsafeKey } from '../../../lib/unsafe-keys.js';
import { parseSpec } from '../../../pipeline/spec/spec.js';

const KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** A valid spec as a plain object; `inject` adds a key somewhere in it. */
function specObject(): Record<string, any> {
  return {
    version: 1,
    name: 'care-demand-by-area',
    agreement: 'AGR-2026-001',
    inputs: { people: { dataset: 'population', columns: ['id_number', 'birth_date', 'sex', 'area_code'] } },
    steps: [
      { id: 'people_x', kind: 'extract', input: 'people' },
      { id: 's', kind: 'sample', from: 'people_x', fraction: 0.5, seed: 7 },
      { id: 'a', kind: 'aggregate', from: 's', group_by: ['area_code', 'sex'], measures: [{ fn: 'count_units', as: 'persons' }] },
    ],
    outputs: [{ id: 'care_demand', from: 'a', kind: 'table', format: 'parquet' }],
  };
}

/** Where a key is put, and the path the error must name. */
const PLACES: { path: string; put: (spec: Record<string, any>, key: string, v: unknown) => void }[] = [
  { path: '', put: (s, k, v) => Object.defineProperty(s, k, { value: v, enumerable: true, configurable: true, writable: true }) },
  { path: 'inputs.people.', put: (s, k, v) => Object.defineProperty(s['inputs'].people, k, { value: v, enumerable: true, configurable: true, writable: true }) },
  { path: 'steps[2].', put: (s, k, v) => Object.defineProperty(s['steps'][2], k, { value: v, enumerable: true, configurable: true, writable: true }) },
  { path: 'steps[2].measures[0].', put: (s, k, v) => Object.defineProperty(s['steps'][2].measures[0], k, { value: v, enumerable: true, configurable: true, writable: true }) },
];

/** JSON text of the spec with `key` at `place` (JSON.stringify keeps an own `__proto__` key). */
function jsonWith(key: string, place: (typeof PLACES)[number]): string {
  const s = specObject();
  place.put(s, key, { polluted: true });
  const text = JSON.stringify(s, null, 2);
  expect(text).toContain(`"${key}"`);
  return text;
}

/** YAML text of the spec with `key` at `place`, written as block YAML. */
function yamlWith(key: string, depth: number): { text: string; path: string } {
  const lines = [
    'version: 1',
    'name: care-demand-by-area',
    'agreement: AGR-2026-001',
    ...(depth === 0 ? [`${key}: { polluted: true }`] : []),
    'inputs:',
    '  people:',
    '    dataset: population',
    '    columns: [id_number, birth_date, sex, area_code]',
    ...(depth === 1 ? [`    ${key}: { polluted: true }`] : []),
    'steps:',
    '  - { id: people_x, kind: extract, input: people }',
    '  - { id: s, kind: sample, from: people_x, fraction: 0.5, seed: 7 }',
    '  - id: a',
    '    kind: aggregate',
    '    from: s',
    '    group_by: [area_code, sex]',
    ...(depth === 2 ? [`    ${key}: 1`] : []),
    '    measures:',
    '      - fn: count_units',
    '        as: persons',
    ...(depth === 3 ? [`        ${key}: { polluted: true }`] : []),
    ...(depth === 4 ? ['        extra:', '          deeper:', `            - { ${key}: 1 }`] : []),
    'outputs:',
    '  - { id: care_demand, from: a, kind: table, format: parquet }',
  ];
  const path = ['', 'inputs.people.', 'steps[2].', 'steps[2].measures[0].', 'steps[2].measures[0].extra.deeper[0].'][depth]! + key;
  return { text: lines.join('\n') + '\n', path };
}

function refusal(text: string): SluiceError {
  try {
    parseSpec(text);
  } catch (e) {
    if (isSluiceError(e)) return e as SluiceError;
    throw e;
  }
  throw new Error('the spec was accepted');
}

describe('spec keys that reach into prototypes are refused, naming the path', () => {
  it('negative control: the spec without them parses', () => {
    expect(parseSpec(JSON.stringify(specObject())).name).toBe('care-demand-by-area');
    expect(parseSpec(yamlWith('unused', -1).text).steps).toHaveLength(3);
  });

  for (const key of KEYS) {
    for (let depth = 0; depth <= 4; depth++) {
      it(`YAML: ${key} at depth ${depth}`, () => {
        const { text, path } = yamlWith(key, depth);
        const e = refusal(text);
        expect(e.code).toBe('SLUICE_ERR_SPEC_INVALID');
        expect(e.message).toMatch(new RegExp(`^spec: ${path.replace(/[.[\]]/g, '\\$&')} \\(line \\d+\\): expected a key other than __proto__, constructor, prototype, found the key "${key}"$`));
        const issues = (e.details as { issues: { path: string; line: number }[] }).issues;
        expect(issues).toHaveLength(1);
        expect(text.split('\n')[issues[0]!.line - 1]).toContain(key);
      });
    }
    for (const place of PLACES) {
      it(`JSON: ${key} at ${place.path || 'the top'}`, () => {
        const e = refusal(jsonWith(key, place));
        expect(e.code).toBe('SLUICE_ERR_SPEC_INVALID');
        expect(e.message).toContain(`spec: ${place.path}${key} (line `);
        expect(e.message).toContain(`found the key "${key}"`);
      });
    }
  }

  it('a key behind a YAML alias or merge key is found where the anchor is defined', () => {
    const text = yamlWith('unused', -1).text.replace('version: 1', 'x-base: &b { __proto__: { polluted: true } }\nversion: 1');
    expect(refusal(text).message).toContain('spec: x-base.__proto__ (line 1)');
  });

  it('no prototype is polluted by a refused spec', () => {
    refusal(yamlWith('__proto__', 2).text);
    refusal(jsonWith('__proto__', PLACES[2]!));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('negative controls: a key named proto, and "__proto__" or "constructor" as a string value, are not refused for that', () => {
    const withProtoKey = yamlWith('proto', 2);
    const e = refusal(withProtoKey.text);
    // Refused only as an unknown key of the aggregate step, not as a prototype key.
    expect(e.message).not.toContain('a key other than');
    expect(e.message).toContain('steps[2].proto');
    const s = specObject();
    s['description'] = '__proto__ constructor prototype';
    s['steps'][0].id = 'constructor';
    s['steps'][1].from = 'constructor';
    expect(parseSpec(JSON.stringify(s)).steps[0]!.id).toBe('constructor');
    expect(parseSpec(yamlWith('unused', -1).text.replace('name: care-demand-by-area', 'name: care-demand-by-area\ndescription: __proto__')).description).toBe('__proto__');
  });
});

describe('findUnsafeKey', () => {
  it('finds own keys at any depth and nothing in clean values', () => {
    expect(findUnsafeKey(JSON.parse('{"a":[{"b":{"__proto__":{}}}]}'))).toEqual(['a', 0, 'b', '__proto__']);
    expect(findUnsafeKey({ a: { constructor: 1 } })).toEqual(['a', 'constructor']);
    expect(findUnsafeKey([[{ prototype: null }]])).toEqual([0, 0, 'prototype']);
    expect(findUnsafeKey({ proto: 1, a: ['__proto__'], constructorx: 'constructor' })).toBeNull();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expect(findUnsafeKey(cyclic)).toBeNull();
  });
});
