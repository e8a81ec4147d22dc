import { SluiceError } from '../../lib/errors.js';
import { log } from '../../lib/log.js';
import type { Engine } from '../engine.js';
import type { ReleaseJobData } from '../run/job-data.js';
import { extOf } from '../store/store.js';

/**
 * Copies a staged artifact into release/ (re-hashing it, so a staged file that
 * changed since its audit cannot be released) and records the release.
 * Idempotent: releasing the same artifact of the same output twice records it once.
 */
export async function releaseArtifact(engine: Engine, job: ReleaseJobData): Promise<{ releaseId: string; path: string }> {
  const staged = await engine.cp.getArtifact(job.artifactHash, 'staging');
  if (!staged) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `artifact ${job.artifactHash.slice(0, 12)} is not staged`);
  const ext = extOf(staged.path);
  const existing = (await engine.cp.listReleases({ runId: job.runId })).find((r) => r.artifactHash === job.artifactHash && r.outputId === job.outputId);
  if (existing) return { releaseId: existing.id, path: existing.path };
  const stored = await engine.store.copy('staging', job.artifactHash, 'release', ext);
  await engine.cp.recordArtifact({
    hash: stored.hash, zone: 'release', path: stored.relPath, kind: staged.kind, rows: staged.rows, columns: staged.columns, runId: job.runId, frozen: true,
    lineage: { inputs: [job.artifactHash], step: 'release', parameters: { outputId: job.outputId, approvedBy: job.approvedBy }, codeVersion: 'n/a' },
  });
  const { id: releaseId } = await engine.cp.createRelease({ artifactHash: stored.hash, runId: job.runId, outputId: job.outputId, path: stored.relPath, releasedBy: job.approvedBy });
  log.info('release.created', { runId: job.runId, outputId: job.outputId, artifact: stored.hash.slice(0, 12) });
  return { releaseId, path: stored.relPath };
}
