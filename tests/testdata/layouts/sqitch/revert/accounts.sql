-- Revert shop:accounts from pg

BEGIN;

DROP TABLE accounts;

COMMIT;
