// Over 500 lines because the keyed chain, its checkpoint and the verifier must agree on one canonical encoding, kept in one file.
/**
 * The tamper-evident audit log: an append-only table whose rows are chained by
 * a keyed MAC, anchored by a checkpoint kept outside the database.
 *
 * Each row's `hash` is HMAC-SHA-256, under a key derived from the domain's
 * audit-log key (keys/audit-log.key, see audit-key-store.ts), over the previous
 * row's MAC and the canonical JSON of the row (seq, at, actor, action, subject,
 * details). A MAC per row rather than signed checkpoints: a rewritten row is
 * found at that row, and nobody who can rewrite the database but lacks the key
 * can produce a row that verifies, so editing a row and recomputing every
 * later one fails at the edited row.
 *
 * What a per-row MAC cannot show is a chain cut short: deleting the tail, or
 * every row, leaves a shorter valid chain. The head (last committed seq and
 * MAC) is therefore written, MACed too, to a checkpoint file next to the key
 * after every append commits, and verification compares the log with it.
 *
 * Logs written before the key existed (the unkeyed sha256 chain) are kept as
 * they are: the first open with the key appends a `audit-log.keyed-chain` row
 * recording how many unkeyed rows there were and their head, MACed like any
 * other, and the checkpoint records where the keyed chain starts. The unkeyed
 * rows are still checked by the old algorithm, and editing and re-hashing them
 * is found at that row, since their recomputed head no longer matches the one
 * the keyed row recorded.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { SluiceError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import {
  AUDIT_LOG_KEY_PURPOSE,
  checkpointFileName,
  fileCheckpointStore,
  loadOrCreateSecret,
  memoryCheckpointStore,
  type CheckpointStore,
} from './audit-key-store.js';
import { fromJson, toIso, toNum, type Db } from './db.js';
import type { AuditLogEntry } from './types.js';

/** The `prev_hash` of the first row (and the MAC of the empty log's head). */
export const GENESIS_HASH = '0'.repeat(64);

/** The action of the row that starts the keyed chain after unkeyed rows. */
export const KEYED_CHAIN_ACTION = 'audit-log.keyed-chain';

/** The action of the row written when a missing checkpoint was re-established over a log that verified. */
export const CHECKPOINT_RECREATED_ACTION = 'audit-log.checkpoint-recreated';

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

/** The head of the chain: the last row's seq and MAC (seq 0 and {@link GENESIS_HASH} for an empty log). */
export interface AuditLogHead {
  seq: number;
  mac: string;
}

/**
 * Why verification failed. Row problems name the first bad row; checkpoint
 * problems compare the log with the copy of its head kept outside the database.
 */
export type AuditLogProblem =
  /** The row's content, seq or link is not what its MAC covers (edited, or re-hashed without the key). */
  | 'mac-mismatch'
  /** The row's MAC is that of another position: rows were reordered. */
  | 'out-of-order'
  /** The row is authentic but does not follow the row before it (a row was removed, inserted or replaced). */
  | 'broken-link'
  /** Sequence numbers skip: rows are missing before this one. */
  | 'gap'
  /** An unkeyed row (written before the key) does not match its sha256 hash. */
  | 'legacy-hash-mismatch'
  /** The unkeyed rows no longer hash to the head the keyed chain recorded when it started. */
  | 'legacy-head-mismatch'
  /** The log ends before the row the checkpoint records: the tail was deleted. */
  | 'missing-tail'
  /** The log is empty but the checkpoint records rows: every row was deleted. */
  | 'empty-log'
  /** The row at the checkpoint's seq is not the one it recorded: the tail was replaced. */
  | 'checkpoint-mismatch'
  /** No checkpoint outside the database: truncation could not be detected. */
  | 'checkpoint-missing'
  /** The checkpoint does not verify under the key, or belongs to another key or schema. */
  | 'checkpoint-invalid';

