-- Deploy shop:accounts to pg

BEGIN;

CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, tier text NOT NULL DEFAULT 'free');

COMMIT;
