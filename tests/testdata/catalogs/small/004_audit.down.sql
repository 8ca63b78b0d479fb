DELETE FROM owners WHERE email = 'seed@example.org';
DROP TRIGGER accounts_audit ON accounts;
DROP FUNCTION audit_balance();
DROP TABLE audit;
