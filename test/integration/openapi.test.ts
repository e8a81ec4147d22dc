import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { buildApp } from '../../service/app.js';
import { allow, scope } from '../../service/access.js';
import { pathTemplate } from '../../service/openapi.js';
import { doc, ok } from '../../service/route-doc.js';
import { IdParams } from '../../service/routes/schemas.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { shutdown } from '../helpers/domain-harness.js';
import { validateOpenApi } from '../helpers/openapi-check.js';

type Json = Record<string, any>;

/** The end of a template literal or string starting at `i` (its opening quote), skipping `${…}` with nesting. */
function literalEnd(src: string, i: number): number {
  const quote = src[i]!;
  for (let j = i + 1; j < src.length; j++) {
    if (src[j] === '\\') j++;
    else if (src[j] === quote) return j;
    else if (quote === '`' && src[j] === '$' && src[j + 1] === '{') j = exprEnd(src, j + 2);
  }
  throw new Error(`unterminated literal at ${i}`);
}

/** The index of the `}` closing an expression that starts at `i`. */
function exprEnd(src: string, i: number): number {
  let depth = 0;
  for (let j = i; j < src.length; j++) {
    const c = src[j]!;
    if (c === '`' || c === "'" || c === '"') j = literalEnd(src, j);
    else if (c === '{') depth++;
    else if (c === '}' && depth-- === 0) return j;
  }
  throw new Error(`unterminated expression at ${i}`);
}

/** A path literal's text with each `${…}` as `\0`. */
function withHoles(literal: string): string {
  let out = '';
  for (let j = 1; j < literal.length - 1; j++) {
    if (literal[0] === '`' && literal[j] === '$' && literal[j + 1] === '{') {
      j = exprEnd(literal, j + 2);
      out += '\0';
    } else out += literal[j];
  }
  return out;
}

interface CliCall { method: string; path: string; query: string[]; at: string }

