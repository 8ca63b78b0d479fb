TRUNCATE sessions CASCADE;
-- quiet
TRUNCATE audit_scratch;
