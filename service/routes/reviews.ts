import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';
import { renderReportHtml } from '../../audit/report-html.js';
import { verifyReport } from '../../audit/sign.js';
import { resolveReportedHashPrefix } from '../../domain/hash-prefix.js';
import type { Engine } from '../../pipeline/engine.js';
import { submitReview } from '../../pipeline/gate/review.js';
import { parseBody } from '../parse-body.js';
import { loadRun, type RouteOptions } from './context.js';
import { HashPrefix, IdParams, MIN_HASH_PREFIX, parseParams, requireRole, Sha256 } from './schemas.js';
import { allow, ANY_ROLE, scope, visibleOrganization } from '../access.js';
import { doc, ok } from '../route-doc.js';

const ReviewBody = z.strictObject({
  artifactHash: Sha256,
  decision: z.enum(['approve', 'reject']),
  reason: z.string().min(3).max(2000),
  exception: z.boolean().optional(),
});
const ReviewsQuery = z.object({ artifact: Sha256 });
const ResolveQuery = z.object({ prefix: HashPrefix });

async function loadReport(engine: Engine, req: FastifyRequest, id: string) {
  const r = await engine.cp.getReport(id);
  if (!r || !r.runId) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `report ${id} does not exist`);
  await loadRun(engine, req, r.runId);
  return r;
}

/** Audit reports and reviews: read a report (JSON or the reviewer's page), list what waits, decide. */
export async function reviewsRoutes(app: FastifyInstance, { engine, key }: RouteOptions): Promise<void> {
  app.get('/v1/reports/:id', allow(ANY_ROLE, scope.report(), doc({ summary: 'a signed audit report and whether its signature verifies', params: IdParams, response: ok('{ id, report, signature, verified }') })), async (req) => {
    const { id } = parseParams(IdParams, req.params);
    const r = await loadReport(engine, req, id);
    return { id: r.id, report: r.report, signature: r.signature, verified: verifyReport(r.report as never, r.signature, key.publicKey) };
  });

  app.get('/v1/reports/:id/html', allow(ANY_ROLE, scope.report(), doc({ summary: 'an audit report as the reviewer\'s HTML page', params: IdParams, response: ok('the report page', 200, 'text/html') })), async (req, reply) => {
    const { id } = parseParams(IdParams, req.params);
    const r = await loadReport(engine, req, id);
    await engine.cp.log({ actor: req.user!.id, action: 'report.view', subject: r.id, details: {} });
    return reply.type('text/html; charset=utf-8').send(renderReportHtml(r.report as never));
  });

  app.get('/v1/reviews/pending', allow(['reviewer', 'admin', 'auditor'], scope.none, doc({ summary: 'outputs awaiting review, with their audit status', response: ok('{ pending }') })), async (req) => {
    requireRole(req, 'reviewer', 'admin', 'auditor');
    const runs = await engine.cp.listRuns({ limit: 200 });
    const pending = [];
    for (const run of runs.filter((r) => r.status === 'awaiting-review' || r.status === 'blocked')) {
      for (const rep of await engine.cp.listReportsForRun(run.id)) pending.push({ runId: run.id, reportId: rep.id, outputId: rep.outputId, artifactHash: rep.artifactHash, status: rep.status });
    }
    return { pending };
  });

  // A short hash as git accepts one: unique among reported artifacts the caller may see, or refused
  // with the number of matches (never the matching hashes, which would enumerate others' artifacts).
  app.get('/v1/reviews/resolve', allow(ANY_ROLE, scope.tenant, doc({ summary: 'the full hash of an audited artifact from a unique prefix', query: ResolveQuery, response: ok('{ artifactHash }') })), async (req) => {
    const user = requireRole(req);
    const { prefix } = parseParams(ResolveQuery, req.query, 'query');
    const m = await resolveReportedHashPrefix(engine.cp.db, prefix, visibleOrganization(user));
    if (m.hash) return { artifactHash: m.hash };
    if (m.matches === 0) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `no audited artifact hash starts with ${prefix}; \`sluice review pending\` lists those awaiting review`);
    throw new SluiceError(
      'SLUICE_ERR_INPUT_INVALID',
      `prefix: ${prefix} is ambiguous, ${m.matches >= 1000 ? 'at least 1000' : m.matches} audited artifacts match; give more characters (at least ${MIN_HASH_PREFIX}, up to all 64)`,
      { details: { prefix, matches: m.matches } },
    );
  });

  app.post('/v1/reviews', allow(['operator', 'reviewer', 'admin'], scope.artifact(scope.key('body', 'artifactHash')), doc({ summary: 'approve or reject an audited output, with a reason (an exception needs two reviewers)', body: ReviewBody, response: ok('{ reviewId, releaseQueued }', 201) })), async (req, reply) => {
    const user = requireRole(req);
    const body = parseBody(ReviewBody, req.body);
    const res = await submitReview(engine, user, {
      artifactHash: body.artifactHash, decision: body.decision, reason: body.reason, ...(body.exception !== undefined ? { exception: body.exception } : {}),
    });
    return reply.status(201).send(res);
  });

  app.get('/v1/reviews', allow(ANY_ROLE, scope.artifact(scope.key('query', 'artifact')), doc({ summary: 'the reviews of one artifact', query: ReviewsQuery, response: ok('{ reviews }') })), async (req) => {
    requireRole(req);
    const { artifact } = parseParams(ReviewsQuery, req.query ?? {}, 'query');
    return { reviews: await engine.cp.listReviews(artifact) };
  });
}
