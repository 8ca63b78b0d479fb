CREATE TABLE audit (
  id bigserial PRIMARY KEY,
  account_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
  note text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION audit_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit (account_id, note) VALUES (NEW.id, 'balance ' || NEW.balance);
  RETURN NEW;
END $$;
CREATE TRIGGER accounts_audit AFTER UPDATE OF balance ON accounts
  FOR EACH ROW EXECUTE FUNCTION audit_balance();
INSERT INTO owners (email) VALUES ('seed@example.org');
