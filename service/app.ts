import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { isSluiceError, SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import { loadOrCreateDomainKey } from '../audit/sign.js';
import type { User } from '../domain/types.js';
import type { Engine } from '../pipeline/engine.js';
import type { RouteOptions } from './routes/context.js';
import { adminRoutes } from './routes/admin.js';
import { modelsRoutes } from './routes/models.js';
import { releasesRoutes } from './routes/releases.js';
import { reviewsRoutes } from './routes/reviews.js';
import { runsRoutes } from './routes/runs.js';
import { requireRole } from './routes/schemas.js';
import { allow, allowPublic, ANY_ROLE, installAccessLayer, scope, type AccessRoute } from './access.js';
import { FailureLimiter } from './rate-limit.js';
import { recordRefusal } from './refusals.js';
import { accessLogRoutes } from './routes/access-log.js';
import { openapiRoutes } from './routes/openapi.js';
import { loadConfig } from '../lib/config.js';
import { refuseUnsafeKeys } from './parse-body.js';
import { doc, ok } from './route-doc.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller (set by the access layer), or null. */
    user: User | null;
  }
  interface FastifyInstance {
    /** The live route table with each route's access declaration (service/access.ts). */
    accessRoutes: readonly AccessRoute[];
  }
}

/** Options for {@link buildApp}. */
export interface AppOptions {
  /** Fastify's logger; default off (Sluice logs through lib/log.ts, which never logs bodies). */
  logger?: boolean;
  /** Route plugins registered after the built-in ones (extensions, tests); their routes need access declarations too. */
  plugins?: FastifyPluginAsync<RouteOptions>[];
  /** Refusals per token and per address in a window before 429; default: the configuration's `accessFailureLimit`. */
  accessFailureLimit?: number;
  /** That window, in ms; default: the configuration's `accessFailureWindowMs`. */
  accessFailureWindowMs?: number;
}

/**
 * The Sluice HTTP API. Every route but /health needs a bearer token; roles are
 * operator (submit, watch, fetch own releases), reviewer (read reports,
 * approve/reject) and admin (people, datasets, agreements, audit log).
 * Responses carry ids, hashes, counts and reports — never a row of data, except
 * the download of a released artifact. One plugin per resource in routes/.
 */
export async function buildApp(engine: Engine, options: AppOptions = {}): Promise<FastifyInstance> {
  // JSON bodies keep `__proto__` / `constructor` as own keys (plain JSON.parse), so the
  // preValidation hook below refuses them naming their path, before any route sees the body.
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 1024 * 1024, onProtoPoisoning: 'ignore', onConstructorPoisoning: 'ignore' });
  const key = loadOrCreateDomainKey(engine.dataRoot.keys);

  const config = loadConfig();
  const limiter = new FailureLimiter(options.accessFailureLimit ?? config.accessFailureLimit, options.accessFailureWindowMs ?? config.accessFailureWindowMs);
  app.decorate('accessRoutes', installAccessLayer(app, engine, limiter));
  app.addHook('preValidation', async (req) => {
    try {
      refuseUnsafeKeys(req.body);
    } catch (e) {
      log.warn('http.refused', { route: req.routeOptions.url ?? 'unknown', code: (e as SluiceError).code, reason: 'unsafe-key' });
      throw e;
    }
  });
  app.setErrorHandler(async (err, req, reply) => {
    if (isSluiceError(err)) {
      const e = err as SluiceError;
      await recordRefusal(engine, limiter, req, e.code, e.status);
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
  app.setNotFoundHandler(async (req, reply) => {
    await recordRefusal(engine, limiter, req, 'SLUICE_ERR_NOT_FOUND', 404);
    return reply.status(404).send({ error: { code: 'SLUICE_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  // Kinds only (no URLs, no credentials): /health answers without a token.
  app.get('/health', allowPublic(doc({ summary: 'liveness: the kinds of control plane and queue (no URLs, no credentials)', response: ok('ok, and the backends\' kinds') })), async () => ({ ok: true, controlPlane: engine.cp.db.kind, queue: engine.redis.private ? 'a private redis-server under the data root' : 'Redis (REDIS_URL, or 127.0.0.1:6379)' }));
  app.get('/v1/whoami', allow(ANY_ROLE, scope.none, doc({ summary: 'the caller: id, name, role, organisation', response: ok('the signed-in user') })), async (req) => requireRole(req));

  const routeOptions: RouteOptions = { engine, key };
  await app.register(adminRoutes, routeOptions);
  await app.register(runsRoutes, routeOptions);
  await app.register(reviewsRoutes, routeOptions);
  await app.register(releasesRoutes, routeOptions);
  await app.register(modelsRoutes, routeOptions);
  await app.register(accessLogRoutes, routeOptions);
  await app.register(openapiRoutes, routeOptions);
  for (const plugin of options.plugins ?? []) await app.register(plugin, routeOptions);
  return app;
}
