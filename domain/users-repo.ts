import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { appendAuditLog } from './audit-log.js';
import { parseInput, toIso, type Db } from './db.js';
import { checkResidentId, personToken } from './person.js';
import { hashToken, looksLikeToken, newToken, tokenHashesEqual } from './tokens.js';
import { ROLES, type Role, type User, type UserRecord } from './types.js';

/** Input of {@link UsersRepo.createUser}. */
export interface NewUser {
  name: string;
  role: Role;
  organization: string;
  /** The person's resident ID number: only its keyed token is stored ({@link personToken}). */
  personId: string;
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
 * Accounts, the people they belong to, and their API tokens. A token is
 * `slc_` + 32 random bytes (base64url); only its sha256 hex is stored, so a
 * database dump yields no usable token. Each account is bound to one person
 * by a keyed token of the person's resident ID number (never the number).
 */
export class UsersRepo {
  constructor(
    private readonly db: Db,
    private readonly personKey: Buffer,
  ) {}

  /**
   * Creates a user bound to the person of `input.personId` and returns the
   * token, which is not retrievable later. Logged as `user.create`.
   * SLUICE_ERR_INPUT_INVALID naming `personId` (never its value) when it is not
   * a valid resident ID number.
   */
  async createUser(input: NewUser, by = 'system'): Promise<{ user: UserRecord; token: string }> {
    const u = parseInput(NewUserSchema, input, 'user');
    const person = personToken(this.personKey, checkResidentId((input as { personId?: unknown }).personId, 'personId'));
    const { token, hash } = newToken();
    const id = `usr_${randomUUID()}`;
    const user = await this.db.tx(async (t) => {
      const rows = await t.query<UserRow>(
        `INSERT INTO users (id, name, role, organization, token_hash, person_token) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLS}`,
        [id, u.name, u.role, u.organization, hash, person],
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

  /**
   * The person token of each of `ids` that exists and is bound to a person
   * (accounts created before people were recorded have none). Tokens stay in
   * the domain: they are compared, never returned by the API.
   */
  async personsOf(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; person_token: string | null }>('SELECT id, person_token FROM users WHERE id = ANY($1::text[])', [unique]);
    return new Map(rows.filter((r) => r.person_token !== null).map((r) => [r.id, r.person_token!]));
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
