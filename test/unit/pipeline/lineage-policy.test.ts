import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../lib/errors.js';
import type { Agreement, ColumnGrant } from '../../../domain/types.js';
import { agreement, population } from '../../helpers/plan-fixtures.js';
import { parseSpec, type JobSpec } from '../../../pipeline/spec/spec.js';
import { planJob, type Plan, type PlanContext } from '../../../pipeline/plan/plan.js';
import type { LineageIssue } from '../../../pipeline/plan/lineage-policy.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;

/** The fixture agreement with some grants replaced (an agreement the control plane would refuse may still be stored from before the rule). */
function withGrants(over: Record<string, ColumnGrant['treatment']>, extra: Partial<Agreement> = {}): Agreement {
  const a = agreement('AGR-2026-001', 'op-a', '2026-01-01', '2028-12-31');
  a.grants[0]!.columns = a.grants[0]!.columns.map((c) => (c.name in over ? { name: c.name, treatment: over[c.name]! } : c));
  return { ...a, ...extra };
}

const ctx = (a: Agreement = withGrants({}), classes: Parameters<typeof population>[0] = {}): PlanContext => ({
  agreement: a, datasets: new Map([['population', population(classes)]]), user: { id: 'u-1', organization: 'op-a' }, today: '2026-06-01',
});

/** A spec: extract p of `columns`, then `steps`, the output o from `from` as `kind`. */
function spec(steps: string, from = 'q', kind = 'extract', columns = 'id_number, sex, area_code, mobile'): JobSpec {
  return parseSpec(`version: 1
name: lineage
agreement: AGR-2026-001
inputs:
  people: { dataset: population, columns: [${columns}] }
steps:
  - { id: p, kind: extract, input: people }
${steps}
outputs:
  - { id: o, from: ${from}, kind: ${kind} }
`);
}
const sql = (query: string, from = 'p', id = 'q') => `  - { id: ${id}, kind: sql, from: [${from}], query: ${JSON.stringify(query)} }\n`;

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (isSluiceError(e)) return e as never;
    throw e;
  }
  throw new Error('expected the plan to be refused, but it was accepted');
}
const issuesOf = (e: { details: Record<string, unknown> }) => (e.details['issues'] ?? []) as LineageIssue[];

