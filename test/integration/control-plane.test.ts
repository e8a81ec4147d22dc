import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError, isSluiceError } from '../../lib/errors.js';
import { ControlPlane } from '../../domain/control-plane.js';
import { openControlPlane } from '../../pipeline/engine.js';
import { openDb } from '../../domain/db.js';
import { loadMigrations } from '../../domain/migrate.js';
import type { Agreement } from '../../domain/types.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const PG_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function sluiceError(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    if (isSluiceError(e)) return e;
    throw e;
  }
  throw new Error('expected a SluiceError, but the call succeeded');
}

/** Runs `fn` with env vars set (or removed when undefined), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

interface Backend {
  name: 'pglite' | 'postgres';
  /** The data root handed to openControlPlane. */
  dataRoot: string;
  /** Opens (through openControlPlane, which reads the environment) the backend's one database for this file. */
  open(): Promise<ControlPlane>;
  /** Opens another handle on the same database (PostgreSQL only). */
  openAnother(): Promise<ControlPlane>;
  cleanup(): Promise<void>;
}

function pgliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cp-'));
  return {
    name: 'pglite',
    dataRoot: dir,
    open: () => withEnv({ DATABASE_URL: undefined, SLUICE_DB_SCHEMA: undefined }, async () => (await openControlPlane({ dataRoot: dir })).cp),
    openAnother: () => ControlPlane.open({ dataRoot: dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresBackend(): Backend {
  const schema = `sluice_cp_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cp-'));
  return {
    name: 'postgres',
    dataRoot: dir,
    open: () => withEnv({ DATABASE_URL: PG_URL, SLUICE_DB_SCHEMA: schema }, async () => (await openControlPlane({ dataRoot: dir })).cp),
    openAnother: () => ControlPlane.open({ databaseUrl: PG_URL, schema }),
    cleanup: async () => {
      await dropSchema(schema);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

function agreement(id: string, over: Partial<Agreement> = {}): Agreement {
  return {
    id,
    scenario: 'county employment statistics',
    operator: 'Operator Co',
    purpose: 'aggregate statistics',
    useClass: 'public-interest',
    grants: [{ dataset: 'adult', columns: [{ name: 'age', treatment: 'generalize', level: 'band10' }, { name: 'sex', treatment: 'none' }] }],
    validFrom: '2024-01-01',
    validTo: '2026-12-31',
    status: 'active',
    ...over,
  };
}

describe.each([['pglite' as const], ['postgres' as const]])('control plane on %s', (name) => {
  const backend = name === 'pglite' ? pgliteBackend() : postgresBackend();
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await backend.open();
  });
  afterAll(async () => {
    await cp?.close();
    await backend.cleanup();
  });

  it('opens the backend it was asked for, with every migration applied once', async () => {
    expect(cp.db.kind).toBe(name);
    const rows = await cp.db.query<{ name: string }>('SELECT name FROM sluice_migrations ORDER BY name');
    expect(rows.map((r) => r.name)).toEqual(loadMigrations().map((m) => m.name));
    // PGlite lives under <dataRoot>/control-plane; with DATABASE_URL nothing is written there.
    expect(existsSync(join(backend.dataRoot, 'control-plane', 'PG_VERSION'))).toBe(name === 'pglite');
    expect(existsSync(join(backend.dataRoot, 'control-plane.lock'))).toBe(name === 'pglite');
  });

  it('migrations are idempotent: reopening keeps the data and applies nothing again', async () => {
    const { user } = await cp.createUser({ name: 'Persisted', role: 'admin', organization: 'Authority', personId: syntheticResidentId(1) });
    await cp.close();
    const lock = join(backend.dataRoot, 'control-plane.lock');
    expect(existsSync(lock)).toBe(false);
    if (name === 'pglite') {
      // Another live process holding the directory is refused before PGlite starts...
      writeFileSync(lock, String(process.ppid));
      const e = await sluiceError(backend.open());
      expect(e.code).toBe('SLUICE_ERR_CONFLICT');
      expect(e.message).toContain(String(process.ppid));
      // ...while a lock left by a process that died is taken over.
      writeFileSync(lock, String(spawnSync(process.execPath, ['-e', '']).pid));
    }
    cp = await backend.open();
    const rows = await cp.db.query<{ name: string }>('SELECT name FROM sluice_migrations');
    expect(rows).toHaveLength(loadMigrations().length);
    expect((await cp.getUser(user.id))?.name).toBe('Persisted');
    expect((await cp.verifyAuditLog()).ok).toBe(true);
  });

  if (name === 'pglite') {
    it('refuses a second open of the same PGlite directory while it is open', async () => {
      const e = await sluiceError(backend.openAnother());
      expect(e.code).toBe('SLUICE_ERR_CONFLICT');
      // The first handle still works.
      expect(Array.isArray(await cp.listUsers())).toBe(true);
    });
  } else {
    it('two processes opening a fresh schema at once apply each migration once', async () => {
      const schema = `sluice_cp_race_${process.pid}_${randomBytes(4).toString('hex')}`;
      try {
        const [a, b] = await Promise.all([
          ControlPlane.open({ databaseUrl: PG_URL, schema }),
          ControlPlane.open({ databaseUrl: PG_URL, schema }),
        ]);
        const rows = await a.db.query<{ name: string; n: string }>('SELECT name, count(*)::text AS n FROM sluice_migrations GROUP BY name');
        expect(rows).toHaveLength(loadMigrations().length);
        expect(rows.every((r) => r.n === '1')).toBe(true);
        await b.createUser({ name: 'B', role: 'operator', organization: 'O', personId: syntheticResidentId(2) });
        expect(await a.listUsers()).toHaveLength(1);
        await Promise.all([a.close(), b.close()]);
      } finally {
        await dropSchema(schema);
      }
    });
  }

  describe('tokens', () => {
    it('authenticates the returned token and nothing else', async () => {
      const { user, token } = await cp.createUser({ name: 'Wang Fang', role: 'operator', organization: 'Operator Co', personId: syntheticResidentId(3) });
      expect(token).toMatch(/^slc_[A-Za-z0-9_-]{43}$/);
      expect(await cp.authenticate(token)).toEqual({ id: user.id, name: 'Wang Fang', role: 'operator', organization: 'Operator Co' });
      // Negative controls: another valid-looking token, a one-character change, junk.
      expect(await cp.authenticate('slc_' + randomBytes(32).toString('base64url'))).toBeNull();
      const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      expect(await cp.authenticate(flipped)).toBeNull();
      expect(await cp.authenticate('')).toBeNull();
      expect(await cp.authenticate(hash(token))).toBeNull();
    });

    it('stores only the sha256 of the token: the token appears in no column of any table', async () => {
      const { user, token } = await cp.createUser({ name: 'Li Lei', role: 'reviewer', organization: 'Authority', personId: syntheticResidentId(4) });
      const tables = await cp.db.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
        [cp.db.schema],
      );
      expect(tables.length).toBeGreaterThanOrEqual(11);
      const secret = token.slice(4);
      let scanned = 0;
      for (const { table_name } of tables) {
        const rows = await cp.db.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM "${table_name}" t`);
        for (const r of rows) {
          scanned++;
          expect(r.j.includes(secret)).toBe(false);
        }
      }
      expect(scanned).toBeGreaterThan(0);
      // Positive control: the hash is there, so the scan would have seen the column.
      const stored = await cp.db.query<{ token_hash: string }>('SELECT token_hash FROM users WHERE id = $1', [user.id]);
      expect(stored[0]?.token_hash).toBe(hash(token));
    });

    it('a disabled user cannot authenticate; re-enabled can', async () => {
      const admin = await cp.createUser({ name: 'Admin', role: 'admin', organization: 'Authority', personId: syntheticResidentId(5) });
      const { user, token } = await cp.createUser({ name: 'Zhao', role: 'operator', organization: 'Operator Co', personId: syntheticResidentId(6) });
      expect(await cp.setUserDisabled(user.id, true, admin.user.id)).toBe(true);
      expect(await cp.authenticate(token)).toBeNull();
      expect((await cp.getUser(user.id))?.disabled).toBe(true);
      await cp.setUserDisabled(user.id, false, admin.user.id);
      expect((await cp.authenticate(token))?.id).toBe(user.id);
      expect(await cp.setUserDisabled('usr_missing', true, admin.user.id)).toBe(false);
    });

    it('rejects a bad role, naming the field', async () => {
      const e = await sluiceError(cp.createUser({ name: 'X', role: 'root' as 'admin', organization: 'O', personId: syntheticResidentId(7) }));
      expect(e.code).toBe('SLUICE_ERR_INPUT_INVALID');
      expect(e.message).toContain('user.role');
    });
  });

  describe('datasets', () => {
    const info = {
      name: 'adult',
      provider: 'Census Bureau',
      origin: 'public' as const,
      artifactHash: hash('adult-v1'),
      path: `raw/${hash('adult-v1')}.parquet`,
      rows: 30_162,
      columns: [
        { name: 'age', type: 'BIGINT', class: 'quasi-identifier' as const },
        { name: 'sex', type: 'VARCHAR', class: 'quasi-identifier' as const },
        { name: 'salary-class', type: 'VARCHAR', class: 'sensitive' as const },
      ],
      unitColumn: null,
    };

    it('registers, reads back exactly, and re-registers a new version', async () => {
      const rec = await cp.registerDataset(info, 'provider-1');
      expect(rec).toMatchObject({ ...info, registeredBy: 'provider-1' });
      expect(typeof rec.rows).toBe('number');
      expect(await cp.getDataset('adult')).toEqual(rec);
      const again = await cp.registerDataset(info, 'provider-1');
      expect(again.registeredAt).toBe(rec.registeredAt);
      const v2 = await cp.registerDataset({ ...info, artifactHash: hash('adult-v2'), rows: 30_000 }, 'provider-1');
      expect(v2.artifactHash).toBe(hash('adult-v2'));
      expect((await cp.listDatasets()).map((d) => d.name)).toEqual(['adult']);
      const logged = await cp.listAuditLog({ subject: 'adult', action: 'dataset.register' });
      expect(logged).toHaveLength(2);
    });

    it('rejects a unit column that is not a column', async () => {
      const e = await sluiceError(cp.registerDataset({ ...info, name: 'other', unitColumn: 'nope' }, 'p'));
      expect(e.message).toContain('dataset.unitColumn');
    });
  });

  describe('agreements', () => {
    it('stores an agreement and reads the dates back unshifted', async () => {
      const a = await cp.createAgreement(agreement('ag-store'));
      expect(a).toMatchObject(agreement('ag-store'));
      expect(await cp.getAgreement('ag-store')).toEqual(a);
      expect((await cp.listAgreements()).some((x) => x.id === 'ag-store')).toBe(true);
    });

    it('a term of exactly 3 years is accepted; one day more is refused naming validTo (§3.9)', async () => {
      await cp.createAgreement(agreement('ag-3y', { validFrom: '2024-03-01', validTo: '2027-02-28' }));
      const e = await sluiceError(cp.createAgreement(agreement('ag-3y1d', { validFrom: '2024-03-01', validTo: '2027-03-01' })));
      expect(e.code).toBe('SLUICE_ERR_INPUT_INVALID');
      expect(e.message).toContain('agreement.validTo');
      expect(e.message).toContain('3 years');
      expect(await cp.getAgreement('ag-3y1d')).toBeNull();
    });

    it('the database refuses a longer term even when the code is bypassed', async () => {
      const e = await sluiceError(
        cp.db.query(
          `INSERT INTO agreements (id, scenario, operator, purpose, use_class, grants, valid_from, valid_to, status)
           VALUES ('ag-raw', 's', 'o', 'p', 'industry', '[{"dataset":"adult","columns":[]}]'::jsonb, '2024-01-01', '2028-01-01', 'active')`,
        ),
      );
      expect(e.code).toBe('SLUICE_ERR_INPUT_INVALID');
      expect(e.message).toContain('agreements_term_max_3_years');
    });

    it('refuses validTo before validFrom, empty grants, a bad date, and a duplicate id', async () => {
      const order = await sluiceError(cp.createAgreement(agreement('ag-bad1', { validFrom: '2025-01-02', validTo: '2025-01-01' })));
      expect(order.message).toContain('agreement.validTo');
      const grants = await sluiceError(cp.createAgreement(agreement('ag-bad2', { grants: [] })));
      expect(grants.message).toContain('agreement.grants');
      const date = await sluiceError(cp.createAgreement(agreement('ag-bad3', { validFrom: '2025-02-30' })));
      expect(date.message).toContain('agreement.validFrom');
      await cp.createAgreement(agreement('ag-dup'));
      expect((await sluiceError(cp.createAgreement(agreement('ag-dup')))).code).toBe('SLUICE_ERR_CONFLICT');
    });

    it('termination is recorded once and blocks new runs', async () => {
      await cp.createAgreement(agreement('ag-term'));
      const t = await cp.terminateAgreement('ag-term', 'admin-1');
      expect(t.status).toBe('terminated');
      expect(t.terminatedBy).toBe('admin-1');
      const again = await cp.terminateAgreement('ag-term', 'admin-2');
      expect(again.terminatedBy).toBe('admin-1');
      const e = await sluiceError(
        cp.createRun({ id: 'run-after-term', agreementId: 'ag-term', submittedBy: 'u', specName: 's', specHash: 'h', spec: {}, plan: {}, steps: [] }),
      );
      expect(e.code).toBe('SLUICE_ERR_SPEC_SCOPE');
      expect(await cp.getRun('run-after-term')).toBeNull();
      expect((await sluiceError(cp.terminateAgreement('ag-none', 'a'))).code).toBe('SLUICE_ERR_NOT_FOUND');
    });
  });

  describe('runs and steps', () => {
    beforeAll(async () => {
      await cp.createAgreement(agreement('ag-runs'));
    });
    const newRun = (id: string, submittedBy = 'usr_op') => ({
      id,
      agreementId: 'ag-runs',
      submittedBy,
      specName: 'county-stats',
      specHash: hash(id),
      spec: { name: 'county-stats', steps: [{ id: 'extract', kind: 'extract' }] },
      plan: { flow: ['extract', 'aggregate'] },
      steps: [
        { stepId: 'extract', kind: 'extract' },
        { stepId: 'aggregate', kind: 'aggregate' },
      ],
    });

    it('creates a run with its steps in one go, queued and waiting', async () => {
      const run = await cp.createRun(newRun('run-1'));
      expect(run.status).toBe('queued');
      expect(run.spec).toEqual(newRun('run-1').spec);
      expect(run.steps.map((s) => [s.stepId, s.status, s.progress, s.attempts])).toEqual([
        ['extract', 'waiting', 0, 0],
        ['aggregate', 'waiting', 0, 0],
      ]);
      expect((await sluiceError(cp.createRun(newRun('run-1')))).code).toBe('SLUICE_ERR_CONFLICT');
      const dupSteps = { ...newRun('run-dup'), steps: [{ stepId: 'a', kind: 'sql' }, { stepId: 'a', kind: 'sql' }] };
      expect((await sluiceError(cp.createRun(dupSteps))).message).toContain('run.steps.1.stepId');
      expect(await cp.getRun('run-dup')).toBeNull();
      expect((await sluiceError(cp.createRun({ ...newRun('run-x'), agreementId: 'ag-missing' }))).code).toBe('SLUICE_ERR_NOT_FOUND');
    });

    it('walks a run to success with timestamps, progress and attempts', async () => {
      expect(await cp.setRunStatus('run-1', 'running')).toBe(true);
      expect(await cp.setRunStatus('run-1', 'running')).toBe(false);
      expect(await cp.updateStep('run-1', 'extract', { status: 'running', attemptsIncrement: 1 })).toBe(true);
      await cp.updateStep('run-1', 'extract', { progress: 0.5 });
      await cp.updateStep('run-1', 'extract', { status: 'done', artifactHash: hash('x'), rows: 5_000_000_000 });
      const mid = await cp.getRun('run-1');
      const ex = mid?.steps[0];
      expect(mid?.startedAt).not.toBeNull();
      expect(mid?.finishedAt).toBeNull();
      expect(ex).toMatchObject({ status: 'done', progress: 1, attempts: 1, artifactHash: hash('x'), rows: 5_000_000_000 });
      expect(typeof ex?.rows).toBe('number');
      expect(ex?.startedAt).not.toBeNull();
      expect(ex?.finishedAt).not.toBeNull();
      expect((await sluiceError(cp.updateStep('run-1', 'aggregate', { progress: 1.5 }))).message).toContain('step.progress');
      expect((await sluiceError(cp.updateStep('run-1', 'nope', { progress: 0.1 }))).code).toBe('SLUICE_ERR_NOT_FOUND');
      expect(await cp.setRunStatus('run-1', 'succeeded')).toBe(true);
      const done = await cp.getRun('run-1');
      expect(done?.status).toBe('succeeded');
      expect(done?.finishedAt).not.toBeNull();
      expect(Date.parse(done?.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done?.startedAt ?? ''));
    });

    it('terminal states are final: cancelled stays cancelled, and its steps too', async () => {
      await cp.createRun(newRun('run-2'));
      await cp.setRunStatus('run-2', 'running');
      await cp.updateStep('run-2', 'extract', { status: 'running' });
      expect(await cp.setRunStatus('run-2', 'cancelled')).toBe(true);
      for (const next of ['running', 'succeeded', 'failed', 'queued', 'released'] as const) {
        expect(await cp.setRunStatus('run-2', next)).toBe(false);
      }
      const run = await cp.getRun('run-2');
      expect(run?.status).toBe('cancelled');
      expect(run?.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
      // A late worker reporting on a cancelled step changes nothing.
      expect(await cp.updateStep('run-2', 'extract', { status: 'done', progress: 1 })).toBe(false);
      expect((await cp.getRun('run-2'))?.steps[0]?.status).toBe('cancelled');
    });

    it('failed keeps its error; blocked and awaiting-review can still move on', async () => {
      await cp.createRun(newRun('run-3'));
      await cp.setRunStatus('run-3', 'running');
      expect(await cp.setRunStatus('run-3', 'failed', { errorCode: 'SLUICE_ERR_SQL_FAILED', errorMessage: 'step aggregate: column count 0' })).toBe(true);
      expect(await cp.setRunStatus('run-3', 'running')).toBe(false);
      expect(await cp.getRun('run-3')).toMatchObject({ status: 'failed', errorCode: 'SLUICE_ERR_SQL_FAILED' });

      await cp.createRun(newRun('run-4'));
      await cp.setRunStatus('run-4', 'running');
      expect(await cp.setRunStatus('run-4', 'awaiting-review')).toBe(true);
      expect(await cp.setRunStatus('run-4', 'released')).toBe(true);
      expect(await cp.setRunStatus('run-4', 'running')).toBe(false);
      expect((await sluiceError(cp.setRunStatus('run-none', 'running'))).code).toBe('SLUICE_ERR_NOT_FOUND');
    });

    it('lists runs newest first, by submitter, with a limit', async () => {
      await cp.createRun(newRun('run-5', 'usr_other'));
      const mine = await cp.listRuns({ submittedBy: 'usr_op' });
      expect(mine.map((r) => r.id).sort()).toEqual(['run-1', 'run-2', 'run-3', 'run-4']);
      expect((await cp.listRuns({ submittedBy: 'usr_other' })).map((r) => r.id)).toEqual(['run-5']);
      expect(await cp.listRuns({ limit: 2 })).toHaveLength(2);
      expect((await cp.listRuns({ status: 'cancelled' })).map((r) => r.id)).toEqual(['run-2']);
    });
  });

  describe('artifacts and lineage', () => {
    const h1 = hash('artifact-1');
    const h0 = hash('input-0');
    const cols = [{ name: 'age_band', type: 'VARCHAR', class: 'quasi-identifier' as const, label: 'generalized' as const }];
    const art = (zone: 'work' | 'staging', over: Record<string, unknown> = {}) => ({
      hash: h1,
      zone,
      path: `${zone}/${h1}.parquet`,
      kind: 'table' as const,
      rows: 120,
      columns: cols,
      runId: 'run-1',
      stepId: 'aggregate',
      lineage: { inputs: [h0], step: 'aggregate', parameters: { groupBy: ['age_band'] }, codeVersion: 'test-1' },
      ...over,
    });

    it('recording the same artifact twice keeps one row', async () => {
      const a = await cp.recordArtifact(art('work'));
      const b = await cp.recordArtifact(art('work'));
      expect(b).toEqual(a);
      expect(a).toMatchObject({ hash: h1, zone: 'work', rows: 120, columns: cols, frozen: false });
      const n = await cp.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM artifacts WHERE hash = $1`, [h1]);
      expect(n[0]?.n).toBe('1');
    });

    it('the same content in staging is a second, frozen row; lineage is per content', async () => {
      const s = await cp.recordArtifact(art('staging', { lineage: { inputs: [h1], step: 'stage', parameters: {}, codeVersion: 'test-1' } }));
      expect(s.frozen).toBe(true);
      expect((await cp.getArtifact(h1))?.zone).toBe('staging');
      expect((await cp.getArtifact(h1, 'work'))?.frozen).toBe(false);
      expect(await cp.getArtifact(h1, 'release')).toBeNull();
      const lin = await cp.getLineage(h1);
      expect(lin).toMatchObject({ artifactHash: h1, inputs: [h0], step: 'aggregate', parameters: { groupBy: ['age_band'] }, rows: 120, columnCount: 1 });
      await cp.recordArtifact({ hash: h0, zone: 'raw', path: `raw/${h0}.parquet`, kind: 'table', rows: 30_162, columns: [], lineage: { inputs: [], step: 'register', parameters: {}, codeVersion: 'test-1' } });
      expect((await cp.getLineageGraph(h1)).map((l) => l.artifactHash)).toEqual([h1, h0]);
      expect(await cp.listArtifactsForRun('run-1')).toHaveLength(2);
    });

    it('rejects a hash that is not sha256 hex', async () => {
      const e = await sluiceError(cp.recordArtifact(art('work', { hash: 'not-a-hash' })));
      expect(e.message).toContain('artifact.hash');
    });
  });

  describe('reports, reviews and releases', () => {
    const hA = hash('output-v1');
    const hB = hash('output-v2');
    let submitter: string;
    let reviewer: string;
    let operator2: string;

    beforeAll(async () => {
      await cp.createAgreement(agreement('ag-review'));
      submitter = (await cp.createUser({ name: 'Submitter', role: 'operator', organization: 'Operator Co', personId: syntheticResidentId(8) })).user.id;
      reviewer = (await cp.createUser({ name: 'Reviewer', role: 'reviewer', organization: 'Authority', personId: syntheticResidentId(9) })).user.id;
      operator2 = (await cp.createUser({ name: 'Op2', role: 'operator', organization: 'Operator Co', personId: syntheticResidentId(10) })).user.id;
      await cp.createRun({ id: 'run-rev', agreementId: 'ag-review', submittedBy: submitter, specName: 's', specHash: 'h', spec: {}, plan: {}, steps: [] });
    });

    const report = (artifactHash: string, status: 'pass' | 'review' | 'fail') => ({
      artifactHash,
      runId: 'run-rev',
      outputId: 'table1',
      status,
      report: { version: 1, status, checks: [{ id: 'A1', status }] },
      signature: 'sig-' + status,
    });

    it('keeps reports per hash and per run, latest last', async () => {
      const r1 = await cp.saveReport(report(hA, 'fail'));
      const r2 = await cp.saveReport(report(hA, 'review'));
      await cp.saveReport(report(hB, 'pass'));
      expect((await cp.latestReportFor(hA))?.id).toBe(r2);
      expect((await cp.getReport(r1))?.report).toEqual(report(hA, 'fail').report);
      expect((await cp.listReportsForRun('run-rev')).map((r) => r.artifactHash)).toEqual([hA, hA, hB]);
      expect(await cp.latestReportFor(hash('never'))).toBeNull();
    });

    it('an approval binds to the hash it reviewed', async () => {
      const repA = (await cp.latestReportFor(hA))?.id ?? '';
      const id = await cp.addReview({ artifactHash: hA, reportId: repA, reviewerId: reviewer, decision: 'approve', exception: false, reason: '' });
      expect((await cp.listReviews(hA)).map((r) => [r.id, r.decision, r.reviewerId])).toEqual([[id, 'approve', reviewer]]);
      // The changed artifact (hB) has no approval...
      expect(await cp.listReviews(hB)).toEqual([]);
      // ...and an approval of hA's report cannot be filed against hB.
      const e = await sluiceError(cp.addReview({ artifactHash: hB, reportId: repA, reviewerId: reviewer, decision: 'approve', exception: false, reason: '' }));
      expect(e.code).toBe('SLUICE_ERR_REVIEW_REFUSED');
      expect(await cp.listReviews(hB)).toEqual([]);
    });

    it('refuses self-review, non-reviewers, and an exception without a reason', async () => {
      const repA = (await cp.latestReportFor(hA))?.id ?? '';
      const base = { artifactHash: hA, reportId: repA, decision: 'approve' as const, exception: false, reason: '' };
      expect((await sluiceError(cp.addReview({ ...base, reviewerId: operator2 }))).code).toBe('SLUICE_ERR_AUTH_FORBIDDEN');
      const admin = (await cp.createUser({ name: 'Admin who submitted', role: 'admin', organization: 'Authority', personId: syntheticResidentId(11) })).user.id;
      await cp.createRun({ id: 'run-self', agreementId: 'ag-review', submittedBy: admin, specName: 's', specHash: 'h', spec: {}, plan: {}, steps: [] });
      const own = await cp.saveReport({ ...report(hash('self-output'), 'review'), runId: 'run-self' });
      const self = await sluiceError(cp.addReview({ ...base, artifactHash: hash('self-output'), reportId: own, reviewerId: admin }));
      expect(self.code).toBe('SLUICE_ERR_REVIEW_REFUSED');
      const exc = await sluiceError(cp.addReview({ ...base, reviewerId: reviewer, exception: true }));
      expect(exc.message).toContain('review.reason');
      expect((await sluiceError(cp.addReview({ ...base, reviewerId: reviewer, reportId: 'rpt_missing' }))).code).toBe('SLUICE_ERR_NOT_FOUND');
    });

    it('records a release once, even when the release step is retried', async () => {
      const input = { artifactHash: hA, runId: 'run-rev', outputId: 'table1', path: `release/${hA}.csv`, releasedBy: reviewer };
      const a = await cp.createRelease(input);
      const b = await cp.createRelease(input);
      expect(b).toEqual(a);
      expect(await cp.getRelease(a.id)).toEqual(a);
      expect(await cp.listReleases({ runId: 'run-rev' })).toEqual([a]);
      expect((await cp.listReleases()).length).toBeGreaterThanOrEqual(1);
      expect(await cp.listAuditLog({ action: 'release.create', subject: hA })).toHaveLength(1);
    });
  });

  it('driver errors never quote the value that caused them', async () => {
    const secret = 'VALUE-3.14-secret-xyz';
    const bad = await sluiceError(cp.db.query('SELECT $1::integer AS n', [secret]));
    expect(bad.code).toBe('SLUICE_ERR_INPUT_INVALID');
    expect(JSON.stringify({ m: bad.message, d: bad.details })).not.toContain(secret);
    await cp.db.query(`INSERT INTO releases (id, artifact_hash, run_id, output_id, path, released_by) VALUES ($1, 'h', 'r', 'o', 'p', 'b')`, [secret]);
    const dup = await sluiceError(cp.db.query(`INSERT INTO releases (id, artifact_hash, run_id, output_id, path, released_by) VALUES ($1, 'h2', 'r', 'o', 'p', 'b')`, [secret]));
    expect(dup.code).toBe('SLUICE_ERR_CONFLICT');
    expect(dup.message).toContain('releases_pkey');
    expect(JSON.stringify({ m: dup.message, d: dup.details })).not.toContain(secret);
  });

  it('every governance change above is in a valid audit log', async () => {
    const v = await cp.verifyAuditLog();
    expect(v).toMatchObject({ ok: true, rows: v.rows, firstBadSeq: null });
    const actions = new Set((await cp.listAuditLog({ limit: 10_000 })).map((e) => e.action));
    for (const a of ['user.create', 'dataset.register', 'agreement.create', 'agreement.terminate', 'run.create', 'report.save', 'review.add', 'release.create']) {
      expect(actions.has(a)).toBe(true);
    }
  });
});

describe('opening', () => {
  it('an unreachable PostgreSQL is SLUICE_ERR_DB_UNAVAILABLE naming the host, never the password', async () => {
    const e = await sluiceError(openDb({ databaseUrl: 'postgres://postgres:hunter2-pw@127.0.0.1:1/sluice', connectTimeoutMs: 3000 }));
    expect(e.code).toBe('SLUICE_ERR_DB_UNAVAILABLE');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('127.0.0.1:1/sluice');
    expect(JSON.stringify(e.toJSON())).not.toContain('hunter2');
  });

  it('a missing database is SLUICE_ERR_DB_UNAVAILABLE and not retryable', async () => {
    const u = new URL(PG_URL);
    u.pathname = `/sluice_missing_${randomBytes(4).toString('hex')}`;
    const e = await sluiceError(openDb({ databaseUrl: u.toString() }));
    expect(e.code).toBe('SLUICE_ERR_DB_UNAVAILABLE');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('does not exist');
  });

  it('refuses a schema name that is not an identifier', async () => {
    const e = await sluiceError(openDb({ databaseUrl: PG_URL, schema: 'x"; DROP TABLE users; --' }));
    expect(e.code).toBe('SLUICE_ERR_INPUT_INVALID');
    expect(e.message).toContain('options.schema');
  });
});
