import { createReadStream, existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';
import { extOf } from '../../pipeline/store/store.js';
import { loadRun, type RouteOptions } from './context.js';
import { allow, ANY_ROLE, scope, visibleOrganization } from '../access.js';
import { doc, ok } from '../route-doc.js';
import { HashParams, Id, IdParams, parseParams, requireRole } from './schemas.js';

const ReleasesQuery = z.object({ run: Id.optional() });

/** Artifacts (metadata only) and releases: list, and download a released file. */
export async function releasesRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.get('/v1/artifacts/:hash', allow(ANY_ROLE, scope.artifact(), doc({ summary: 'an artifact\'s metadata and lineage (no rows)', params: HashParams, response: ok('{ artifact, lineage }') })), async (req) => {
    requireRole(req);
    const { hash } = parseParams(HashParams, req.params);
    const a = await engine.cp.getArtifact(hash);
    if (!a) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `artifact ${hash.slice(0, 12)} does not exist`);
    return { artifact: { hash: a.hash, zone: a.zone, kind: a.kind, rows: a.rows, columns: a.columns, runId: a.runId ?? null, createdAt: a.createdAt }, lineage: await engine.cp.getLineage(a.hash) };
  });

  app.get('/v1/releases', allow(ANY_ROLE, scope.tenant, doc({ summary: 'releases the caller may see, optionally of one run', query: ReleasesQuery, response: ok('{ releases }') })), async (req) => {
    const organization = visibleOrganization(requireRole(req));
    const { run } = parseParams(ReleasesQuery, req.query ?? {}, 'query');
    let releases = await engine.cp.listReleases(run ? { runId: run } : {});
    if (organization !== undefined) {
      const mine = new Set((await engine.cp.listRuns({ organization, limit: 1000 })).map((r) => r.id));
      releases = releases.filter((r) => mine.has(r.runId));
    }
    return { releases };
  });

  app.get('/v1/releases/:id/download', allow(['operator', 'reviewer', 'admin'], scope.release(), doc({ summary: 'download a released file (CSV, JSON or Parquet); X-Sluice-Artifact-Hash names its hash', params: IdParams, response: ok('the released file', 200, 'application/octet-stream') })), async (req, reply) => {
    const user = requireRole(req);
    const { id } = parseParams(IdParams, req.params);
    const rel = await engine.cp.getRelease(id);
    if (!rel) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `release ${id} does not exist`);
    await loadRun(engine, req, rel.runId, 'download');
    // Only release/ is ever served: the path is rebuilt from the hash, never taken from input.
    const ext = extOf(rel.path);
    const file = engine.store.pathOf('release', rel.artifactHash, ext);
    if (!existsSync(file)) throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', `release ${rel.id}: its file is missing`);
    await engine.cp.log({ actor: user.id, action: 'release.download', subject: rel.artifactHash, details: { releaseId: rel.id } });
    return reply
      .header('content-type', ext === 'csv' ? 'text/csv; charset=utf-8' : ext === 'json' ? 'application/json' : 'application/vnd.apache.parquet')
      .header('content-disposition', `attachment; filename="${rel.outputId}.${ext}"`)
      .header('x-sluice-artifact-hash', rel.artifactHash)
      .send(createReadStream(file));
  });
}
