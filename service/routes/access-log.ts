import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { allow, scope } from '../access.js';
import { doc, ok } from '../route-doc.js';
import type { RouteOptions } from './context.js';
import { Id, parseParams } from './schemas.js';

const AccessLogQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional(),
  user: Id.optional(),
  code: z.string().regex(/^SLUICE_ERR_[A-Z_]+$/, 'expected an error code, e.g. SLUICE_ERR_NOT_FOUND').optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** The access log (every refused request), for the authority: admin and auditor. */
export async function accessLogRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.get('/v1/access-log', allow(['admin', 'auditor'], scope.none, doc({ summary: 'the access log: every refused request (who, route, status, reason code)', query: AccessLogQuery, response: ok('{ entries }') })), async (req) => {
    const q = parseParams(AccessLogQuery, req.query ?? {}, 'query');
    const entries = await engine.cp.listAccessLog({
      ...(q.after !== undefined ? { afterId: q.after } : {}), ...(q.user !== undefined ? { userId: q.user } : {}),
      ...(q.code !== undefined ? { code: q.code } : {}), ...(q.limit !== undefined ? { limit: q.limit } : {}),
    });
    return { entries };
  });
}
