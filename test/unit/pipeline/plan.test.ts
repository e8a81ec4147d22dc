import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AGREEMENTS, population } from '../../helpers/plan-fixtures.js';
import { parseSpec, type JobSpec } from '../../../pipeline/spec/spec.js';
import { canonicalJson, formatPlan, planJob, type Plan, type PlanContext } from '../../../pipeline/plan/plan.js';

const GOOD = new URL('../../fixtures/specs/good/', import.meta.url).pathname;

/**
 * These tests plan leaky specs on purpose (mobile granted untreated) to look at
 * labels: the provider classed mobile `other` (misclassified), which lineage
 * cannot see. With mobile classed as the direct identifier it is, the plan is
 * refused (test/unit/pipeline/lineage-policy.test.ts).
 */
function ctx(agreementId = 'AGR-2026-001'): PlanContext {
  return { agreement: AGREEMENTS.get(agreementId)!, datasets: new Map([['population', population({ mobile: 'other' })]]), user: { id: 'u-1', organization: 'op-a' }, today: '2026-06-01' };
}

const load = (file: string): JobSpec => parseSpec(readFileSync(GOOD + file, 'utf8'), file);
const labels = (plan: Plan, step: string) => Object.fromEntries(plan.steps.find((s) => s.id === step)!.columns.map((c) => [c.name, c.label]));

function sqlSpec(query: string, extra = ''): JobSpec {
  return parseSpec(`version: 1
name: sql-labels
agreement: AGR-2026-001
inputs:
  people: { dataset: population, columns: [id_number, sex, area_code, income_band, mobile] }
steps:
  - { id: p, kind: extract, input: people }
${extra}  - id: q
    kind: sql
    from: [p]
    query: ${JSON.stringify(query)}
outputs:
  - { id: o, from: p, kind: extract }
`);
}

