import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { COLUMN_CLASSES } from '../../lib/vocabulary.js';
import { ROLES } from '../../domain/types.js';
import { SluiceError } from '../../lib/errors.js';
import { ResourceLimitsSchema } from '../../lib/limits.js';
import { resolveThresholds } from '../../audit/thresholds.js';
import { retryRefusedReleases } from '../../pipeline/run/lifecycle.js';
import { registerDataset } from '../../pipeline/store/register.js';
import { parseBody } from '../parse-body.js';
import type { RouteOptions } from './context.js';
import { Id, parseParams, requireRole } from './schemas.js';
import { allow, ANY_ROLE, scope, visibleOrganization } from '../access.js';
import { doc, ok } from '../route-doc.js';
import type { AgreementRecord, DatasetRecord, User } from '../../domain/types.js';

/** `personId`: the person's resident ID number; only its keyed token is stored (domain/person.ts). */
const UserBody = z.strictObject({ name: z.string().min(1).max(100), role: z.enum(ROLES), organization: z.string().min(1).max(200), personId: z.string({ error: 'a resident ID number' }).max(64) });
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
  resourceLimits: ResourceLimitsSchema.optional(),
});
const AgreementParams = z.object({ id: Id });
/** Why an admin suspends, resumes or terminates an agreement: kept with it and in the audit log. */
const AgreementActionBody = z.strictObject({ reason: z.string().trim().min(3, 'expected a reason of at least 3 characters').max(2000) });

/**
 * The catalogue as `user` may see it. Storage (the raw file's path and hash)
 * is the admin's alone: it names where raw data sits. An operator sees only
 * the datasets its organisation's agreements grant, and of each only the
 * granted columns.
 */
function catalogueFor(user: User, datasets: DatasetRecord[], agreements: AgreementRecord[]) {
  if (user.role === 'admin') return datasets;
  const organization = visibleOrganization(user);
  const granted = new Map<string, Set<string>>();
  for (const a of agreements.filter((x) => organization === undefined || x.operator === organization)) {
    for (const g of a.grants) for (const c of g.columns) granted.set(g.dataset, (granted.get(g.dataset) ?? new Set()).add(c.name));
  }
  return datasets
    .filter((d) => organization === undefined || granted.has(d.name))
    .map((d) => ({
      name: d.name, provider: d.provider, origin: d.origin, rows: d.rows, unitColumn: d.unitColumn, registeredAt: d.registeredAt,
      columns: organization === undefined ? d.columns : d.columns.filter((c) => granted.get(d.name)!.has(c.name)),
    }));
}

