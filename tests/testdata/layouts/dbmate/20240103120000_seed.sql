-- migrate:up
INSERT INTO accounts (id, email) VALUES (1, 'ops@example.com');

-- migrate:down
DELETE FROM accounts WHERE id = 1;