/** Every service call in a CLI source (`client.request('GET', `/v1/…`)`, `.raw(…)`), as method, path and query keys. */
function cliCalls(file: string): { calls: CliCall[]; sites: number } {
  const src = readFileSync(file, 'utf8');
  const lambdas = [...src.matchAll(/\(\w+\) => (`\/v1[^`]*`)/g)].map((m) => m[1]!);
  const calls: CliCall[] = [];
  let sites = 0;
  for (const m of src.matchAll(/\.(request|raw)\b(?:<[\s\S]*?>)?\(\s*'([A-Z]+)',\s*/g)) {
    sites++;
    const start = m.index + m[0].length;
    const literals = src[start] === '`' || src[start] === "'" ? [src.slice(start, literalEnd(src, start) + 1)] : /^\w+\(/.test(src.slice(start)) ? lambdas : [];
    if (!literals.length) throw new Error(`${file}: a call at ${start} has a path I cannot read`);
    for (const lit of literals) {
      const text = withHoles(lit);
      const [pathPart] = text.split('?');
      // A hole glued to a segment (`/v1/releases${run ? `?run=…` : ''}`) adds a query string; one after `/` is a segment.
      const path = pathPart!.replace(/([^/])\0.*$/, '$1');
      const query = [...lit.matchAll(/[?&](\w+)=/g)].map((q) => q[1]!);
      calls.push({ method: m[2]!, path, query, at: `${file}:${src.slice(0, start).split('\n').length}` });
    }
  }
  return { calls, sites };
}

/** The documented operation a CLI call maps to: same method, a template whose `{param}` stands for one segment. */
function matchOperation(document: Json, call: CliCall): Json | undefined {
  for (const [template, ops] of Object.entries(document.paths as Record<string, Json>)) {
    const re = new RegExp(`^${template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}$`);
    if (re.test(call.path.replace(/\0/g, 'x')) && ops[call.method.toLowerCase()]) return ops[call.method.toLowerCase()];
  }
  return undefined;
}

describe('the OpenAPI document of the service, from the live route table', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-openapi-'));
  let engine: Engine;
  let app: FastifyInstance;
  let document: Json;

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-openapi-${process.pid}`, redisUrl: TEST_REDIS_URL });
    app = await buildApp(engine);
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    document = JSON.parse(res.body) as Json;
  });

  afterAll(async () => {
    await shutdown({ app, engine, root });
  });

  it('is served without a token and validates as OpenAPI 3; the validator catches broken documents', () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(validateOpenApi(document)).toEqual([]);
    // Positive controls: each breakage is found, named by where it is.
    const broken = (f: (d: Json) => void) => {
      const d = structuredClone(document);
      f(d);
      return validateOpenApi(d).join('\n');
    };
    expect(broken((d) => delete d.info.version)).toMatch(/^info: expected a title and a version/);
    expect(broken((d) => (d.paths['/v1/runs/{id}'].get.parameters = []))).toMatch(/paths\.\/v1\/runs\/\{id\}\.get: path parameter \{id\} is not declared/);
    expect(broken((d) => delete d.paths['/v1/runs'].get.responses['200'].description)).toMatch(/responses\.200: expected a description/);
    expect(broken((d) => delete d.components.responses.E401)).toMatch(/\$ref #\/components\/responses\/E401 does not resolve/);
    expect(broken((d) => (d.paths['/v1/reviews'].post.security = [{ cookie: [] }]))).toMatch(/scheme cookie is not declared/);
    expect(broken((d) => (d.paths['/v1/reviews'].post.requestBody.content['application/json'].schema = { type: 'no-such-type' }))).toMatch(/not a valid JSON Schema/);
    expect(broken((d) => (d.openapi = '2.0'))).toMatch(/^openapi: expected a version 3/);
  });

  it('lists every route of the live route table, with its roles, parameters, body and the error shape', () => {
    const live = app.accessRoutes.map((r) => `${r.method} ${pathTemplate(r.url)}`).sort();
    const documented = Object.entries(document.paths as Record<string, Json>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(live.length).toBeGreaterThan(25);
    expect(documented).toEqual(live);
    expect(live).toContain('GET /openapi.json');
    for (const r of app.accessRoutes) {
      const op = document.paths[pathTemplate(r.url)][r.method.toLowerCase()];
      expect(op['x-sluice-roles'], `${r.method} ${r.url}`).toEqual(r.access.roles);
      expect(op.security).toEqual(r.access.scope.kind === 'public' ? [] : [{ bearer: [] }]);
      expect(op.requestBody !== undefined, `${r.method} ${r.url} body`).toBe(r.doc.body !== undefined);
      expect(op.responses[String(r.doc.response.status)].description).toBe(r.doc.response.description);
      if (r.access.scope.kind !== 'public') expect(op.responses['401'].$ref).toBe('#/components/responses/E401');
    }
    // The schemas are the handlers' own zod schemas: the review body's required fields and enum, the access log's query.
    const review = document.paths['/v1/reviews'].post.requestBody.content['application/json'].schema;
    expect([...review.required].sort()).toEqual(['artifactHash', 'decision', 'reason']);
    expect(review.properties.decision.enum).toEqual(['approve', 'reject']);
    expect(review.additionalProperties).toBe(false);
    const accessLog = document.paths['/v1/access-log'].get.parameters.map((p: Json) => `${p.in}:${p.name}:${p.required}`);
    expect(accessLog.sort()).toEqual(['query:after:false', 'query:code:false', 'query:limit:false', 'query:user:false']);
    expect(document.paths['/v1/artifacts/{hash}'].get.parameters).toEqual([{ name: 'hash', in: 'path', required: true, schema: expect.objectContaining({ pattern: '^[0-9a-f]{64}$' }) }]);
    expect(document.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
    expect(document.paths['/v1/runs/{id}'].get.description).toMatch(/Roles: operator, reviewer, admin, auditor\. Scope: run named by params\.id/);
  });

  it('fails the app build for a route without a schema, or one whose schema misses a URL parameter', async () => {
    const bare: FastifyPluginAsync = async (a) => {
      a.get('/v1/extra/:id', { config: { access: { roles: ['admin'], scope: scope.none } } }, async () => ({ extra: true }));
    };
    await expect(buildApp(engine, { plugins: [bare] })).rejects.toThrow(/GET \/v1\/extra\/:id declares no schema/);
    const misfit: FastifyPluginAsync = async (a) => {
      a.get('/v1/extra/:id', allow(['admin'], scope.none, doc({ summary: 'extra', params: z.object({ key: z.string() }), response: ok('extra') })), async () => ({ extra: true }));
    };
    await expect(buildApp(engine, { plugins: [misfit] })).rejects.toThrow(/GET \/v1\/extra\/:id: its URL has the parameters \[id\] but its schema declares \[key\]/);
    // Negative control: the same route with its schema builds and is in the document at once.
    const declared: FastifyPluginAsync = async (a) => {
      a.get('/v1/extra/:id', allow(['admin'], scope.none, doc({ summary: 'an extra route', params: IdParams, response: ok('extra') })), async () => ({ extra: true }));
    };
    const extra = await buildApp(engine, { plugins: [declared] });
    try {
      const d = JSON.parse((await extra.inject({ method: 'GET', url: '/openapi.json' })).body) as Json;
      expect(d.paths['/v1/extra/{id}'].get.summary).toBe('an extra route');
      expect(validateOpenApi(d)).toEqual([]);
    } finally {
      await extra.close();
    }
  });

  it('maps every service call of the CLI to a documented route (method and path template, query keys)', () => {
    const { calls, sites } = cliCalls('service/cli/commands.ts');
    const events = cliCalls('service/cli/client.ts');
    // Every call site was read (none skipped), and there are many.
    expect(sites).toBeGreaterThan(20);
    expect(calls.length).toBeGreaterThanOrEqual(sites);
    const unmapped: string[] = [];
    for (const call of [...calls, ...events.calls]) {
      const op = matchOperation(document, call);
      if (!op) {
        unmapped.push(`${call.at}: ${call.method} ${call.path.replace(/\0/g, '{…}')}`);
        continue;
      }
      const documentedQuery = new Set(((op.parameters ?? []) as Json[]).filter((p) => p.in === 'query').map((p) => p.name));
      for (const q of call.query) if (!documentedQuery.has(q)) unmapped.push(`${call.at}: query ${q} of ${call.method} ${call.path} is not documented`);
    }
    expect(unmapped).toEqual([]);
    const mapped = new Set([...calls, ...events.calls].map((c) => `${c.method} ${c.path.replace(/\0/g, '{}')}`));
    for (const k of ['POST /v1/runs', 'GET /v1/runs/{}/events', 'POST /v1/agreements/{}/suspend', 'GET /v1/releases', 'GET /v1/access-log']) expect(mapped).toContain(k);
    // Positive control: a call to a route that is not there, or with the wrong method, maps to nothing.
    expect(matchOperation(document, { method: 'GET', path: '/v1/runs/\0/logs', query: [], at: 'x' })).toBeUndefined();
    expect(matchOperation(document, { method: 'DELETE', path: '/v1/runs/\0', query: [], at: 'x' })).toBeUndefined();
  });

  it('serves /docs: a self-contained page listing every operation', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    const html = res.body;
    for (const [path, ops] of Object.entries(document.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(html).toContain(`id="${op.operationId}"`);
        expect(html).toContain(`<td class="m ${method}">${method.toUpperCase()}</td><td><code>${path}</code>`);
      }
    }
    // No script, no external asset of any kind.
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|src=|href="(https?:)?\/\//i);
  });
});