/** The result of {@link verifyAuditLog}. Never holds a value from a row. */
export interface AuditLogVerification {
  ok: boolean;
  /** Rows examined (all of them when ok). */
  rows: number;
  /**
   * The first bad row: the row that fails, or for a deleted tail or log the
   * first missing seq; null when ok, and when only the checkpoint is missing or invalid.
   */
  firstBadSeq: number | null;
  /** What was wrong (absent when ok). */
  problem?: AuditLogProblem;
  /** A sentence saying what was wrong, naming rows by seq only (absent when ok). */
  reason?: string;
  /** The head the log verified to (when ok): null for an empty log. */
  head?: AuditLogHead | null;
  /** The seq recorded by the checkpoint outside the database, when it was read and valid. */
  checkpointSeq?: number;
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

interface RowContent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: unknown;
}

function rowBody(row: RowContent): string {
  return canonicalJson({ seq: row.seq, at: row.at, actor: row.actor, action: row.action, subject: row.subject, details: row.details });
}

/**
 * The unkeyed hash of rows written before the audit-log key existed: sha256
 * hex of prev_hash followed by the canonical JSON of (seq, at, actor, action,
 * subject, details). Kept only to check those rows; anyone can recompute it.
 */
export function legacyAuditRowHash(prevHash: string, row: RowContent): string {
  return createHash('sha256').update(prevHash + rowBody(row), 'utf8').digest('hex');
}

// Domain separation: the row MACs, the checkpoint's MAC and the key id come
// from distinct subkeys, so that no value of one kind can stand for another.
const HKDF_SALT = 'sluice.audit-log.v2';
const ROW_PREFIX = 'sluice.audit-log.row.v2\n';

function subkey(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, HKDF_SALT, info, 32));
}

function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The checkpoint's content (its MAC is stored beside it in the file). */
interface Checkpoint {
  version: 2;
  schema: string;
  keyId: string;
  /** The first seq of the keyed chain (1 unless unkeyed rows came before). */
  keyedFrom: number;
  seq: number;
  mac: string;
  writtenAt: string;
}

type CheckpointRead = { state: 'missing' } | { state: 'invalid'; why: string } | { state: 'ok'; cp: Checkpoint };

/**
 * One audit log's key material and checkpoint. Holds the derived subkeys, never
 * exposes them, and is not serializable (no key in a log line by accident).
 */
export class AuditChain {
  readonly #rowKey: Buffer;
  readonly #checkpointKey: Buffer;
  readonly #store: CheckpointStore;
  #tail: Promise<void> = Promise.resolve();
  /** Names the key (16 hex digits of a MAC under it); reveals nothing of it. */
  readonly keyId: string;

  /** `master` is the 32-byte audit-log key; `schema` binds the checkpoint to one log. */
  constructor(master: Buffer, store: CheckpointStore, readonly schema: string) {
    this.#rowKey = subkey(master, 'row');
    this.#checkpointKey = subkey(master, 'checkpoint');
    this.keyId = createHmac('sha256', subkey(master, 'key-id')).update('audit-log').digest('hex').slice(0, 16);
    this.#store = store;
  }

