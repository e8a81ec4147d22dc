import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { formatPlan } from '../../pipeline/plan/plan.js';
import { cancelRun, planSpec, submitRun } from '../../pipeline/run/submit.js';
import { parseBody } from '../parse-body.js';
import { loadRun, runView, type RouteOptions } from './context.js';
import { IdParams, parseParams, requireRole } from './schemas.js';
import { allow, ANY_ROLE, scope, visibleOrganization } from '../access.js';
import { doc, ok } from '../route-doc.js';

const TERMINAL_OR_WAITING = new Set(['released', 'blocked', 'failed', 'cancelled', 'awaiting-review']);

const SpecBody = z.strictObject({ spec: z.string().min(1).max(256 * 1024) });

/** Plans and runs: dry-run a spec, submit it, follow, cancel, list a run's reports. */
export async function runsRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.post('/v1/plan', allow(['operator', 'admin'], scope.spec, doc({ summary: 'dry-run a job spec: its plan, nothing runs', body: SpecBody, response: ok('{ plan, text }') })), async (req) => {
    const user = requireRole(req, 'operator', 'admin');
    const { spec } = parseBody(SpecBody, req.body);
    const plan = await planSpec(engine, spec, user);
    return { plan, text: formatPlan(plan) };
  });

  app.post('/v1/runs', allow(['operator'], scope.spec, doc({ summary: 'submit a job spec', body: SpecBody, response: ok('{ runId, steps, outputs }', 202) })), async (req, reply) => {
    const user = requireRole(req, 'operator');
    const { spec } = parseBody(SpecBody, req.body);
    const { runId, plan } = await submitRun(engine, spec, user);
    return reply.status(202).send({ runId, steps: plan.steps.map((s) => ({ id: s.id, kind: s.kind, fusedInto: s.fusedInto ?? null })), outputs: plan.outputs });
  });

  app.get('/v1/runs', allow(ANY_ROLE, scope.tenant, doc({ summary: 'recent runs the caller may see', response: ok('{ runs }') })), async (req) => {
    const organization = visibleOrganization(requireRole(req));
    const runs = await engine.cp.listRuns(organization !== undefined ? { organization, limit: 100 } : { limit: 100 });
    return { runs: runs.map((r) => ({ id: r.id, specName: r.specName, status: r.status, createdAt: r.createdAt })) };
  });

  app.get('/v1/runs/:id', allow(ANY_ROLE, scope.run(), doc({ summary: 'a run and its steps\' progress', params: IdParams, response: ok('the run') })), async (req) => {
    const { id } = parseParams(IdParams, req.params);
    return runView(await loadRun(engine, req, id));
  });

  app.post('/v1/runs/:id/cancel', allow(['operator', 'admin'], scope.run(), doc({ summary: 'cancel a run (its submitter or an admin)', params: IdParams, response: ok('{ cancelled }') })), async (req) => {
    const user = requireRole(req, 'operator', 'admin');
    const { id } = parseParams(IdParams, req.params);
    await loadRun(engine, req, id);
    return { cancelled: await cancelRun(engine, id, user) };
  });

  // Progress as server-sent events: one `run` event whenever the run or a step changes.
  app.get('/v1/runs/:id/events', allow(ANY_ROLE, scope.run(), doc({ summary: 'a run\'s progress as server-sent `run` events until it settles', params: IdParams, response: ok('`run` events, each the run as GET /v1/runs/{id} answers', 200, 'text/event-stream') })), async (req, reply) => {
    const { id } = parseParams(IdParams, req.params);
    await loadRun(engine, req, id);
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let last = '';
    let closed = false;
    req.raw.on('close', () => {
      closed = true;
    });
    while (!closed) {
      const run = await engine.cp.getRun(id);
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

  app.get('/v1/runs/:id/reports', allow(ANY_ROLE, scope.run(), doc({ summary: 'a run\'s audit reports', params: IdParams, response: ok('{ reports }') })), async (req) => {
    const { id } = parseParams(IdParams, req.params);
    const run = await loadRun(engine, req, id);
    const reports = await engine.cp.listReportsForRun(run.id);
    return { reports: reports.map((r) => ({ id: r.id, outputId: r.outputId, artifactHash: r.artifactHash, status: r.status, createdAt: r.createdAt })) };
  });
}
