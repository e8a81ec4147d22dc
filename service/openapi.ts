import type { AccessRoute, Scope } from './access.js';
import { jsonSchemaOf, urlParams } from './route-doc.js';

/**
 * The OpenAPI 3.1 document of the service, generated from the live route
 * table (every route's access declaration and schemas, service/access.ts and
 * service/route-doc.ts): paths with `{param}` templates, parameters and
 * request bodies from the zod schemas the handlers validate with, the success
 * answer, the error shape every refusal has, and bearer security with the
 * route's roles (`x-sluice-roles`) and scope (`x-sluice-scope`).
 */

type Json = Record<string, unknown>;

/** `/v1/runs/:id` as an OpenAPI path template: `/v1/runs/{id}`. */
export function pathTemplate(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const ERROR_SCHEMA: Json = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', pattern: '^SLUICE_ERR_[A-Z_]+$', description: 'the error code (lib/errors.ts)' },
        message: { type: 'string', description: 'names fields, paths, ids, counts and codes; never a value from data or a request body' },
        details: { type: 'object', description: 'structured details, e.g. `issues` of a validation failure' },
      },
    },
  },
};

const ERRORS: Record<string, string> = {
  '400': 'invalid input (SLUICE_ERR_INPUT_INVALID naming the field) or a refusal of the domain',
  '401': 'no valid bearer token (SLUICE_ERR_AUTH_MISSING)',
  '403': 'the caller\'s role may not call this (SLUICE_ERR_AUTH_FORBIDDEN)',
  '404': 'no such resource, or one the caller may not know (SLUICE_ERR_NOT_FOUND, worded the same)',
  '429': 'too many refused requests from this token or address',
  '500': 'internal error; details are in the domain log',
};

const errorRef = (status: string): Json => ({ $ref: `#/components/responses/E${status}` });

function scopeText(s: Scope): string {
  return 'key' in s ? `${s.kind} named by ${s.key.from}.${s.key.field}` : s.kind;
}

function parameters(route: AccessRoute): Json[] {
  const out: Json[] = [];
  const params = route.doc.params ? (jsonSchemaOf(route.doc.params).properties as Record<string, Json>) : {};
  for (const name of urlParams(route.url)) out.push({ name, in: 'path', required: true, schema: params[name] ?? { type: 'string' } });
  if (route.doc.query) {
    const q = jsonSchemaOf(route.doc.query);
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties as Record<string, Json> | undefined) ?? {})) {
      out.push({ name, in: 'query', required: required.has(name), schema });
    }
  }
  return out;
}

/** The OpenAPI operation of one route. */
function operation(route: AccessRoute): Json {
  const { doc, access } = route;
  const isPublic = access.scope.kind === 'public';
  const params = parameters(route);
  const hasInput = params.length > 0 || doc.body !== undefined;
  const errors = isPublic ? ['429', '500'] : [...(hasInput || 'key' in access.scope || access.scope.kind === 'spec' ? ['400'] : []), '401', '403', '404', '429', '500'];
  const type = doc.response.type ?? 'application/json';
  return {
    operationId: `${route.method.toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: doc.summary,
    description: isPublic ? 'Public: no token needed.' : `Roles: ${access.roles.join(', ')}. Scope: ${scopeText(access.scope)}.`,
    tags: [route.url.split('/').filter((s) => s && s !== 'v1' && !s.startsWith(':'))[0] ?? 'service'],
    security: isPublic ? [] : [{ bearer: [] }],
    'x-sluice-roles': [...access.roles],
    'x-sluice-scope': scopeText(access.scope),
    ...(params.length ? { parameters: params } : {}),
    ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(doc.body) } } } } : {}),
    responses: {
      [String(doc.response.status)]: { description: doc.response.description, content: { [type]: { schema: type === 'application/json' ? { type: 'object' } : { type: 'string' } } } },
      ...Object.fromEntries(errors.map((s) => [s, errorRef(s)])),
    },
  };
}

/** The document, from the routes of the live table (`app.accessRoutes`). */
export function openApiDocument(routes: readonly AccessRoute[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
    (paths[pathTemplate(route.url)] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice',
      version,
      description: 'The processing service of a public-data authorised operation domain. Every route but the public ones needs `Authorization: Bearer <token>`; every refusal answers `{ error: { code, message } }`.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a Sluice user token (`sluice user add` shows it once)' } },
      schemas: { Error: ERROR_SCHEMA },
      responses: Object.fromEntries(Object.entries(ERRORS).map(([s, description]) => [`E${s}`, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }])),
    },
  };
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The docs page: every operation of `document`, self-contained (no script, no external asset). */
export function renderDocsHtml(document: Json): string {
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = ((op.parameters as Json[] | undefined) ?? []).map((p) => `${escapeHtml(String(p.name))} <small>(${escapeHtml(String(p.in))}${p.required ? ', required' : ''})</small>`);
      const body = (op.requestBody as { content: Record<string, { schema: Json }> } | undefined)?.content['application/json']?.schema;
      const fields = body?.properties ? Object.keys(body.properties as Json).map((k) => escapeHtml(k)) : [];
      const ok = Object.entries(op.responses as Record<string, Json>).find(([s]) => s.startsWith('2'));
      const roles = (op['x-sluice-roles'] as string[]).length ? (op['x-sluice-roles'] as string[]).join(', ') : 'public';
      rows.push(`<tr id="${escapeHtml(String(op.operationId))}"><td class="m ${method}">${method.toUpperCase()}</td><td><code>${escapeHtml(path)}</code><div>${escapeHtml(String(op.summary))}</div></td>`
        + `<td>${escapeHtml(roles)}<div><small>${escapeHtml(String(op['x-sluice-scope']))}</small></div></td><td>${params.join('<br>') || '-'}</td><td>${fields.join(', ') || '-'}</td>`
        + `<td>${ok ? `${ok[0]} ${escapeHtml(String(ok[1].description))}` : '-'}</td></tr>`);
    }
  }
  const info = document.info as { title: string; version: string; description: string };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)} API</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;max-width:1200px}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
.m{font-weight:bold;font-family:monospace}.get{color:#06c}.post{color:#080}code{font-size:13px}small{color:#666}</style></head><body>
<h1>${escapeHtml(info.title)} API <small>${escapeHtml(info.version)}</small></h1><p>${escapeHtml(info.description)} The machine-readable document is <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(String(document.openapi))}).</p>
<table><thead><tr><th>Method</th><th>Path</th><th>Roles / scope</th><th>Parameters</th><th>Body fields</th><th>Answer</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>`;
}