  /** The MAC of one row chained after `prevMac`. */
  macRow(prevMac: string, row: RowContent): string {
    return createHmac('sha256', this.#rowKey).update(ROW_PREFIX + prevMac + '\n' + rowBody(row), 'utf8').digest('hex');
  }

  /** Where the checkpoint lives, for messages. */
  get checkpointWhere(): string {
    return this.#store.where;
  }

  /** Reads and checks the checkpoint (MAC, key, schema, shape). */
  readCheckpoint(): CheckpointRead {
    const stored = this.#store.read();
    if (stored.state === 'missing') return stored;
    let parsed: unknown;
    try {
      parsed = JSON.parse(stored.text);
    } catch {
      return { state: 'invalid', why: 'is not JSON' };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { state: 'invalid', why: 'is not an object' };
    const { checkpointMac, ...rest } = parsed as Record<string, unknown>;
    if (typeof checkpointMac !== 'string' || !sameHex(checkpointMac, this.#macCheckpoint(rest))) {
      return { state: 'invalid', why: 'does not match its MAC under the audit-log key' };
    }
    const cp = rest as unknown as Checkpoint;
    const wellFormed =
      cp.version === 2 && typeof cp.keyId === 'string' && typeof cp.schema === 'string' && Number.isSafeInteger(cp.keyedFrom) && cp.keyedFrom >= 1 &&
      Number.isSafeInteger(cp.seq) && cp.seq >= 0 && typeof cp.mac === 'string' && /^[0-9a-f]{64}$/.test(cp.mac);
    if (!wellFormed) return { state: 'invalid', why: 'does not have the expected fields' };
    if (cp.keyId !== this.keyId) return { state: 'invalid', why: 'was written under another key' };
    if (cp.schema !== this.schema) return { state: 'invalid', why: 'belongs to another schema' };
    return { state: 'ok', cp };
  }

  /** Replaces the checkpoint (atomically; see the store). */
  writeCheckpoint(head: AuditLogHead, keyedFrom: number): void {
    const cp: Checkpoint = { version: 2, schema: this.schema, keyId: this.keyId, keyedFrom, seq: head.seq, mac: head.mac, writtenAt: new Date().toISOString() };
    this.#store.write(JSON.stringify({ ...cp, checkpointMac: this.#macCheckpoint(cp) }) + '\n');
  }

  /** Runs `fn` after every earlier call has finished (checkpoint updates within this process). */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  #macCheckpoint(cp: object): string {
    return createHmac('sha256', this.#checkpointKey).update('sluice.audit-log.checkpoint.v2\n' + canonicalJson(cp), 'utf8').digest('hex');
  }

  /** Never print key material. */
  toJSON(): Record<string, string> {
    return { keyId: this.keyId, checkpoint: this.#store.where };
  }
}

/** What {@link ChainedDb} collects during a transaction: the head its appends reached. */
interface PendingHead {
  head: AuditLogHead | null;
}

/**
 * A Db that carries its audit log's chain into every transaction, and after a
 * top-level transaction commits with appends in it, advances the checkpoint to
 * the head they reached. Appends made inside a caller's transaction therefore
 * checkpoint only if that transaction commits.
 */
class ChainedDb implements Db {
  constructor(
    readonly inner: Db,
    readonly chain: AuditChain,
    readonly pending: PendingHead | null,
  ) {}
  get kind(): Db['kind'] {
    return this.inner.kind;
  }
  get schema(): string {
    return this.inner.schema;
  }
  query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.inner.query<T>(sql, params);
  }
  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }
  async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const pending = this.pending;
    if (pending) return this.inner.tx((t) => fn(t === this.inner ? this : new ChainedDb(t, this.chain, pending)));
    const mine: PendingHead = { head: null };
    const result = await this.inner.tx((t) => fn(new ChainedDb(t, this.chain, mine)));
    if (mine.head) await advanceCheckpoint(this.inner, this.chain, mine.head);
    return result;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** `db` with its audit log's chain attached: what the control plane hands its repositories. */
export function withAuditChain(db: Db, chain: AuditChain): Db {
  return new ChainedDb(db, chain, null);
}

function chainOf(db: Db): ChainedDb {
  if (db instanceof ChainedDb) return db;
  // Deny by default: a row without the key's MAC would break the chain, and a
  // verification without the key could vouch for nothing.
  throw new SluiceError('SLUICE_ERR_INTERNAL', 'the audit log is reachable only through the control plane, which holds its key (a Db without the audit-log chain was given)');
}

const APPEND_LOCK = `SELECT pg_advisory_xact_lock(hashtext('sluice.audit_log:' || current_schema()))`;
const CHECKPOINT_LOCK = `SELECT pg_advisory_xact_lock(hashtext('sluice.audit_log_head:' || current_schema()))`;

/**
 * Moves the checkpoint forward to a committed head. Only forward (appends from
 * several processes commit in seq order but may reach here in any order), only
 * from a valid checkpoint, and only when the row the checkpoint recorded is
 * still in the log: a head that does not descend from it (the tail was deleted
 * and new rows written over it) must not replace the evidence. On PostgreSQL
 * the read-compare-write runs under an advisory lock, so that processes sharing
 * the data root do not overwrite each other's newer head. A failure is logged,
 * not thrown: the row is committed and the caller's action happened.
 */
async function advanceCheckpoint(db: Db, chain: AuditChain, head: AuditLogHead): Promise<void> {
  const step = async (q: Db): Promise<void> => {
    const cur = chain.readCheckpoint();
    if (cur.state !== 'ok') {
      log.error('audit_log.checkpoint_not_advanced', { state: cur.state, seq: head.seq });
      return;
    }
    if (cur.cp.seq >= head.seq) return;
    if (cur.cp.seq > 0) {
      const r = await q.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [cur.cp.seq]);
      if (!r[0] || !sameHex(r[0].hash, cur.cp.mac)) {
        log.error('audit_log.checkpoint_diverged', { checkpointSeq: cur.cp.seq, seq: head.seq });
        return;
      }
    }
    chain.writeCheckpoint(head, cur.cp.keyedFrom);
  };
  try {
    await chain.serialize(async () => {
      if (db.kind === 'postgres') {
        await db.tx(async (t) => {
          await t.query(CHECKPOINT_LOCK);
          await step(t);
        });
      } else {
        await step(db);
      }
    });
  } catch (e) {
    log.error('audit_log.checkpoint_failed', { seq: head.seq, code: e instanceof SluiceError ? e.code : 'unknown' });
  }
}

/** Where the audit log's key and checkpoint are kept. */
export interface AuditChainOptions {
  /** The domain's key folder (the data root's `keys/`). Absent: key and checkpoint in this process's memory. */
  keysDir?: string;
  /** The checkpoint file. Default: `<keysDir>/audit-log-head.json` (`audit-log-head.<schema>.json` outside `public`). */
  checkpointPath?: string;
  /**
   * Without keysDir: names the database, so that handles on the same
   * PostgreSQL schema in one process share one in-memory key. Absent: a key
   * of its own (an in-memory PGlite).
   */
  memoryIdentity?: string;
}

const memoryKeys = new Map<string, { key: Buffer; store: CheckpointStore }>();

/**
 * Loads (or creates) the audit-log key and anchors the log: when no checkpoint
 * exists yet, it is created under the append lock: at seq 0 for an empty log;
 * over a log of unkeyed rows after appending the `audit-log.keyed-chain` row
 * that starts the keyed chain; over a keyed log (a checkpoint lost in a crash
 * between a commit and its checkpoint, or removed by hand) only after the whole
 * log verifies, with an `audit-log.checkpoint-recreated` row saying so. A log
 * that does not verify is left unanchored (verification keeps failing); an
 * invalid checkpoint is left in place as evidence.
 */
export async function openAuditChain(db: Db, options: AuditChainOptions = {}): Promise<AuditChain> {
  let master: Buffer;
  let store: CheckpointStore;
  if (options.keysDir !== undefined) {
    master = loadOrCreateSecret(options.keysDir, AUDIT_LOG_KEY_PURPOSE).key;
    store = fileCheckpointStore(options.checkpointPath ?? join(options.keysDir, checkpointFileName(db.schema)));
  } else {
    const id = options.memoryIdentity;
    const held = id !== undefined ? memoryKeys.get(id) : undefined;
    const entry = held ?? { key: randomBytes(32), store: memoryCheckpointStore() };
    if (id !== undefined && !held) memoryKeys.set(id, entry);
    master = entry.key;
    store = entry.store;
  }
  const chain = new AuditChain(master, store, db.schema);
  await anchor(db, chain);
  return chain;
}


async function anchor(db: Db, chain: AuditChain): Promise<void> {
  const first = chain.readCheckpoint();
  if (first.state === 'ok') return;
  if (first.state === 'invalid') {
    log.error('audit_log.checkpoint_invalid', { why: first.why, keyId: chain.keyId });
    return;
  }
  await db.tx(async (inner) => {
    const t = new ChainedDb(inner, chain, { head: null });
    if (t.kind === 'postgres') await t.query(APPEND_LOCK);
    // Another process may have anchored the log while this one waited for the lock.
    if (chain.readCheckpoint().state !== 'missing') return;
    const tail = await t.query<{ seq: unknown }>('SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1');
    if (!tail[0]) {
      chain.writeCheckpoint({ seq: 0, mac: GENESIS_HASH }, 1);
      return;
    }
    const scan = await scanChain(t, chain, undefined, undefined);
    if (scan.failure) {
      log.error('audit_log.not_anchored', { problem: scan.failure.problem, firstBadSeq: scan.failure.seq });
      return;
    }
    let keyedFrom: number;
    let row: AuditLogEntry;
    if (scan.keyedFrom === undefined) {
      // Every row is unkeyed: start the keyed chain over them.
      keyedFrom = scan.lastSeq + 1;
      row = await insertRow(t, chain, {
        actor: 'system',
        action: KEYED_CHAIN_ACTION,
        subject: 'audit-log',
        details: { legacyRows: scan.lastSeq, legacyHead: scan.lastMac, keyId: chain.keyId },
      });
      log.warn('audit_log.keyed_chain_started', { legacyRows: scan.lastSeq, keyId: chain.keyId });
    } else {
      keyedFrom = scan.keyedFrom;
      row = await insertRow(t, chain, { actor: 'system', action: CHECKPOINT_RECREATED_ACTION, subject: 'audit-log', details: { lastSeq: scan.lastSeq, keyId: chain.keyId } });
      log.warn('audit_log.checkpoint_recreated', { lastSeq: scan.lastSeq, keyId: chain.keyId });
    }
    // Written before the commit, under the lock, so that no other process can
    // anchor the same log twice; a failed commit leaves a checkpoint ahead of
    // the log, which verification reports rather than hides.
    chain.writeCheckpoint({ seq: row.seq, mac: row.hash }, keyedFrom);
  });
}

function normalizeInput(input: AuditLogInput): Record<string, unknown> {
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
  return details;
}

// Inside a transaction that holds the append lock.
async function insertRow(t: ChainedDb, chain: AuditChain, input: AuditLogInput): Promise<AuditLogEntry> {
  const details = normalizeInput(input);
  const tail = await t.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  const prevHash = tail[0]?.hash ?? GENESIS_HASH;
  const seq = tail[0] ? toNum(tail[0].seq) + 1 : 1;
  const at = new Date().toISOString();
  const entry = { seq, at, actor: input.actor, action: input.action, subject: input.subject, details };
  const hash = chain.macRow(prevHash, entry);
  await t.query(
    `INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
     VALUES ($1, $2::timestamptz, $3, $4, $5, $6::jsonb, $7, $8)`,
    [seq, at, input.actor, input.action, input.subject, JSON.stringify(details), prevHash, hash],
  );
  if (t.pending) t.pending.head = { seq, mac: hash };
  return { ...entry, prevHash, hash };
}

/**
 * Appends one row to the audit log and returns it (`hash` is the row's MAC).
 * Joins the caller's transaction when `db` is a transaction handle, so a
 * governance change and its log row commit together; the checkpoint outside
 * the database moves to the new head once the outermost transaction commits.
 *
 * Appends are serialized: on PostgreSQL by a transaction-scoped advisory lock
 * per schema, held until commit, so two processes cannot both extend the same
 * tail and fork the chain; PGlite is a single session. The timestamp is taken
 * after the lock, with millisecond precision, so that it round-trips exactly.
 *
 * `db` must come from the control plane (it carries the key): any other handle
 * is refused with SLUICE_ERR_INTERNAL.
 */
export async function appendAuditLog(db: Db, input: AuditLogInput): Promise<AuditLogEntry> {
  normalizeInput(input);
  const { chain } = chainOf(db);
  return db.tx(async (inner) => {
    const t = chainOf(inner);
    if (t.kind === 'postgres') await t.query(APPEND_LOCK);
    return insertRow(t, chain, input);
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

interface ScanResult {
  rows: number;
  lastSeq: number;
  lastMac: string;
  /** Where the keyed chain starts (given, or found); undefined when every row is unkeyed. */
  keyedFrom: number | undefined;
  /** The MAC of the row at the watched seq, when it was reached. */
  watched: string | undefined;
  failure?: { seq: number; problem: AuditLogProblem; reason: string };
}

/**
 * The seq a row was written as, when its MAC verifies there: its own seq, or
 * (for a row moved elsewhere) one more than the seq its predecessor, found by
 * its MAC, was written as. Null when no position fits (the row was edited).
 */
async function writtenAs(q: Db, chain: AuditChain, e: AuditLogEntry, keyedFrom: number, depth: number): Promise<number | null> {
  if (e.seq < keyedFrom) return legacyAuditRowHash(e.prevHash, e) === e.hash ? e.seq : null;
  if (sameHex(chain.macRow(e.prevHash, e), e.hash)) return e.seq;
  let prevSeq: number | null = null;
  if (e.prevHash === GENESIS_HASH) prevSeq = 0;
  else if (depth > 0 && /^[0-9a-f]{64}$/.test(e.prevHash)) {
    const r = await q.query<AuditRow>('SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE hash = $1', [e.prevHash]);
    if (r[0]) prevSeq = await writtenAs(q, chain, toEntry(r[0]), keyedFrom, depth - 1);
  }
  if (prevSeq === null) return null;
  return sameHex(chain.macRow(e.prevHash, { ...e, seq: prevSeq + 1 }), e.hash) ? prevSeq + 1 : null;
}

/**
 * Walks the log in seq order. Rows before `keyedFrom` are checked by the
 * unkeyed algorithm, the row at `keyedFrom` (when it is not 1) must be the
 * keyed-chain row recording their head, and every later row must carry its
 * MAC. Without `keyedFrom` (no checkpoint), it is found: the first row whose
 * MAC verifies and which is row 1 or a keyed-chain row. Stops at the first bad row.
 */
async function scanChain(q: Db, chain: AuditChain, keyedFrom: number | undefined, watchSeq: number | undefined): Promise<ScanResult> {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let rows = 0;
  let after = 0;
  let watched: string | undefined;
  let from = keyedFrom;
  const fail = (seq: number, problem: AuditLogProblem, reason: string): ScanResult => ({
    rows, lastSeq: expectedSeq - 1, lastMac: prev, keyedFrom: from, watched, failure: { seq, problem, reason },
  });
  for (;;) {
    const page = await q.query<AuditRow>(
      'SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, PAGE],
    );
    for (const raw of page) {
      const e = toEntry(raw);
      rows++;
      if (e.seq !== expectedSeq) {
        const missing = e.seq - expectedSeq === 1 ? `row ${expectedSeq} is` : `rows ${expectedSeq}..${e.seq - 1} are`;
        return fail(e.seq, 'gap', `row ${e.seq} follows row ${expectedSeq - 1}: ${missing} missing (a gap in the sequence)`);
      }
      const macOk = sameHex(chain.macRow(e.prevHash, e), e.hash);
      if (from === undefined && macOk && (e.seq === 1 || e.action === KEYED_CHAIN_ACTION)) from = e.seq;
      const keyed = from !== undefined && e.seq >= from;
      if (!keyed) {
        if (e.prevHash !== prev) {
          return fail(e.seq, 'broken-link', `row ${e.seq} (before the keyed chain) does not link to the row before it (a row was removed, inserted or replaced)`);
        }
        if (legacyAuditRowHash(prev, e) !== e.hash) {
          return fail(e.seq, 'legacy-hash-mismatch', `row ${e.seq} (before the keyed chain) does not match its hash (edited after it was written)`);
        }
      } else {
        if (!macOk) {
          // A row moved to another position still carries the MAC of the one it was written at.
          const w = await writtenAs(q, chain, e, from ?? 1, 16);
          if (w !== null && w !== e.seq) {
            return fail(e.seq, 'out-of-order', `row ${e.seq} holds the row written as row ${w}: rows were reordered`);
          }
          return fail(e.seq, 'mac-mismatch', `row ${e.seq} does not match its MAC (edited after it was written, or re-hashed without the key)`);
        }
        if (e.seq === from && from > 1) {
          const d = e.details;
          if (e.action !== KEYED_CHAIN_ACTION || d['legacyRows'] !== from - 1) {
            return fail(e.seq, 'legacy-head-mismatch', `row ${e.seq} should start the keyed chain after ${from - 1} unkeyed rows, but it does not record them`);
          }
          if (e.prevHash !== prev || d['legacyHead'] !== prev) {
            return fail(e.seq, 'legacy-head-mismatch', `row ${e.seq} started the keyed chain over unkeyed rows 1..${from - 1}, which no longer hash to the head it recorded (an unkeyed row was edited and re-hashed)`);
          }
        } else if (e.prevHash !== prev) {
          return fail(e.seq, 'broken-link', `row ${e.seq} does not link to the row before it (a row was removed, inserted or replaced)`);
        }
      }
      if (watchSeq !== undefined && e.seq === watchSeq) watched = e.hash;
      prev = e.hash;
      expectedSeq = e.seq + 1;
      after = e.seq;
    }
    if (page.length < PAGE) return { rows, lastSeq: expectedSeq - 1, lastMac: prev, keyedFrom: from, watched };
  }
}

/**
 * Verifies the whole log: every row's MAC and link in seq order (and the
 * unkeyed rows before the keyed chain by their old hash), then the log against
 * the checkpoint outside the database: a log shorter than the checkpoint, an
 * empty one, or one whose row at the checkpoint's seq is another row fails.
 * The checkpoint is read before the rows, so appends committing meanwhile only
 * add rows after it. Names the first bad row by seq and never quotes a value
 * from a row. `db` must come from the control plane (it carries the key).
 */
export async function verifyAuditLog(db: Db): Promise<AuditLogVerification> {
  const { chain } = chainOf(db);
  const read = chain.readCheckpoint();
  const cp = read.state === 'ok' ? read.cp : undefined;
  const scan = await scanChain(db, chain, cp?.keyedFrom, cp && cp.seq > 0 ? cp.seq : undefined);
  const withCp = cp ? { checkpointSeq: cp.seq } : {};
  if (scan.failure) {
    return { ok: false, rows: scan.rows, firstBadSeq: scan.failure.seq, problem: scan.failure.problem, reason: scan.failure.reason, ...withCp };
  }
  if (read.state === 'missing') {
    return {
      ok: false, rows: scan.rows, firstBadSeq: null, problem: 'checkpoint-missing',
      reason: 'the checkpoint of the log head outside the database is missing, so deleted rows at the end could not be detected',
    };
  }
  if (read.state === 'invalid') {
    return { ok: false, rows: scan.rows, firstBadSeq: null, problem: 'checkpoint-invalid', reason: `the checkpoint of the log head outside the database ${read.why}` };
  }
  const c = read.cp;
  if (scan.rows === 0 && c.seq > 0) {
    return { ok: false, rows: 0, firstBadSeq: 1, problem: 'empty-log', reason: `the log is empty but the checkpoint outside the database records ${c.seq} rows: every row was deleted`, ...withCp };
  }
  if (scan.lastSeq < c.seq) {
    return {
      ok: false, rows: scan.rows, firstBadSeq: scan.lastSeq + 1, problem: 'missing-tail',
      reason: `the log ends at row ${scan.lastSeq} but the checkpoint outside the database records row ${c.seq}: rows ${scan.lastSeq + 1}..${c.seq} were deleted`, ...withCp,
    };
  }
  if (c.seq > 0 && (scan.watched === undefined || !sameHex(scan.watched, c.mac))) {
    return {
      ok: false, rows: scan.rows, firstBadSeq: c.seq, problem: 'checkpoint-mismatch',
      reason: `row ${c.seq} is not the row the checkpoint outside the database recorded (the tail was deleted and written again)`, ...withCp,
    };
  }
  return { ok: true, rows: scan.rows, firstBadSeq: null, head: scan.rows > 0 ? { seq: scan.lastSeq, mac: scan.lastMac } : null, ...withCp };
}

/** The last row's seq and MAC (what a signed report records as the head it was written under); null when the log is empty. */
export async function auditLogHead(db: Db): Promise<AuditLogHead | null> {
  const r = await db.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  return r[0] ? { seq: toNum(r[0].seq), mac: r[0].hash } : null;
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
