import { createHash } from 'node:crypto';
import { SluiceError } from '../lib/errors.js';
import { fromJson, toIso, toNum, type Db } from './db.js';
import type { AuditLogEntry } from './types.js';

/** The `prev_hash` of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** What a caller appends. `details` holds ids, counts, hashes and names: never a data value. */
export interface AuditLogInput {
  /** A user id, or `system` / a worker id for the pipeline. */
  actor: string;
  /** Dotted verb, e.g. `agreement.create`, `run.submit`, `release.create`. */
  action: string;
  /** The id or hash the action concerns. */
  subject: string;
  /** Defaults to `{}`. Must be JSON; undefined fields are dropped. */
  details?: Record<string, unknown>;
}

/** The result of {@link verifyAuditLog}. */
export interface AuditLogVerification {
  ok: boolean;
  /** Rows examined (all of them when ok). */
  rows: number;
  /** The first row whose hash, link or sequence is wrong; null when ok. */
  firstBadSeq: number | null;
  /** Why that row is bad. */
  reason?: string;
}

/** Filters for {@link listAuditLog}. */
export interface AuditLogQuery {
  subject?: string;
  action?: string;
  actor?: string;
  /** Only rows after this seq (for paging). */
  afterSeq?: number;
  /** Default 100, at most 10,000. */
  limit?: number;
}

/**
 * JSON with object keys sorted (recursively), so that the same value always
 * serializes to the same text however jsonb reordered its keys.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** The hash of one row: sha256 hex of prev_hash followed by the canonical JSON of (seq, at, actor, action, subject, details). */
export function auditRowHash(prevHash: string, row: { seq: number; at: string; actor: string; action: string; subject: string; details: unknown }): string {
  const body = canonicalJson({ seq: row.seq, at: row.at, actor: row.actor, action: row.action, subject: row.subject, details: row.details });
  return createHash('sha256').update(prevHash + body, 'utf8').digest('hex');
}

/**
 * Appends one row to the audit log and returns it. Joins the caller's
 * transaction when `db` is a transaction handle, so a governance change and its
 * log row commit together.
 *
 * Appends are serialized: on PostgreSQL by a transaction-scoped advisory lock
 * per schema, held until commit, so two processes cannot both extend the same
 * tail and fork the chain; PGlite is a single session. The timestamp is taken
 * after the lock, with millisecond precision, so that it round-trips exactly.
 */
export async function appendAuditLog(db: Db, input: AuditLogInput): Promise<AuditLogEntry> {
  for (const f of ['actor', 'action', 'subject'] as const) {
    if (typeof input[f] !== 'string' || input[f].length === 0) {
      throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `audit log entry.${f} must be a non-empty string (found ${typeof input[f]})`);
    }
  }
  let details: Record<string, unknown>;
  try {
    // The stored jsonb is what verification reads back: normalize to plain JSON first.
    details = JSON.parse(JSON.stringify(input.details ?? {})) as Record<string, unknown>;
  } catch {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'audit log entry.details must be JSON-serializable');
  }
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'audit log entry.details must be an object');
  }
  return db.tx(async (t) => {
    if (t.kind === 'postgres') {
      await t.query(`SELECT pg_advisory_xact_lock(hashtext('sluice.audit_log:' || current_schema()))`);
    }
    const tail = await t.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const prevHash = tail[0]?.hash ?? GENESIS_HASH;
    const seq = tail[0] ? toNum(tail[0].seq) + 1 : 1;
    const at = new Date().toISOString();
    const entry = { seq, at, actor: input.actor, action: input.action, subject: input.subject, details };
    const hash = auditRowHash(prevHash, entry);
    await t.query(
      `INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
       VALUES ($1, $2::timestamptz, $3, $4, $5, $6::jsonb, $7, $8)`,
      [seq, at, input.actor, input.action, input.subject, JSON.stringify(details), prevHash, hash],
    );
    return { ...entry, prevHash, hash };
  });
}

interface AuditRow {
  seq: unknown;
  at: unknown;
  actor: string;
  action: string;
  subject: string;
  details: unknown;
  prev_hash: string;
  hash: string;
}

function toEntry(r: AuditRow): AuditLogEntry {
  return {
    seq: toNum(r.seq),
    at: toIso(r.at) ?? '',
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    details: fromJson<Record<string, unknown>>(r.details),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

const PAGE = 1000;

/**
 * Recomputes every row's hash from the first row, in seq order, and checks
 * that each row links to the one before (prev_hash), that seq has no gap and
 * starts at 1. An edited row fails on its own hash; a deleted row fails on
 * the link of the row after it. Removing rows from the end leaves a valid,
 * shorter chain: compare {@link auditLogHead} with a copy kept elsewhere.
 */
export async function verifyAuditLog(db: Db): Promise<AuditLogVerification> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let rows = 0;
  let after = 0;
  for (;;) {
    const page = await db.query<AuditRow>(
      'SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, PAGE],
    );
    for (const raw of page) {
      const e = toEntry(raw);
      rows++;
      if (e.prevHash !== prevHash) {
        return { ok: false, rows, firstBadSeq: e.seq, reason: `row ${e.seq} does not link to the row before it (a row is missing, inserted or reordered)` };
      }
      if (e.seq !== expectedSeq) {
        return { ok: false, rows, firstBadSeq: e.seq, reason: `row ${e.seq} follows seq ${expectedSeq - 1} (a gap in the sequence)` };
      }
      if (auditRowHash(prevHash, e) !== e.hash) {
        return { ok: false, rows, firstBadSeq: e.seq, reason: `row ${e.seq} does not match its hash (edited after it was written)` };
      }
      prevHash = e.hash;
      expectedSeq = e.seq + 1;
      after = e.seq;
    }
    if (page.length < PAGE) return { ok: true, rows, firstBadSeq: null };
  }
}

/** The last row's seq and hash (to anchor the chain outside the database); null when the log is empty. */
export async function auditLogHead(db: Db): Promise<{ seq: number; hash: string } | null> {
  const r = await db.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  return r[0] ? { seq: toNum(r[0].seq), hash: r[0].hash } : null;
}

/** Rows of the audit log in seq order, filtered. */
export async function listAuditLog(db: Db, q: AuditLogQuery = {}): Promise<AuditLogEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, v: unknown) => {
    params.push(v);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (q.subject !== undefined) add('subject = ?', q.subject);
  if (q.action !== undefined) add('action = ?', q.action);
  if (q.actor !== undefined) add('actor = ?', q.actor);
  if (q.afterSeq !== undefined) add('seq > ?', q.afterSeq);
  const limit = Math.min(Math.max(Math.trunc(q.limit ?? 100), 1), 10_000);
  params.push(limit);
  const rows = await db.query<AuditRow>(
    `SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log
     ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq LIMIT $${params.length}`,
    params,
  );
  return rows.map(toEntry);
}
