-- Sluice control plane, first schema. Runs unchanged on PostgreSQL and PGlite.
-- Tables hold ids, hashes, names, counts and parsed specs: never a data value.

-- People who may call the service. The API token itself is never stored:
-- only its sha256 (hex), returned once at creation.
CREATE TABLE users (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  role          text NOT NULL CHECK (role IN ('operator', 'reviewer', 'admin')),
  organization  text NOT NULL,
  token_hash    text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled      boolean NOT NULL DEFAULT false
);

-- The dataset catalog: what providers registered in raw/, with column classes.
CREATE TABLE datasets (
  name           text PRIMARY KEY,
  provider       text NOT NULL,
  origin         text NOT NULL CHECK (origin IN ('public', 'social')),
  artifact_hash  text NOT NULL,
  path           text NOT NULL,
  rows           bigint NOT NULL CHECK (rows >= 0),
  columns        jsonb NOT NULL CHECK (jsonb_typeof(columns) = 'array'),
  unit_column    text,
  registered_at  timestamptz NOT NULL DEFAULT now(),
  registered_by  text NOT NULL
);

-- Authorized-operation agreements. Dates are inclusive; the term is at most
-- 3 years (§3.9): valid_to must fall before valid_from + 3 years.
CREATE TABLE agreements (
  id             text PRIMARY KEY,
  scenario       text NOT NULL,
  operator       text NOT NULL,
  purpose        text NOT NULL,
  use_class      text NOT NULL CHECK (use_class IN ('public-interest', 'industry')),
  grants         jsonb NOT NULL CHECK (CASE WHEN jsonb_typeof(grants) = 'array' THEN jsonb_array_length(grants) > 0 ELSE false END),
  valid_from     date NOT NULL,
  valid_to       date NOT NULL,
  status         text NOT NULL CHECK (status IN ('active', 'terminated')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  terminated_at  timestamptz,
  terminated_by  text,
  CONSTRAINT agreements_term_order CHECK (valid_from <= valid_to),
  CONSTRAINT agreements_term_max_3_years CHECK (valid_to < valid_from + interval '3 years')
);

-- One submitted job spec and its progress.
CREATE TABLE runs (
  id             text PRIMARY KEY,
  agreement_id   text NOT NULL REFERENCES agreements (id),
  submitted_by   text NOT NULL,
  spec_name      text NOT NULL,
  spec_hash      text NOT NULL,
  spec           jsonb NOT NULL,
  plan           jsonb NOT NULL,
  status         text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'blocked', 'awaiting-review', 'released')),
  error_code     text,
  error_message  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  finished_at    timestamptz
);
CREATE INDEX runs_submitted_by_created_idx ON runs (submitted_by, created_at DESC);
CREATE INDEX runs_agreement_idx ON runs (agreement_id);
CREATE INDEX runs_created_idx ON runs (created_at DESC);

-- The steps of a run (one BullMQ job each).
CREATE TABLE steps (
  run_id         text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_id        text NOT NULL,
  ordinal        integer NOT NULL,
  kind           text NOT NULL,
  status         text NOT NULL DEFAULT 'waiting'
                 CHECK (status IN ('waiting', 'running', 'done', 'skipped', 'failed', 'cancelled')),
  progress       double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  artifact_hash  text,
  rows           bigint CHECK (rows >= 0),
  error_code     text,
  error_message  text,
  started_at     timestamptz,
  finished_at    timestamptz,
  PRIMARY KEY (run_id, step_id)
);

-- Content-addressed artifacts in the domain store. The same content may sit in
-- several zones (a work artifact frozen into staging keeps its hash).
CREATE TABLE artifacts (
  hash        text NOT NULL,
  zone        text NOT NULL CHECK (zone IN ('raw', 'sandbox', 'work', 'staging', 'release')),
  path        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('table', 'extract', 'model', 'file', 'evidence')),
  rows        bigint CHECK (rows >= 0),
  columns     jsonb NOT NULL DEFAULT '[]'::jsonb,
  run_id      text,
  step_id     text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  frozen      boolean NOT NULL DEFAULT false,
  PRIMARY KEY (hash, zone)
);
CREATE INDEX artifacts_run_idx ON artifacts (run_id);

-- Provenance of each artifact's content (first recording wins).
CREATE TABLE lineage (
  artifact_hash  text PRIMARY KEY,
  input_hashes   jsonb NOT NULL CHECK (jsonb_typeof(input_hashes) = 'array'),
  step_kind      text NOT NULL,
  parameters     jsonb NOT NULL DEFAULT '{}'::jsonb,
  code_version   text NOT NULL,
  rows           bigint,
  column_count   integer,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- Non-restoration audit reports, bound to the artifact's hash and signed.
CREATE TABLE audit_reports (
  id             text PRIMARY KEY,
  n              bigint GENERATED ALWAYS AS IDENTITY,
  artifact_hash  text NOT NULL,
  run_id         text,
  output_id      text,
  status         text NOT NULL CHECK (status IN ('pass', 'review', 'fail')),
  report         jsonb NOT NULL,
  signature      text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_reports_artifact_idx ON audit_reports (artifact_hash, n DESC);
CREATE INDEX audit_reports_run_idx ON audit_reports (run_id, n);

-- Reviewers' decisions. A review approves one hash: a changed artifact needs a new one.
CREATE TABLE reviews (
  id             text PRIMARY KEY,
  n              bigint GENERATED ALWAYS AS IDENTITY,
  artifact_hash  text NOT NULL,
  report_id      text NOT NULL REFERENCES audit_reports (id),
  reviewer_id    text NOT NULL,
  decision       text NOT NULL CHECK (decision IN ('approve', 'reject')),
  exception      boolean NOT NULL DEFAULT false,
  reason         text NOT NULL DEFAULT '',
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_artifact_idx ON reviews (artifact_hash, n);

-- Outputs that passed the gate into release/.
CREATE TABLE releases (
  id             text PRIMARY KEY,
  artifact_hash  text NOT NULL,
  run_id         text NOT NULL,
  output_id      text NOT NULL,
  path           text NOT NULL,
  released_by    text NOT NULL,
  released_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT releases_once UNIQUE (run_id, output_id, artifact_hash)
);

-- The tamper-evident audit log: hash = sha256(prev_hash || canonical JSON of
-- the row). seq is assigned by the appender (previous seq + 1) under a lock.
CREATE TABLE audit_log (
  seq        bigserial PRIMARY KEY,
  at         timestamptz NOT NULL,
  actor      text NOT NULL,
  action     text NOT NULL,
  subject    text NOT NULL,
  details    jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash  text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash       text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject, seq);

CREATE FUNCTION audit_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;

CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();

CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();
