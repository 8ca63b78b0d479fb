-- Deploy shop:accounts_email to pg
-- requires: accounts

CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);
