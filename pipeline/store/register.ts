import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { openDuck, queryRows, quoteLiteral } from '../../lib/duck.js';
import { SluiceError } from '../../lib/errors.js';
import { COLUMN_CLASSES, type ColumnClass } from '../../lib/vocabulary.js';
import type { DatasetInfo } from '../../domain/types.js';
import type { Engine } from '../engine.js';
import { codeVersion } from '../engine.js';

/** What a data provider supplies to register a dataset. */
export interface RegisterRequest {
  /** Dataset name: [a-z][a-z0-9_]{0,62}. */
  name: string;
  /** A CSV or Parquet file on the domain's filesystem. */
  file: string;
  provider: string;
  origin: 'public' | 'social';
  /** A class for every column of the file. */
  classes: Record<string, ColumnClass>;
  /** The column identifying the person or entity a row is about. */
  unitColumn: string | null;
}

/**
 * Registers a dataset in raw/: reads the file with DuckDB, requires a class for
 * every column (and no class for a column the file lacks), writes it as Parquet
 * under its content hash and records it in the catalog.
 */
export async function registerDataset(engine: Engine, req: RegisterRequest, by: string): Promise<DatasetInfo> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(req.name)) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'name: expected a lowercase identifier ([a-z][a-z0-9_]{0,62})');
  }
  const file = resolve(req.file);
  if (!existsSync(file)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'file: no such file');
  const ext = extname(file).toLowerCase();
  const source =
    ext === '.parquet' ? `read_parquet(${quoteLiteral(file)})` : ext === '.csv' ? `read_csv(${quoteLiteral(file)}, header = true)` : null;
  if (!source) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `file: expected a .csv or .parquet file, found ${ext || 'no extension'}`);
  const duck = await openDuck();
  try {
    const described = await queryRows<{ column_name: string; column_type: string }>(duck.conn, `DESCRIBE SELECT * FROM ${source}`);
    const names = described.map((d) => d.column_name);
    const missing = names.filter((n) => !(n in req.classes));
    if (missing.length) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `classes: every column needs a class; missing for ${missing.join(', ')}`);
    const extra = Object.keys(req.classes).filter((n) => !names.includes(n));
    if (extra.length) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `classes: the file has no column ${extra.join(', ')}`);
    for (const [col, cls] of Object.entries(req.classes)) {
      if (!(COLUMN_CLASSES as readonly string[]).includes(cls)) {
        throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `classes.${col}: expected one of ${COLUMN_CLASSES.join(', ')}`);
      }
    }
    if (req.unitColumn !== null && !names.includes(req.unitColumn)) {
      throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `unitColumn: the file has no column ${req.unitColumn}`);
    }
    const tmp = engine.store.tmpPath('parquet');
    await duck.conn.run(`COPY (SELECT * FROM ${source}) TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    const rows = Number((await queryRows<{ n: bigint }>(duck.conn, `SELECT count(*) AS n FROM read_parquet(${quoteLiteral(tmp)})`))[0]?.n ?? 0);
    const stored = await engine.store.commit(tmp, 'raw');
    const info: DatasetInfo = {
      name: req.name,
      provider: req.provider,
      origin: req.origin,
      artifactHash: stored.hash,
      path: stored.relPath,
      rows,
      columns: described.map((d) => ({ name: d.column_name, type: d.column_type, class: req.classes[d.column_name]! })),
      unitColumn: req.unitColumn,
    };
    await engine.cp.recordArtifact({
      hash: stored.hash, zone: 'raw', path: stored.relPath, kind: 'table', rows, columns: info.columns.map((c) => ({ ...c, label: 'raw' as const })), frozen: true,
      lineage: { inputs: [], step: 'register', parameters: { dataset: req.name, provider: req.provider, origin: req.origin }, codeVersion: codeVersion() },
    });
    await engine.cp.registerDataset(info, by);
    return info;
  } finally {
    duck.close();
  }
}
