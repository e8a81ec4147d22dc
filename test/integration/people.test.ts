import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { personToken } from '../../domain/person.js';
import { Engine } from '../../pipeline/engine.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import { buildApp } from '../../service/app.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, settleRun, shutdown } from '../helpers/domain-harness.js';

const AGREEMENT = {
  id: 'AGR-PPL-1', scenario: 'people test', operator: 'ops-co', purpose: 'test', useClass: 'public-interest' as const, status: 'active' as const,
  validFrom: '2026-01-01', validTo: '2028-12-31',
  grants: [{ dataset: 'population', columns: [
    { name: 'id_number', treatment: 'tokenize' as const }, { name: 'sex', treatment: 'none' as const }, { name: 'area_name', treatment: 'none' as const }, { name: 'mobile', treatment: 'none' as const },
  ] }],
};
const EXTRACT = `
version: 1
name: people-extract
agreement: AGR-PPL-1
inputs: { people: { dataset: population, columns: [id_number, sex, area_name] } }
steps: [ { id: x, kind: extract, input: people } ]
outputs: [ { id: people_by_area, from: x, kind: extract, format: parquet } ]
`;
const LEAK = `
version: 1
name: people-leak
agreement: AGR-PPL-1
inputs: { people: { dataset: population, columns: [id_number, mobile, area_name] } }
steps: [ { id: x, kind: extract, input: people } ]
outputs: [ { id: contacts, from: x, kind: extract, format: csv } ]
`;

/** The people behind the accounts: the submitter, and two reviewers. */
const SUBMITTER = syntheticResidentId(11);
const REVIEWER_A = syntheticResidentId(12);
const REVIEWER_B = syntheticResidentId(13);
const ADMIN = syntheticResidentId(10);
/** Every ID number the test gives the domain; none may come back out. */
const ALL_IDS = [ADMIN, SUBMITTER, REVIEWER_A, REVIEWER_B];

