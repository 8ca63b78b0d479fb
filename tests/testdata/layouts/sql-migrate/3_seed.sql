-- +migrate Up
INSERT INTO accounts (id, email) VALUES (1, 'ops@example.com');

-- +migrate Down
DELETE FROM accounts WHERE id = 1;
