import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { appendAuditLog } from './audit-log.js';
import { parseInput, toIso, type Db } from './db.js';
import type { Release } from './types.js';

/** Input of {@link ReleasesRepo.createRelease}. */
export interface NewRelease {
  artifactHash: string;
  runId: string;
  outputId: string;
  /** Path in release/, relative to the data root. */
  path: string;
  releasedBy: string;
}

const NewReleaseSchema = z.object({
  artifactHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'),
  runId: z.string().min(1),
  outputId: z.string().min(1),
  path: z.string().min(1),
  releasedBy: z.string().min(1),
});

/** A released aggregate table, as A9's registry needs it (see {@link ReleasesRepo.listAggregateTableReleases}). */
export interface AggregateTableRelease {
  runId: string;
  /** The released file's hash and its path relative to the data root. */
  artifactHash: string;
  path: string;
  groupBy: string[];
  /** Lineage parameters of the work table it was staged from (`evidence`, `facts.unitKey`). */
  parameters: Record<string, unknown>;
}

interface ReleaseRow {
  id: string;
  artifact_hash: string;
  run_id: string;
  output_id: string;
  path: string;
  released_by: string;
  released_at: unknown;
}

const COLS = 'id, artifact_hash, run_id, output_id, path, released_by, released_at';

function toRelease(r: ReleaseRow): Release {
  return {
    id: r.id,
    artifactHash: r.artifact_hash,
    runId: r.run_id,
    outputId: r.output_id,
    path: r.path,
    releasedBy: r.released_by,
    releasedAt: toIso(r.released_at) ?? '',
  };
}

/** Outputs released into release/. */
export class ReleasesRepo {
  constructor(private readonly db: Db) {}

  /**
   * Records a release and returns it. Idempotent on (run, output, hash): a
   * retried release step gets the first record back. Logged once as
   * `release.create`. Whether the output may be released is the release
   * gate's decision, made before this call.
   */
  async createRelease(input: NewRelease): Promise<Release> {
    const r = parseInput(NewReleaseSchema, input, 'release');
    return this.db.tx(async (t) => {
      const inserted = await t.query<ReleaseRow>(
        `INSERT INTO releases (id, artifact_hash, run_id, output_id, path, released_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT ON CONSTRAINT releases_once DO NOTHING RETURNING ${COLS}`,
        [`rel_${randomUUID()}`, r.artifactHash, r.runId, r.outputId, r.path, r.releasedBy],
      );
      if (inserted[0]) {
        await appendAuditLog(t, {
          actor: r.releasedBy,
          action: 'release.create',
          subject: r.artifactHash,
          details: { releaseId: inserted[0].id, runId: r.runId, outputId: r.outputId, path: r.path },
        });
        return toRelease(inserted[0]);
      }
      const existing = await t.query<ReleaseRow>(
        `SELECT ${COLS} FROM releases WHERE run_id = $1 AND output_id = $2 AND artifact_hash = $3`,
        [r.runId, r.outputId, r.artifactHash],
      );
      return toRelease(existing[0] as ReleaseRow);
    });
  }

  /** Releases, oldest first; of one run when `runId` is given. */
  async listReleases(q: { runId?: string } = {}): Promise<Release[]> {
    const rows = q.runId === undefined
      ? await this.db.query<ReleaseRow>(`SELECT ${COLS} FROM releases ORDER BY released_at, id`)
      : await this.db.query<ReleaseRow>(`SELECT ${COLS} FROM releases WHERE run_id = $1 ORDER BY released_at, id`, [q.runId]);
    return rows.map(toRelease);
  }

  /**
   * The tables released under an agreement that came from an aggregate step,
   * each with its group-by columns and the lineage parameters of the work
   * artifact it was staged from (which name its evidence): A9's registry, in
   * one query however many releases there are.
   */
  async listAggregateTableReleases(agreementId: string): Promise<AggregateTableRelease[]> {
    const rows = await this.db.query<{ run_id: string; artifact_hash: string; path: string; group_by: unknown; parameters: unknown }>(
      `SELECT r.run_id, r.artifact_hash, r.path, st->'params'->'group_by' AS group_by, l.parameters
         FROM releases r
         JOIN runs u ON u.id = r.run_id AND u.agreement_id = $1
         CROSS JOIN LATERAL jsonb_array_elements(u.plan->'outputs') o
         CROSS JOIN LATERAL jsonb_array_elements(u.plan->'steps') st
         JOIN steps s ON s.run_id = r.run_id AND s.step_id = st->>'id'
         JOIN lineage l ON l.artifact_hash = s.artifact_hash
        WHERE o->>'id' = r.output_id AND o->>'kind' = 'table' AND st->>'id' = o->>'from' AND st->>'kind' = 'aggregate'
        ORDER BY r.released_at, r.id`,
      [agreementId],
    );
    return rows.map((r) => ({
      runId: r.run_id,
      artifactHash: r.artifact_hash,
      path: r.path,
      groupBy: (typeof r.group_by === 'string' ? JSON.parse(r.group_by) : r.group_by) as string[],
      parameters: (typeof r.parameters === 'string' ? JSON.parse(r.parameters) : r.parameters) as Record<string, unknown>,
    }));
  }

  /** One release, or null. */
  async getRelease(id: string): Promise<Release | null> {
    const rows = await this.db.query<ReleaseRow>(`SELECT ${COLS} FROM releases WHERE id = $1`, [id]);
    return rows[0] ? toRelease(rows[0]) : null;
  }
}
