-- Revision 20251123_153004: fraud prevention tables.
-- Creates fraud_detection (one row per risk assessment of a sign-up, login or
-- payment attempt) and rate_limits (fixed-window request counters per subject
-- and endpoint). Both reference users, which do not exist yet at this point:
-- their foreign keys to users are added by 20251123_220000_create_missing_tables.

CREATE TABLE fraud_detection (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- FK to users(id) added in 20251123_220000 (ON DELETE SET NULL).
    user_id             uuid,
    email               text,
    ip_address          inet,
    device_fingerprint  text,
    user_agent          text,
    detection_type      text NOT NULL
        CONSTRAINT fraud_detection_detection_type_check
        CHECK (detection_type IN ('registration', 'login', 'payment', 'api_usage',
                                  'trial_abuse', 'multi_account', 'vpn_proxy',
                                  'disposable_email', 'other')),
    risk_score          numeric(5,2) NOT NULL DEFAULT 0
        CONSTRAINT fraud_detection_risk_score_check CHECK (risk_score BETWEEN 0 AND 100),
    is_suspicious       boolean NOT NULL DEFAULT false,
    is_blocked          boolean NOT NULL DEFAULT false,
    action_taken        text NOT NULL DEFAULT 'none'
        CONSTRAINT fraud_detection_action_taken_check
        CHECK (action_taken IN ('none', 'flagged', 'challenged', 'blocked', 'manual_review')),
    details             jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE fraud_detection IS
    'Risk assessment of one sign-up, login, payment or API attempt: who (user/email), from where '
    '(IP, device fingerprint), the score and the action taken. Rows outlive the user (user_id SET NULL).';

CREATE INDEX fraud_detection_user_id_idx ON fraud_detection (user_id);
CREATE INDEX fraud_detection_ip_address_idx ON fraud_detection (ip_address);
CREATE INDEX fraud_detection_device_fingerprint_idx ON fraud_detection (device_fingerprint);
CREATE INDEX fraud_detection_email_idx ON fraud_detection (lower(email));
CREATE INDEX fraud_detection_type_created_at_idx ON fraud_detection (detection_type, created_at DESC);
CREATE INDEX fraud_detection_suspicious_idx ON fraud_detection (created_at DESC)
    WHERE is_suspicious OR is_blocked;

CREATE TABLE rate_limits (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- FK to users(id) added in 20251123_220000 (ON DELETE CASCADE).
    user_id         uuid,
    -- What is limited: 'user:<uuid>', 'ip:<address>' or 'api_key:<prefix>'.
    subject         text NOT NULL,
    ip_address      inet,
    endpoint        text NOT NULL DEFAULT '*',
    window_start    timestamptz NOT NULL,
    window_seconds  integer NOT NULL DEFAULT 60
        CONSTRAINT rate_limits_window_seconds_check CHECK (window_seconds > 0),
    request_count   integer NOT NULL DEFAULT 0
        CONSTRAINT rate_limits_request_count_check CHECK (request_count >= 0),
    limit_count     integer NOT NULL
        CONSTRAINT rate_limits_limit_count_check CHECK (limit_count > 0),
    blocked_until   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- One counter per subject, endpoint and window: the upsert target of the limiter.
    CONSTRAINT rate_limits_subject_endpoint_window_key UNIQUE (subject, endpoint, window_start)
);

COMMENT ON TABLE rate_limits IS
    'Fixed-window request counters per subject (user, IP or API key) and endpoint; the limiter '
    'upserts on (subject, endpoint, window_start). Short-lived rows, purged by retention.';

CREATE INDEX rate_limits_user_id_idx ON rate_limits (user_id);
CREATE INDEX rate_limits_ip_address_idx ON rate_limits (ip_address);
CREATE INDEX rate_limits_window_start_idx ON rate_limits (window_start);
CREATE INDEX rate_limits_blocked_until_idx ON rate_limits (blocked_until)
    WHERE blocked_until IS NOT NULL;
