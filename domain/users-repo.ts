import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { appendAuditLog } from './audit-log.js';
import { parseInput, toIso, type Db } from './db.js';
import { hashToken, looksLikeToken, newToken, tokenHashesEqual } from './tokens.js';
import { ROLES, type Role, type User, type UserRecord } from './types.js';

/** Input of {@link UsersRepo.createUser}. */
export interface NewUser {
  name: string;
  role: Role;
  organization: string;
}

const NewUserSchema = z.object({
  name: z.string().min(1).max(200),
  role: z.enum(ROLES),
  organization: z.string().min(1).max(200),
});

interface UserRow {
  id: string;
  name: string;
  role: Role;
  organization: string;
  created_at: unknown;
  disabled: boolean;
}

const COLS = 'id, name, role, organization, created_at, disabled';

function toUser(r: UserRow): UserRecord {
  return { id: r.id, name: r.name, role: r.role, organization: r.organization, createdAt: toIso(r.created_at) ?? '', disabled: r.disabled };
}

/**
 * People and their API tokens. A token is `slc_` + 32 random bytes
 * (base64url); only its sha256 hex is stored, so a database dump yields no
 * usable token.
 */
export class UsersRepo {
  constructor(private readonly db: Db) {}

  /** Creates a user and returns the token, which is not retrievable later. Logged as `user.create`. */
  async createUser(input: NewUser, by = 'system'): Promise<{ user: UserRecord; token: string }> {
    const u = parseInput(NewUserSchema, input, 'user');
    const { token, hash } = newToken();
    const id = `usr_${randomUUID()}`;
    const user = await this.db.tx(async (t) => {
      const rows = await t.query<UserRow>(
        `INSERT INTO users (id, name, role, organization, token_hash) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLS}`,
        [id, u.name, u.role, u.organization, hash],
      );
      await appendAuditLog(t, { actor: by, action: 'user.create', subject: id, details: { role: u.role } });
      return toUser(rows[0] as UserRow);
    });
    return { user, token };
  }

  /**
   * The user a token belongs to, or null (unknown token, malformed token,
   * disabled user). The lookup is by hash, and the hashes are compared in
   * constant time.
   */
  async authenticate(token: string): Promise<User | null> {
    if (typeof token !== 'string' || !looksLikeToken(token)) return null;
    const hash = hashToken(token);
    const rows = await this.db.query<UserRow & { token_hash: string }>(`SELECT ${COLS}, token_hash FROM users WHERE token_hash = $1`, [hash]);
    const r = rows[0];
    if (!r || !tokenHashesEqual(r.token_hash, hash) || r.disabled) return null;
    return { id: r.id, name: r.name, role: r.role, organization: r.organization };
  }

  /** One user, or null. */
  async getUser(id: string): Promise<UserRecord | null> {
    const rows = await this.db.query<UserRow>(`SELECT ${COLS} FROM users WHERE id = $1`, [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  /** All users, oldest first. */
  async listUsers(): Promise<UserRecord[]> {
    return (await this.db.query<UserRow>(`SELECT ${COLS} FROM users ORDER BY created_at, id`)).map(toUser);
  }

  /** Disables or re-enables a user (a disabled user's token stops working). Returns whether the user exists. Logged. */
  async setUserDisabled(id: string, disabled: boolean, by: string): Promise<boolean> {
    return this.db.tx(async (t) => {
      const rows = await t.query<{ id: string }>('UPDATE users SET disabled = $2 WHERE id = $1 RETURNING id', [id, disabled]);
      if (rows.length === 0) return false;
      await appendAuditLog(t, { actor: by, action: disabled ? 'user.disable' : 'user.enable', subject: id, details: {} });
      return true;
    });
  }
}
