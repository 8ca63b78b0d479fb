COMMENT ON TABLE accounts IS 'written by ${flyway:filename}';
