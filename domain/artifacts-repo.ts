import { z } from 'zod';
import { COLUMN_CLASSES, LABELS } from '../lib/vocabulary.js';
import { fromJson, jsonParam, parseInput, toIso, toNumber, type Db } from './db.js';
import type { Artifact, ArtifactColumn, ArtifactKind, LineageInput, LineageRecord, Zone } from './types.js';

/** Zones, upstream to downstream. */
export const ZONE_ORDER = ['raw', 'sandbox', 'work', 'staging', 'release'] as const satisfies readonly Zone[];

const HASH = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

/** Input of {@link ArtifactsRepo.recordArtifact}. */
export interface NewArtifact {
  hash: string;
  zone: Zone;
  /** Relative to the data root. */
  path: string;
  kind: ArtifactKind;
  rows: number | null;
  columns: ArtifactColumn[];
  runId?: string;
  stepId?: string;
  /** Default: true in staging and release, false elsewhere. */
  frozen?: boolean;
  lineage: LineageInput;
}

const NewArtifactSchema = z.object({
  hash: HASH,
  zone: z.enum(ZONE_ORDER),
  path: z.string().min(1),
  kind: z.enum(['table', 'extract', 'model', 'file', 'evidence']),
  rows: z.number().int().min(0).nullable(),
  columns: z.array(z.object({ name: z.string().min(1), type: z.string().min(1), class: z.enum(COLUMN_CLASSES), label: z.enum(LABELS) })),
  runId: z.string().min(1).optional(),
  stepId: z.string().min(1).optional(),
  frozen: z.boolean().optional(),
  lineage: z.object({
    inputs: z.array(HASH),
    step: z.string().min(1),
    parameters: z.record(z.string(), z.unknown()),
    codeVersion: z.string().min(1),
  }),
});

interface ArtifactRow {
  hash: string;
  zone: Zone;
  path: string;
  kind: ArtifactKind;
  rows: unknown;
  columns: unknown;
  run_id: string | null;
  step_id: string | null;
  created_at: unknown;
  frozen: boolean;
}

interface LineageRow {
  artifact_hash: string;
  input_hashes: unknown;
  step_kind: string;
  parameters: unknown;
  code_version: string;
  rows: unknown;
  column_count: unknown;
  created_at: unknown;
}

const ART_COLS = 'hash, zone, path, kind, rows, columns, run_id, step_id, created_at, frozen';
const LIN_COLS = 'artifact_hash, input_hashes, step_kind, parameters, code_version, rows, column_count, created_at';

function toArtifact(r: ArtifactRow): Artifact {
  return {
    hash: r.hash,
    zone: r.zone,
    path: r.path,
    kind: r.kind,
    rows: toNumber(r.rows),
    columns: fromJson<ArtifactColumn[]>(r.columns),
    runId: r.run_id,
    stepId: r.step_id,
    createdAt: toIso(r.created_at) ?? '',
    frozen: r.frozen,
  };
}

function toLineage(r: LineageRow): LineageRecord {
  return {
    artifactHash: r.artifact_hash,
    inputs: fromJson<string[]>(r.input_hashes),
    step: r.step_kind,
    parameters: fromJson<Record<string, unknown>>(r.parameters),
    codeVersion: r.code_version,
    rows: toNumber(r.rows),
    columnCount: toNumber(r.column_count),
    createdAt: toIso(r.created_at) ?? '',
  };
}

/** Artifacts of the domain store and their lineage. */
export class ArtifactsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Records an artifact in a zone with its lineage, in one transaction, and
   * returns the stored row. Idempotent on (hash, zone): recording the same
   * content again (a retried step) keeps the first row, except that `frozen`
   * can only go from false to true. Lineage is per content hash; the first
   * recording wins.
   */
  async recordArtifact(input: NewArtifact): Promise<Artifact> {
    const a = parseInput(NewArtifactSchema, input, 'artifact');
    const frozen = a.frozen ?? (a.zone === 'staging' || a.zone === 'release');
    return this.db.tx(async (t) => {
      const rows = await t.query<ArtifactRow>(
        `INSERT INTO artifacts (hash, zone, path, kind, rows, columns, run_id, step_id, frozen)
         VALUES ($1, $2, $3, $4, $5::bigint, $6::jsonb, $7, $8, $9)
         ON CONFLICT (hash, zone) DO UPDATE SET frozen = artifacts.frozen OR excluded.frozen
         RETURNING ${ART_COLS}`,
        [a.hash, a.zone, a.path, a.kind, a.rows, jsonParam(a.columns), a.runId ?? null, a.stepId ?? null, frozen],
      );
      await t.query(
        `INSERT INTO lineage (artifact_hash, input_hashes, step_kind, parameters, code_version, rows, column_count)
         VALUES ($1, $2::jsonb, $3, $4::jsonb, $5, $6::bigint, $7::integer)
         ON CONFLICT (artifact_hash) DO NOTHING`,
        [a.hash, jsonParam(a.lineage.inputs), a.lineage.step, jsonParam(a.lineage.parameters), a.lineage.codeVersion, a.rows, a.columns.length],
      );
      return toArtifact(rows[0] as ArtifactRow);
    });
  }

  /** An artifact in `zone`; without a zone, its most downstream copy (release, staging, work, sandbox, raw). Null when unknown. */
  async getArtifact(hash: string, zone?: Zone): Promise<Artifact | null> {
    const rows = zone === undefined
      ? await this.db.query<ArtifactRow>(`SELECT ${ART_COLS} FROM artifacts WHERE hash = $1`, [hash])
      : await this.db.query<ArtifactRow>(`SELECT ${ART_COLS} FROM artifacts WHERE hash = $1 AND zone = $2`, [hash, zone]);
    const sorted = rows.map(toArtifact).sort((x, y) => ZONE_ORDER.indexOf(y.zone) - ZONE_ORDER.indexOf(x.zone));
    return sorted[0] ?? null;
  }

  /** Artifacts a run recorded, oldest first. */
  async listArtifactsForRun(runId: string): Promise<Artifact[]> {
    return (await this.db.query<ArtifactRow>(`SELECT ${ART_COLS} FROM artifacts WHERE run_id = $1 ORDER BY created_at, hash, zone`, [runId])).map(toArtifact);
  }

  /** How the content with this hash was made, or null. */
  async getLineage(hash: string): Promise<LineageRecord | null> {
    const rows = await this.db.query<LineageRow>(`SELECT ${LIN_COLS} FROM lineage WHERE artifact_hash = $1`, [hash]);
    return rows[0] ? toLineage(rows[0]) : null;
  }

  /**
   * The lineage of `hash` and of everything it descends from, nearest first
   * (a breadth-first walk; each hash once, at most `limit` records, default 1,000).
   */
  async getLineageGraph(hash: string, limit = 1000): Promise<LineageRecord[]> {
    const out: LineageRecord[] = [];
    const seen = new Set<string>([hash]);
    let frontier = [hash];
    while (frontier.length > 0 && out.length < limit) {
      const rows = await this.db.query<LineageRow>(`SELECT ${LIN_COLS} FROM lineage WHERE artifact_hash = ANY($1::text[])`, [frontier]);
      const next: string[] = [];
      for (const rec of rows.map(toLineage).sort((x, y) => frontier.indexOf(x.artifactHash) - frontier.indexOf(y.artifactHash))) {
        if (out.length >= limit) break;
        out.push(rec);
        for (const i of rec.inputs) if (!seen.has(i)) (seen.add(i), next.push(i));
      }
      frontier = next;
    }
    return out;
  }
}
