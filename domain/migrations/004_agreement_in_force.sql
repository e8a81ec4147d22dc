-- Agreements in force (issue 12): an agreement may be suspended (and resumed)
-- or terminated (final), each by an admin with a reason. Who and why is kept
-- here and in the audit log; a resumed agreement clears its suspension.
ALTER TABLE agreements DROP CONSTRAINT IF EXISTS agreements_status_check;
ALTER TABLE agreements ADD CONSTRAINT agreements_status_check CHECK (status IN ('active', 'suspended', 'terminated'));
ALTER TABLE agreements ADD COLUMN IF NOT EXISTS suspended_at timestamptz;
ALTER TABLE agreements ADD COLUMN IF NOT EXISTS suspended_by text;
ALTER TABLE agreements ADD COLUMN IF NOT EXISTS suspension_reason text;
ALTER TABLE agreements ADD COLUMN IF NOT EXISTS termination_reason text;
ALTER TABLE agreements ADD CONSTRAINT agreements_suspension_recorded
  CHECK (status <> 'suspended' OR (suspended_at IS NOT NULL AND suspended_by IS NOT NULL));
