-- Runs outside a transaction: the parser sees CONCURRENTLY.
CREATE INDEX CONCURRENTLY audit_at ON audit (at);
