import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError, isSluiceError } from '../../lib/errors.js';
import { ControlPlane } from '../../domain/control-plane.js';
import { GENESIS_HASH } from '../../domain/audit-log.js';

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

/** Sorted-key JSON, written independently of the implementation to check its hashes. */
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

describe.each([['pglite' as const], ['postgres' as const]])('audit log on %s', (name) => {
  const schema = `sluice_audit_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const open = () => (name === 'pglite' ? ControlPlane.open({}) : ControlPlane.open({ databaseUrl: PG_URL, schema }));
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await open();
  });
  afterAll(async () => {
    await cp?.close();
    if (name === 'postgres') {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  });

  const rawRows = () => cp.db.query<RawRow>('SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY seq');
  const setTriggers = (on: boolean) => cp.db.exec(`ALTER TABLE audit_log ${on ? 'ENABLE' : 'DISABLE'} TRIGGER audit_log_append_only`);

  it('an empty log verifies', async () => {
    expect(await cp.verifyAuditLog()).toEqual({ ok: true, rows: 0, firstBadSeq: null });
    expect(await cp.auditLogHead()).toBeNull();
  });

  it('appends a chain whose hashes recompute from the stored rows', async () => {
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
      const body = canon({ seq: Number(r.seq), at: r.at.toISOString(), actor: r.actor, action: r.action, subject: r.subject, details: r.details });
      expect(r.hash).toBe(createHash('sha256').update(prev + body).digest('hex'));
      prev = r.hash;
    });
    expect(await cp.verifyAuditLog()).toEqual({ ok: true, rows: 11, firstBadSeq: null });
    expect(await cp.auditLogHead()).toEqual({ seq: 11, hash: prev });
    expect((await cp.listAuditLog({ subject: 'run-1' })).map((e) => e.action)).toEqual(['run.submit', 'run.finish']);
    expect((await cp.listAuditLog({ afterSeq: 9 })).map((e) => e.seq)).toEqual([10, 11]);
  });

  it('refuses an entry without actor, action or subject', async () => {
    expect((await sluiceError(cp.log({ actor: '', action: 'x', subject: 's' }))).message).toContain('actor');
    expect((await sluiceError(cp.log({ actor: 'a', action: 'x', subject: 's', details: [] as unknown as Record<string, unknown> }))).code).toBe('SLUICE_ERR_INPUT_INVALID');
    expect((await cp.verifyAuditLog()).rows).toBe(11);
  });

  it('the database refuses UPDATE, DELETE and TRUNCATE on the log', async () => {
    for (const sql of ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", 'DELETE FROM audit_log WHERE seq = 3', 'TRUNCATE audit_log']) {
      const e = await sluiceError(cp.db.exec(sql));
      expect(e.code).toBe('SLUICE_ERR_CONFLICT');
      expect(e.message).toContain('append-only');
    }
    expect(await cp.verifyAuditLog()).toEqual({ ok: true, rows: 11, firstBadSeq: null });
  });

  it('an edit made with the trigger disabled is found at that row; undoing it verifies again', async () => {
    const before = (await rawRows())[4];
    expect(before).toBeDefined();
    await setTriggers(false);
    try {
      await cp.db.query(`UPDATE audit_log SET details = $1::jsonb WHERE seq = 5`, [JSON.stringify({ rows: 999_999 })]);
      const v = await cp.verifyAuditLog();
      expect(v.ok).toBe(false);
      expect(v.firstBadSeq).toBe(5);
      expect(v.reason).toContain('hash');
      // Negative control: restoring the original content makes the chain valid again.
      await cp.db.query(`UPDATE audit_log SET details = $1::jsonb WHERE seq = 5`, [JSON.stringify(before?.details)]);
      expect((await cp.verifyAuditLog()).ok).toBe(true);
      // A one-millisecond change of the time is caught too.
      await cp.db.query(`UPDATE audit_log SET at = at + interval '1 millisecond' WHERE seq = 7`);
      expect(await cp.verifyAuditLog()).toMatchObject({ ok: false, firstBadSeq: 7 });
      await cp.db.query(`UPDATE audit_log SET at = at - interval '1 millisecond' WHERE seq = 7`);
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    } finally {
      await setTriggers(true);
    }
  });

  it('a row deleted from the middle is found at the row after it; an edit that re-hashes the row too', async () => {
    const rows = await rawRows();
    const victim = rows[5] as RawRow;
    await setTriggers(false);
    try {
      await cp.db.query('DELETE FROM audit_log WHERE seq = 6');
      const v = await cp.verifyAuditLog();
      expect(v).toMatchObject({ ok: false, firstBadSeq: 7 });
      expect(v.reason).toContain('link');
      // Negative control: putting the exact row back restores the chain.
      await cp.db.query(
        'INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)',
        [Number(victim.seq), victim.at.toISOString(), victim.actor, victim.action, victim.subject, JSON.stringify(victim.details), victim.prev_hash, victim.hash],
      );
      expect((await cp.verifyAuditLog()).ok).toBe(true);

      // An attacker who also recomputes the edited row's own hash breaks the next link.
      const r3 = rows[2] as RawRow;
      const forged = { rows: 123_456 };
      const body = canon({ seq: 3, at: r3.at.toISOString(), actor: r3.actor, action: r3.action, subject: r3.subject, details: forged });
      const forgedHash = createHash('sha256').update(r3.prev_hash + body).digest('hex');
      await cp.db.query('UPDATE audit_log SET details = $1::jsonb, hash = $2 WHERE seq = 3', [JSON.stringify(forged), forgedHash]);
      expect(await cp.verifyAuditLog()).toMatchObject({ ok: false, firstBadSeq: 4 });
      await cp.db.query('UPDATE audit_log SET details = $1::jsonb, hash = $2 WHERE seq = 3', [JSON.stringify(r3.details), r3.hash]);
      expect((await cp.verifyAuditLog()).ok).toBe(true);
    } finally {
      await setTriggers(true);
    }
  });

  it('concurrent appends keep one unforked chain', async () => {
    const start = (await cp.verifyAuditLog()).rows;
    const n = 40;
    // On PostgreSQL the second writer is a separate pool (another process, in effect).
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
    expect(v).toEqual({ ok: true, rows: start + 2 * n, firstBadSeq: null });
    const rows = await rawRows();
    expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(rows.length);
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
  });
});