describe('the lineage policy refuses a direct identifier leaving raw or keyless-derived (positive controls)', () => {
  // mobile (a direct identifier) granted `none`: an agreement from before the rule. Every leak names output, column and path.
  // The fourth member: the dataset column the path starts from (unknown lineage names one of those it may carry).
  const leaks: [string, string, string[], string?][] = [
    ['raw through sql', 'select mobile, sex from p', ['mobile']],
    ['unsalted hashes', 'select md5(mobile) as a, sha256(mobile) as b, hash(mobile) as c, sex from p', ['a', 'b', 'c']],
    ['a salted SHA-256', "select sha256('tz-2026-' || mobile || 'pepper') as h from p", ['h']],
    ['split over two columns', 'select substr(mobile, 1, 6) as head, substr(mobile, 7) as tail from p', ['head', 'tail']],
    ['concatenated into free text', "select 'call ' || mobile || ' after six' as remark, concat(sex, ':', mobile) as note from p", ['remark', 'note']],
    ['a digit substitution', "select translate(mobile, '0123456789', '9876543210') as t, replace(replace(mobile, '1', 'a'), '2', 'b') as r from p", ['t', 'r']],
    ['through a CTE', 'with t as (select mobile as m from p) select m as contact from t', ['contact']],
    ['through a subquery', 'select x as sex from (select mobile as x from p) s', ['sex']],
    ['through a UNION', 'select sex as v from p union all select mobile from p', ['v']],
    ['through a join', 'select b.mobile as m, a.sex from p a join p b on a.id_number = b.id_number', ['m']],
    ['a window over it', 'select first_value(mobile) over (order by sex) as f from p', ['f']],
    ['a CASE that returns it', "select case when sex = '1' then mobile else 'x' end as c from p", ['c']],
    ['a sum over a group of one', 'select id_number, sum(try_cast(mobile as bigint)) as s from p group by id_number', ['s']],
    ['rows emitted twice (a cross join with range)', 'select q2.* from (select mobile from p) q2, range(2)', ['mobile']],
    ['a lateral unnest of it (not analysable: unknown)', 'select u.x from p, unnest([mobile]) u(x)', ['x'], '\\w+'],
  ];
  it.each(leaks)('%s', async (_what, query, columns, from = 'mobile') => {
    const e = await refusal(planJob(spec(sql(query)), ctx()));
    expect(e.code).toBe('SLUICE_ERR_PLAN_LINEAGE');
    const issues = issuesOf(e);
    for (const c of columns) {
      const issue = issues.find((i) => i.output === 'o' && i.column === c);
      expect(issue, `no issue for column ${c}: ${e.message}`).toBeDefined();
      expect(issue!.path).toMatch(new RegExp(`^population\\.${from} → extract:p → sql:q → output o$`));
      expect(e.message).toContain(`output o column ${c}: `);
    }
    // The agreement's grant is named too: the extract would put raw mobile numbers into work/.
    expect(issues.some((i) => i.output === null && i.step === 'p' && i.column === 'mobile')).toBe(true);
  });

  it('an ID number granted none and salted before hashing, through a step chain (extract → desensitize → sql)', async () => {
    const steps = `  - { id: d, kind: desensitize, from: p, columns: { area_code: { treatment: generalize, level: county } } }\n${sql("select sha256(concat('salt', id_number)) as k, area_code from d", 'd')}`;
    const e = await refusal(planJob(spec(steps, 'q', 'extract', 'id_number, sex, area_code'), ctx(withGrants({ id_number: 'none' }))));
    expect(e.code).toBe('SLUICE_ERR_PLAN_LINEAGE');
    expect(e.message).toContain('output o column k: a raw or keyless-derived direct identifier (population.id_number)');
    expect(e.message).toContain('population.id_number → extract:p → desensitize:d → sql:q → output o');
  });

  it('an extract output that passes it as it is', async () => {
    const e = await refusal(planJob(spec('', 'p'), ctx()));
    expect(e.message).toContain('output o column mobile');
    expect(issuesOf(e).find((i) => i.output === 'o')!.path).toBe('population.mobile → extract:p → output o');
  });

  it('a model fitted on it', async () => {
    const steps = '  - { id: m, kind: train, from: p, target: sex, features: { categorical: [area_code, mobile] }, model: { kind: tree } }\n';
    const e = await refusal(planJob(spec(steps, 'm', 'model'), ctx()));
    expect(issuesOf(e).find((i) => i.output === 'o')).toMatchObject({ column: 'mobile', path: 'population.mobile → extract:p → train:m → output o' });
  });

  it('an operator mask that keeps more than the agreement allows, or a truncation', async () => {
    // The agreement grants mobile `none` here, so it allows no mask at all: the operator's own mask is no approved treatment.
    const steps = '  - { id: d, kind: desensitize, from: p, columns: { mobile: { treatment: mask, keepStart: 7, keepEnd: 4 }, sex: { treatment: truncate, length: 1 } } }\n';
    const e = await refusal(planJob(spec(steps, 'd'), ctx()));
    expect(e.message).toContain('output o column mobile: direct identifier population.mobile treated by mask at desensitize:d, which keeps more than agreement AGR-2026-001 allows');
  });

  it('a column whose lineage the planner cannot follow', async () => {
    const e = await refusal(planJob(spec(sql("select columns('.*a.*') from p")), ctx(withGrants({ mobile: 'drop' }))));
    expect(e.code).toBe('SLUICE_ERR_PLAN_LINEAGE');
    expect(e.message).toMatch(/output o column \w+: lineage the planner cannot follow/);
  });

  it('the demo call list, with mobile registered as the direct identifier it is', async () => {
    const demo = JSON.parse(readFileSync(EXAMPLES + 'agreement.json', 'utf8')) as Agreement;
    const a = { ...demo, status: 'active' as const, validFrom: '2026-01-01', validTo: '2028-12-31' };
    const text = readFileSync(EXAMPLES + 'contact-list.yaml', 'utf8');
    const e = await refusal(planJob(parseSpec(text), { ...ctx(a), user: { id: 'u-1', organization: a.operator } }));
    expect(e.message).toContain('output contact_list column mobile');
    expect(e.message).toContain('population.mobile → extract:residents → sql:contacts → output contact_list');
    // Misclassified by its provider (the demo's story), lineage cannot see it and it plans: the audit's B1 must block it.
    await expect(planJob(parseSpec(text), { ...ctx(a, { mobile: 'other' }), user: { id: 'u-1', organization: a.operator } })).resolves.toMatchObject({ specName: 'elderly-contact-list' });
  });
});

