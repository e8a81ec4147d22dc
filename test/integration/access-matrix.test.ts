import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../service/cli/main.js';
import type { FastifyPluginAsync } from 'fastify';
import type { Role } from '../../domain/types.js';
import { registerDataset } from '../../pipeline/store/register.js';
import { buildApp } from '../../service/app.js';
import { allow, scope } from '../../service/access.js';
import { doc, ok } from '../../service/route-doc.js';
import { AGREEMENT_A, AGREEMENT_B, CALLERS, MODEL_ROW, SQL_TEXT, extractSpec, openAccessWorld, type AccessWorld, type Caller, type WorldResources } from '../helpers/access-world.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

/** Planted in every request body: no log line may hold it. */
const CANARY = 'CANARY-7f3e9b1d-in-a-request-body';

const ALL: readonly Role[] = ['operator', 'reviewer', 'admin', 'auditor'];
const ROLE_OF: Record<Exclude<Caller, 'anonymous' | 'forged'>, Role> = {
  operator: 'operator', colleague: 'operator', other: 'operator', reviewer: 'reviewer', admin: 'admin', auditor: 'auditor',
};

/**
 * What each route must answer, written independently of the routes' own
 * declarations: the roles it admits, what another company's operator gets
 * (`scoped`: 404; `spec`: the planner's 403 SLUICE_ERR_SPEC_SCOPE; `list`: its
 * own part of a listing; `none`: as any admitted caller), the URL naming
 * operator A's resource, a body, and the answer of an admitted caller.
 */
interface Case {
  roles: readonly Role[] | 'public';
  tenant: 'scoped' | 'spec' | 'list' | 'none';
  url: (r: WorldResources) => string;
  body?: (w: AccessWorld, n: number) => unknown;
  ok?: number;
  okFor?: Partial<Record<Caller, number | string>>;
}

