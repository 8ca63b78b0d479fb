CREATE INDEX users_created_at ON users (created_at);
-- quiet: CONCURRENTLY, and an index on a table created two lines above
CREATE INDEX CONCURRENTLY users_email ON users (email);
CREATE TABLE fresh (id bigint PRIMARY KEY, at timestamptz);
CREATE INDEX fresh_at ON fresh (at);
