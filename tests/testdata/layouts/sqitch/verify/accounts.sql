-- Verify shop:accounts on pg

BEGIN;

SELECT id, email, tier FROM accounts WHERE false;

ROLLBACK;
