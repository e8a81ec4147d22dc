-- Every account is bound to one person: a keyed token (HMAC-SHA256 under the
-- domain's `keys/person.key`) of the person's resident ID number, never the
-- number itself. Several accounts may share a person; the two-person rule,
-- self-approval and exception approvals compare persons, not accounts.
-- Accounts created before this migration have none and may not review.
ALTER TABLE users ADD COLUMN IF NOT EXISTS person_token text CHECK (person_token ~ '^[0-9a-f]{64}$');
CREATE INDEX IF NOT EXISTS users_person_token ON users (person_token);
