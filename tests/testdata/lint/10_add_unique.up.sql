ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
-- quiet: a new table
CREATE TABLE fresh (id bigint PRIMARY KEY, code text);
ALTER TABLE fresh ADD CONSTRAINT fresh_code_key UNIQUE (code);
