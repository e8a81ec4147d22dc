import { z } from 'zod';
import { COLUMN_CLASSES } from '../lib/vocabulary.js';
import { appendAuditLog, canonicalJson } from './audit-log.js';
import { fromJson, jsonParam, parseInput, toIso, toNum, type Db } from './db.js';
import type { DatasetColumn, DatasetInfo, DatasetRecord } from './types.js';

const HASH = /^[0-9a-f]{64}$/;

const DatasetSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'expected a name of letters, digits, _ . - (starting with a letter or _)'),
    provider: z.string().min(1),
    origin: z.enum(['public', 'social']),
    artifactHash: z.string().regex(HASH, 'expected 64 lowercase hex characters'),
    path: z.string().min(1),
    rows: z.number().int().min(0),
    columns: z
      .array(z.object({ name: z.string().min(1), type: z.string().min(1), class: z.enum(COLUMN_CLASSES) }))
      .min(1),
    unitColumn: z.string().min(1).nullable(),
  })
  .superRefine((d, ctx) => {
    const names = new Set<string>();
    d.columns.forEach((c, i) => {
      if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: ['columns', i, 'name'], message: 'duplicate column name' });
      names.add(c.name);
    });
    if (d.unitColumn !== null && !names.has(d.unitColumn)) {
      ctx.addIssue({ code: 'custom', path: ['unitColumn'], message: 'expected the name of one of the columns' });
    }
  });

interface DatasetRow {
  name: string;
  provider: string;
  origin: 'public' | 'social';
  artifact_hash: string;
  path: string;
  rows: unknown;
  columns: unknown;
  unit_column: string | null;
  registered_at: unknown;
  registered_by: string;
}

const COLS = 'name, provider, origin, artifact_hash, path, rows, columns, unit_column, registered_at, registered_by';

function toDataset(r: DatasetRow): DatasetRecord {
  return {
    name: r.name,
    provider: r.provider,
    origin: r.origin,
    artifactHash: r.artifact_hash,
    path: r.path,
    rows: toNum(r.rows),
    columns: fromJson<DatasetColumn[]>(r.columns),
    unitColumn: r.unit_column,
    registeredAt: toIso(r.registered_at) ?? '',
    registeredBy: r.registered_by,
  };
}

/** The dataset catalog: datasets in raw/ with their column classes. */
export class DatasetsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Registers a dataset, or re-registers it (a provider's new version replaces
   * the entry; the old artifact stays in lineage by its hash). Registering the
   * same content again changes nothing. Logged as `dataset.register`.
   */
  async registerDataset(info: DatasetInfo, by: string): Promise<DatasetRecord> {
    const d = parseInput(DatasetSchema, info, 'dataset');
    return this.db.tx(async (t) => {
      const existing = await t.query<DatasetRow>(`SELECT ${COLS} FROM datasets WHERE name = $1 FOR UPDATE`, [d.name]);
      const old = existing[0];
      if (old && old.artifact_hash === d.artifactHash && canonicalJson(fromJson(old.columns)) === canonicalJson(d.columns) && toNum(old.rows) === d.rows &&
          old.unit_column === d.unitColumn && old.provider === d.provider && old.origin === d.origin && old.path === d.path) {
        return toDataset(old);
      }
      const rows = await t.query<DatasetRow>(
        `INSERT INTO datasets (name, provider, origin, artifact_hash, path, rows, columns, unit_column, registered_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
         ON CONFLICT (name) DO UPDATE SET provider = excluded.provider, origin = excluded.origin,
           artifact_hash = excluded.artifact_hash, path = excluded.path, rows = excluded.rows, columns = excluded.columns,
           unit_column = excluded.unit_column, registered_at = now(), registered_by = excluded.registered_by
         RETURNING ${COLS}`,
        [d.name, d.provider, d.origin, d.artifactHash, d.path, d.rows, jsonParam(d.columns), d.unitColumn, by],
      );
      await appendAuditLog(t, {
        actor: by,
        action: 'dataset.register',
        subject: d.name,
        details: { artifactHash: d.artifactHash, rows: d.rows, columns: d.columns.length, replaced: old ? old.artifact_hash : null },
      });
      return toDataset(rows[0] as DatasetRow);
    });
  }

  /** One dataset, or null. */
  async getDataset(name: string): Promise<DatasetRecord | null> {
    const rows = await this.db.query<DatasetRow>(`SELECT ${COLS} FROM datasets WHERE name = $1`, [name]);
    return rows[0] ? toDataset(rows[0]) : null;
  }

  /** All datasets by name. */
  async listDatasets(): Promise<DatasetRecord[]> {
    return (await this.db.query<DatasetRow>(`SELECT ${COLS} FROM datasets ORDER BY name`)).map(toDataset);
  }
}
