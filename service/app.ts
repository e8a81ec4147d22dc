import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isSluiceError, SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import { COLUMN_CLASSES } from '../lib/vocabulary.js';
import { renderReportHtml } from '../audit/report-html.js';
import { loadOrCreateDomainKey, verifyReport } from '../audit/sign.js';
import { resolveThresholds } from '../audit/thresholds.js';
import type { Role, User } from '../domain/types.js';
import type { Engine } from '../pipeline/engine.js';
import { formatPlan, type Plan } from '../pipeline/plan/plan.js';
import { registerDataset } from '../pipeline/store/register.js';
import { submitReview } from '../pipeline/gate/review.js';
import { cancelRun, planSpec, submitRun } from '../pipeline/run/submit.js';
import { parseBody } from './parse-body.js';
import { extOf } from '../pipeline/store/store.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: User | null;
  }
}

/** Options for {@link buildApp}. */
export interface AppOptions {
  /** Fastify's logger; default off (Sluice logs through lib/log.ts, which never logs bodies). */
  logger?: boolean;
}

const TERMINAL_OR_WAITING = new Set(['released', 'blocked', 'failed', 'cancelled', 'awaiting-review']);

function requireRole(req: FastifyRequest, ...roles: Role[]): User {
  if (!req.user) throw new SluiceError('SLUICE_ERR_AUTH_MISSING', 'authorization: expected a bearer token');
  if (roles.length && !roles.includes(req.user.role)) {
    throw new SluiceError('SLUICE_ERR_AUTH_FORBIDDEN', `this needs the role ${roles.join(' or ')}; you are ${req.user.role}`);
  }
  return req.user;
}

const PredictBody = z.strictObject({
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()])), { error: 'a list of rows (objects of feature values)' }).min(1).max(1000),
});
const SpecBody = z.strictObject({ spec: z.string().min(1).max(256 * 1024) });
const ReviewBody = z.strictObject({
  artifactHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'),
  decision: z.enum(['approve', 'reject']),
  reason: z.string().min(3).max(2000),
  exception: z.boolean().optional(),
});
const UserBody = z.strictObject({ name: z.string().min(1).max(100), role: z.enum(['operator', 'reviewer', 'admin']), organization: z.string().min(1).max(200) });
const DatasetBody = z.strictObject({
  name: z.string(),
  file: z.string().min(1),
  provider: z.string().min(1),
  origin: z.enum(['public', 'social']),
  classes: z.record(z.string(), z.enum(COLUMN_CLASSES)),
  unitColumn: z.string().nullable(),
});
const ColumnGrantBody = z.strictObject({ name: z.string(), treatment: z.enum(['drop', 'mask', 'tokenize', 'generalize', 'none']), level: z.string().optional() });
const AgreementBody = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9-]{3,64}$/),
  scenario: z.string().min(1),
  operator: z.string().min(1),
  purpose: z.string().min(1),
  useClass: z.enum(['public-interest', 'industry']),
  grants: z.array(z.strictObject({ dataset: z.string(), columns: z.array(ColumnGrantBody).min(1) })).min(1),
  validFrom: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  validTo: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  auditThresholds: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The Sluice HTTP API. Every route but /health needs a bearer token; roles are
 * operator (submit, watch, fetch own releases), reviewer (read reports,
 * approve/reject) and admin (people, datasets, agreements, audit log).
 * Responses carry ids, hashes, counts and reports — never a row of data, except
 * the download of a released artifact.
 */
