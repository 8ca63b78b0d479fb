ALTER TABLE users DROP COLUMN nickname;
CREATE TABLE fresh (id bigint PRIMARY KEY, tmp text);
ALTER TABLE fresh DROP COLUMN tmp;