let serial = 0;
const ADMIN_AGREEMENT = 'AGR-MATRIX-ADMIN';
const CASES: Record<string, Case> = {
  'GET /health': { roles: 'public', tenant: 'none', url: () => '/health' },
  'GET /openapi.json': { roles: 'public', tenant: 'none', url: () => '/openapi.json' },
  'GET /docs': { roles: 'public', tenant: 'none', url: () => '/docs' },
  'GET /v1/whoami': { roles: ALL, tenant: 'none', url: () => '/v1/whoami' },
  'POST /v1/users': { roles: ['admin'], tenant: 'none', url: () => '/v1/users', ok: 201, body: () => ({ name: `user ${CANARY}`, role: 'operator', organization: `org ${CANARY}`, personId: syntheticResidentId(999) }) },
  'GET /v1/users': { roles: ['admin', 'auditor'], tenant: 'none', url: () => '/v1/users' },
  'GET /v1/datasets': { roles: ALL, tenant: 'list', url: () => '/v1/datasets' },
  'POST /v1/datasets': {
    roles: ['admin'], tenant: 'none', url: () => '/v1/datasets', ok: 201,
    body: (w, n) => ({
      name: `extra_${n}`, file: w.population.file, provider: `provider ${CANARY}`, origin: 'public', unitColumn: w.population.unitColumn,
      classes: Object.fromEntries(w.population.columns.map((c) => [c.name, c.class])),
    }),
  },
  'GET /v1/agreements': { roles: ALL, tenant: 'list', url: () => '/v1/agreements' },
  'GET /v1/agreements/:id': { roles: ALL, tenant: 'scoped', url: () => `/v1/agreements/${AGREEMENT_A}` },
  'POST /v1/agreements': {
    roles: ['admin'], tenant: 'none', url: () => '/v1/agreements', ok: 201,
    body: (_w, n) => ({
      id: `AGR-X-${n}`, scenario: `scenario ${CANARY}`, operator: 'x-co', purpose: CANARY, useClass: 'industry', validFrom: '2026-01-01', validTo: '2027-12-31',
      grants: [{ dataset: 'population', columns: [{ name: 'sex', treatment: 'none' }] }],
    }),
  },
  // An agreement of its own (made in beforeAll), so that suspending and terminating it stops nobody else's cases; called in this order.
  'POST /v1/agreements/:id/suspend': { roles: ['admin'], tenant: 'none', url: () => `/v1/agreements/${ADMIN_AGREEMENT}/suspend`, body: () => ({ reason: `reason ${CANARY}` }) },
  'POST /v1/agreements/:id/resume': { roles: ['admin'], tenant: 'none', url: () => `/v1/agreements/${ADMIN_AGREEMENT}/resume`, body: () => ({ reason: `reason ${CANARY}` }) },
  'POST /v1/agreements/:id/terminate': { roles: ['admin'], tenant: 'none', url: () => `/v1/agreements/${ADMIN_AGREEMENT}/terminate`, body: () => ({ reason: `reason ${CANARY}` }) },
  'GET /v1/audit-log/verify': { roles: ['admin', 'auditor'], tenant: 'none', url: () => '/v1/audit-log/verify' },
  'POST /v1/plan': { roles: ['operator', 'admin'], tenant: 'spec', url: () => '/v1/plan', body: () => ({ spec: `${extractSpec('matrix-plan')}# ${CANARY}\n` }) },
  'POST /v1/runs': { roles: ['operator'], tenant: 'spec', url: () => '/v1/runs', ok: 202, body: (_w, n) => ({ spec: `${extractSpec(`matrix-run-${n}`)}# ${CANARY}\n` }) },
  'GET /v1/runs': { roles: ALL, tenant: 'list', url: () => '/v1/runs' },
  'GET /v1/runs/:id': { roles: ALL, tenant: 'scoped', url: (r) => `/v1/runs/${r.runId}` },
  // The run lifecycle's own rule: only the submitting account (or an admin) cancels; a colleague sees the run but is refused there.
  'POST /v1/runs/:id/cancel': {
    roles: ['operator', 'admin'], tenant: 'scoped', url: (r) => `/v1/runs/${r.runId}/cancel`, body: () => ({ note: CANARY }), okFor: { colleague: 'SLUICE_ERR_AUTH_FORBIDDEN' },
  },
  'GET /v1/runs/:id/events': { roles: ALL, tenant: 'scoped', url: (r) => `/v1/runs/${r.runId}/events` },
  'GET /v1/runs/:id/reports': { roles: ALL, tenant: 'scoped', url: (r) => `/v1/runs/${r.runId}/reports` },
  'GET /v1/reports/:id': { roles: ALL, tenant: 'scoped', url: (r) => `/v1/reports/${r.reportId}` },
  'GET /v1/reports/:id/html': { roles: ALL, tenant: 'scoped', url: (r) => `/v1/reports/${r.reportId}/html` },
  'GET /v1/reviews/pending': { roles: ['reviewer', 'admin', 'auditor'], tenant: 'none', url: () => '/v1/reviews/pending' },
  // Resolving among what the caller may see: another company finds nothing (the handler's 404).
  'GET /v1/reviews/resolve': { roles: ALL, tenant: 'scoped', url: (r) => `/v1/reviews/resolve?prefix=${r.artifactHash.slice(0, 10)}` },
  'POST /v1/reviews': {
    roles: ['operator', 'reviewer', 'admin'], tenant: 'scoped', url: () => '/v1/reviews', ok: 201,
    // The gate's own rule: only a reviewer reviews (operators and admins reach the gate and are refused there).
    okFor: { operator: 'SLUICE_ERR_REVIEW_REFUSED', colleague: 'SLUICE_ERR_REVIEW_REFUSED', admin: 'SLUICE_ERR_REVIEW_REFUSED' },
    body: (w) => ({ artifactHash: w.r.artifactHash, decision: 'approve', reason: `reason ${CANARY}` }),
  },
  'GET /v1/reviews': { roles: ALL, tenant: 'scoped', url: (r) => `/v1/reviews?artifact=${r.artifactHash}` },
  'GET /v1/artifacts/:hash': { roles: ALL, tenant: 'scoped', url: (r) => `/v1/artifacts/${r.artifactHash}` },
  'GET /v1/releases': { roles: ALL, tenant: 'list', url: () => '/v1/releases' },
  'GET /v1/releases/:id/download': { roles: ['operator', 'reviewer', 'admin'], tenant: 'scoped', url: (r) => `/v1/releases/${r.releaseId}/download` },
  'GET /v1/access-log': { roles: ['admin', 'auditor'], tenant: 'none', url: () => '/v1/access-log' },
  'POST /v1/models/:hash/predict': {
    roles: ['operator', 'reviewer', 'admin'], tenant: 'scoped', url: (r) => `/v1/models/${r.modelHash}/predict`, body: () => ({ rows: [{ ...MODEL_ROW, note: CANARY }] }),
  },
};