describe('approved treatments plan (negative controls)', () => {
  const columnsOf = (plan: Plan, step: string) => plan.steps.find((s) => s.id === step)!.columns;

  it('a tokenized identifier, hashed or cut in SQL (a keyed token stays a token)', async () => {
    const plan = await planJob(spec(sql("select id_number, sha256('salt' || id_number) as h, substr(id_number, 1, 8) as s, sex from p")), ctx(withGrants({ mobile: 'drop' })));
    const h = columnsOf(plan, 'q').find((c) => c.name === 'h')!;
    expect(h.lineage).toEqual([{ dataset: 'population', column: 'id_number', class: 'direct-identifier', label: 'token', path: ['extract:p', 'sql:q'], treatment: { name: 'tokenize', at: 'extract:p', by: 'agreement' } }]);
  });

  it('a dropped identifier (by the agreement, or by the operator)', async () => {
    await expect(planJob(spec(sql('select id_number, sex from p')), ctx(withGrants({ mobile: 'drop' })))).resolves.toBeDefined();
    const steps = '  - { id: d, kind: desensitize, from: p, columns: { mobile: { treatment: drop } } }\n';
    await expect(planJob(spec(steps, 'd'), ctx(withGrants({ mobile: 'mask' })))).resolves.toBeDefined();
  });

  it("the agreement's mask, and an operator's mask that keeps no more than it", async () => {
    const plan = await planJob(spec(sql("select mobile, 'tel ' || mobile as note from p")), ctx(withGrants({ mobile: 'mask' })));
    expect(columnsOf(plan, 'q').find((c) => c.name === 'note')!.lineage[0]).toMatchObject({ column: 'mobile', label: 'masked', treatment: { name: 'mask', by: 'agreement' } });
    const steps = '  - { id: d, kind: desensitize, from: p, columns: { mobile: { treatment: mask, keepStart: 3, keepEnd: 4 } } }\n';
    await expect(planJob(spec(steps, 'd'), ctx(withGrants({ mobile: 'mask' })))).resolves.toBeDefined();
  });

  it('a count of distinct identifiers carries none of them (only the grant is refused)', async () => {
    const e = await refusal(planJob(spec(sql('select area_code, count(distinct mobile) as n from p group by 1')), ctx()));
    expect(issuesOf(e).filter((i) => i.output === 'o')).toEqual([]);
    expect(issuesOf(e).map((i) => [i.step, i.column])).toEqual([['p', 'mobile']]);
  });

  it('the ordinary aggregate job of the demo (examples/care-demand.yaml)', async () => {
    const demo = JSON.parse(readFileSync(EXAMPLES + 'agreement.json', 'utf8')) as Agreement;
    const a = { ...demo, status: 'active' as const, validFrom: '2026-01-01', validTo: '2028-12-31' };
    const plan = await planJob(parseSpec(readFileSync(EXAMPLES + 'care-demand.yaml', 'utf8')), { ...ctx(a), user: { id: 'u-1', organization: a.operator } });
    const persons = columnsOf(plan, 'demand').find((c) => c.name === 'persons')!;
    expect(persons).toMatchObject({ label: 'aggregate', lineage: [] });
    expect(columnsOf(plan, 'demand').find((c) => c.name === 'age_band')!.lineage[0]).toMatchObject({
      column: 'birth_date', label: 'generalized', path: ['extract:residents', 'desensitize:banded', 'sql:elderly', 'aggregate:demand'],
    });
  });
});

describe('plan says what the gate would refuse on structure alone', () => {
  const grants = withGrants({ mobile: 'drop' });

  it('a kind: table output that does not come from an aggregate step: D0, with a hint', async () => {
    const e = await refusal(planJob(spec(sql('select sex, count(*) as n from p group by 1'), 'q', 'table'), ctx(grants)));
    expect(e.code).toBe('SLUICE_ERR_PLAN_GATE');
    expect(e.message).toContain('output o: the gate would refuse it (D0: a table must come from an aggregate step');
    expect(e.message).toContain('instead, add a step { kind: aggregate, from: q');
  });

  it('a format outside the agreement\'s allowlist: A10, with a hint', async () => {
    const steps = '  - { id: a, kind: aggregate, from: p, group_by: [sex], measures: [{ fn: count_units, as: n }] }\n';
    const strict = { ...grants, auditThresholds: { A10: { allowedFileTypes: ['parquet'] } } };
    const csv = parseSpec(JSON.stringify({ ...spec(steps, 'a', 'table'), outputs: [{ id: 'o', from: 'a', kind: 'table', format: 'csv' }] }));
    const e = await refusal(planJob(csv, ctx(strict)));
    expect(e.code).toBe('SLUICE_ERR_PLAN_GATE');
    expect(e.message).toContain('(A10: file type not in the allowlist (parquet)); instead, write format: parquet');
    await expect(planJob(spec(steps, 'a', 'table'), ctx(strict))).resolves.toBeDefined();
  });

  it('an aggregate table whose input keeps no unit column: D0, with a hint', async () => {
    const steps = `${sql('select sex, area_code from p')}  - { id: a, kind: aggregate, from: q, group_by: [sex], measures: [{ fn: count, as: n }] }\n`;
    const e = await refusal(planJob(spec(steps, 'a', 'table'), ctx(grants)));
    expect(e.code).toBe('SLUICE_ERR_PLAN_GATE');
    expect(e.message).toContain("D0: step a's input (step q) keeps no column that identifies persons or entities");
    expect(e.message).toContain("keep the dataset's unit column");
    // Negative control: keep the (tokenized) unit column and it plans.
    const kept = `${sql('select id_number, sex, area_code from p')}  - { id: a, kind: aggregate, from: q, group_by: [sex], measures: [{ fn: count, as: n }] }\n`;
    await expect(planJob(spec(kept, 'a', 'table'), ctx(grants))).resolves.toBeDefined();
  });
});