describe('planJob', () => {
  it('plans demo 1 (care demand): extract applies the agreement, aggregate labels measures aggregate', async () => {
    const plan = await planJob(load('care-demand-by-area.yaml'), ctx());
    expect(plan.steps.map((s) => [s.id, s.kind, s.needs])).toEqual([['people_x', 'extract', []], ['a', 'aggregate', ['people_x']]]);
    expect(labels(plan, 'people_x')).toEqual({ id_number: 'token', birth_date: 'generalized', sex: 'raw', area_code: 'raw' });
    expect(labels(plan, 'a')).toEqual({ area_code: 'raw', birth_date: 'generalized', sex: 'raw', persons: 'aggregate' });
    const idCol = plan.steps[0]!.columns.find((c) => c.name === 'id_number')!;
    expect(idCol).toMatchObject({ type: 'VARCHAR', class: 'direct-identifier', source: { dataset: 'population', column: 'id_number' } });
    expect(plan.outputs).toEqual([{ id: 'care_demand', from: 'a', kind: 'table', format: 'parquet' }]);
    expect(plan.specHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('plans demo 2 (mobile extract) and shows the leaked mobile column as raw', async () => {
    const plan = await planJob(load('mobile-extract.yaml'), ctx());
    expect(labels(plan, 'people_x')).toEqual({ id_number: 'token', mobile: 'raw', area_code: 'raw', birth_date: 'generalized' });
    expect(plan.steps[0]!.params).toMatchObject({ input: 'people', dataset: 'population', columns: ['id_number', 'mobile', 'area_code', 'birth_date'] });
    const text = formatPlan(plan);
    expect(text).toMatch(/mobile\s+VARCHAR\s+other\s+raw  !/);
    // Registered as the direct identifier it is, the same spec is refused at plan time.
    await expect(planJob(load('mobile-extract.yaml'), { ...ctx(), datasets: new Map([['population', population()]]) })).rejects.toMatchObject({
      code: 'SLUICE_ERR_PLAN_LINEAGE',
      message: expect.stringContaining('output contacts column mobile'),
    });
    expect(text).toContain('contacts ← people_x  extract (csv)');
  });

  it('drops a column whose treatment is drop', async () => {
    const spec = load('mobile-extract.yaml');
    spec.inputs['people']!.columns.push('name');
    const plan = await planJob(spec, ctx());
    expect(plan.steps[0]!.columns.map((c) => c.name)).not.toContain('name');
  });

  it('labels k-anonymized quasi-identifiers generalized and sample keeps labels', async () => {
    const plan = await planJob(load('kanonymized-extract.yaml'), ctx());
    expect(labels(plan, 's')).toEqual(labels(plan, 'people_x'));
    expect(labels(plan, 'k')).toEqual({ id_number: 'token', sex: 'generalized', birth_date: 'generalized', area_code: 'generalized', education: 'raw' });
    expect(plan.steps.find((s) => s.id === 's')!.params).toEqual({ sample: { method: 'stratified', by: ['area_code'], fraction: 0.2, minPerStratum: 5, seed: 11 } });
  });

  it('desensitize strengthens labels and updates types', async () => {
    const plan = await planJob(load('sample-sql-summary.yaml'), ctx());
    const d = plan.steps.find((s) => s.id === 'd')!;
    expect(d.columns.find((c) => c.name === 'area_code')).toMatchObject({ label: 'generalized', type: 'VARCHAR' });
    expect(labels(plan, 'q')).toEqual({ area_code: 'generalized', sex: 'raw', persons: 'aggregate', top_band: 'raw' });
  });

  it.each([
    ['count(*), sum and avg are aggregate', 'select area_code, count(*) as n, count(distinct id_number) as u from p group by 1', { area_code: 'raw', n: 'aggregate', u: 'aggregate' }],
    ['min/max inherit the column (an extreme is one unit\'s value)', 'select max(id_number) as top, min(mobile) as m from p', { top: 'token', m: 'raw' }],
    ['string_agg and list inherit', "select area_code, string_agg(id_number, ',') as ids from p group by 1", { area_code: 'raw', ids: 'token' }],
    ['a renaming subquery keeps the strictest source', 'select x as sex from (select mobile as x from p) t', { sex: 'raw' }],
    ['a CTE rename keeps the source label', 'with t as (select id_number as sex from p) select sex from t', { sex: 'token' }],
    ['expressions take the strictest referenced label', "select sex || id_number as mix, upper(id_number) as s2, 42 as c from p", { mix: 'raw', s2: 'token', c: 'derived' }],
    ['a window is not an aggregate', 'select count(*) over (partition by id_number) as w from p', { w: 'token' }],
    ['raw beats unknown', 'select list_transform([sex], x -> x) as l from p', { l: 'raw' }],
    ['star expands with labels', 'select * exclude (mobile, income_band) from p', { id_number: 'token', sex: 'raw', area_code: 'raw' }],
    ['COLUMNS(...) cannot be analysed: unknown', "select columns('.*id.*') from p", { id_number: 'unknown' }],
    ['a lambda cannot be analysed: unknown', 'select list_transform([id_number], x -> x) as l from p', { l: 'unknown' }],
  ])('sql labels: %s', async (_, query, expected) => {
    const plan = await planJob(sqlSpec(query), ctx());
    expect(labels(plan, 'q')).toEqual(expected);
  });

  it('refuses forbidden SQL at plan time, naming the step path', async () => {
    await expect(planJob(sqlSpec("select * from read_csv('/etc/passwd')"), ctx())).rejects.toMatchObject({ code: 'SLUICE_ERR_SQL_FORBIDDEN', message: expect.stringContaining('steps[1].query') });
  });

  it('reports a query that does not bind, without its text', async () => {
    const e = (await planJob(sqlSpec("select nope, 'lit-9' from p"), ctx()).then(() => null, (x: unknown) => x)) as { code: string; message: string };
    expect(e).toMatchObject({ code: 'SLUICE_ERR_SQL_FAILED' });
    expect(e.message).toContain('steps[1].query');
    expect(e.message).toContain('no column nope');
    expect(e.message).not.toContain('lit-9');
  });

  it('refuses a user of another organization, a terminated agreement and a spec naming another agreement', async () => {
    const spec = load('care-demand-by-area.yaml');
    await expect(planJob(spec, { ...ctx(), user: { id: 'u-2', organization: 'op-b' } })).rejects.toMatchObject({ code: 'SLUICE_ERR_SPEC_SCOPE' });
    const terminated = { ...ctx(), agreement: { ...ctx().agreement, status: 'terminated' as const } };
    await expect(planJob(spec, terminated)).rejects.toMatchObject({ code: 'SLUICE_ERR_SPEC_SCOPE', message: expect.stringContaining('agreement: expected an active agreement') });
    await expect(planJob(spec, ctx('AGR-2026-009'))).rejects.toMatchObject({ code: 'SLUICE_ERR_SPEC_SCOPE', message: expect.stringContaining('the agreement AGR-2026-009') });
    // Negative control: no user given (a reviewer plans it) is fine.
    const { user: _, ...noUser } = ctx();
    await expect(planJob(spec, noUser)).resolves.toMatchObject({ agreementId: 'AGR-2026-001' });
  });

  it('refuses a step reading a column its input lacks, and collects every such problem', async () => {
    const spec = parseSpec(`version: 1
name: missing-cols
agreement: AGR-2026-001
inputs:
  people: { dataset: population, columns: [id_number, sex] }
steps:
  - { id: p, kind: extract, input: people }
  - { id: a, kind: aggregate, from: p, group_by: [area_code], measures: [ { fn: sum, column: income, as: s } ] }
outputs:
  - { id: o, from: a, kind: table }
`);
    const e = (await planJob(spec, ctx()).then(() => null, (x: unknown) => x)) as { code: string; details: { issues: { path: string }[] } };
    expect(e.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(e.details.issues.map((i) => i.path)).toEqual(['steps[1].group_by[0]', 'steps[1].measures[0].column']);
  });

  it('orders steps topologically whatever their order in the spec', async () => {
    const spec = parseSpec(`version: 1
name: out-of-order
agreement: AGR-2026-001
inputs:
  people: { dataset: population, columns: [id_number, sex] }
steps:
  - { id: s, kind: sample, from: p, size: 10 }
  - { id: p, kind: extract, input: people }
outputs:
  - { id: o, from: s, kind: extract }
`);
    const plan = await planJob(spec, ctx());
    expect(plan.steps.map((s) => s.id)).toEqual(['p', 's']);
    expect(plan.steps[1]!.params).toEqual({ sample: { method: 'fixed', size: 10, seed: 0 } });
  });

  it('hashes the canonical JSON: key order does not matter, content does', async () => {
    const a = await planJob(load('care-demand-by-area.yaml'), ctx());
    const reordered = JSON.parse(JSON.stringify(load('care-demand-by-area.yaml'), Object.keys(load('care-demand-by-area.yaml')).reverse().concat(['people', 'dataset', 'columns', 'id', 'kind', 'input', 'from', 'group_by', 'measures', 'fn', 'as', 'format'])));
    expect(canonicalJson(reordered)).toBe(canonicalJson(load('care-demand-by-area.yaml')));
    const changed = load('care-demand-by-area.yaml');
    changed.outputs[0]!.format = 'csv';
    expect((await planJob(changed, ctx())).specHash).not.toBe(a.specHash);
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: undefined }] })).toBe('{"a":[2,{"d":3}],"b":1}');
  });
});

