import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../lib/errors.js';

/** One database session (not a pool): the migration lock is held by the session. */
export interface MigrationSession {
  kind: 'postgres' | 'pglite';
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
}

/** One migration file: `NNN_name.sql` in domain/migrations/. */
export interface Migration {
  name: string;
  sql: string;
  /** sha256 hex of the file's text; an applied migration whose file changed is refused. */
  checksum: string;
}

/** The folder holding the SQL migrations. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** The migrations in domain/migrations/, in file-name order. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Brings the schema up to date on one session: creates `schema` and the
 * `sluice_migrations` table when missing, then applies each migration not yet
 * recorded, each in its own transaction together with its record.
 *
 * All of it runs under a session advisory lock keyed on the schema, so two
 * processes opening the same PostgreSQL database at once apply each file once
 * (the second waits, then finds nothing to do). Returns the names applied.
 *
 * Errors: SLUICE_ERR_STORE_CORRUPT when an applied migration's file changed.
 */
export async function runMigrations(session: MigrationSession, schema: string, migrations: Migration[] = loadMigrations()): Promise<string[]> {
  const key = lockKeyFor(`sluice.migrate:${schema}`);
  await session.query('SELECT pg_advisory_lock($1::bigint)', [key]);
  try {
    // CREATE SCHEMA IF NOT EXISTS still races on the catalogue; the lock covers it.
    await session.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await session.query(`CREATE TABLE IF NOT EXISTS "${schema}".sluice_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await session.query(`SELECT name, checksum FROM "${schema}".sluice_migrations`);
    const applied = new Map(rows.map((r) => [String(r['name']), String(r['checksum'])]));
    const done: string[] = [];
    for (const m of migrations) {
      const had = applied.get(m.name);
      if (had !== undefined) {
        if (had !== m.checksum) {
          throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', `migration ${m.name} was applied with checksum ${had.slice(0, 12)} but the file now has ${m.checksum.slice(0, 12)}; add a new migration instead of editing an applied one`);
        }
        continue;
      }
      await session.query('BEGIN');
      try {
        await session.query(`SET LOCAL search_path TO "${schema}"`);
        await session.exec(m.sql);
        await session.query(`INSERT INTO "${schema}".sluice_migrations (name, checksum) VALUES ($1, $2)`, [m.name, m.checksum]);
        await session.query('COMMIT');
      } catch (e) {
        await session.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
      done.push(m.name);
    }
    return done;
  } finally {
    await session.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
  }
}

function lockKeyFor(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}
