-- Resource limits of an agreement's steps (time in ms, DuckDB memory, spill space;
-- lib/limits.ts); the configured defaults apply where a field is absent.
ALTER TABLE agreements ADD COLUMN IF NOT EXISTS resource_limits jsonb NOT NULL DEFAULT '{}'::jsonb;