describe('fusing row-level steps into the step that reads them', () => {
  const spec = (steps: string, outputs: string): JobSpec =>
    parseSpec(`version: 1
name: fusion
agreement: AGR-2026-001
inputs:
  people: { dataset: population, columns: [id_number, sex, birth_date, area_code] }
steps:
${steps}
outputs:
${outputs}
`);
  const fusedInto = (plan: Plan) => Object.fromEntries(plan.steps.map((s) => [s.id, s.fusedInto ?? null]));

  it('fuses extract → desensitize → aggregate into the aggregate, and says so in the printed plan', async () => {
    const plan = await planJob(
      spec(
        `  - { id: x, kind: extract, input: people }
  - { id: d, kind: desensitize, from: x, columns: { birth_date: { treatment: drop } } }
  - { id: a, kind: aggregate, from: d, group_by: [area_code, sex], measures: [{ fn: count_units, as: persons }] }`,
        '  - { id: t, from: a, kind: table }',
      ),
      ctx(),
    );
    expect(fusedInto(plan)).toEqual({ x: 'a', d: 'a', a: null });
    expect(formatPlan(plan)).toContain("x [extract]  reads input people (dataset population)  (runs inside step a's job; not written)");
  });

  it('keeps a step that is an output, feeds two steps, or feeds a step that cannot read SQL (negative controls)', async () => {
    const plan = await planJob(
      spec(
        `  - { id: x, kind: extract, input: people }
  - { id: d, kind: desensitize, from: x, columns: { birth_date: { treatment: drop } } }
  - { id: a, kind: aggregate, from: d, group_by: [area_code], measures: [{ fn: count_units, as: persons }] }
  - { id: b, kind: aggregate, from: d, group_by: [sex], measures: [{ fn: count_units, as: persons }] }
  - { id: y, kind: extract, input: people }
  - { id: s, kind: sample, from: y, fraction: 0.5, seed: 1 }
  - { id: z, kind: extract, input: people }
  - { id: c, kind: aggregate, from: z, group_by: [sex], measures: [{ fn: count_units, as: persons }] }`,
        `  - { id: t1, from: a, kind: table }
  - { id: t2, from: b, kind: table }
  - { id: t3, from: s, kind: extract }
  - { id: t4, from: z, kind: extract }
  - { id: t5, from: c, kind: table }`,
      ),
      ctx(),
    );
    // d feeds two aggregates; y feeds a sample (which reports what it left out and so reads a file); z is an output itself.
    expect(fusedInto(plan)).toEqual({ x: 'd', d: null, a: null, b: null, y: null, s: null, z: null, c: null });
  });

  it('fuses nothing when fusion is switched off', async () => {
    const plan = await planJob(
      spec(
        `  - { id: x, kind: extract, input: people }
  - { id: a, kind: aggregate, from: x, group_by: [sex], measures: [{ fn: count_units, as: persons }] }`,
        '  - { id: t, from: a, kind: table }',
      ),
      { ...ctx(), fuse: false },
    );
    expect(plan.steps.every((s) => s.fusedInto === undefined)).toBe(true);
  });
});
