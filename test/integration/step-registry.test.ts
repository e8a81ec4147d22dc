import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configureLog } from '../../lib/log.js';
import { openDuck, queryJson, quoteIdent, quoteLiteral } from '../../lib/duck.js';
import { Engine } from '../../pipeline/engine.js';
import { submitRun } from '../../pipeline/run/submit.js';
import { planSpec } from '../../pipeline/run/submit.js';
import { COLUMN, STEP_ID } from '../../pipeline/spec/fields.js';
import { copyToParquet, openStepDuck, parquet } from '../../pipeline/steps/duck-step.js';
import type { StepDefinition } from '../../pipeline/steps/definition.js';
import { registerStepKind } from '../../pipeline/steps/index.js';
import { col } from '../../pipeline/steps/plan-helpers.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import type { User } from '../../domain/types.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

// ---------------------------------------------------------------- a test-only step kind, in this file alone

const upperSchema = z.strictObject({ id: STEP_ID, kind: z.literal('upper'), from: STEP_ID, columns: z.array(COLUMN).min(1) });
type UpperSpecStep = z.output<typeof upperSchema>;
interface UpperParams {
  columns: string[];
}

declare module '../../pipeline/steps/index.js' {
  interface ExtraStepKinds {
    upper: { spec: UpperSpecStep; params: UpperParams };
  }
}

/** `upper`: upper-cases some text columns; keeps every column's class and label (the values are as identifying as before). */
const upper: StepDefinition<UpperSpecStep, UpperParams> = {
  kind: 'upper',
  schema: upperSchema,
  needs: (s) => [s.from],
  plan(step, ctx) {
    step.columns.forEach((c, k) => ctx.needColumn(ctx.at('columns', k), c, step.from));
    return { columns: ctx.upstream.map((c) => col(c)), params: { columns: [...step.columns] } };
  },
  summarize: (p) => `upper-cases ${p.columns.join(', ')}`,
  async execute(ctx) {
    const duck = await openStepDuck(ctx);
    try {
      const replace = ctx.step.params.columns.map((c) => `upper(${quoteIdent(c)}) AS ${quoteIdent(c)}`).join(', ');
      const rows = await copyToParquet(duck, `SELECT * REPLACE (${replace}) FROM ${parquet(ctx.inputs[0]!.path)}`, ctx.outPath, ctx, `step ${ctx.step.id} (upper)`);
      return { rows, evidence: false };
    } finally {
      duck.close();
    }
  },
};

const spec = (withUpper: boolean) => `
version: 1
name: registry-${withUpper ? 'upper' : 'plain'}
agreement: AGR-R-1
inputs: { people: { dataset: population, columns: [id_number, sex, area_code] } }
steps:
  - { id: x, kind: extract, input: people }
${withUpper ? '  - { id: u, kind: upper, from: x, columns: [id_number] }\n' : ''}  - { id: a, kind: aggregate, from: ${withUpper ? 'u' : 'x'}, group_by: [area_code, sex], measures: [{ fn: count_units, as: persons }] }
outputs: [ { id: t, from: a, kind: table } ]
`;

describe('a step kind registered by a test runs through plan, queue and gate', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-registry-'));
  let engine: Engine;
  let workers: Workers;
  let op: User;

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-registry-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine);
    await registerPopulation(engine, root, 2000, 5);
    await engine.cp.createAgreement({
      id: 'AGR-R-1', scenario: 'registry', operator: 'ops', purpose: 'p', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'sex', treatment: 'none' }, { name: 'area_code', treatment: 'none' }] }],
    });
    op = (await engine.cp.createUser({ name: 'op', role: 'operator', organization: 'ops', personId: syntheticResidentId(1) })).user;
  });
  afterAll(async () => {
    await shutdown({ workers, engine, root });
  });

  async function released(runId: string): Promise<unknown[]> {
    const [rel] = await engine.cp.listReleases({ runId });
    const duck = await openDuck();
    try {
      return await queryJson(duck.conn, `SELECT * FROM read_parquet(${quoteLiteral(join(root, rel!.path))}) ORDER BY ALL`);
    } finally {
      duck.close();
    }
  }

  it('an unregistered kind is refused by the spec schema, naming the step (negative control)', async () => {
    await expect(planSpec(engine, spec(true), op)).rejects.toMatchObject({ code: 'SLUICE_ERR_SPEC_INVALID', message: expect.stringContaining('steps[1].kind') });
  });

  it('registered, it is planned, queued as its own job, gated and released', async () => {
    const unregister = registerStepKind(upper);
    try {
      const plan = await planSpec(engine, spec(true), op);
      const u = plan.steps.find((s) => s.id === 'u')!;
      expect(u).toMatchObject({ kind: 'upper', needs: ['x'], params: { columns: ['id_number'] } });
      expect(u.columns.map((c) => [c.name, c.label])).toEqual(plan.steps.find((s) => s.id === 'x')!.columns.map((c) => [c.name, c.label]));

      const { runId } = await submitRun(engine, spec(true), op);
      expect(await settleRun(engine, runId)).toBe('released');
      const run = (await engine.cp.getRun(runId))!;
      const state = run.steps.find((s) => s.stepId === 'u')!;
      expect(state).toMatchObject({ status: 'done', rows: 2000 });
      expect((await engine.cp.getLineage(state.artifactHash!))!.step).toBe('upper');
      const jobs = await engine.stepsQueue.getJobs(['completed']);
      expect(jobs.filter((j) => (j.data as { runId: string }).runId === runId).map((j) => j.name).sort()).toEqual(['aggregate', 'extract', 'gate', 'upper']);

      // Upper-casing the tokens changes no unit's identity: the same table as without the step.
      const plain = await submitRun(engine, spec(false), op);
      expect(await settleRun(engine, plain.runId)).toBe('released');
      expect(await released(runId)).toEqual(await released(plain.runId));
    } finally {
      unregister();
    }
    await expect(planSpec(engine, spec(true), op)).rejects.toMatchObject({ code: 'SLUICE_ERR_SPEC_INVALID' });
  });
});
