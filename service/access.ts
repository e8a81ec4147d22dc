import type { FastifyInstance, FastifyRequest, RouteOptions as FastifyRouteOptions } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';
import { ROLES, type ResourceOwnerKind, type Role, type User } from '../domain/types.js';
import type { ResourceOwner } from '../domain/control-plane.js';
import type { Engine } from '../pipeline/engine.js';
import { parseBody } from './parse-body.js';
import { Id, Sha256 } from './routes/schemas.js';
import type { FailureLimiter } from './rate-limit.js';
import { checkRateLimit } from './refusals.js';
import { checkRouteDoc, type RouteDoc } from './route-doc.js';

/**
 * The one authorisation layer. Every route declares, as route options, who may
 * call it and how the resource it names is scoped ({@link allow}); one
 * preHandler hook enforces that before any handler runs, and an onRoute hook
 * refuses, at app build, a route that declares nothing. Answers: 401
 * (SLUICE_ERR_AUTH_MISSING) without a valid token, 403
 * (SLUICE_ERR_AUTH_FORBIDDEN) for a role the route does not admit, 404
 * (SLUICE_ERR_NOT_FOUND) for a resource the caller may not know exists,
 * worded exactly as for one that does not exist.
 *
 * Visibility ({@link mayAccess}): the authority (admin, and the read-only
 * auditor) sees everything; an operator sees what runs under its
 * organisation's agreements made (the organisation, not only the submitting
 * account); a reviewer sees runs and agreements, and artifacts, reports,
 * reviews and models once they reached the gate (have an audit report).
 */

/** Every role: for routes any signed-in caller may use (their scope still applies). */
export const ANY_ROLE: readonly Role[] = ROLES;

/** Where a scoped route finds the id or hash of the resource it names. */
export interface ScopeKey {
  from: 'params' | 'query' | 'body';
  field: string;
}

/**
 * How the resource a route names is scoped:
 * - `public`: no token needed (health only);
 * - `none`: the route names no tenant's resource (whoami, the authority's own lists and forms);
 * - `tenant`: a listing its handler filters to what the caller may see ({@link visibleOrganization});
 * - `spec`: the job spec's agreement, checked by the planner (SLUICE_ERR_SPEC_SCOPE names the field);
 * - `run`, `artifact`, `report`, `release`, `model`, `agreement`: the resource named by `key`, checked here.
 */
export type Scope =
  | { kind: 'public' | 'none' | 'tenant' | 'spec' }
  | { kind: ResourceOwnerKind | 'model'; key: ScopeKey };

/** A route's access declaration. */
export interface AccessRule {
  /** The roles that may call the route (empty for a public route). */
  roles: readonly Role[];
  scope: Scope;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route and how its resource is scoped: set with {@link allow}. */
    access?: AccessRule;
    /** The route's request schemas and answer, for the OpenAPI document: set with {@link allow}. */
    doc?: RouteDoc;
  }
  interface FastifyRequest {
    /** Why the access layer refused the request (for the access log), when it did. */
    accessRefusal: string | null;
    /** The scoped key the layer read from the query string, for the access log (never one from the body). */
    accessResource: Record<string, string> | null;
  }
}

const key = (from: ScopeKey['from'], field: string): ScopeKey => ({ from, field });

/** The scopes, by name: `scope.run()` is the run named by `:id`. */
export const scope = {
  public: { kind: 'public' } as Scope,
  none: { kind: 'none' } as Scope,
  tenant: { kind: 'tenant' } as Scope,
  spec: { kind: 'spec' } as Scope,
  run: (k: ScopeKey = key('params', 'id')): Scope => ({ kind: 'run', key: k }),
  artifact: (k: ScopeKey = key('params', 'hash')): Scope => ({ kind: 'artifact', key: k }),
  model: (k: ScopeKey = key('params', 'hash')): Scope => ({ kind: 'model', key: k }),
  report: (k: ScopeKey = key('params', 'id')): Scope => ({ kind: 'report', key: k }),
  release: (k: ScopeKey = key('params', 'id')): Scope => ({ kind: 'release', key: k }),
  agreement: (k: ScopeKey = key('params', 'id')): Scope => ({ kind: 'agreement', key: k }),
  key,
};

/** Route options: who may call the route, and its schemas (service/route-doc.ts). */
export interface RouteConfig {
  config: { access: AccessRule; doc: RouteDoc };
}

/**
 * Route options declaring access and schemas, e.g.
 * `app.get('/v1/runs/:id', allow(ANY_ROLE, scope.run(), doc({ summary, params: IdParams, response: ok('the run') })), handler)`.
 */
export function allow(roles: readonly Role[], s: Scope, d: RouteDoc): RouteConfig {
  if (s.kind !== 'public' && roles.length === 0) throw new SluiceError('SLUICE_ERR_INTERNAL', 'allow: a non-public route needs at least one role');
  return { config: { access: { roles: [...roles], scope: s }, doc: d } };
}

/** Route options of a route anyone may call without a token. */
export function allowPublic(d: RouteDoc): RouteConfig {
  return { config: { access: { roles: [], scope: scope.public }, doc: d } };
}

/** One route of the live route table, as the access layer saw it registered. */
export interface AccessRoute {
  method: string;
  url: string;
  access: AccessRule;
  doc: RouteDoc;
}

/** The authority: sees every tenant's resources. */
export function isAuthority(user: User): boolean {
  return user.role === 'admin' || user.role === 'auditor';
}

