import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../../lib/errors.js';
import { describeFound, parseSpec, type SpecIssue } from '../../../pipeline/spec/spec.js';

const GOOD = new URL('../../fixtures/specs/good/', import.meta.url).pathname;

function issuesOf(text: string): { error: SluiceError; issues: SpecIssue[] } {
  try {
    parseSpec(text, 'job.yaml');
  } catch (e) {
    const error = e as SluiceError;
    return { error, issues: (error.details?.['issues'] ?? []) as SpecIssue[] };
  }
  throw new Error('accepted');
}

const BASE = `version: 1
name: base
agreement: AGR-2026-001
inputs:
  people: { dataset: population, columns: [id_number, sex] }
steps:
  - { id: p, kind: extract, input: people }
`;

describe('parseSpec', () => {
  it('parses a good spec and fills defaults (format parquet, seed 0, min_per_stratum 0)', () => {
    const spec = parseSpec(`${BASE}  - { id: s, kind: sample, from: p, stratified: { by: [sex], fraction: 0.5 } }
outputs:
  - { id: o, from: s, kind: table }
`);
    expect(spec.outputs[0]).toEqual({ id: 'o', from: 's', kind: 'table', format: 'parquet' });
    expect(spec.steps[1]).toMatchObject({ kind: 'sample', seed: 0, stratified: { by: ['sex'], fraction: 0.5, min_per_stratum: 0 } });
  });

  it('parses the demo specs', () => {
    expect(parseSpec(readFileSync(GOOD + 'care-demand-by-area.yaml', 'utf8')).name).toBe('care-demand-by-area');
    expect(parseSpec(readFileSync(GOOD + 'mobile-extract.yaml', 'utf8')).outputs[0]!.kind).toBe('extract');
  });

  it('collects every problem with its path and line, not just the first', () => {
    const { error, issues } = issuesOf(`${BASE}  - { id: s, kind: sample, from: p, fraction: half, seed: 7 }
  - { id: s, kind: sample, from: zz, fraction: 2 }
  - id: a
    kind: aggregate
    from: s
    group_by: [sex]
    measures: [ { fn: mode, as: m } ]
    colour: blue
outputs:
  - { id: o, from: a, kind: table, format: xlsx }
`);
    expect(error.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(issues).toEqual([
      { path: 'steps[1].fraction', line: 8, expected: 'a number in (0, 1]', found: 'the string "half"' },
      { path: 'steps[2].fraction', line: 9, expected: 'a number in (0, 1]', found: 'the integer 2' },
      { path: 'steps[2].id', line: 9, expected: 'a step id not used by an earlier step (steps[1] has it)', found: 'the duplicate id "s"' },
      { path: 'steps[2].from', line: 9, expected: 'one of the step ids (p, s, a)', found: 'the string "zz"' },
      { path: 'steps[3].measures[0].fn', line: 14, expected: 'one of count, count_units, sum, mean, min, max, median, percentile, count_distinct', found: 'the string "mode"' },
      {
        path: 'steps[3].colour',
        line: 15,
        expected: 'no key other than id, kind, from, group_by, measures, round, suppress_below, margins',
        found: 'the unknown key "colour"',
      },
      { path: 'outputs[0].format', line: 17, expected: 'one of parquet, csv, json', found: 'the string "xlsx"' },
    ]);
    expect(error.message).toContain('steps[1].fraction (line 8): expected a number in (0, 1], found the string "half"');
    expect(error.message).toMatch(/^spec job\.yaml has 7 problems:/);
  });

  it('never echoes a string that could be data', () => {
    const { error } = issuesOf(`version: 1
name: "张三 110101199001011234"
agreement: AGR-2026-001
inputs: { people: { dataset: population, columns: [id_number] } }
steps: [ { id: p, kind: extract, input: people } ]
outputs: [ { id: o, from: p, kind: extract } ]
`);
    expect(error.message).toContain('name (line 2): expected a name of 1 to 64 characters');
    expect(error.message).toContain('found a string of 21 characters');
    expect(error.message).not.toContain('110101199001011234');
    expect(describeFound('people')).toBe('the string "people"');
    expect(describeFound('13800138000')).toBe('a string of 11 characters');
  });

  it('refuses path traversal in every kind of name', () => {
    for (const [where, bad] of [
      ['name: base', 'name: ../base'],
      ['columns: [id_number, sex]', 'columns: [id_number, "../sex"]'],
      ['dataset: population', 'dataset: "pop/../../raw"'],
      ['{ id: p, kind: extract', '{ id: "p\\u0000", kind: extract'],
    ] as const) {
      const { issues } = issuesOf(`${BASE.replace(where, bad)}outputs:\n  - { id: o, from: p, kind: extract }\n`);
      expect(issues.some((i) => i.found.startsWith('a path-like string') && i.expected.includes('no path separators')), bad).toBe(true);
    }
  });

  it('refuses malformed YAML with line and column, without quoting the source', () => {
    const { error, issues } = issuesOf('version: 1\nname: "unterminated secret\n');
    expect(error.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(issues[0]!.found).toMatch(/^malformed YAML at line \d+, column \d+ \([A-Z_]+\)$/);
    expect(error.message).not.toContain('secret');
  });

  it('refuses duplicate keys and alias bombs', () => {
    expect(issuesOf(`${BASE}steps: []\noutputs: []\n`).error.code).toBe('SLUICE_ERR_SPEC_INVALID');
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
    expect(() => parseSpec(bomb)).toThrow(SluiceError);
  });

  it('explains a non-extract step that names an input, and an output taken straight from an input', () => {
    const { issues } = issuesOf(`${BASE}  - { id: s, kind: sample, from: people, fraction: 0.5, input: people }
outputs:
  - { id: o, from: people, kind: table }
`);
    expect(issues.map((i) => [i.path, i.expected])).toEqual([
      ['steps[1].input', 'no input key: only an extract step reads an input directly (use from: <an extract step>)'],
      ['steps[1].from', 'a step id (only an extract step reads an input; read it through an extract step)'],
      ['outputs[0].from', 'a step id (an output never comes straight from an input)'],
    ]);
  });

  it('requires exactly one way to sample and a column for sum', () => {
    const { issues } = issuesOf(`${BASE}  - { id: s, kind: sample, from: p, fraction: 0.5, size: 10 }
  - { id: a, kind: aggregate, from: s, group_by: [], measures: [ { fn: sum, as: total } ] }
outputs:
  - { id: o, from: a, kind: table }
`);
    expect(issues.map((i) => `${i.path}: ${i.expected}`)).toEqual([
      'steps[1].fraction: exactly one of fraction, size or stratified',
      'steps[2].measures[0].column: a column to sum',
    ]);
  });

  it('refuses a spec larger than 1 MiB', () => {
    expect(() => parseSpec(`# ${'x'.repeat(1 << 20)}\n`)).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_PAYLOAD_TOO_LARGE' }));
  });
});
