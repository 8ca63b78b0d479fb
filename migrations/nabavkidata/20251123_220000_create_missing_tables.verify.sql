-- The post-migration checklist of the seed hand-off (DELIVERABLES_CHECKLIST.md, "Testing
-- Checklist / Post-Migration"), as checks. They run right after this revision's up, in its
-- transaction (a failing check rolls the revision back), and on any environment with
-- `schemactl verify --target T`, in a transaction that is always rolled back: the test rows
-- below are never left behind.

-- All tables exist: the 29 this revision creates.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['entity_categories', 'organizations', 'users', 'cpv_codes', 'tenders',
      'tender_documents', 'documents', 'tender_entity_link', 'embeddings', 'analysis_history',
      'query_history', 'api_keys', 'refresh_tokens', 'saved_searches', 'alerts', 'notifications',
      'user_preferences', 'personalization_settings', 'subscriptions', 'subscription_usage',
      'billing_events', 'usage_tracking', 'audit_log', 'admin_audit_log', 'admin_settings',
      'system_config', 'fraud_events', 'message_threads', 'messages'] LOOP
    ASSERT to_regclass(t) IS NOT NULL, format('table %s is missing', t);
  END LOOP;
END $$;

-- Table structures and foreign keys: every foreign key is there, and each has an index whose
-- leading columns are its columns.
DO $$
DECLARE
  unindexed text;
BEGIN
  ASSERT (SELECT count(*) FROM pg_constraint
          WHERE contype = 'f' AND connamespace = current_schema()::regnamespace) >= 40,
         'foreign keys are missing';
  SELECT string_agg(c.conrelid::regclass || '.' || c.conname, ', ' ORDER BY c.conname)
    INTO unindexed
    FROM pg_constraint c
   WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
     AND NOT EXISTS (
       SELECT 1 FROM pg_index i
        WHERE i.indrelid = c.conrelid
          AND (string_to_array(i.indkey::text, ' ')::int2[])[1:array_length(c.conkey, 1)]
              = c.conkey);
  ASSERT unindexed IS NULL, format('foreign keys without an index: %s', unindexed);
END $$;

-- Unique constraints are applied, and default values work.
DO $$
DECLARE
  u users%ROWTYPE;
BEGIN
  INSERT INTO users (email) VALUES ('checklist@example.com') RETURNING * INTO u;
  ASSERT u.id IS NOT NULL AND u.role = 'user' AND u.is_active AND NOT u.email_verified
         AND u.failed_login_count = 0 AND u.locale = 'mk' AND u.timezone = 'Europe/Skopje'
         AND u.metadata = '{}'::jsonb AND u.created_at IS NOT NULL,
         'users defaults do not work';
  BEGIN
    INSERT INTO users (email) VALUES ('checklist@example.com');
    RAISE EXCEPTION 'users.email accepts a duplicate';
  EXCEPTION WHEN unique_violation THEN
    NULL;
  END;
END $$;

-- Test data can be inserted, and cascade deletes work: a tender's documents go with it, a
-- user's saved searches with the user; an organisation's users stay (SET NULL).
DO $$
DECLARE
  org uuid;
  usr uuid;
BEGIN
  INSERT INTO organizations (name) VALUES ('Checklist d.o.o.') RETURNING id INTO org;
  INSERT INTO users (email, organization_id) VALUES ('cascade@example.com', org)
    RETURNING id INTO usr;
  INSERT INTO tenders (tender_id, title, procuring_entity_id)
    VALUES ('CHECKLIST-1', 'Checklist tender', org);
  INSERT INTO tender_documents (tender_id, file_name) VALUES ('CHECKLIST-1', 'notice.pdf');
  INSERT INTO saved_searches (user_id, name) VALUES (usr, 'roads');
  DELETE FROM tenders WHERE tender_id = 'CHECKLIST-1';
  ASSERT NOT EXISTS (SELECT 1 FROM tender_documents WHERE tender_id = 'CHECKLIST-1'),
         'tender_documents did not cascade';
  DELETE FROM organizations WHERE id = org;
  ASSERT (SELECT organization_id FROM users WHERE id = usr) IS NULL,
         'users.organization_id did not SET NULL';
  DELETE FROM users WHERE id = usr;
  ASSERT NOT EXISTS (SELECT 1 FROM saved_searches WHERE user_id = usr),
         'saved_searches did not cascade';
END $$;

-- Every table can be queried.
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('SELECT count(*) FROM %I', t);
  END LOOP;
END $$;
