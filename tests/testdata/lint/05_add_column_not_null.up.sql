ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;
-- quiet: a default makes it safe (and cheap since PostgreSQL 11)
ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;
