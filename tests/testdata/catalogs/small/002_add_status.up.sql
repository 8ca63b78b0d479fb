CREATE TYPE account_status AS ENUM ('open', 'frozen', 'closed');
ALTER TABLE accounts ADD COLUMN status account_status NOT NULL DEFAULT 'open';
CREATE VIEW open_accounts AS SELECT id, owner_id, balance FROM accounts WHERE status = 'open';
