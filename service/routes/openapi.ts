import type { FastifyInstance } from 'fastify';
import { allowPublic } from '../access.js';
import { openApiDocument, renderDocsHtml } from '../openapi.js';
import { doc, ok } from '../route-doc.js';
import { version } from '../version.js';
import type { RouteOptions } from './context.js';

/**
 * The service's own description, public: `/openapi.json` (OpenAPI 3.1,
 * generated from the live route table at each request, so routes of plugins
 * registered later are in it) and `/docs`, a self-contained page listing its
 * operations.
 */
export async function openapiRoutes(app: FastifyInstance, _options: RouteOptions): Promise<void> {
  const document = () => openApiDocument(app.accessRoutes, version());
  app.get('/openapi.json', allowPublic(doc({ summary: 'this document: the OpenAPI 3.1 description of every route', response: ok('the OpenAPI document') })), async () => document());
  app.get('/docs', allowPublic(doc({ summary: 'a page listing every operation of /openapi.json', response: ok('the docs page', 200, 'text/html') })), async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(renderDocsHtml(document())));
}
