import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError, isSluiceError } from '../../lib/errors.js';
import { ControlPlane } from '../../domain/control-plane.js';
import { openDb } from '../../domain/db.js';
import { CHECKPOINT_RECREATED_ACTION, GENESIS_HASH, KEYED_CHAIN_ACTION, appendAuditLog, verifyAuditLog, type AuditLogVerification } from '../../domain/audit-log.js';
import { buildReport } from '../../audit/report.js';
import { loadOrCreateDomainKey, signReport, verifyReport } from '../../audit/sign.js';
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

/** Sorted-key JSON, written independently of the implementation to check its MACs. */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

interface RawRow {
  seq: string | number;
  at: Date;
  actor: string;
  action: string;
  subject: string;
  details: unknown;
  prev_hash: string;
  hash: string;
}

const bodyOf = (r: { seq: number; at: Date; actor: string; action: string; subject: string; details: unknown }) =>
  canon({ seq: r.seq, at: r.at.toISOString(), actor: r.actor, action: r.action, subject: r.subject, details: r.details });

/** The unkeyed algorithm the old documentation gave: what a forger without the key can compute. */
const oldHash = (prev: string, r: RawRow, seq = Number(r.seq)) => createHash('sha256').update(prev + bodyOf({ ...r, seq })).digest('hex');

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

