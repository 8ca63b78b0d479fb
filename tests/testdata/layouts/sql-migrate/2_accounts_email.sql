-- +migrate Up notransaction
CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);

-- +migrate Down notransaction
DROP INDEX CONCURRENTLY accounts_email;
