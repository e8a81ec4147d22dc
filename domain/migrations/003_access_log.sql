-- Tenancy and the access log. Runs unchanged on PostgreSQL and PGlite.

-- A read-only role for the authority's inspectors: governance records, logs
-- and reports; never data, never a change.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('operator', 'reviewer', 'admin', 'auditor'));

-- Every refused request: who (null without a valid token), the route pattern
-- (never the raw URL), the route's ids, the status and reason code, the
-- client's address. Never a value from a request body.
CREATE TABLE access_log (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  user_id         text,
  method          text NOT NULL,
  route           text NOT NULL,
  resource        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(resource) = 'object'),
  status          integer NOT NULL CHECK (status >= 400 AND status < 600),
  code            text NOT NULL,
  reason          text NOT NULL,
  client_address  text
);
CREATE INDEX access_log_at_idx ON access_log (at);
CREATE INDEX access_log_user_idx ON access_log (user_id, id);

CREATE FUNCTION access_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'access_log is append-only: % refused', TG_OP;
END
$$;

CREATE TRIGGER access_log_append_only
  BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION access_log_reject_change();