describe.each([['pglite' as const], ['postgres' as const]])('audit log on %s', (name) => {
  const schema = `sluice_audit_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const root = mkdtempSync(join(tmpdir(), 'sluice-audit-log-'));
  const keysDir = join(root, 'keys');
  const checkpointFile = join(keysDir, name === 'pglite' ? 'audit-log-head.json' : `audit-log-head.${schema}.json`);
  const open = () => (name === 'pglite' ? ControlPlane.open({ dataRoot: root }) : ControlPlane.open({ databaseUrl: PG_URL, schema, dataRoot: root }));
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await open();
  });
  afterAll(async () => {
    await cp?.close();
    if (name === 'postgres') await dropSchema(schema);
    rmSync(root, { recursive: true, force: true });
  });

  const rawRows = () => cp.db.query<RawRow>('SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY seq');
  const setTriggers = (on: boolean) => cp.db.exec(`ALTER TABLE audit_log ${on ? 'ENABLE' : 'DISABLE'} TRIGGER USER`);
  const auditKey = () => Buffer.from(readFileSync(join(keysDir, 'audit-log.key'), 'utf8').trim(), 'base64');
  const rowMac = (prev: string, r: RawRow, seq = Number(r.seq)) =>
    createHmac('sha256', Buffer.from(hkdfSync('sha256', auditKey(), 'sluice.audit-log.v2', 'row', 32)))
      .update(`sluice.audit-log.row.v2\n${prev}\n${bodyOf({ ...r, seq })}`)
      .digest('hex');
  const insertRows = async (rows: RawRow[]) => {
    for (const r of rows) {
      await cp.db.query(
        'INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)',
        [Number(r.seq), r.at.toISOString(), r.actor, r.action, r.subject, JSON.stringify(r.details), r.prev_hash, r.hash],
      );
    }
  };

  /**
   * Tampers with the log as a database superuser would (the append-only
   * trigger disabled first), returns what verify said, then puts back the exact
   * rows. The caller asserts the untouched log verifies again: the negative control.
   */
  async function forged(tamper: (rows: RawRow[]) => Promise<void>): Promise<AuditLogVerification> {
    const snapshot = await rawRows();
    await setTriggers(false);
    try {
      await tamper(snapshot);
      return await cp.verifyAuditLog();
    } finally {
      await cp.db.exec('DELETE FROM audit_log');
      await insertRows(snapshot);
      await setTriggers(true);
    }
  }

  /** The reason names rows by seq: no actor, subject, details value or MAC from a row. */
  function expectNoRowValues(v: AuditLogVerification, rows: RawRow[]): void {
    const text = JSON.stringify({ reason: v.reason, problem: v.problem });
    for (const r of rows) {
      for (const s of [r.actor, r.subject, r.hash, r.prev_hash, JSON.stringify(r.details)]) {
        if (s.length >= 4 && s !== '{}') expect(text).not.toContain(s);
      }
    }
  }

  it('an empty log verifies against a checkpoint at 0; the key stays in keys/ (0600), out of the database', async () => {
    expect(await cp.verifyAuditLog()).toEqual({ ok: true, rows: 0, firstBadSeq: null, head: null, checkpointSeq: 0 });
    expect(await cp.auditLogHead()).toBeNull();
    expect(statSync(join(keysDir, 'audit-log.key')).mode & 0o077).toBe(0);
    expect(existsSync(checkpointFile)).toBe(true);
    expect(auditKey()).toHaveLength(32);
  });

  it('appends a chain whose MACs recompute with the key, not by the unkeyed algorithm', async () => {
    const first = await cp.log({ actor: 'usr_1', action: 'run.submit', subject: 'run-1', details: { specHash: 'abc', steps: 3 } });
    expect(first.seq).toBe(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(first.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Key order of details must not matter: jsonb reorders keys.
    await cp.log({ actor: 'usr_2', action: 'review.view', subject: 'rpt_1', details: { zeta: 1, alpha: { b: [1, 2.5, null], a: true } } });
    for (let i = 0; i < 8; i++) await cp.log({ actor: 'system', action: 'step.done', subject: `run-1/step-${i}`, details: { rows: i * 1000 } });
    // undefined fields are dropped before hashing, as JSON would.
    await cp.log({ actor: 'system', action: 'run.finish', subject: 'run-1', details: { note: undefined, rows: 10 } });

    const rows = await rawRows();
    expect(rows).toHaveLength(11);
    let prev = GENESIS_HASH;
    rows.forEach((r, i) => {
      expect(Number(r.seq)).toBe(i + 1);
      expect(r.prev_hash).toBe(prev);
      expect(r.hash).toBe(rowMac(prev, r));
      expect(r.hash).not.toBe(oldHash(prev, r));
      prev = r.hash;
    });
    expect(await cp.verifyAuditLog()).toEqual({ ok: true, rows: 11, firstBadSeq: null, head: { seq: 11, mac: prev }, checkpointSeq: 11 });
    expect(await cp.auditLogHead()).toEqual({ seq: 11, mac: prev });
    expect(JSON.parse(readFileSync(checkpointFile, 'utf8'))).toMatchObject({ seq: 11, mac: prev, keyedFrom: 1 });
    expect((await cp.listAuditLog({ subject: 'run-1' })).map((e) => e.action)).toEqual(['run.submit', 'run.finish']);
    expect((await cp.listAuditLog({ afterSeq: 9 })).map((e) => e.seq)).toEqual([10, 11]);
    // The key is in neither the database nor the checkpoint.
    const key = auditKey();
    const everything = JSON.stringify(rows) + readFileSync(checkpointFile, 'utf8');
    for (const enc of [key.toString('base64'), key.toString('hex')]) expect(everything).not.toContain(enc);
  });

  it('refuses an entry without actor, action or subject, and an append or verify through a handle without the key', async () => {
    expect((await sluiceError(cp.log({ actor: '', action: 'x', subject: 's' }))).message).toContain('actor');
    expect((await sluiceError(cp.log({ actor: 'a', action: 'x', subject: 's', details: [] as unknown as Record<string, unknown> }))).code).toBe('SLUICE_ERR_INPUT_INVALID');
    const bare = await openDb({});
    try {
      expect((await sluiceError(appendAuditLog(bare, { actor: 'a', action: 'x', subject: 's' }))).code).toBe('SLUICE_ERR_INTERNAL');
      expect((await sluiceError(verifyAuditLog(bare))).code).toBe('SLUICE_ERR_INTERNAL');
    } finally {
      await bare.close();
    }
    expect((await cp.verifyAuditLog()).rows).toBe(11);
  });

  it('the database refuses UPDATE, DELETE and TRUNCATE on the log', async () => {
    for (const sql of ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", 'DELETE FROM audit_log WHERE seq = 3', 'TRUNCATE audit_log']) {
      const e = await sluiceError(cp.db.exec(sql));
      expect(e.code).toBe('SLUICE_ERR_CONFLICT');
      expect(e.message).toContain('append-only');
    }
    expect(await cp.verifyAuditLog()).toMatchObject({ ok: true, rows: 11, firstBadSeq: null });
  });

  it('an edit made with the trigger disabled is found at that row; undoing it verifies again', async () => {
    const before = (await rawRows())[4];
    expect(before).toBeDefined();
    await setTriggers(false);
    try {
      await cp.db.query(`UPDATE audit_log SET details = $1::jsonb WHERE seq = 5`, [JSON.stringify({ rows: 999_999 })]);
      const v = await cp.verifyAuditLog();
      expect(v).toMatchObject({ ok: false, firstBadSeq: 5, problem: 'mac-mismatch' });
      expect(v.reason).toContain('row 5');
      expect(v.reason).not.toContain('999999');
      // Negative control: restoring the original content makes the chain valid again.
      await cp.db.query(`UPDATE audit_log SET details = $1::jsonb WHERE seq = 5`, [JSON.stringify(before?.details)]);
      expect((await cp.verifyAuditLog()).ok).toBe(true);
      // A one-millisecond change of the time is caught too.
      await cp.db.query(`UPDATE audit_log SET at = at + interval '1 millisecond' WHERE seq = 7`);
      expect(await cp.verifyAuditLog()).toMatchObject({ ok: false, firstBadSeq: 7, problem: 'mac-mismatch' });
      await cp.db.query(`UPDATE audit_log SET at = at - interval '1 millisecond' WHERE seq = 7`);
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    } finally {
      await setTriggers(true);
    }
  });

  it('a row deleted from the middle is found at the row after it; a re-hash by the old algorithm at the row itself', async () => {
    const v = await forged(async () => {
      await cp.db.query('DELETE FROM audit_log WHERE seq = 6');
    });
    expect(v).toMatchObject({ ok: false, firstBadSeq: 7, problem: 'gap' });
    expect(v.reason).toContain('row 6');
    expect((await cp.verifyAuditLog()).ok).toBe(true);

    const w = await forged(async (rows) => {
      // An attacker who also recomputes the edited row's own hash, by the documented unkeyed algorithm.
      const r3 = rows[2] as RawRow;
      const edited = { ...r3, details: { rows: 123_456 } };
      await cp.db.query('UPDATE audit_log SET details = $1::jsonb, hash = $2 WHERE seq = 3', [JSON.stringify(edited.details), oldHash(r3.prev_hash, edited)]);
    });
    expect(w).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'mac-mismatch' });
    expect((await cp.verifyAuditLog()).ok).toBe(true);
  });

  it('concurrent appends keep one unforked chain, and the checkpoint ends at its head', async () => {
    const start = (await cp.verifyAuditLog()).rows;
    const n = 40;
    // On PostgreSQL the second writer is a separate pool (another process, in effect) sharing the data root.
    const other = name === 'postgres' ? await open() : cp;
    try {
      await Promise.all([
        ...Array.from({ length: n }, (_, i) => cp.log({ actor: 'writer-a', action: 'test.append', subject: `a-${i}`, details: { i } })),
        ...Array.from({ length: n }, (_, i) => other.log({ actor: 'writer-b', action: 'test.append', subject: `b-${i}`, details: { i } })),
      ]);
    } finally {
      if (other !== cp) await other.close();
    }
    const v = await cp.verifyAuditLog();
    expect(v).toMatchObject({ ok: true, rows: start + 2 * n, firstBadSeq: null, checkpointSeq: start + 2 * n });
    const rows = await rawRows();
    expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(rows.length);
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    expect(v.head).toEqual({ seq: rows.length, mac: rows[rows.length - 1]?.hash });
  });

  it('governance changes in a caller\'s transaction checkpoint when it commits, and not when it rolls back', async () => {
    const head = (await cp.auditLogHead())!;
    await cp.createUser({ name: 'Auditor', role: 'admin', organization: 'Authority', personId: syntheticResidentId(1) });
    expect(JSON.parse(readFileSync(checkpointFile, 'utf8'))).toMatchObject({ seq: head.seq + 1 });
    await expect(
      cp.db.tx(async (t) => {
        await appendAuditLog(t, { actor: 'system', action: 'test.rolled-back', subject: 'x' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow();
    expect(JSON.parse(readFileSync(checkpointFile, 'utf8'))).toMatchObject({ seq: head.seq + 1 });
    expect(await cp.verifyAuditLog()).toMatchObject({ ok: true, rows: head.seq + 1 });
  });

  describe('forgeries without the key are detected, naming the first bad row', () => {
    beforeAll(async () => {
      // Enough rows that row 78 has a long tail after it.
      const have = (await cp.verifyAuditLog()).rows;
      for (let i = have; i < 120; i++) await cp.log({ actor: 'system', action: 'test.fill', subject: `fill-${i}`, details: { i } });
      expect(await cp.verifyAuditLog()).toMatchObject({ ok: true, rows: Math.max(have, 120) });
    });

    it('edit row 78 and recompute every later hash by the old documented algorithm', async () => {
      let all: RawRow[] = [];
      const v = await forged(async (rows) => {
        all = rows;
        let prev = (rows[76] as RawRow).hash;
        for (const r of rows.slice(77)) {
          const edited = Number(r.seq) === 78 ? { ...r, actor: 'mallory', details: { forged: 'yes' } } : r;
          const h = oldHash(prev, edited);
          await cp.db.query('UPDATE audit_log SET actor = $1, details = $2::jsonb, prev_hash = $3, hash = $4 WHERE seq = $5', [edited.actor, JSON.stringify(edited.details), prev, h, Number(r.seq)]);
          prev = h;
        }
      });
      expect(v).toMatchObject({ ok: false, firstBadSeq: 78, problem: 'mac-mismatch' });
      expect(v.reason).toContain('row 78');
      expect(v.reason).not.toContain('mallory');
      expectNoRowValues(v, all);
      // The same forger re-hashing the whole log from row 1 is caught at row 1.
      const w = await forged(async (rows) => {
        let prev = GENESIS_HASH;
        for (const r of rows) {
          const h = oldHash(prev, r);
          await cp.db.query('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, h, Number(r.seq)]);
          prev = h;
        }
      });
      expect(w).toMatchObject({ ok: false, firstBadSeq: 1, problem: 'mac-mismatch' });
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    });

    it('delete the tail', async () => {
      const last = (await cp.auditLogHead())!.seq;
      const v = await forged(async () => {
        await cp.db.query('DELETE FROM audit_log WHERE seq > $1', [last - 5]);
      });
      expect(v).toMatchObject({ ok: false, firstBadSeq: last - 4, problem: 'missing-tail', checkpointSeq: last });
      expect(v.reason).toContain(`row ${last}`);
      // Only the last row.
      expect(await forged(async () => void (await cp.db.query('DELETE FROM audit_log WHERE seq = $1', [last])))).toMatchObject({ ok: false, firstBadSeq: last, problem: 'missing-tail' });
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    });

    it('delete the tail, then let the service write new rows over it', async () => {
      const last = (await cp.auditLogHead())!.seq;
      const v = await forged(async () => {
        await cp.db.query('DELETE FROM audit_log WHERE seq > $1', [last - 3]);
        await setTriggers(true);
        for (let i = 0; i < 6; i++) await cp.log({ actor: 'system', action: 'test.after-truncation', subject: `t-${i}` });
        await setTriggers(false);
      });
      // The new rows carry valid MACs, but the row the checkpoint recorded is gone, and the checkpoint did not move.
      expect(v).toMatchObject({ ok: false, firstBadSeq: last, problem: 'checkpoint-mismatch', checkpointSeq: last });
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    });

    it('delete every row (DELETE, and TRUNCATE with its trigger disabled)', async () => {
      const last = (await cp.auditLogHead())!.seq;
      expect(await forged(async () => void (await cp.db.exec('DELETE FROM audit_log')))).toEqual({
        ok: false, rows: 0, firstBadSeq: 1, problem: 'empty-log', checkpointSeq: last,
        reason: `the log is empty but the checkpoint outside the database records ${last} rows: every row was deleted`,
      });
      expect(await forged(async () => void (await cp.db.exec('TRUNCATE audit_log')))).toMatchObject({ ok: false, firstBadSeq: 1, problem: 'empty-log' });
      // Dropping the table and creating an empty one is the same to verify.
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    });

    it('reorder two rows, by swapping their sequence numbers or their contents', async () => {
      const bySeq = await forged(async () => {
        await cp.db.exec('UPDATE audit_log SET seq = -41 WHERE seq = 41');
        await cp.db.exec('UPDATE audit_log SET seq = 41 WHERE seq = 40');
        await cp.db.exec('UPDATE audit_log SET seq = 40 WHERE seq = -41');
      });
      expect(bySeq).toMatchObject({ ok: false, firstBadSeq: 40, problem: 'out-of-order' });
      expect(bySeq.reason).toContain('row 41');
      const byContent = await forged(async (rows) => {
        const a = rows[29] as RawRow;
        const b = rows[49] as RawRow;
        const set = 'UPDATE audit_log SET at = $1, actor = $2, action = $3, subject = $4, details = $5::jsonb, prev_hash = $6, hash = $7 WHERE seq = $8';
        await cp.db.query("UPDATE audit_log SET hash = repeat('f', 64) WHERE seq = 50");
        await cp.db.query(set, [b.at.toISOString(), b.actor, b.action, b.subject, JSON.stringify(b.details), b.prev_hash, b.hash, 30]);
        await cp.db.query(set, [a.at.toISOString(), a.actor, a.action, a.subject, JSON.stringify(a.details), a.prev_hash, a.hash, 50]);
      });
      expect(byContent).toMatchObject({ ok: false, firstBadSeq: 30, problem: 'out-of-order' });
      expect(byContent.reason).toContain('row 50');
      // Swapping and re-hashing both by the old algorithm is a MAC mismatch at the first.
      const rehashed = await forged(async (rows) => {
        await cp.db.exec('UPDATE audit_log SET seq = -61 WHERE seq = 61');
        await cp.db.exec('UPDATE audit_log SET seq = 61 WHERE seq = 60');
        await cp.db.exec('UPDATE audit_log SET seq = 60 WHERE seq = -61');
        let prev = (rows[58] as RawRow).hash;
        for (const s of [60, 61]) {
          const r = (await rawRows()).find((x) => Number(x.seq) === s) as RawRow;
          const h = oldHash(prev, r);
          await cp.db.query('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, h, s]);
          prev = h;
        }
      });
      expect(rehashed).toMatchObject({ ok: false, firstBadSeq: 60, problem: 'mac-mismatch' });
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    });

    it('a checkpoint edited without the key, or removed, fails verification', async () => {
      const text = readFileSync(checkpointFile, 'utf8');
      const cpJson = JSON.parse(text) as Record<string, unknown>;
      try {
        // Moving the checkpoint back to hide a deleted tail needs its MAC.
        writeFileSync(checkpointFile, JSON.stringify({ ...cpJson, seq: 5 }));
        expect(await cp.verifyAuditLog()).toMatchObject({ ok: false, firstBadSeq: null, problem: 'checkpoint-invalid' });
        rmSync(checkpointFile);
        expect(await cp.verifyAuditLog()).toMatchObject({ ok: false, firstBadSeq: null, problem: 'checkpoint-missing' });
      } finally {
        writeFileSync(checkpointFile, text);
      }
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    });
  });

  it('a signed report carries the head it was written under; changing it breaks the signature', async () => {
    const head = await cp.auditLogHead();
    expect(head).not.toBeNull();
    const report = buildReport({
      subject: { kind: 'table', artifactHash: 'a'.repeat(64), recipeHash: 'b'.repeat(64), runId: 'run-1', outputId: 'out', inputs: [] },
      thresholds: {},
      checks: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      auditLogHead: head,
    });
    expect(report.auditLogHead).toEqual(head);
    const key = loadOrCreateDomainKey(keysDir);
    const signature = signReport(report, key);
    expect(verifyReport(report, signature, key.publicKey)).toBe(true);
    expect(verifyReport({ ...report, auditLogHead: { seq: head!.seq - 1, mac: head!.mac } }, signature, key.publicKey)).toBe(false);
  });

  it('a checkpoint lost with the log intact is re-established at the next open, and says so in the log', async () => {
    await cp.close();
    rmSync(checkpointFile);
    cp = await open();
    const rows = await rawRows();
    const last = rows[rows.length - 1] as RawRow;
    expect(last.action).toBe(CHECKPOINT_RECREATED_ACTION);
    expect(await cp.verifyAuditLog()).toMatchObject({ ok: true, rows: rows.length, checkpointSeq: rows.length });
  });
});

describe.each([['pglite' as const], ['postgres' as const]])('a log written before the key (unkeyed chain) on %s', (name) => {
  const schema = `sluice_audit_legacy_${process.pid}_${randomBytes(4).toString('hex')}`;
  const root = mkdtempSync(join(tmpdir(), 'sluice-audit-legacy-'));
  const dbOptions = name === 'pglite' ? { dataRoot: root } : { databaseUrl: PG_URL, schema, dataRoot: root };
  let cp: ControlPlane;

  afterAll(async () => {
    await cp?.close();
    if (name === 'postgres') await dropSchema(schema);
    rmSync(root, { recursive: true, force: true });
  });

  it('is kept: the first open with the key starts the keyed chain with a row recording the old head', async () => {
    // Write 12 rows as the old code did, with no key anywhere.
    const db = await openDb(dbOptions);
    let prev = GENESIS_HASH;
    try {
      for (let seq = 1; seq <= 12; seq++) {
        const r: RawRow = { seq, at: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)), actor: 'usr_old', action: 'old.action', subject: `s-${seq}`, details: { n: seq }, prev_hash: prev, hash: '' };
        r.hash = oldHash(prev, r);
        await db.query('INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)', [
          seq, r.at.toISOString(), r.actor, r.action, r.subject, JSON.stringify(r.details), r.prev_hash, r.hash,
        ]);
        prev = r.hash;
      }
    } finally {
      await db.close();
    }
    cp = await ControlPlane.open(dbOptions);
    const genesis = (await cp.listAuditLog({ afterSeq: 12 }))[0];
    expect(genesis).toMatchObject({ seq: 13, action: KEYED_CHAIN_ACTION, prevHash: prev, details: { legacyRows: 12, legacyHead: prev } });
    await cp.log({ actor: 'usr_new', action: 'new.action', subject: 's-14' });
    expect(await cp.verifyAuditLog()).toMatchObject({ ok: true, rows: 14, checkpointSeq: 14 });
  });

  it('an unkeyed row edited is found at that row; edited and re-hashed, at the row that recorded their head', async () => {
    const rows = await cp.db.query<RawRow>('SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY seq');
    await cp.db.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
    try {
      await cp.db.query(`UPDATE audit_log SET details = '{"n": 99}'::jsonb WHERE seq = 4`);
      expect(await cp.verifyAuditLog()).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'legacy-hash-mismatch' });
      let prev = (rows[2] as RawRow).hash;
      for (const r of rows.slice(3, 12)) {
        const edited = Number(r.seq) === 4 ? { ...r, details: { n: 99 } } : r;
        const h = oldHash(prev, edited);
        await cp.db.query('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, h, Number(r.seq)]);
        prev = h;
      }
      expect(await cp.verifyAuditLog()).toMatchObject({ ok: false, firstBadSeq: 13, problem: 'legacy-head-mismatch' });
      // Deleting the keyed rows to pass the log off as an unkeyed one is a missing tail.
      await cp.db.exec('DELETE FROM audit_log WHERE seq >= 13');
      expect(await cp.verifyAuditLog()).toMatchObject({ ok: false, problem: 'missing-tail' });
    } finally {
      await cp.db.exec('DELETE FROM audit_log');
      for (const r of rows) {
        await cp.db.query('INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)', [
          Number(r.seq), r.at.toISOString(), r.actor, r.action, r.subject, JSON.stringify(r.details), r.prev_hash, r.hash,
        ]);
      }
      await cp.db.exec('ALTER TABLE audit_log ENABLE TRIGGER USER');
    }
    expect((await cp.verifyAuditLog()).ok).toBe(true);
  });
});
