import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import { buildApp, type AppOptions } from '../../service/app.js';
import type { GeneratedDataset } from '../../synthetic/generate.js';
import { TEST_REDIS_URL } from './raw-scan.js';
import { registerPopulation, settleRun, shutdown } from './domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

/**
 * Who calls, in the access tests: the owning operator and a colleague of the
 * same company (a second account), an operator of another company, a
 * reviewer, the admin and the auditor; `anonymous` sends no token and
 * `forged` a token nobody holds.
 */
export const CALLERS = ['operator', 'colleague', 'other', 'reviewer', 'admin', 'auditor', 'anonymous', 'forged'] as const;
export type Caller = (typeof CALLERS)[number];

/** The operator organisations and agreements of the world. */
export const ORG_A = 'ops-a';
export const ORG_B = 'ops-b';
export const AGREEMENT_A = 'AGR-ACC-A';
export const AGREEMENT_B = 'AGR-ACC-B';

const COLUMNS = ['id_number', 'birth_date', 'sex', 'education', 'area_name', 'income_band'];

function agreement(id: string, operator: string) {
  return {
    id, scenario: `access test ${operator}`, operator, purpose: 'access test', useClass: 'industry' as const, status: 'active' as const,
    validFrom: '2026-01-01', validTo: '2028-12-31',
    grants: [{ dataset: 'population', columns: [{ name: 'id_number', treatment: 'tokenize' as const }, ...COLUMNS.slice(1).map((name) => ({ name, treatment: 'none' as const }))] }],
  };
}

/** A row-level extract through an operator SQL step: its work artifact's lineage holds the SQL text. */
export const SQL_TEXT = 'SELECT id_number, sex, area_name FROM x WHERE sex IS NOT NULL';
export const extractSpec = (name: string, agreementId = AGREEMENT_A) => `
version: 1
name: ${name}
agreement: ${agreementId}
inputs: { people: { dataset: population, columns: [id_number, sex, area_name] } }
steps:
  - { id: x, kind: extract, input: people }
  - { id: q, kind: sql, from: [x], query: "${SQL_TEXT}" }
  - { id: o, kind: sql, from: [q], query: "SELECT area_name, sex, id_number FROM q" }
outputs: [ { id: people_by_area, from: o, kind: extract, format: parquet } ]
`;

const modelSpec = `
version: 1
name: income-model
agreement: ${AGREEMENT_A}
inputs: { people: { dataset: population, columns: [id_number, birth_date, sex, education, area_name, income_band] } }
steps:
  - { id: x, kind: extract, input: people }
  - { id: s, kind: sample, from: x, fraction: 0.8, seed: 3 }
  - id: d
    kind: desensitize
    from: s
    columns: { birth_date: { treatment: generalize, level: band10 }, id_number: { treatment: drop } }
  - id: m
    kind: train
    from: d
    target: income_band
    features: { categorical: [birth_date, sex, education, area_name] }
    model: { kind: logistic, hyperparameters: { C: 0.1 } }
    test_fraction: 0.3
    seed: 7
outputs: [ { id: model, from: m, kind: model } ]
`;

/** A feature row the model accepts. */
export const MODEL_ROW = { birth_date: '40-49', sex: '男', education: '大学本科', area_name: '临海市' };

/** One response, its JSON body parsed when it has one. */
export interface CallResult {
  status: number;
  body: Record<string, any>;
  text: string;
}

/** Operator A's resources, released through the gate, for every route to name. */
export interface WorldResources {
  runId: string;
  reportId: string;
  /** The staged (and released) extract. */
  artifactHash: string;
  /** The first SQL step's work artifact (its lineage holds {@link SQL_TEXT}). */
  workHash: string;
  releaseId: string;
  modelHash: string;
  /** The raw population dataset's artifact (no run made it). */
  rawHash: string;
}

/** A whole domain with two tenants, and operator A's released extract and model. */
export interface AccessWorld {
  engine: Engine;
  app: FastifyInstance;
  population: GeneratedDataset;
  ids: Partial<Record<Caller, string>>;
  tokens: Partial<Record<Caller, string>>;
  r: WorldResources;
  call(who: Caller, method: string, url: string, payload?: unknown): Promise<CallResult>;
  close(): Promise<void>;
}

