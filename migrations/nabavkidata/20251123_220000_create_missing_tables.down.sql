-- Revert 20251123_220000: drop the 29 tables (dependents first), the foreign keys
-- and triggers it added to the 20251123_153004 tables, and set_updated_at().
-- Indexes, constraints and triggers of the dropped tables go with them.
DROP TABLE messages;
DROP TABLE message_threads;
DROP TABLE fraud_events;
DROP TABLE system_config;
DROP TABLE admin_settings;
DROP TABLE admin_audit_log;
DROP TABLE audit_log;
DROP TABLE usage_tracking;
DROP TABLE billing_events;
DROP TABLE subscription_usage;
DROP TABLE subscriptions;
DROP TABLE personalization_settings;
DROP TABLE user_preferences;
DROP TABLE notifications;
DROP TABLE alerts;
DROP TABLE saved_searches;
DROP TABLE refresh_tokens;
DROP TABLE api_keys;
DROP TABLE query_history;
DROP TABLE analysis_history;
DROP TABLE embeddings;
DROP TABLE tender_entity_link;
DROP TABLE documents;
DROP TABLE tender_documents;
DROP TABLE tenders;
DROP TABLE cpv_codes;

DROP TRIGGER rate_limits_set_updated_at ON rate_limits;
DROP TRIGGER fraud_detection_set_updated_at ON fraud_detection;
ALTER TABLE rate_limits DROP CONSTRAINT rate_limits_user_id_fkey;
ALTER TABLE fraud_detection DROP CONSTRAINT fraud_detection_user_id_fkey;

DROP TABLE users;
DROP TABLE organizations;
DROP TABLE entity_categories;

DROP FUNCTION set_updated_at();
