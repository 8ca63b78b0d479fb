-- +goose Up
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, tier text NOT NULL DEFAULT 'free');
-- +goose StatementBegin
CREATE FUNCTION accounts_normalise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.email := lower(NEW.email);
  RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION accounts_normalise();
DROP TABLE accounts;
