-- schemad:lint-ignore drop-column the column was never read in production (checked in logs)
ALTER TABLE users DROP COLUMN legacy_flag;
-- schemad:lint-ignore drop-table
DROP TABLE old_sessions;
