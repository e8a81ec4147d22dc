import type { FastifyRequest } from 'fastify';
import { SluiceError } from '../../lib/errors.js';
import type { DomainKey } from '../../audit/sign.js';
import { requireInForce } from '../../domain/in-force.js';
import type { Run } from '../../domain/types.js';
import type { Engine } from '../../pipeline/engine.js';
import { requireRole } from './schemas.js';

/** What every route plugin is registered with. */
export interface RouteOptions {
  engine: Engine;
  /** The domain's signing key pair (reports are verified with its public key). */
  key: DomainKey;
}

/**
 * A run, for a route whose access layer already scoped it to the caller
 * (service/access.ts: another tenant's run is "does not exist" before any
 * handler runs). SLUICE_ERR_NOT_FOUND when it vanished meanwhile. Then its
 * agreement must be in force (SLUICE_ERR_AGREEMENT_NOT_IN_FORCE, logged as
 * `operation`): for an operator always, since their token stops working for an
 * agreement the moment it is suspended or terminated; for anyone when the
 * request does work (`download`, `predict`), not a read.
 */
export async function loadRun(engine: Engine, req: FastifyRequest, id: string, operation: 'access' | 'download' | 'predict' = 'access'): Promise<Run> {
  const user = requireRole(req);
  const run = await engine.cp.getRun(id);
  if (!run) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `run ${id} does not exist`);
  if (user.role === 'operator' || operation !== 'access') await requireInForce(engine.cp, run.agreementId, { actor: user.id, operation, target: id });
  return run;
}

/** A run as the API shows it: ids, statuses, counts and hashes; no data. */
export function runView(run: Run) {
  return {
    id: run.id, specName: run.specName, agreementId: run.agreementId, status: run.status, submittedBy: run.submittedBy,
    errorCode: run.errorCode ?? null, errorMessage: run.errorMessage ?? null, createdAt: run.createdAt, finishedAt: run.finishedAt ?? null,
    steps: run.steps.map((s) => {
      // A step fused into another runs in that step's job and writes no artifact of its own.
      const fusedInto = run.plan.steps.find((p) => p.id === s.stepId)?.fusedInto ?? null;
      return { id: s.stepId, kind: s.kind, status: s.status, progress: s.progress, rows: s.rows ?? null, artifactHash: s.artifactHash ?? null, fusedInto, errorCode: s.errorCode ?? null, errorMessage: s.errorMessage ?? null };
    }),
  };
}
