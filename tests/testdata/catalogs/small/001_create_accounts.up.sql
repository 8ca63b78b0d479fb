-- Accounts and their owners.
CREATE TABLE owners (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id bigint NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
  balance numeric(12, 2) NOT NULL DEFAULT 0 CHECK (balance >= 0)
);
CREATE INDEX accounts_owner_id ON accounts (owner_id);
