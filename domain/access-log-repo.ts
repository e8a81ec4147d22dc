import { z } from 'zod';
import { appendAuditLog } from './audit-log.js';
import { fromJson, jsonParam, parseInput, toIso, toNum, type Db } from './db.js';

/**
 * One refused request. Holds who (null without a valid token), the route
 * pattern (never the raw URL), the ids the route named, the status, the
 * reason code and the client address: never a value from a request body.
 */
export interface AccessLogEntry {
  id: number;
  /** ISO timestamp with milliseconds. */
  at: string;
  userId: string | null;
  method: string;
  /** The route pattern, e.g. `/v1/runs/:id`; `(no route)` for a URL no route matches. */
  route: string;
  /** The ids the route's URL named (its params, and a scoped query key), each at most 200 characters. */
  resource: Record<string, string>;
  status: number;
  /** The error code answered, e.g. SLUICE_ERR_NOT_FOUND. */
  code: string;
  /** Why, in a word: `token-missing`, `token-invalid`, `role`, `scope-other-tenant`, `scope-missing`, `sql-guard`, `rate-limited`, … */
  reason: string;
  clientAddress: string | null;
}

/** Input of {@link AccessLogRepo.append}. */
export type NewAccessLogEntry = Omit<AccessLogEntry, 'id' | 'at'>;

/** Filters of {@link AccessLogRepo.list}. */
export interface AccessLogQuery {
  /** Only entries with a greater id (paging). */
  afterId?: number;
  userId?: string;
  code?: string;
  /** Default 100, at most 1,000. Oldest first. */
  limit?: number;
}

const NewEntrySchema = z.object({
  userId: z.string().max(200).nullable(),
  method: z.string().regex(/^[A-Z]{3,10}$/),
  route: z.string().min(1).max(300),
  resource: z.record(z.string().max(100), z.string().max(200)),
  status: z.number().int().min(400).max(599),
  code: z.string().regex(/^SLUICE_ERR_[A-Z_]+$/),
  reason: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
  clientAddress: z.string().max(100).nullable(),
});

interface Row {
  id: unknown;
  at: unknown;
  user_id: string | null;
  method: string;
  route: string;
  resource: unknown;
  status: unknown;
  code: string;
  reason: string;
  client_address: string | null;
}

const COLS = 'id, at, user_id, method, route, resource, status, code, reason, client_address';

function toEntry(r: Row): AccessLogEntry {
  return {
    id: toNum(r.id), at: toIso(r.at) ?? '', userId: r.user_id, method: r.method, route: r.route, resource: fromJson<Record<string, string>>(r.resource),
    status: toNum(r.status), code: r.code, reason: r.reason, clientAddress: r.client_address,
  };
}

/** The access log: every refused request, append-only (a trigger refuses UPDATE and DELETE). */
export class AccessLogRepo {
  constructor(private readonly db: Db) {}

  /**
   * Appends a refusal. With `audit`, the same transaction appends an
   * `access.refused` row to the hash-chained audit log (subject: the route
   * pattern; details: method, status, code, reason, the entry's id).
   */
  async append(input: NewAccessLogEntry, options: { audit?: boolean } = {}): Promise<AccessLogEntry> {
    const e = parseInput(NewEntrySchema, input, 'access log entry');
    return this.db.tx(async (t) => {
      const rows = await t.query<Row>(
        `INSERT INTO access_log (user_id, method, route, resource, status, code, reason, client_address)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) RETURNING ${COLS}`,
        [e.userId, e.method, e.route, jsonParam(e.resource), e.status, e.code, e.reason, e.clientAddress],
      );
      const entry = toEntry(rows[0] as Row);
      if (options.audit) {
        await appendAuditLog(t, {
          actor: e.userId ?? 'anonymous', action: 'access.refused', subject: e.route,
          details: { method: e.method, status: e.status, code: e.code, reason: e.reason, accessLogId: entry.id },
        });
      }
      return entry;
    });
  }

  /** Entries, oldest first, filtered. */
  async list(q: AccessLogQuery = {}): Promise<AccessLogEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.afterId !== undefined) add('id > ?', q.afterId);
    if (q.userId !== undefined) add('user_id = ?', q.userId);
    if (q.code !== undefined) add('code = ?', q.code);
    params.push(Math.min(Math.max(Math.trunc(q.limit ?? 100), 1), 1000));
    const rows = await this.db.query<Row>(
      `SELECT ${COLS} FROM access_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${params.length}`,
      params,
    );
    return rows.map(toEntry);
  }
}
