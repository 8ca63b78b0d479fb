-- Deploy shop:seed to pg

BEGIN;

INSERT INTO accounts (id, email) VALUES (1, 'ops@example.com');

COMMIT;