describe('people, not accounts: the two-person rule compares persons', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-people-'));
  // The engine writes the domain log here (Engine.open configures it).
  const logFile = join(root, 'logs', 'sluice.log');
  let engine: Engine;
  let workers: Workers;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const responses: string[] = [];

  const call = async (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}), headers: { authorization: `Bearer ${tokens[who]}` } });
    responses.push(res.body);
    return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {} };
  };
  const reportOf = async (runId: string) => (await engine.cp.listReportsForRun(runId))[0]!;
  const statusOf = async (runId: string, status: string) => {
    for (let i = 0; i < 300 && (await engine.cp.getRun(runId))?.status !== status; i++) await new Promise((r) => setTimeout(r, 200));
    return (await engine.cp.getRun(runId))?.status;
  };

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-people-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine, { concurrency: 1 });
    app = await buildApp(engine);
    const admin = await engine.cp.createUser({ name: 'admin', role: 'admin', organization: 'authority', personId: ADMIN });
    tokens['admin'] = admin.token;
    // Through the API, as an admin would: the submitter has a second account (another name and organisation, reviewer role).
    const accounts = [
      ['operator', 'Wang Wei', 'operator', 'ops-co', SUBMITTER],
      ['operatorAsReviewer', 'W. Wang', 'reviewer', 'experts', SUBMITTER.toLowerCase()],
      ['revA', 'Li Na', 'reviewer', 'experts', REVIEWER_A],
      ['revA2', 'Li Na (panel)', 'reviewer', 'panel', REVIEWER_A],
      ['revB', 'Zhao Lei', 'reviewer', 'experts', REVIEWER_B],
    ] as const;
    for (const [key, name, role, organization, personId] of accounts) {
      const r = await call('admin', 'POST', '/v1/users', { name, role, organization, personId });
      expect(r.status).toBe(201);
      tokens[key] = r.body['token'];
      ids[key] = r.body['user'].id;
    }
    // The provider classed mobile `other` (the misclassified-provider case): the plan lets LEAK through, the audit blocks it.
    await registerPopulation(engine, root, 2000, 17, { mobile: 'other' });
    await engine.cp.createAgreement(AGREEMENT);
  });

  afterAll(async () => {
    await shutdown({ app, workers, engine, root });
  });

  it('creating a user needs a valid resident ID number; errors name the field, never the value', async () => {
    const valid = syntheticResidentId(20);
    const wrongCheck = valid.slice(0, 17) + (valid[17] === '0' ? '1' : '0');
    const bad = [wrongCheck, valid.slice(0, 17), `${valid.slice(0, 16)}AB`, '331002198013320011', undefined];
    for (const personId of bad) {
      const r = await call('admin', 'POST', '/v1/users', { name: 'x', role: 'reviewer', organization: 'experts', ...(personId === undefined ? {} : { personId }) });
      expect(r.status).toBe(400);
      expect(r.body['error'].code).toBe('SLUICE_ERR_INPUT_INVALID');
      expect(r.body['error'].message).toMatch(/^personId: /);
      if (personId) expect(JSON.stringify(r.body)).not.toContain(personId.slice(0, 17));
    }
    expect((await engine.cp.listUsers()).some((u) => u.name === 'x')).toBe(false);
    // The control-plane function itself refuses too.
    await expect(engine.cp.createUser({ name: 'y', role: 'operator', organization: 'ops-co', personId: wrongCheck })).rejects.toMatchObject({ code: 'SLUICE_ERR_INPUT_INVALID' });
  });

  it('binds accounts of one ID number to one person token, and different numbers to different ones', async () => {
    const persons = await engine.cp.personsOf(Object.values(ids));
    expect(persons.get(ids['operator']!)).toMatch(/^[0-9a-f]{64}$/);
    expect(persons.get(ids['operatorAsReviewer']!)).toBe(persons.get(ids['operator']!));
    expect(persons.get(ids['revA2']!)).toBe(persons.get(ids['revA']!));
    expect(persons.get(ids['revB']!)).not.toBe(persons.get(ids['revA']!));
    expect(persons.get(ids['revA']!)).not.toBe(persons.get(ids['operator']!));
    // Keyed: the token is not a plain hash anyone could compute from the number.
    const { createHash } = await import('node:crypto');
    expect(persons.get(ids['operator']!)).not.toBe(createHash('sha256').update(SUBMITTER).digest('hex'));
    const key = Buffer.from(readFileSync(join(root, 'keys', 'person.key'), 'utf8').trim(), 'base64');
    expect(personToken(key, SUBMITTER)).toBe(persons.get(ids['operator']!));
  });

  it("a second account of the submitter's person cannot approve the submitter's output; a different person can", async () => {
    const { body } = await call('operator', 'POST', '/v1/runs', { spec: EXTRACT });
    expect(await settleRun(engine, body['runId'])).toBe('awaiting-review');
    const hash = (await reportOf(body['runId'])).artifactHash;

    const self = await call('operatorAsReviewer', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', reason: 'looks fine' });
    expect(self.status).toBe(403);
    expect(self.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    expect(self.body['error'].message).toContain('another account of the person who submitted this run');
    expect(await engine.cp.listReviews(hash)).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(await engine.cp.listReleases({ runId: body['runId'] })).toHaveLength(0);
    expect((await engine.cp.getRun(body['runId']))?.status).toBe('awaiting-review');
    const refused = (await engine.cp.listAuditLog({})).filter((e) => e.action === 'review.refused' && e.actor === ids['operatorAsReviewer']);
    expect(refused.map((e) => [e.details['code'], e.details['rule']])).toEqual([['SLUICE_ERR_REVIEW_REFUSED', 'same-person']]);

    // Negative control: another person approves, and the output is released.
    const ok = await call('revA', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', reason: 'tokens only' });
    expect(ok.status).toBe(201);
    expect(ok.body['releaseQueued']).toBe(true);
    expect(await statusOf(body['runId'], 'released')).toBe('released');
  });

  it('two reviewer accounts of one person cannot satisfy a two-reviewer exception; a second person can', async () => {
    const { body } = await call('operator', 'POST', '/v1/runs', { spec: LEAK });
    expect(await settleRun(engine, body['runId'])).toBe('blocked');
    const hash = (await reportOf(body['runId'])).artifactHash;
    const first = await call('revA', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', exception: true, reason: 'hotline contract signed by everyone listed' });
    expect(first.status).toBe(201);
    expect(first.body['releaseQueued']).toBe(false);
    const same = await call('revA2', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', exception: true, reason: 'agree' });
    expect(same.status).toBe(403);
    expect(same.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    expect(same.body['error'].message).toContain('another account of a person who has already reviewed');
    const selfEx = await call('operatorAsReviewer', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', exception: true, reason: 'agree' });
    expect(selfEx.body['error'].code).toBe('SLUICE_ERR_REVIEW_REFUSED');
    await new Promise((r) => setTimeout(r, 500));
    expect((await engine.cp.getRun(body['runId']))?.status).toBe('blocked');
    expect(await engine.cp.listReleases({ runId: body['runId'] })).toHaveLength(0);

    const second = await call('revB', 'POST', '/v1/reviews', { artifactHash: hash, decision: 'approve', exception: true, reason: 'agree with the exception' });
    expect(second.status).toBe(201);
    expect(second.body['releaseQueued']).toBe(true);
    expect(await statusOf(body['runId'], 'released')).toBe('released');
  });

  it('no ID number appears in any table, log line or response', async () => {
    const tables = await engine.cp.db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
      [engine.cp.db.schema],
    );
    let rows = 0;
    let tokensSeen = 0;
    const persons = [...(await engine.cp.personsOf(Object.values(ids))).values()];
    for (const { table_name } of tables) {
      for (const r of await engine.cp.db.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM "${table_name}" t`)) {
        rows++;
        for (const id of ALL_IDS) expect(r.j.toUpperCase().includes(id)).toBe(false);
        if (persons.some((p) => r.j.includes(p))) tokensSeen++;
      }
    }
    expect(rows).toBeGreaterThan(0);
    // Positive control: the scan sees the users table, where the person tokens are.
    expect(tokensSeen).toBeGreaterThanOrEqual(Object.keys(ids).length);
    const logText = readFileSync(logFile, 'utf8');
    // Positive control: the log holds the refusals and the releases of this test.
    expect(logText).toContain('review.refused');
    expect(logText).toContain('release.created');
    expect(responses.length).toBeGreaterThan(10);
    for (const text of [logText, ...responses]) for (const id of ALL_IDS) expect(text.toUpperCase().includes(id)).toBe(false);
    // Nor do the person tokens leave through the API.
    for (const text of responses) for (const p of persons) expect(text.includes(p)).toBe(false);
  });
});
