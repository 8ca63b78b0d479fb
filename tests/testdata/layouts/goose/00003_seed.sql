-- +goose Up
INSERT INTO accounts (id, email) VALUES (1, 'ops@example.com');

-- +goose Down
DELETE FROM accounts WHERE id = 1;
