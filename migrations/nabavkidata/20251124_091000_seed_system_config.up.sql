-- Revision 20251124_091000: seed system_config defaults.
-- Plan limits (free / pro / enterprise), request rate limits, feature flags,
-- data retention periods, authentication, fraud, AI, scraper, alert, billing,
-- dashboard and upload settings, as JSONB values. NULL inside a limit object
-- means "unlimited". Idempotent: ON CONFLICT DO NOTHING, so a re-run never
-- overwrites a value an operator has tuned since.

INSERT INTO system_config (config_key, category, is_public, description, config_value) VALUES
    -- Plan limits -------------------------------------------------------------
    ('plans.free.limits', 'plans', true,
     'Quotas of the free plan.',
     '{"requests_per_minute": 10, "requests_per_day": 500, "searches_per_day": 50,
       "ai_queries_per_day": 5, "ai_analyses_per_month": 3, "saved_searches": 3, "alerts": 1,
       "document_downloads_per_day": 10, "export_rows": 0, "api_access": false,
       "api_requests_per_day": 0, "history_days": 90, "seats": 1}'),
    ('plans.pro.limits', 'plans', true,
     'Quotas of the pro plan.',
     '{"requests_per_minute": 60, "requests_per_day": 10000, "searches_per_day": 2000,
       "ai_queries_per_day": 100, "ai_analyses_per_month": 200, "saved_searches": 50, "alerts": 25,
       "document_downloads_per_day": 500, "export_rows": 10000, "api_access": true,
       "api_requests_per_day": 5000, "history_days": 1825, "seats": 3}'),
    ('plans.enterprise.limits', 'plans', true,
     'Quotas of the enterprise plan (null = unlimited).',
     '{"requests_per_minute": 300, "requests_per_day": 100000, "searches_per_day": null,
       "ai_queries_per_day": 1000, "ai_analyses_per_month": 5000, "saved_searches": null,
       "alerts": null, "document_downloads_per_day": null, "export_rows": null,
       "api_access": true, "api_requests_per_day": 100000, "history_days": null, "seats": 25}'),
    ('plans.trial', 'plans', true,
     'Free trial granted at sign-up.',
     '{"plan": "pro", "days": 14, "requires_payment_method": false}'),

    -- Request rate limits outside plan quotas ---------------------------------
    ('rate_limits.anonymous', 'rate_limits', false,
     'Unauthenticated requests per IP address.',
     '{"requests_per_minute": 5, "window_seconds": 60, "block_seconds": 300}'),
    ('rate_limits.login', 'rate_limits', false,
     'Failed login attempts per account and IP before a temporary lock.',
     '{"max_attempts": 5, "window_seconds": 900, "lockout_seconds": 900}'),
    ('rate_limits.registration', 'rate_limits', false,
     'Sign-ups per IP address.',
     '{"max_per_ip_per_day": 3, "window_seconds": 86400}'),
    ('rate_limits.password_reset', 'rate_limits', false,
     'Password reset e-mails per account.',
     '{"max_per_hour": 3}'),

    -- Feature flags -----------------------------------------------------------
    ('features.ai_analysis', 'features', true,
     'AI analysis of tenders and documents.', '{"enabled": true}'),
    ('features.semantic_search', 'features', true,
     'Semantic (embedding) search and RAG answers.', '{"enabled": true}'),
    ('features.email_alerts', 'features', true,
     'E-mail delivery of alerts and digests.', '{"enabled": true}'),
    ('features.public_api', 'features', true,
     'Public data API with API keys.', '{"enabled": true}'),
    ('features.messaging', 'features', true,
     'Support messaging between users and staff.', '{"enabled": true}'),
    ('features.registration_open', 'features', true,
     'New accounts can sign up.', '{"enabled": true}'),
    ('features.maintenance_mode', 'features', true,
     'Read-only maintenance mode with a banner message.',
     '{"enabled": false, "message": null}'),

    -- Data retention (days) ---------------------------------------------------
    ('retention.audit_log', 'retention', false,
     'Security audit trail.', '{"days": 2555}'),
    ('retention.admin_audit_log', 'retention', false,
     'Administrative actions.', '{"days": 2555}'),
    ('retention.billing_events', 'retention', false,
     'Billing ledger (accounting records).', '{"days": 3650}'),
    ('retention.fraud_detection', 'retention', false,
     'Fraud risk assessments.', '{"days": 730}'),
    ('retention.fraud_events', 'retention', false,
     'Fraud incidents.', '{"days": 2555}'),
    ('retention.query_history', 'retention', false,
     'Search and RAG question history.', '{"days": 365}'),
    ('retention.analysis_history', 'retention', false,
     'AI analysis runs.', '{"days": 730}'),
    ('retention.usage_tracking', 'retention', false,
     'Product usage events.', '{"days": 395}'),
    ('retention.notifications', 'retention', false,
     'Delivered notifications.', '{"days": 180}'),
    ('retention.rate_limits', 'retention', false,
     'Expired rate-limit windows.', '{"days": 2}'),
    ('retention.refresh_tokens', 'retention', false,
     'Expired or revoked refresh tokens.', '{"days": 30}'),

    -- Authentication ------------------------------------------------------------
    ('auth.tokens', 'auth', false,
     'JWT lifetimes.', '{"access_ttl_seconds": 900, "refresh_ttl_days": 30, "rotate_refresh": true}'),
    ('auth.password_policy', 'auth', true,
     'Password rules.',
     '{"min_length": 10, "require_digit": true, "require_letter": true, "max_age_days": null}'),
    ('auth.email_verification', 'auth', false,
     'E-mail verification.', '{"required": true, "token_ttl_hours": 48}'),

    -- Fraud prevention ----------------------------------------------------------
    ('fraud.thresholds', 'fraud', false,
     'Risk score thresholds (0-100) and multi-account limits.',
     '{"flag_score": 50, "challenge_score": 70, "block_score": 85,
       "max_accounts_per_device": 3, "max_trials_per_device": 1,
       "block_disposable_email": true}'),

    -- AI ------------------------------------------------------------------------
    ('ai.embedding', 'ai', false,
     'Embedding model settings; dimensions must match embeddings.vector.',
     '{"dimensions": 768, "chunk_size_tokens": 512, "chunk_overlap_tokens": 64, "batch_size": 32}'),
    ('ai.generation', 'ai', false,
     'Answer generation settings.',
     '{"max_output_tokens": 2048, "temperature": 0.2, "max_context_chunks": 12, "timeout_seconds": 60}'),

    -- Data collection -----------------------------------------------------------
    ('scraper.schedule', 'scraper', false,
     'Cron schedules (Europe/Skopje) of the e-nabavki scrapers.',
     '{"active_tenders": "0 */4 * * *", "awarded_tenders": "30 2 * * *",
       "cancelled_tenders": "45 2 * * *", "documents": "15 */2 * * *"}'),

    -- Alerts --------------------------------------------------------------------
    ('alerts.delivery', 'alerts', false,
     'Alert batching and digest times.',
     '{"instant_batch_seconds": 300, "daily_digest_hour": 7, "weekly_digest_isodow": 1,
       "timezone": "Europe/Skopje", "deadline_reminder_days": [7, 3, 1]}'),

    -- Billing -------------------------------------------------------------------
    ('billing.currency', 'billing', true,
     'Currencies offered at checkout.',
     '{"default": "MKD", "supported": ["MKD", "EUR"]}'),
    ('billing.dunning', 'billing', false,
     'Grace period after a failed payment before downgrading to free.',
     '{"grace_days": 7, "retry_attempts": 3}'),

    -- Dashboards and uploads ----------------------------------------------------
    ('dashboards.refresh', 'dashboards', false,
     'How often refresh_dashboard_materialized_views() is run.',
     '{"interval_minutes": 60}'),
    ('documents.upload', 'documents', true,
     'Limits for uploaded and downloaded documents.',
     '{"max_file_size_mb": 50,
       "allowed_mime_types": ["application/pdf", "application/msword",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "application/vnd.ms-excel",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "application/zip", "image/jpeg", "image/png"]}')
ON CONFLICT (config_key) DO NOTHING;
