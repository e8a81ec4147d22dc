import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';
import { extOf } from '../../pipeline/store/store.js';
import { parseBody } from '../parse-body.js';
import { loadRun, type RouteOptions } from './context.js';
import { HashParams, parseParams, requireRole } from './schemas.js';
import { allow, scope } from '../access.js';
import { doc, ok } from '../route-doc.js';

const PredictBody = z.strictObject({
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()])), { error: 'a list of rows (objects of feature values)' }).min(1).max(1000),
});

/** Released models are served; nothing else is. */
export async function modelsRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.post('/v1/models/:hash/predict', allow(['operator', 'reviewer', 'admin'], scope.model(), doc({ summary: 'inference with a released model (at most 1000 rows a call)', params: HashParams, body: PredictBody, response: ok('{ model, classes, predictions }') })), async (req) => {
    const user = requireRole(req);
    const { hash } = parseParams(HashParams, req.params);
    const body = parseBody(PredictBody, req.body);
    const release = (await engine.cp.listReleases()).find((r) => r.artifactHash === hash && extOf(r.path) === 'json');
    if (!release) {
      await engine.cp.log({ actor: user.id, action: 'model.serve.refused', subject: hash, details: { rows: body.rows.length } });
      throw new SluiceError('SLUICE_ERR_RELEASE_REFUSED', `model ${hash.slice(0, 12)} has not been released; only a model a reviewer approved is served`);
    }
    await loadRun(engine, req, release.runId, 'predict');
    // Loaded on first use: training code is heavy and most services never serve a model.
    const { infer, verifyArtifact } = await import('../../models/artifact.js');
    const { readFileSync } = await import('node:fs');
    const artifact = JSON.parse(readFileSync(engine.store.pathOf('release', hash, 'json'), 'utf8')) as Parameters<typeof infer>[0];
    if (!verifyArtifact(artifact)) throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', `model ${hash.slice(0, 12)} no longer matches its hash`);
    const predictions = infer(artifact, body.rows);
    await engine.cp.log({ actor: user.id, action: 'model.predict', subject: hash, details: { rows: body.rows.length, releaseId: release.id } });
    return { model: hash, classes: artifact.featureSchema.target.classes, predictions };
  });
}