/** The status or error code a caller must get from a route. */
function expected(c: Case, who: Caller): number | string {
  if (c.roles === 'public') return c.ok ?? 200;
  if (who === 'anonymous' || who === 'forged') return 401;
  if (!c.roles.includes(ROLE_OF[who])) return 403;
  if (who === 'other' && c.tenant === 'scoped') return 404;
  if (who === 'other' && c.tenant === 'spec') return 'SLUICE_ERR_SPEC_SCOPE';
  return c.okFor?.[who] ?? c.ok ?? 200;
}

// One world for the file: building it trains and releases a model.
let w: AccessWorld;
beforeAll(async () => {
  // The matrix refuses a few hundred requests from one address: the rate limit has its own test.
  w = await openAccessWorld({ accessFailureLimit: 100_000 });
  await w.engine.cp.createAgreement({
    id: ADMIN_AGREEMENT, scenario: 'admin actions', operator: 'x-co', purpose: 'p', useClass: 'industry', status: 'active', validFrom: '2026-01-01', validTo: '2027-12-31',
    grants: [{ dataset: 'population', columns: [{ name: 'sex', treatment: 'none' }] }],
  });
}, 600_000);
afterAll(async () => {
  await w?.close();
});

describe('the route × role × tenant matrix, from the live route table', () => {
  const outcomes: { route: string; who: Caller; status: number; code: string | null }[] = [];

  it('has an expectation for every route the app registered, and the table holds every route', () => {
    const live = w.app.accessRoutes.map((r) => `${r.method} ${r.url}`).sort();
    expect(live.length).toBeGreaterThan(20);
    // A route added without a row here fails the suite.
    expect(live).toEqual(Object.keys(CASES).sort());
  });

  it('answers every route as every role, as another tenant and without a valid token as expected; logs each refusal once', async () => {
    const wrong: string[] = [];
    const unlogged: string[] = [];
    let lastId = (await w.engine.cp.listAccessLog({ limit: 1000 })).at(-1)?.id ?? 0;
    for (const route of w.app.accessRoutes) {
      const key = `${route.method} ${route.url}`;
      const c = CASES[key]!;
      for (const who of CALLERS) {
        const res = await w.call(who, route.method, c.url(w.r), c.body?.(w, ++serial));
        const code = (res.body['error']?.code as string | undefined) ?? null;
        outcomes.push({ route: route.url, who, status: res.status, code });
        const want = expected(c, who);
        const got = typeof want === 'number' ? res.status : code;
        if (got !== want) wrong.push(`${key} as ${who}: expected ${want}, got ${res.status} ${code ?? ''}`);
        const logged = await w.engine.cp.listAccessLog({ afterId: lastId });
        lastId = logged.at(-1)?.id ?? lastId;
        const refused = res.status >= 400;
        const ok = refused
          ? logged.length === 1 && logged[0]!.route === route.url && logged[0]!.code === code && logged[0]!.status === res.status
            && logged[0]!.userId === (w.ids[who] ?? null) && logged[0]!.reason.length > 0 && logged[0]!.method === route.method
          : logged.length === 0;
        if (!ok) unlogged.push(`${key} as ${who} (${res.status} ${code ?? ''}): ${JSON.stringify(logged)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(unlogged).toEqual([]);
    // Both kinds of answer occur: the matrix is not all refusals or all grants.
    expect(outcomes.filter((o) => o.status < 300).length).toBeGreaterThan(50);
    expect(outcomes.filter((o) => o.status === 404).length).toBeGreaterThan(10);
  }, 300_000);

  it('records the security-relevant refusals in the audit log too, and no value of a request body anywhere', async () => {
    const entries = await w.engine.cp.listAccessLog({ limit: 1000 });
    const audited = new Set((await w.engine.cp.listAuditLog({ action: 'access.refused', limit: 10_000 })).map((e) => e.details['accessLogId']));
    const security = entries.filter((e) => ['SLUICE_ERR_AUTH_MISSING', 'SLUICE_ERR_NOT_FOUND', 'SLUICE_ERR_SPEC_SCOPE'].includes(e.code));
    expect(security.length).toBeGreaterThan(50);
    expect(security.filter((e) => !audited.has(e.id))).toEqual([]);
    // A wrong role is an authorisation refusal: the access log only.
    const roles = entries.filter((e) => e.code === 'SLUICE_ERR_AUTH_FORBIDDEN');
    expect(roles.length).toBeGreaterThan(20);
    expect(roles.some((e) => audited.has(e.id))).toBe(false);
    const reasons = new Set(entries.map((e) => e.reason));
    for (const r of ['token-missing', 'token-invalid', 'role', 'scope-other-tenant', 'spec-scope', 'review-refused']) expect(reasons, r).toContain(r);
    // The canary did reach the domain (the admin's new user carries it): the search can find it.
    const users = JSON.stringify(await w.engine.cp.db.query('SELECT * FROM users'));
    expect(users).toContain(CANARY);
    const accessRows = JSON.stringify(await w.engine.cp.db.query('SELECT * FROM access_log'));
    const auditRows = JSON.stringify(await w.engine.cp.db.query(`SELECT * FROM audit_log WHERE action = 'access.refused'`));
    expect(accessRows.length).toBeGreaterThan(1000);
    expect(accessRows).not.toContain(CANARY.slice(0, 16));
    expect(auditRows).not.toContain(CANARY.slice(0, 16));
    // Routes are patterns, never raw URLs.
    expect(accessRows).not.toContain(`/v1/runs/${w.r.runId}`);
  });

  it('lists to another company only its own part', async () => {
    const forOther = async (url: string) => (await w.call('other', 'GET', url)).text;
    for (const url of ['/v1/runs', '/v1/releases', '/v1/agreements']) {
      const text = await forOther(url);
      for (const id of [w.r.runId, w.r.releaseId, w.r.artifactHash, AGREEMENT_A]) expect(text, url).not.toContain(id);
    }
    // Negative control: a colleague of the same company (another account) sees them.
    expect((await w.call('colleague', 'GET', '/v1/runs')).text).toContain(w.r.runId);
    expect((await w.call('colleague', 'GET', '/v1/releases')).text).toContain(w.r.releaseId);
  });
});

describe('refusals of the SQL guard, and reading the access log', () => {
  const guarded = (name: string) => `${extractSpec(name).replace(SQL_TEXT, `SELECT * FROM read_csv('/etc/passwd') -- ${CANARY}`)}`;

  it('records SLUICE_ERR_SQL_FORBIDDEN from plan and submit in the access log and the audit log, without the query', async () => {
    for (const url of ['/v1/plan', '/v1/runs']) {
      const before = (await w.engine.cp.listAccessLog({ limit: 1000 })).at(-1)?.id ?? 0;
      const res = await w.call('operator', 'POST', url, { spec: guarded(`guard-${++serial}`) });
      expect(res.body['error'].code).toBe('SLUICE_ERR_SQL_FORBIDDEN');
      const [entry, ...more] = await w.engine.cp.listAccessLog({ afterId: before });
      expect(more).toEqual([]);
      expect(entry).toMatchObject({ route: url, method: 'POST', code: 'SLUICE_ERR_SQL_FORBIDDEN', reason: 'sql-guard', status: 400, userId: w.ids.operator });
      const audit = (await w.engine.cp.listAuditLog({ action: 'access.refused', limit: 10_000 })).filter((e) => e.details['accessLogId'] === entry!.id);
      expect(audit).toHaveLength(1);
      expect(JSON.stringify([entry, audit])).not.toContain('read_csv');
    }
    // Negative control: a spec the guard accepts leaves no entry.
    const before = (await w.engine.cp.listAccessLog({ limit: 1000 })).at(-1)?.id ?? 0;
    expect((await w.call('operator', 'POST', '/v1/plan', { spec: extractSpec('guard-ok') })).status).toBe(200);
    expect(await w.engine.cp.listAccessLog({ afterId: before })).toEqual([]);
  });

  it('lets the authority read the access log, filtered, and nobody else', async () => {
    const r = await w.call('auditor', 'GET', '/v1/access-log?code=SLUICE_ERR_SQL_FORBIDDEN');
    expect(r.status).toBe(200);
    expect(r.body['entries'].length).toBeGreaterThanOrEqual(2);
    expect(r.body['entries'].every((e: { code: string }) => e.code === 'SLUICE_ERR_SQL_FORBIDDEN')).toBe(true);
    expect((await w.call('operator', 'GET', '/v1/access-log')).status).toBe(403);
    const bad = await w.call('admin', 'GET', '/v1/access-log?code=nope');
    expect(bad.status).toBe(400);
    expect(bad.body['error'].message).toContain('code');
  });
});

describe('`sluice access-log`', () => {
  it('prints the refusals for an auditor, and refuses an operator', async () => {
    await w.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(w.app.server.address() as AddressInfo).port}`;
    const dataRoot = mkdtempSync(join(tmpdir(), 'sluice-access-cli-'));
    const saved = { url: process.env['SLUICE_URL'], token: process.env['SLUICE_TOKEN'], root: process.env['SLUICE_DATA_ROOT'] };
    const sluice = async (who: Caller, argv: string[]) => {
      Object.assign(process.env, { SLUICE_URL: url, SLUICE_TOKEN: w.tokens[who], SLUICE_DATA_ROOT: dataRoot });
      let out = '';
      let err = '';
      const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
      return { code, out, err };
    };
    try {
      const r = await sluice('auditor', ['access-log', '--code', 'SLUICE_ERR_SQL_FORBIDDEN', '--json']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const entries = (JSON.parse(r.out) as { entries: { code: string; reason: string }[] }).entries;
      expect(entries.length).toBeGreaterThanOrEqual(2);
      expect(entries.every((e) => e.code === 'SLUICE_ERR_SQL_FORBIDDEN' && e.reason === 'sql-guard')).toBe(true);
      const text = await sluice('admin', ['access-log', '--limit', '5']);
      expect(text.code).toBe(0);
      expect(text.out.trim().split('\n')).toHaveLength(5);
      const op = await sluice('operator', ['access-log']);
      expect(op.code).toBe(1);
      expect(op.err).toContain('SLUICE_ERR_AUTH_FORBIDDEN');
    } finally {
      for (const [k, v] of [['SLUICE_URL', saved.url], ['SLUICE_TOKEN', saved.token], ['SLUICE_DATA_ROOT', saved.root]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(dataRoot, { recursive: true, force: true });
    }
  });
});

describe('rate limiting on repeated refusals, per token and per address', () => {
  const at = async (app: Awaited<ReturnType<typeof buildApp>>, remoteAddress: string, token: string | null, url = '/v1/runs') =>
    app.inject({ method: 'GET', url, remoteAddress, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const good = async () => (await w.engine.cp.createUser({ name: `rl-${++serial}`, role: 'auditor', organization: 'authority', personId: syntheticResidentId(500 + serial) })).token;

  it('answers 429 after the limit from one address, and logs it; another address is unaffected', async () => {
    const app = await buildApp(w.engine, { accessFailureLimit: 3, accessFailureWindowMs: 60_000 });
    try {
      const token = await good();
      for (let i = 0; i < 3; i++) expect((await at(app, '10.0.0.1', null)).statusCode).toBe(401);
      const limited = await at(app, '10.0.0.1', token);
      expect(limited.statusCode).toBe(429);
      expect(JSON.parse(limited.body).error.code).toBe('SLUICE_ERR_RATE_LIMITED');
      const entry = (await w.engine.cp.listAccessLog({ code: 'SLUICE_ERR_RATE_LIMITED', limit: 1000 })).at(-1)!;
      expect(entry).toMatchObject({ clientAddress: '10.0.0.1', status: 429, reason: 'rate-limited', route: '/v1/runs' });
      // Negative controls: the same token from another address, and requests that succeed, are not limited.
      for (let i = 0; i < 6; i++) expect((await at(app, '10.0.0.2', token)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('answers 429 to a token refused too often, whatever address it comes from', async () => {
    const app = await buildApp(w.engine, { accessFailureLimit: 3, accessFailureWindowMs: 60_000 });
    try {
      const forged = `slc_${'B'.repeat(43)}`;
      for (let i = 1; i <= 3; i++) expect((await at(app, `10.0.1.${i}`, forged)).statusCode).toBe(401);
      expect((await at(app, '10.0.1.4', forged)).statusCode).toBe(429);
      // Negative control: a valid token from a fresh address.
      expect((await at(app, '10.0.1.5', await good())).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('forgets refusals once the window has passed', async () => {
    const app = await buildApp(w.engine, { accessFailureLimit: 2, accessFailureWindowMs: 4000 });
    try {
      for (let i = 0; i < 2; i++) expect((await at(app, '10.0.2.1', null)).statusCode).toBe(401);
      expect((await at(app, '10.0.2.1', null)).statusCode).toBe(429);
      await new Promise((r) => setTimeout(r, 4500));
      expect((await at(app, '10.0.2.1', null)).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe('the leaks of issue 12 are closed', () => {
  it('another company gets 404 for A\'s staged artifact, its work artifact with the SQL text, its reviews and its model; A\'s colleague gets them', async () => {
    const work = await w.call('operator', 'GET', `/v1/artifacts/${w.r.workHash}`);
    expect(work.status).toBe(200);
    // Positive control: the lineage the owner sees holds the SQL text.
    expect(work.text).toContain(SQL_TEXT);
    const reviewer = await w.call('reviewer', 'GET', `/v1/artifacts/${w.r.workHash}`);
    expect(reviewer.status).toBe(200);
    for (const url of [`/v1/artifacts/${w.r.artifactHash}`, `/v1/artifacts/${w.r.workHash}`, `/v1/reviews?artifact=${w.r.artifactHash}`]) {
      const theirs = await w.call('other', 'GET', url);
      expect(theirs.status, url).toBe(404);
      expect(theirs.body['error'].code).toBe('SLUICE_ERR_NOT_FOUND');
      expect(theirs.text).not.toContain(SQL_TEXT);
      expect((await w.call('colleague', 'GET', url)).status, url).toBe(200);
    }
    const reviews = await w.call('colleague', 'GET', `/v1/reviews?artifact=${w.r.artifactHash}`);
    expect(reviews.body['reviews'].length).toBeGreaterThan(0);
    const predict = await w.call('other', 'POST', `/v1/models/${w.r.modelHash}/predict`, { rows: [MODEL_ROW] });
    expect(predict.status).toBe(404);
    expect(predict.body['predictions']).toBeUndefined();
    const own = await w.call('colleague', 'POST', `/v1/models/${w.r.modelHash}/predict`, { rows: [MODEL_ROW] });
    expect(own.status).toBe(200);
    expect(own.body['predictions']).toHaveLength(1);
  });

  it('answers "does not exist" in the same words for another tenant\'s resource and for one that does not exist', async () => {
    const theirs = await w.call('other', 'GET', `/v1/artifacts/${w.r.artifactHash}`);
    const none = await w.call('other', 'GET', `/v1/artifacts/${'e'.repeat(64)}`);
    expect(theirs.body['error'].message.replace(w.r.artifactHash.slice(0, 12), 'H')).toBe(none.body['error'].message.replace('e'.repeat(12), 'H'));
  });

  it('shows a raw dataset\'s artifact to the authority only', async () => {
    for (const who of ['operator', 'reviewer'] as const) expect((await w.call(who, 'GET', `/v1/artifacts/${w.r.rawHash}`)).status).toBe(404);
    expect((await w.call('admin', 'GET', `/v1/artifacts/${w.r.rawHash}`)).status).toBe(200);
    expect((await w.call('auditor', 'GET', `/v1/artifacts/${w.r.rawHash}`)).status).toBe(200);
  });

  it('shows operators only their agreements and the datasets those grant, without storage paths', async () => {
    await registerDataset(w.engine, {
      name: 'ungranted', file: w.population.file, provider: 'p', origin: 'public', unitColumn: w.population.unitColumn,
      classes: Object.fromEntries(w.population.columns.map((c) => [c.name, c.class])),
    }, 'test');
    const ag = await w.call('other', 'GET', '/v1/agreements');
    expect(ag.body['agreements'].map((a: { id: string }) => a.id)).toEqual([AGREEMENT_B]);
    expect((await w.call('other', 'GET', `/v1/agreements/${AGREEMENT_A}`)).status).toBe(404);
    expect((await w.call('other', 'GET', `/v1/agreements/${AGREEMENT_B}`)).status).toBe(200);
    const all = await w.engine.cp.listDatasets();
    const raw = [...new Set(all.map((d) => d.path))];
    expect(raw.length).toBeGreaterThan(0);
    for (const who of ['operator', 'other'] as const) {
      const ds = await w.call(who, 'GET', '/v1/datasets');
      expect(ds.body['datasets'].map((d: { name: string }) => d.name)).toEqual(['population']);
      for (const p of raw) expect(ds.text).not.toContain(p);
      expect(ds.text).not.toContain(w.r.rawHash);
      // Only the granted columns (mobile is in the dataset, granted by neither agreement).
      const cols = ds.body['datasets'][0].columns.map((c: { name: string }) => c.name);
      expect(cols).toContain('sex');
      expect(cols).not.toContain('mobile');
    }
    for (const who of ['reviewer', 'auditor'] as const) {
      const ds = await w.call(who, 'GET', '/v1/datasets');
      expect(ds.body['datasets']).toHaveLength(all.length);
      for (const p of raw) expect(ds.text).not.toContain(p);
    }
    // Negative control: the admin who registers them sees where they are.
    const admin = await w.call('admin', 'GET', '/v1/datasets');
    for (const p of raw) expect(admin.text).toContain(p);
  });

  it('fails the app build when a route is registered without an access declaration', async () => {
    const bare: FastifyPluginAsync = async (app) => {
      app.get('/v1/extra', async () => ({ extra: true }));
    };
    await expect(buildApp(w.engine, { plugins: [bare] })).rejects.toThrow(/GET \/v1\/extra declares no access/);
    // Negative control: the same route with a declaration builds, and the layer enforces it.
    const declared: FastifyPluginAsync = async (app) => {
      app.get('/v1/extra', allow(['auditor'], scope.none, doc({ summary: 'extra', response: ok('extra') })), async () => ({ extra: true }));
    };
    const app = await buildApp(w.engine, { plugins: [declared] });
    try {
      expect(app.accessRoutes.some((r) => r.url === '/v1/extra')).toBe(true);
      expect((await app.inject({ method: 'GET', url: '/v1/extra' })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});