/** People, datasets, agreements and the audit log: the authority's side (admin, reads for everyone where harmless). */
export async function adminRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.post('/v1/users', allow(['admin'], scope.none, doc({ summary: 'create a user; the token is shown once', body: UserBody, response: ok('{ user, token }', 201) })), async (req, reply) => {
    const admin = requireRole(req, 'admin');
    const body = parseBody(UserBody, req.body);
    const { user, token } = await engine.cp.createUser(body, admin.id);
    return reply.status(201).send({ user, token });
  });
  app.get('/v1/users', allow(['admin', 'auditor'], scope.none, doc({ summary: 'list users (never a token or its hash)', response: ok('{ users }') })), async (req) => {
    requireRole(req, 'admin', 'auditor');
    // Token hashes never leave the repository; a user record has none.
    return { users: (await engine.cp.listUsers()).map((u) => ({ id: u.id, name: u.name, role: u.role, organization: u.organization, createdAt: u.createdAt, disabled: u.disabled })) };
  });

  app.get('/v1/datasets', allow(ANY_ROLE, scope.tenant, doc({ summary: 'the catalogue as the caller may see it (an operator: granted datasets and columns only)', response: ok('{ datasets }') })), async (req) => {
    const user = requireRole(req);
    return { datasets: catalogueFor(user, await engine.cp.listDatasets(), await engine.cp.listAgreements()) };
  });
  app.post('/v1/datasets', allow(['admin'], scope.none, doc({ summary: 'register a raw dataset (hashed, profiled, classified)', body: DatasetBody, response: ok('{ dataset }', 201) })), async (req, reply) => {
    const admin = requireRole(req, 'admin');
    const body = parseBody(DatasetBody, req.body);
    return reply.status(201).send({ dataset: await registerDataset(engine, body, admin.id) });
  });

  app.get('/v1/agreements', allow(ANY_ROLE, scope.tenant, doc({ summary: 'agreements the caller may see', response: ok('{ agreements }') })), async (req) => {
    const organization = visibleOrganization(requireRole(req));
    return { agreements: (await engine.cp.listAgreements()).filter((a) => organization === undefined || a.operator === organization) };
  });
  app.get('/v1/agreements/:id', allow(ANY_ROLE, scope.agreement(), doc({ summary: 'one agreement: grants, term, status', params: AgreementParams, response: ok('{ agreement }') })), async (req) => {
    requireRole(req);
    const { id } = parseParams(AgreementParams, req.params);
    const agreement = await engine.cp.getAgreement(id);
    if (!agreement) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `agreement ${id} does not exist; \`sluice agreement list\` shows those that do`);
    return { agreement };
  });
  app.post('/v1/agreements', allow(['admin'], scope.none, doc({ summary: 'create an agreement (grants per column, term, thresholds, limits)', body: AgreementBody, response: ok('{ agreement }', 201) })), async (req, reply) => {
    const admin = requireRole(req, 'admin');
    const body = parseBody(AgreementBody, req.body);
    resolveThresholds(body.auditThresholds);
    const { auditThresholds, resourceLimits, ...rest } = body;
    const agreement = { ...rest, ...(auditThresholds ? { auditThresholds } : {}), ...(resourceLimits ? { resourceLimits } : {}), status: 'active' as const, grants: body.grants.map((g) => ({ dataset: g.dataset, columns: g.columns.map((c) => ({ name: c.name, treatment: c.treatment, ...(c.level ? { level: c.level } : {}) })) })) };
    await engine.cp.createAgreement(agreement, admin.id);
    return reply.status(201).send({ agreement });
  });

  // Suspend (until resumed), resume, terminate (final): each with a reason, each in the audit log.
  app.post('/v1/agreements/:id/suspend', allow(['admin'], scope.agreement(), doc({ summary: 'suspend an agreement until resumed', params: AgreementParams, body: AgreementActionBody, response: ok('{ agreement }') })), async (req) => {
    const admin = requireRole(req, 'admin');
    const { id } = parseParams(AgreementParams, req.params);
    const { reason } = parseBody(AgreementActionBody, req.body);
    return { agreement: await engine.cp.suspendAgreement(id, admin.id, reason) };
  });
  app.post('/v1/agreements/:id/resume', allow(['admin'], scope.agreement(), doc({ summary: 'resume a suspended agreement; releases refused meanwhile are retried', params: AgreementParams, body: AgreementActionBody, response: ok('{ agreement, releasesRetried }') })), async (req) => {
    const admin = requireRole(req, 'admin');
    const { id } = parseParams(AgreementParams, req.params);
    const { reason } = parseBody(AgreementActionBody, req.body);
    const agreement = await engine.cp.resumeAgreement(id, admin.id, reason);
    return { agreement, releasesRetried: await retryRefusedReleases(engine, id) };
  });
  app.post('/v1/agreements/:id/terminate', allow(['admin'], scope.agreement(), doc({ summary: 'terminate an agreement for good', params: AgreementParams, body: AgreementActionBody, response: ok('{ agreement }') })), async (req) => {
    const admin = requireRole(req, 'admin');
    const { id } = parseParams(AgreementParams, req.params);
    const { reason } = parseBody(AgreementActionBody, req.body);
    return { agreement: await engine.cp.terminateAgreement(id, admin.id, reason) };
  });

  app.get('/v1/audit-log/verify', allow(['admin', 'auditor'], scope.none, doc({ summary: 'verify the audit log\'s hash chain', response: ok('{ ok, rows, firstBadSeq }') })), async (req) => {
    requireRole(req, 'admin', 'auditor');
    return engine.cp.verifyAuditLog();
  });
}
