DROP INDEX users_created_at;
-- quiet
DROP INDEX CONCURRENTLY users_email;
