DROP VIEW open_accounts;
ALTER TABLE accounts DROP COLUMN status;
DROP TYPE account_status;