/**
 * The operator organisation a listing is restricted to for `user`: its
 * organisation for an operator, undefined (no restriction) for everyone else.
 */
export function visibleOrganization(user: User): string | undefined {
  return user.role === 'operator' ? user.organization : undefined;
}

/** Whether `user` may know the resource owned by `owner` (see the module comment). */
export function mayAccess(user: User, kind: Scope['kind'], owner: ResourceOwner): boolean {
  if (isAuthority(user)) return true;
  if (user.role === 'operator') return owner.organizations.includes(user.organization);
  if (user.role === 'reviewer') return kind === 'run' || kind === 'agreement' || owner.gated;
  return false;
}

const KEY_SCHEMAS: Record<ResourceOwnerKind | 'model', z.ZodType<string>> = {
  run: Id, report: Id, release: Id, agreement: Id, artifact: Sha256, model: Sha256,
};

/** What a scoped route names, validated as the route would (a malformed key is a 400 naming the field). */
function scopeKey(req: FastifyRequest, s: { kind: ResourceOwnerKind | 'model'; key: ScopeKey }): string {
  const source = s.key.from === 'params' ? req.params : s.key.from === 'query' ? req.query : req.body;
  const schema = z.object({ [s.key.field]: KEY_SCHEMAS[s.kind] });
  const parsed = parseBody(schema, source ?? {}, s.key.from === 'body' ? 'body' : s.key.from);
  return parsed[s.key.field] as string;
}

/** The 404 of a resource the caller may not know: the same words whether it exists or not. */
function notFound(kind: Scope['kind'], id: string): SluiceError {
  const shown = kind === 'artifact' || kind === 'model' ? id.slice(0, 12) : id;
  return new SluiceError('SLUICE_ERR_NOT_FOUND', `${kind} ${shown} does not exist`);
}

/** Refuses with `err`, noting `reason` for the access log. */
function refuse(req: FastifyRequest, reason: string, err: SluiceError): never {
  req.accessRefusal = reason;
  throw err;
}

/** The caller of a request: null without an Authorization header, else the token's user or a refusal. */
async function authenticate(engine: Engine, req: FastifyRequest): Promise<User | null> {
  const h = req.headers.authorization;
  if (h === undefined) return null;
  const user = h.startsWith('Bearer ') ? await engine.cp.authenticate(h.slice(7).trim()) : null;
  if (!user) refuse(req, 'token-invalid', new SluiceError('SLUICE_ERR_AUTH_MISSING', 'authorization: expected a valid bearer token (unknown, malformed or disabled)'));
  return user;
}

/**
 * Enforces a route's {@link AccessRule} for one request: authentication, then
 * the role, then the scope. Sets `req.user`. Throws the refusal.
 */
export async function enforceAccess(engine: Engine, req: FastifyRequest, rule: AccessRule): Promise<void> {
  // A public route reads no token: a stale one does not stop a health check.
  if (rule.scope.kind === 'public') return;
  req.user = await authenticate(engine, req);
  const user = req.user;
  if (!user) return refuse(req, 'token-missing', new SluiceError('SLUICE_ERR_AUTH_MISSING', 'authorization: expected a bearer token'));
  if (!rule.roles.includes(user.role)) {
    return refuse(req, 'role', new SluiceError('SLUICE_ERR_AUTH_FORBIDDEN', `this needs the role ${rule.roles.join(' or ')}; you are ${user.role}`));
  }
  const s = rule.scope;
  if (!('key' in s)) return;
  const id = scopeKey(req, s);
  if (s.key.from === 'query') req.accessResource = { [s.key.field]: id };
  const owner = await engine.cp.ownerOf(s.kind === 'model' ? 'artifact' : s.kind, id);
  if (!owner) return refuse(req, 'scope-missing', notFound(s.kind, id));
  if (!mayAccess(user, s.kind, owner)) return refuse(req, 'scope-other-tenant', notFound(s.kind, id));
}

/**
 * Installs the layer on `app` (before any route is registered): an onRoute
 * hook that throws for a route without an access or a schema declaration
 * ({@link checkRouteDoc}) and records
 * every route in the returned table, and the preHandler that enforces it,
 * after the rate limit on repeated refusals (429 before anything else).
 */
export function installAccessLayer(app: FastifyInstance, engine: Engine, limiter: FailureLimiter): AccessRoute[] {
  const table: AccessRoute[] = [];
  app.decorateRequest('user', null);
  app.decorateRequest('accessRefusal', null);
  app.decorateRequest('accessResource', null);
  app.addHook('onRoute', (route: FastifyRouteOptions) => {
    const access = route.config?.access;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!access) {
      throw new SluiceError('SLUICE_ERR_INTERNAL', `route ${methods.join(',')} ${route.url} declares no access: give it allow(roles, scope) from service/access.ts`);
    }
    const doc = checkRouteDoc(methods.join(','), route.url, route.config?.doc);
    // Fastify adds a HEAD route for every GET, with the GET's options.
    for (const method of methods) if (method !== 'HEAD') table.push({ method, url: route.url, access, doc });
  });
  app.addHook('preHandler', async (req) => {
    checkRateLimit(req, limiter);
    const rule = req.routeOptions.config.access;
    if (!rule) {
      // The not-found handler answers for itself; a registered route without a rule cannot exist (onRoute): deny by default.
      if (req.is404) return;
      throw new SluiceError('SLUICE_ERR_NOT_FOUND', 'route does not exist');
    }
    await enforceAccess(engine, req, rule);
  });
  return table;
}