export async function buildApp(engine: Engine, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 1024 * 1024 });
  const key = loadOrCreateDomainKey(engine.dataRoot.keys);

  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req) => {
    const h = req.headers.authorization;
    if (h?.startsWith('Bearer ')) req.user = await engine.cp.authenticate(h.slice(7).trim());
  });
  app.setErrorHandler((err, req, reply) => {
    if (isSluiceError(err)) {
      const e = err as SluiceError;
      return reply.status(e.status).send({ error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } });
    }
    const fe = err as { statusCode?: number; code?: string; validation?: unknown };
    if (fe.statusCode && fe.statusCode < 500) {
      // Fastify's own client errors (bad JSON, body too large) name no data.
      return reply.status(fe.statusCode).send({ error: { code: 'SLUICE_ERR_INPUT_INVALID', message: `request: ${fe.code ?? 'invalid request'}` } });
    }
    log.error('http.error', { route: req.routeOptions.url ?? 'unknown', name: (err as Error).name });
    return reply.status(500).send({ error: { code: 'SLUICE_ERR_INTERNAL', message: 'internal error; details are in the domain log' } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'SLUICE_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  app.get('/health', async () => ({ ok: true, controlPlane: engine.cp.db.kind }));
  app.get('/v1/whoami', async (req) => requireRole(req));

  // People, datasets, agreements (admin).
  app.post('/v1/users', async (req, reply) => {
    const admin = requireRole(req, 'admin');
    const body = parseBody(UserBody, req.body);
    const { user, token } = await engine.cp.createUser(body, admin.id);
    return reply.status(201).send({ user, token });
  });
  app.get('/v1/datasets', async (req) => {
    requireRole(req);
    return { datasets: await engine.cp.listDatasets() };
  });
  app.post('/v1/datasets', async (req, reply) => {
    const admin = requireRole(req, 'admin');
    const body = parseBody(DatasetBody, req.body);
    return reply.status(201).send({ dataset: await registerDataset(engine, body, admin.id) });
  });
  app.get('/v1/agreements', async (req) => {
    requireRole(req);
    return { agreements: await engine.cp.listAgreements() };
  });
  app.post('/v1/agreements', async (req, reply) => {
    const admin = requireRole(req, 'admin');
    const body = parseBody(AgreementBody, req.body);
    resolveThresholds(body.auditThresholds);
    const { auditThresholds, ...rest } = body;
    const agreement = { ...rest, ...(auditThresholds ? { auditThresholds } : {}), status: 'active' as const, grants: body.grants.map((g) => ({ dataset: g.dataset, columns: g.columns.map((c) => ({ name: c.name, treatment: c.treatment, ...(c.level ? { level: c.level } : {}) })) })) };
    await engine.cp.createAgreement(agreement, admin.id);
    return reply.status(201).send({ agreement });
  });

  // Plans and runs.
  app.post('/v1/plan', async (req) => {
    const user = requireRole(req, 'operator', 'admin');
    const { spec } = parseBody(SpecBody, req.body);
    const plan = await planSpec(engine, spec, user);
    return { plan, text: formatPlan(plan) };
  });
  app.post('/v1/runs', async (req, reply) => {
    const user = requireRole(req, 'operator');
    const { spec } = parseBody(SpecBody, req.body);
    const { runId, plan } = await submitRun(engine, spec, user);
    return reply.status(202).send({ runId, steps: plan.steps.map((s) => ({ id: s.id, kind: s.kind, fusedInto: s.fusedInto ?? null })), outputs: plan.outputs });
  });
  const loadRun = async (req: FastifyRequest, id: string) => {
    const user = requireRole(req);
    const run = await engine.cp.getRun(id);
    if (!run || (user.role === 'operator' && run.submittedBy !== user.id)) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `run ${id} does not exist`);
    return run;
  };
  const runView = (run: Awaited<ReturnType<typeof engine.cp.getRun>> & object) => ({
    id: run.id, specName: run.specName, agreementId: run.agreementId, status: run.status, submittedBy: run.submittedBy,
    errorCode: run.errorCode ?? null, errorMessage: run.errorMessage ?? null, createdAt: run.createdAt, finishedAt: run.finishedAt ?? null,
    steps: run.steps.map((s) => {
      // A step fused into another runs in that step's job and writes no artifact of its own.
      const fusedInto = (run.plan as Plan).steps?.find((p) => p.id === s.stepId)?.fusedInto ?? null;
      return { id: s.stepId, kind: s.kind, status: s.status, progress: s.progress, rows: s.rows ?? null, artifactHash: s.artifactHash ?? null, fusedInto, errorCode: s.errorCode ?? null, errorMessage: s.errorMessage ?? null };
    }),
  });
  app.get('/v1/runs', async (req) => {
    const user = requireRole(req);
    const runs = await engine.cp.listRuns(user.role === 'operator' ? { submittedBy: user.id, limit: 100 } : { limit: 100 });
    return { runs: runs.map((r) => ({ id: r.id, specName: r.specName, status: r.status, createdAt: r.createdAt })) };
  });
  app.get<{ Params: { id: string } }>('/v1/runs/:id', async (req) => runView(await loadRun(req, req.params.id)));
  app.post<{ Params: { id: string } }>('/v1/runs/:id/cancel', async (req) => {
    const user = requireRole(req, 'operator', 'admin');
    await loadRun(req, req.params.id);
    return { cancelled: await cancelRun(engine, req.params.id, user) };
  });
  // Progress as server-sent events: one `run` event whenever the run or a step changes.
  app.get<{ Params: { id: string } }>('/v1/runs/:id/events', async (req, reply: FastifyReply) => {
    await loadRun(req, req.params.id);
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let last = '';
    let closed = false;
    req.raw.on('close', () => {
      closed = true;
    });
    while (!closed) {
      const run = await engine.cp.getRun(req.params.id);
      if (!run) break;
      const view = JSON.stringify(runView(run));
      if (view !== last) {
        reply.raw.write(`event: run\ndata: ${view}\n\n`);
        last = view;
      }
      if (TERMINAL_OR_WAITING.has(run.status)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    reply.raw.end();
    return reply;
  });
  app.get<{ Params: { id: string } }>('/v1/runs/:id/reports', async (req) => {
    const run = await loadRun(req, req.params.id);
    const reports = await engine.cp.listReportsForRun(run.id);
    return { reports: reports.map((r) => ({ id: r.id, outputId: r.outputId, artifactHash: r.artifactHash, status: r.status, createdAt: r.createdAt })) };
  });

  // Reports and reviews.
  const loadReport = async (req: FastifyRequest, id: string) => {
    const r = await engine.cp.getReport(id);
    if (!r || !r.runId) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `report ${id} does not exist`);
    await loadRun(req, r.runId);
    return r;
  };
  app.get<{ Params: { id: string } }>('/v1/reports/:id', async (req) => {
    const r = await loadReport(req, req.params.id);
    return { id: r.id, report: r.report, signature: r.signature, verified: verifyReport(r.report as never, r.signature, key.publicKey) };
  });
  app.get<{ Params: { id: string } }>('/v1/reports/:id/html', async (req, reply) => {
    const r = await loadReport(req, req.params.id);
    await engine.cp.log({ actor: req.user!.id, action: 'report.view', subject: r.id, details: {} });
    return reply.type('text/html; charset=utf-8').send(renderReportHtml(r.report as never));
  });
  app.get('/v1/reviews/pending', async (req) => {
    requireRole(req, 'reviewer', 'admin');
    const runs = await engine.cp.listRuns({ limit: 200 });
    const pending = [];
    for (const run of runs.filter((r) => r.status === 'awaiting-review' || r.status === 'blocked')) {
      for (const rep of await engine.cp.listReportsForRun(run.id)) pending.push({ runId: run.id, reportId: rep.id, outputId: rep.outputId, artifactHash: rep.artifactHash, status: rep.status });
    }
    return { pending };
  });
  app.post('/v1/reviews', async (req, reply) => {
    const user = requireRole(req);
    const body = parseBody(ReviewBody, req.body);
    const res = await submitReview(engine, user, {
      artifactHash: body.artifactHash, decision: body.decision, reason: body.reason, ...(body.exception !== undefined ? { exception: body.exception } : {}),
    });
    return reply.status(201).send(res);
  });
  app.get<{ Querystring: { artifact?: string } }>('/v1/reviews', async (req) => {
    requireRole(req, 'reviewer', 'admin', 'operator');
    const hash = req.query.artifact ?? '';
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'artifact: expected 64 lowercase hex characters');
    return { reviews: await engine.cp.listReviews(hash) };
  });

  // Artifacts (metadata only) and releases.
  app.get<{ Params: { hash: string } }>('/v1/artifacts/:hash', async (req) => {
    requireRole(req);
    if (!/^[0-9a-f]{64}$/.test(req.params.hash)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'hash: expected 64 lowercase hex characters');
    const a = await engine.cp.getArtifact(req.params.hash);
    if (!a) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `artifact ${req.params.hash.slice(0, 12)} does not exist`);
    return { artifact: { hash: a.hash, zone: a.zone, kind: a.kind, rows: a.rows, columns: a.columns, runId: a.runId ?? null, createdAt: a.createdAt }, lineage: await engine.cp.getLineage(a.hash) };
  });
  app.get<{ Querystring: { run?: string } }>('/v1/releases', async (req) => {
    const user = requireRole(req);
    let releases = await engine.cp.listReleases(req.query.run ? { runId: req.query.run } : {});
    if (user.role === 'operator') {
      const mine = new Set((await engine.cp.listRuns({ submittedBy: user.id, limit: 1000 })).map((r) => r.id));
      releases = releases.filter((r) => mine.has(r.runId));
    }
    return { releases };
  });
  app.get<{ Params: { id: string } }>('/v1/releases/:id/download', async (req, reply) => {
    const user = requireRole(req);
    const rel = await engine.cp.getRelease(req.params.id);
    if (!rel) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `release ${req.params.id} does not exist`);
    if (user.role === 'operator') await loadRun(req, rel.runId);
    // Only release/ is ever served: the path is rebuilt from the hash, never taken from input.
    const ext = extOf(rel.path);
    const file = engine.store.pathOf('release', rel.artifactHash, ext);
    if (!existsSync(file)) throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', `release ${rel.id}: its file is missing`);
    await engine.cp.log({ actor: user.id, action: 'release.download', subject: rel.artifactHash, details: { releaseId: rel.id } });
    return reply
      .header('content-type', ext === 'csv' ? 'text/csv; charset=utf-8' : ext === 'json' ? 'application/json' : 'application/vnd.apache.parquet')
      .header('content-disposition', `attachment; filename="${rel.outputId}.${ext}"`)
      .header('x-sluice-artifact-hash', rel.artifactHash)
      .send(createReadStream(file));
  });

  // Released models are served; nothing else is.
  app.post<{ Params: { hash: string } }>('/v1/models/:hash/predict', async (req) => {
    const user = requireRole(req);
    const hash = req.params.hash;
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'hash: expected 64 lowercase hex characters');
    const body = parseBody(PredictBody, req.body);
    const release = (await engine.cp.listReleases()).find((r) => r.artifactHash === hash && extOf(r.path) === 'json');
    if (!release) {
      await engine.cp.log({ actor: user.id, action: 'model.serve.refused', subject: hash, details: { rows: body.rows.length } });
      throw new SluiceError('SLUICE_ERR_RELEASE_REFUSED', `model ${hash.slice(0, 12)} has not been released; only a model a reviewer approved is served`);
    }
    const { infer, verifyArtifact } = await import('../models/artifact.js');
    const { readFileSync } = await import('node:fs');
    const artifact = JSON.parse(readFileSync(engine.store.pathOf('release', hash, 'json'), 'utf8')) as Parameters<typeof infer>[0];
    if (!verifyArtifact(artifact)) throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', `model ${hash.slice(0, 12)} no longer matches its hash`);
    const predictions = infer(artifact, body.rows);
    await engine.cp.log({ actor: user.id, action: 'model.predict', subject: hash, details: { rows: body.rows.length, releaseId: release.id } });
    return { model: hash, classes: artifact.featureSchema.target.classes, predictions };
  });

  // The audit log (admin).
  app.get('/v1/audit-log/verify', async (req) => {
    requireRole(req, 'admin');
    return engine.cp.verifyAuditLog();
  });

  return app;
}

/** Where the reviewer's page of a report is, for printing. */
export function reportUrl(base: string, reportId: string): string {
  return join(base, 'v1/reports', reportId, 'html').replace(':/', '://');
}
