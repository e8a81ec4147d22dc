-- Audit thresholds per agreement (AUDIT.md defaults apply where a field is absent;
-- a job spec may tighten them, never loosen them).
ALTER TABLE agreements ADD COLUMN IF NOT EXISTS audit_thresholds jsonb NOT NULL DEFAULT '{}'::jsonb;