/** Builds the world: users, agreements, population, and A's extract and model through review and release. */
export async function openAccessWorld(app: AppOptions = {}): Promise<AccessWorld> {
  configureLog({ level: 'silent' });
  const root = mkdtempSync(join(tmpdir(), 'sluice-access-'));
  const engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-access-${process.pid}`, redisUrl: TEST_REDIS_URL });
  const workers: Workers = startWorkers(engine, { concurrency: 1 });
  const fastify = await buildApp(engine, app);
  const tokens: Partial<Record<Caller, string>> = { forged: `slc_${'A'.repeat(43)}` };
  const ids: Partial<Record<Caller, string>> = {};
  const people: [Caller | 'approver', string, string][] = [
    ['operator', 'operator', ORG_A], ['colleague', 'operator', ORG_A], ['other', 'operator', ORG_B],
    ['reviewer', 'reviewer', 'experts'], ['approver', 'reviewer', 'experts'], ['admin', 'admin', 'authority'], ['auditor', 'auditor', 'authority'],
  ];
  const tokenOf: Record<string, string> = {};
  for (const [n, [who, role, organization]] of people.entries()) {
    const { user, token } = await engine.cp.createUser({ name: who, role: role as never, organization, personId: syntheticResidentId(100 + n) });
    tokenOf[who] = token;
    if (who !== 'approver') {
      tokens[who] = token;
      ids[who] = user.id;
    }
  }
  const call = async (who: Caller | 'approver', method: string, url: string, payload?: unknown): Promise<CallResult> => {
    const token = who === 'approver' ? tokenOf['approver'] : tokens[who];
    const res = await fastify.inject({
      method: method as 'GET', url, ...(payload !== undefined ? { payload: payload as object } : {}), headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const json = String(res.headers['content-type'] ?? '').startsWith('application/json');
    return { status: res.statusCode, body: json && res.body ? (JSON.parse(res.body) as Record<string, any>) : {}, text: res.body };
  };

  const population = await registerPopulation(engine, root, 4000, 9);
  await engine.cp.createAgreement(agreement(AGREEMENT_A, ORG_A));
  await engine.cp.createAgreement(agreement(AGREEMENT_B, ORG_B));

  const release = async (spec: string) => {
    const sub = await call('operator', 'POST', '/v1/runs', { spec });
    if (sub.status !== 202) throw new Error(`submit: ${sub.status} ${sub.text}`);
    const runId = sub.body['runId'] as string;
    if ((await settleRun(engine, runId)) !== 'awaiting-review') throw new Error(`run ${runId} did not reach review`);
    const rep = (await engine.cp.listReportsForRun(runId))[0]!;
    const ok = await call('approver', 'POST', '/v1/reviews', { artifactHash: rep.artifactHash, decision: 'approve', reason: 'fine for the access test' });
    if (ok.status !== 201) throw new Error(`approve: ${ok.status} ${ok.text}`);
    for (let i = 0; (await engine.cp.getRun(runId))?.status !== 'released'; i++) {
      if (i > 600) throw new Error(`run ${runId} was not released`);
      await new Promise((res) => setTimeout(res, 200));
    }
    return { runId, rep };
  };
  const extract = await release(extractSpec('area-tokens'));
  const model = await release(modelSpec);
  const run = (await engine.cp.getRun(extract.runId))!;
  const rel = (await engine.cp.listReleases({ runId: extract.runId }))[0]!;
  const r: WorldResources = {
    runId: extract.runId,
    reportId: extract.rep.id,
    artifactHash: extract.rep.artifactHash,
    workHash: run.steps.find((s) => s.stepId === 'q')!.artifactHash!,
    releaseId: rel.id,
    modelHash: model.rep.artifactHash,
    rawHash: (await engine.cp.getDataset('population'))!.artifactHash,
  };
  return { engine, app: fastify, population, ids, tokens, r, call, close: () => shutdown({ app: fastify, workers, engine, root }) };
}
