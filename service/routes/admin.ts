import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { COLUMN_CLASSES } from '../../lib/vocabulary.js';
import { SluiceError } from '../../lib/errors.js';
import { ResourceLimitsSchema } from '../../lib/limits.js';
import { resolveThresholds } from '../../audit/thresholds.js';
import { registerDataset } from '../../pipeline/store/register.js';
import { parseBody } from '../parse-body.js';
import type { RouteOptions } from './context.js';
import { Id, parseParams, requireRole } from './schemas.js';

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
  resourceLimits: ResourceLimitsSchema.optional(),
});
const AgreementParams = z.object({ id: Id });

/** People, datasets, agreements and the audit log: the authority's side (admin, reads for everyone where harmless). */
export async function adminRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.post('/v1/users', async (req, reply) => {
    const admin = requireRole(req, 'admin');
    const body = parseBody(UserBody, req.body);
    const { user, token } = await engine.cp.createUser(body, admin.id);
    return reply.status(201).send({ user, token });
  });
  app.get('/v1/users', async (req) => {
    requireRole(req, 'admin');
    // Token hashes never leave the repository; a user record has none.
    return { users: (await engine.cp.listUsers()).map((u) => ({ id: u.id, name: u.name, role: u.role, organization: u.organization, createdAt: u.createdAt, disabled: u.disabled })) };
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
  app.get('/v1/agreements/:id', async (req) => {
    requireRole(req);
    const { id } = parseParams(AgreementParams, req.params);
    const agreement = await engine.cp.getAgreement(id);
    if (!agreement) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `agreement ${id} does not exist; \`sluice agreement list\` shows those that do`);
    return { agreement };
  });
  app.post('/v1/agreements', async (req, reply) => {
    const admin = requireRole(req, 'admin');
    const body = parseBody(AgreementBody, req.body);
    resolveThresholds(body.auditThresholds);
    const { auditThresholds, resourceLimits, ...rest } = body;
    const agreement = { ...rest, ...(auditThresholds ? { auditThresholds } : {}), ...(resourceLimits ? { resourceLimits } : {}), status: 'active' as const, grants: body.grants.map((g) => ({ dataset: g.dataset, columns: g.columns.map((c) => ({ name: c.name, treatment: c.treatment, ...(c.level ? { level: c.level } : {}) })) })) };
    await engine.cp.createAgreement(agreement, admin.id);
    return reply.status(201).send({ agreement });
  });

  app.get('/v1/audit-log/verify', async (req) => {
    requireRole(req, 'admin');
    return engine.cp.verifyAuditLog();
  });
}
