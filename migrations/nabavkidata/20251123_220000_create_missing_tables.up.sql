-- Revision 20251123_220000: create the 29 remaining tables of nabavkidata.
-- Accounts and organisations, the CPV vocabulary, tenders with their documents,
-- entity links and embeddings, AI analysis and search history, alerts and
-- notifications, subscriptions and billing, audit logs, settings, fraud events
-- and support messaging. Also adds the foreign keys from the two fraud tables of
-- 20251123_153004 to users, and one set_updated_at() trigger per table that has
-- an updated_at column.
--
-- Foreign key policy (each constraint says why in a comment next to it):
--   ON DELETE CASCADE   rows owned by the parent that mean nothing without it
--                       (a user's keys, tokens, preferences; a tender's documents).
--   ON DELETE SET NULL  history that must outlive the parent (audit, billing,
--                       fraud, query and usage logs keep their rows).
--   ON DELETE RESTRICT  reference data and public record that must not vanish
--                       under dependent rows (CPV codes, procuring entities).
-- Every foreign key column is the leading column of an index.

-- ---------------------------------------------------------------------------
-- updated_at maintenance
-- ---------------------------------------------------------------------------

CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION set_updated_at() IS
    'BEFORE UPDATE trigger function: stamps updated_at with the transaction time.';

-- ---------------------------------------------------------------------------
-- Organisations and accounts
-- ---------------------------------------------------------------------------

CREATE TABLE entity_categories (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- RESTRICT: a category with sub-categories must be emptied or re-parented
    -- first; silently orphaning (SET NULL) or deleting a subtree (CASCADE)
    -- would reclassify procuring entities without anyone noticing.
    parent_id   uuid REFERENCES entity_categories (id) ON DELETE RESTRICT,
    code        text NOT NULL,
    name        text NOT NULL,
    name_en     text,
    description text,
    sort_order  integer NOT NULL DEFAULT 0,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entity_categories_code_key UNIQUE (code),
    CONSTRAINT entity_categories_code_check CHECK (code ~ '^[a-z0-9_]+$'),
    CONSTRAINT entity_categories_not_own_parent_check CHECK (parent_id IS DISTINCT FROM id)
);

COMMENT ON TABLE entity_categories IS
    'Hierarchical taxonomy of procuring entities (ministry, municipality, public enterprise, '
    'health institution, school ...), as used by the e-nabavki contracting-entity categories.';

CREATE INDEX entity_categories_parent_id_idx ON entity_categories (parent_id);

CREATE TABLE organizations (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL,
    name_en             text,
    -- National tax number (EDB in North Macedonia); NULL when not published.
    tax_id              text,
    -- Company register number (EMBS).
    registration_number text,
    org_type            text NOT NULL DEFAULT 'procuring_entity',
    -- SET NULL: deleting a taxonomy node must not delete organisations; they
    -- become uncategorised until reclassified.
    entity_category_id  uuid REFERENCES entity_categories (id) ON DELETE SET NULL,
    address             jsonb NOT NULL DEFAULT '{}'::jsonb,
    city                text,
    country_code        char(2) NOT NULL DEFAULT 'MK',
    contact             jsonb NOT NULL DEFAULT '{}'::jsonb,
    website             text,
    external_ids        jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_active           boolean NOT NULL DEFAULT true,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_tax_id_key UNIQUE (tax_id),
    CONSTRAINT organizations_org_type_check
        CHECK (org_type IN ('procuring_entity', 'supplier', 'both', 'other')),
    CONSTRAINT organizations_country_code_check CHECK (country_code ~ '^[A-Z]{2}$')
);

COMMENT ON TABLE organizations IS
    'Legal entities: procuring entities (contracting authorities) and suppliers/bidders, '
    'identified by tax number; also the employer of platform users.';

CREATE INDEX organizations_entity_category_id_idx ON organizations (entity_category_id);
CREATE INDEX organizations_org_type_idx ON organizations (org_type);
CREATE INDEX organizations_lower_name_idx ON organizations (lower(name));
CREATE INDEX organizations_city_idx ON organizations (city);

CREATE TABLE users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Stored lower-cased (see check) so the UNIQUE constraint is case-insensitive.
    email               text NOT NULL,
    -- NULL for accounts that only sign in through an external identity provider.
    password_hash       text,
    full_name           text,
    role                text NOT NULL DEFAULT 'user',
    -- SET NULL: the account survives when its employer organisation is removed.
    organization_id     uuid REFERENCES organizations (id) ON DELETE SET NULL,
    is_active           boolean NOT NULL DEFAULT true,
    email_verified      boolean NOT NULL DEFAULT false,
    email_verified_at   timestamptz,
    last_login_at       timestamptz,
    last_login_ip       inet,
    failed_login_count  integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    stripe_customer_id  text,
    locale              text NOT NULL DEFAULT 'mk',
    timezone            text NOT NULL DEFAULT 'Europe/Skopje',
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_stripe_customer_id_key UNIQUE (stripe_customer_id),
    CONSTRAINT users_email_check CHECK (email = lower(email) AND position('@' IN email) > 1),
    CONSTRAINT users_role_check CHECK (role IN ('user', 'moderator', 'admin', 'superadmin')),
    CONSTRAINT users_locale_check CHECK (locale IN ('mk', 'en', 'sq')),
    CONSTRAINT users_failed_login_count_check CHECK (failed_login_count >= 0)
);

COMMENT ON TABLE users IS
    'Platform accounts: credentials, role, employer organisation, login state and Stripe customer.';

CREATE INDEX users_organization_id_idx ON users (organization_id);
CREATE INDEX users_role_idx ON users (role) WHERE role <> 'user';
CREATE INDEX users_created_at_idx ON users (created_at);
CREATE INDEX users_last_login_at_idx ON users (last_login_at);

-- Foreign keys of the fraud tables created before users existed. These tables
-- may already hold rows, so each key is added NOT VALID (no scan under the
-- stronger lock) and then validated, which only needs SHARE UPDATE EXCLUSIVE.
ALTER TABLE fraud_detection
    -- SET NULL: fraud assessments are evidence and must survive account deletion.
    ADD CONSTRAINT fraud_detection_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE fraud_detection VALIDATE CONSTRAINT fraud_detection_user_id_fkey;

ALTER TABLE rate_limits
    -- CASCADE: a counter of a deleted user is meaningless state, not history.
    ADD CONSTRAINT rate_limits_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE rate_limits VALIDATE CONSTRAINT rate_limits_user_id_fkey;

-- ---------------------------------------------------------------------------
-- Procurement data
-- ---------------------------------------------------------------------------

CREATE TABLE cpv_codes (
    -- CPV 2008 code with its check digit, e.g. '45000000-7'.
    code        varchar(10) PRIMARY KEY,
    -- RESTRICT: a code with children cannot be removed from the vocabulary.
    parent_code varchar(10) REFERENCES cpv_codes (code) ON DELETE RESTRICT,
    -- 1 division, 2 group, 3 class, 4 category, 5 sub-category.
    level       smallint NOT NULL,
    division    char(2) GENERATED ALWAYS AS (substr(code, 1, 2)::char(2)) STORED,
    name_en     text NOT NULL,
    name_mk     text,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cpv_codes_code_check CHECK (code ~ '^[0-9]{8}-[0-9]$'),
    CONSTRAINT cpv_codes_level_check CHECK (level BETWEEN 1 AND 5),
    CONSTRAINT cpv_codes_root_check CHECK ((parent_code IS NULL) = (level = 1))
);

COMMENT ON TABLE cpv_codes IS
    'Common Procurement Vocabulary (CPV 2008, Regulation (EC) No 213/2008): hierarchical '
    'classification of the subject of a contract; master data seeded by 20251124_090000.';

CREATE INDEX cpv_codes_parent_code_idx ON cpv_codes (parent_code);
CREATE INDEX cpv_codes_division_level_idx ON cpv_codes (division, level);

CREATE TABLE tenders (
    -- Source-system identifier, e.g. an OCDS id 'ocds-...' or an e-nabavki dossier id.
    tender_id               varchar(100) PRIMARY KEY,
    source_system           text NOT NULL DEFAULT 'e-nabavki',
    source_id               text,
    title                   text NOT NULL,
    description             text,
    -- RESTRICT: tenders are public record; a procuring entity with tenders
    -- cannot be deleted (merge duplicates by re-pointing tenders first).
    procuring_entity_id     uuid REFERENCES organizations (id) ON DELETE RESTRICT,
    -- Name exactly as published, kept even when the entity is resolved.
    procuring_entity_name   text,
    -- RESTRICT: a CPV code in use cannot disappear from the vocabulary.
    cpv_code                varchar(10) REFERENCES cpv_codes (code) ON DELETE RESTRICT,
    additional_cpv_codes    varchar(10)[] NOT NULL DEFAULT '{}',
    category                text,
    procedure_type          text,
    status                  text NOT NULL DEFAULT 'published',
    estimated_value         numeric(18,2),
    awarded_value           numeric(18,2),
    currency                char(3) NOT NULL DEFAULT 'MKD',
    publication_date        timestamptz,
    submission_deadline     timestamptz,
    opening_date            timestamptz,
    award_date              timestamptz,
    contract_signing_date   date,
    -- SET NULL: the award stays on record (awarded_value, tender_entity_link)
    -- when a supplier record is removed or merged.
    winner_organization_id  uuid REFERENCES organizations (id) ON DELETE SET NULL,
    num_bidders             integer,
    has_lots                boolean NOT NULL DEFAULT false,
    num_lots                integer,
    source_url              text,
    language                text NOT NULL DEFAULT 'mk',
    raw                     jsonb NOT NULL DEFAULT '{}'::jsonb,
    search_vector           tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(description, ''))
    ) STORED,
    scraped_at              timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenders_source_key UNIQUE (source_system, source_id),
    CONSTRAINT tenders_category_check CHECK (category IN ('goods', 'services', 'works')),
    CONSTRAINT tenders_procedure_type_check CHECK (procedure_type IN (
        'open', 'restricted', 'competitive_dialogue', 'negotiated_with_publication',
        'negotiated_without_publication', 'simplified_competitive', 'low_value',
        'framework_agreement', 'design_contest', 'innovation_partnership', 'other')),
    CONSTRAINT tenders_status_check CHECK (status IN (
        'planned', 'published', 'open', 'clarification', 'evaluation', 'awarded',
        'cancelled', 'unsuccessful', 'closed', 'completed')),
    CONSTRAINT tenders_estimated_value_check CHECK (estimated_value >= 0),
    CONSTRAINT tenders_awarded_value_check CHECK (awarded_value >= 0),
    CONSTRAINT tenders_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT tenders_num_bidders_check CHECK (num_bidders >= 0),
    CONSTRAINT tenders_num_lots_check CHECK (num_lots >= 0)
);

COMMENT ON TABLE tenders IS
    'Public procurement notices (tenders) scraped from e-nabavki / OCDS: procuring entity, '
    'CPV code, values, procedure, status and dates; raw keeps the source record.';

CREATE INDEX tenders_procuring_entity_id_idx ON tenders (procuring_entity_id, publication_date DESC);
CREATE INDEX tenders_cpv_code_idx ON tenders (cpv_code);
CREATE INDEX tenders_winner_organization_id_idx ON tenders (winner_organization_id);
CREATE INDEX tenders_status_deadline_idx ON tenders (status, submission_deadline);
CREATE INDEX tenders_publication_date_idx ON tenders (publication_date DESC);
CREATE INDEX tenders_search_vector_idx ON tenders USING gin (search_vector);
CREATE INDEX tenders_additional_cpv_codes_idx ON tenders USING gin (additional_cpv_codes);

CREATE TABLE tender_documents (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: a tender's attachments are owned by the tender.
    tender_id           varchar(100) NOT NULL REFERENCES tenders (tender_id) ON DELETE CASCADE,
    file_name           text NOT NULL,
    mime_type           text,
    file_size_bytes     bigint,
    sha256              char(64),
    storage_url         text,
    source_url          text,
    doc_type            text NOT NULL DEFAULT 'other',
    extraction_status   text NOT NULL DEFAULT 'pending',
    extracted_text      text,
    extraction_error    text,
    page_count          integer,
    language            text,
    extracted_at        timestamptz,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- The same file attached twice to one tender is stored once.
    CONSTRAINT tender_documents_tender_id_sha256_key UNIQUE (tender_id, sha256),
    CONSTRAINT tender_documents_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT tender_documents_file_size_bytes_check CHECK (file_size_bytes >= 0),
    CONSTRAINT tender_documents_page_count_check CHECK (page_count >= 0),
    CONSTRAINT tender_documents_doc_type_check CHECK (doc_type IN (
        'tender_notice', 'tender_dossier', 'technical_specification', 'contract',
        'amendment', 'decision', 'clarification', 'award_notice', 'bid', 'other')),
    CONSTRAINT tender_documents_extraction_status_check CHECK (extraction_status IN (
        'pending', 'processing', 'success', 'failed', 'skipped'))
);

COMMENT ON TABLE tender_documents IS
    'Files attached to a tender (notice, dossier, specification, contract ...): storage '
    'location, checksum, size, and the text extracted from them for search and AI.';

CREATE INDEX tender_documents_sha256_idx ON tender_documents (sha256);
CREATE INDEX tender_documents_extraction_queue_idx ON tender_documents (created_at)
    WHERE extraction_status IN ('pending', 'processing', 'failed');

CREATE TABLE documents (
    -- Legacy column names (doc_id, file_path, file_url, content_text, uploaded_at)
    -- are kept on purpose: this is the pre-tender_documents table that old
    -- readers, the scraper and embeddings.document_id still use.
    doc_id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: a legacy tender attachment goes with its tender. NULL for
    -- generic uploads that belong to no tender.
    tender_id           varchar(100) REFERENCES tenders (tender_id) ON DELETE CASCADE,
    -- SET NULL: the canonical copy may be re-imported; the legacy row stays.
    tender_document_id  uuid REFERENCES tender_documents (id) ON DELETE SET NULL,
    -- SET NULL: an uploaded document outlives the account that uploaded it.
    uploaded_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    doc_type            text,
    file_name           text,
    file_path           text,
    file_url            text,
    content_text        text,
    extraction_status   text NOT NULL DEFAULT 'pending',
    file_size_bytes     bigint,
    page_count          integer,
    mime_type           text,
    uploaded_at         timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- At most one legacy row mirrors a canonical tender document.
    CONSTRAINT documents_tender_document_id_key UNIQUE (tender_document_id),
    CONSTRAINT documents_extraction_status_check CHECK (extraction_status IN (
        'pending', 'processing', 'success', 'failed', 'skipped')),
    CONSTRAINT documents_file_size_bytes_check CHECK (file_size_bytes >= 0),
    CONSTRAINT documents_page_count_check CHECK (page_count >= 0)
);

COMMENT ON TABLE documents IS
    'Backward-compatible document store with the legacy column names: rows written by the old '
    'pipeline (optionally mapped to tender_documents through tender_document_id) and generic '
    'uploads not tied to a tender. New tender attachments go to tender_documents.';

CREATE INDEX documents_tender_id_idx ON documents (tender_id);
CREATE INDEX documents_uploaded_by_idx ON documents (uploaded_by);
CREATE INDEX documents_extraction_queue_idx ON documents (uploaded_at)
    WHERE extraction_status IN ('pending', 'processing', 'failed');

CREATE TABLE tender_entity_link (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: the participants of a tender are owned by the tender.
    tender_id               varchar(100) NOT NULL REFERENCES tenders (tender_id) ON DELETE CASCADE,
    -- RESTRICT: bids and awards are public record; an organisation that took
    -- part in tenders cannot be deleted (merge it instead).
    organization_id         uuid NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    role                    text NOT NULL,
    bid_amount              numeric(18,2),
    currency                char(3),
    rank                    integer,
    is_disqualified         boolean NOT NULL DEFAULT false,
    disqualification_reason text,
    metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tender_entity_link_tender_org_role_key UNIQUE (tender_id, organization_id, role),
    CONSTRAINT tender_entity_link_role_check CHECK (role IN (
        'procuring_entity', 'bidder', 'winner', 'subcontractor', 'consortium_member',
        'central_purchasing_body')),
    CONSTRAINT tender_entity_link_bid_amount_check CHECK (bid_amount >= 0),
    CONSTRAINT tender_entity_link_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT tender_entity_link_rank_check CHECK (rank > 0)
);

COMMENT ON TABLE tender_entity_link IS
    'Which organisation played which role in a tender (procuring entity, bidder, winner, '
    'subcontractor ...), with the bid amount and ranking.';

CREATE INDEX tender_entity_link_organization_id_idx ON tender_entity_link (organization_id, role);

CREATE TABLE embeddings (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE (all three sources): an embedding is derived data of its source
    -- text and is useless once the source is gone.
    tender_id           varchar(100) REFERENCES tenders (tender_id) ON DELETE CASCADE,
    tender_document_id  uuid REFERENCES tender_documents (id) ON DELETE CASCADE,
    document_id         uuid REFERENCES documents (doc_id) ON DELETE CASCADE,
    chunk_index         integer NOT NULL DEFAULT 0,
    chunk_text          text NOT NULL,
    -- real[] here; 20251124_093000 converts it to pgvector where available.
    vector              real[] NOT NULL,
    model               text NOT NULL,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT embeddings_tender_document_chunk_key UNIQUE (tender_document_id, model, chunk_index),
    CONSTRAINT embeddings_source_check
        CHECK (num_nonnulls(tender_id, tender_document_id, document_id) >= 1),
    CONSTRAINT embeddings_chunk_index_check CHECK (chunk_index >= 0)
);

COMMENT ON TABLE embeddings IS
    'Vector embeddings of text chunks of tenders and documents, for semantic search and RAG.';
COMMENT ON COLUMN embeddings.vector IS
    'Embedding of chunk_text (768 dimensions). Stored as real[]; 20251124_093000 converts it to '
    'pgvector vector(768) where the extension is available.';

CREATE INDEX embeddings_tender_id_idx ON embeddings (tender_id);
CREATE INDEX embeddings_document_id_idx ON embeddings (document_id);
CREATE INDEX embeddings_model_idx ON embeddings (model);

-- ---------------------------------------------------------------------------
-- AI analysis and search history
-- ---------------------------------------------------------------------------

CREATE TABLE analysis_history (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SET NULL: usage and cost history is kept after the account is deleted.
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    -- CASCADE: an analysis is derived from the tender's content; without the
    -- tender it can be neither shown nor reproduced.
    tender_id       varchar(100) REFERENCES tenders (tender_id) ON DELETE CASCADE,
    analysis_type   text NOT NULL,
    model           text,
    prompt          text,
    input           jsonb NOT NULL DEFAULT '{}'::jsonb,
    result          jsonb NOT NULL DEFAULT '{}'::jsonb,
    status          text NOT NULL DEFAULT 'pending',
    tokens_input    integer,
    tokens_output   integer,
    cost_usd        numeric(12,6),
    duration_ms     integer,
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    CONSTRAINT analysis_history_analysis_type_check CHECK (analysis_type IN (
        'summary', 'risk_assessment', 'eligibility', 'price_estimate', 'competitor_analysis',
        'document_qa', 'bid_recommendation', 'other')),
    CONSTRAINT analysis_history_status_check
        CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    CONSTRAINT analysis_history_tokens_check CHECK (tokens_input >= 0 AND tokens_output >= 0),
    CONSTRAINT analysis_history_cost_usd_check CHECK (cost_usd >= 0)
);

COMMENT ON TABLE analysis_history IS
    'Every AI analysis run (summary, risk, eligibility, price estimate ...): who asked, about '
    'which tender, model, result, tokens, cost and duration.';

CREATE INDEX analysis_history_user_id_idx ON analysis_history (user_id, created_at DESC);
CREATE INDEX analysis_history_tender_id_idx ON analysis_history (tender_id, analysis_type);
CREATE INDEX analysis_history_created_at_idx ON analysis_history (created_at);

CREATE TABLE query_history (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SET NULL: search analytics keep the row after the account is deleted.
    user_id             uuid REFERENCES users (id) ON DELETE SET NULL,
    session_id          uuid,
    query_text          text NOT NULL,
    query_type          text NOT NULL DEFAULT 'search',
    filters             jsonb NOT NULL DEFAULT '{}'::jsonb,
    answer              text,
    sources             jsonb NOT NULL DEFAULT '[]'::jsonb,
    confidence          numeric(3,2),
    result_count        integer,
    response_time_ms    integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT query_history_query_type_check
        CHECK (query_type IN ('search', 'rag_question', 'filter', 'api')),
    CONSTRAINT query_history_confidence_check CHECK (confidence BETWEEN 0 AND 1)
);

COMMENT ON TABLE query_history IS
    'Searches and RAG questions asked by users, with filters, answer, sources and timing.';

CREATE INDEX query_history_user_id_idx ON query_history (user_id, created_at DESC);
CREATE INDEX query_history_created_at_brin_idx ON query_history USING brin (created_at);

-- ---------------------------------------------------------------------------
-- Credentials
-- ---------------------------------------------------------------------------

CREATE TABLE api_keys (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: a user's API keys are owned credentials; they must die with the account.
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL,
    -- First characters of the key, shown in the UI to recognise it.
    key_prefix      text NOT NULL,
    -- SHA-256 of the full key; the key itself is never stored.
    key_hash        text NOT NULL,
    scopes          text[] NOT NULL DEFAULT '{read}',
    is_active       boolean NOT NULL DEFAULT true,
    last_used_at    timestamptz,
    last_used_ip    inet,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);

COMMENT ON TABLE api_keys IS
    'API keys of users for the public data API: hashed key, prefix, scopes, expiry and revocation.';

CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);
CREATE INDEX api_keys_key_prefix_idx ON api_keys (key_prefix);

CREATE TABLE refresh_tokens (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: sessions of a deleted account must not remain usable.
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      text NOT NULL,
    -- All tokens issued by rotation from one login share a family; reuse of a
    -- rotated token revokes the whole family.
    family_id       uuid NOT NULL DEFAULT gen_random_uuid(),
    -- SET NULL: pruning an old token must not delete the token that replaced it.
    replaced_by_id  uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    user_agent      text,
    ip_address      inet,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);

COMMENT ON TABLE refresh_tokens IS
    'Hashed JWT refresh tokens with rotation families, expiry and revocation.';

CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_replaced_by_id_idx ON refresh_tokens (replaced_by_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- ---------------------------------------------------------------------------
-- Searches, alerts, notifications, preferences
-- ---------------------------------------------------------------------------

CREATE TABLE saved_searches (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: saved searches are the user's own data.
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                text NOT NULL,
    query               text,
    filters             jsonb NOT NULL DEFAULT '{}'::jsonb,
    notify              boolean NOT NULL DEFAULT false,
    notify_frequency    text NOT NULL DEFAULT 'daily',
    last_run_at         timestamptz,
    last_result_count   integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saved_searches_user_id_name_key UNIQUE (user_id, name),
    CONSTRAINT saved_searches_notify_frequency_check
        CHECK (notify_frequency IN ('instant', 'daily', 'weekly', 'never'))
);

COMMENT ON TABLE saved_searches IS
    'Named tender searches (full-text query plus filters) a user can re-run or be notified about.';

CREATE TABLE alerts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: alert rules are the user's own configuration.
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- CASCADE: an alert defined by a saved search has no criteria without it.
    saved_search_id     uuid REFERENCES saved_searches (id) ON DELETE CASCADE,
    name                text NOT NULL,
    alert_type          text NOT NULL DEFAULT 'new_tender',
    criteria            jsonb NOT NULL DEFAULT '{}'::jsonb,
    channels            text[] NOT NULL DEFAULT '{email}',
    frequency           text NOT NULL DEFAULT 'daily',
    is_active           boolean NOT NULL DEFAULT true,
    last_triggered_at   timestamptz,
    trigger_count       integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alerts_alert_type_check CHECK (alert_type IN (
        'new_tender', 'deadline_reminder', 'status_change', 'keyword', 'cpv_code',
        'procuring_entity', 'value_threshold', 'award')),
    CONSTRAINT alerts_frequency_check CHECK (frequency IN ('instant', 'daily', 'weekly')),
    CONSTRAINT alerts_channels_check
        CHECK (channels <@ ARRAY['email', 'in_app', 'push', 'sms', 'webhook']::text[]),
    CONSTRAINT alerts_trigger_count_check CHECK (trigger_count >= 0)
);

COMMENT ON TABLE alerts IS
    'User-defined alert rules (new tenders matching criteria, deadlines, status changes, awards) '
    'and the channels they notify through.';

CREATE INDEX alerts_user_id_idx ON alerts (user_id);
CREATE INDEX alerts_saved_search_id_idx ON alerts (saved_search_id);
CREATE INDEX alerts_active_type_idx ON alerts (alert_type, frequency) WHERE is_active;

CREATE TABLE notifications (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: a user's inbox is owned by the user.
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SET NULL: a delivered notification stays in the inbox after its alert rule is deleted.
    alert_id            uuid REFERENCES alerts (id) ON DELETE SET NULL,
    -- SET NULL: the notification text stays readable if the tender is withdrawn.
    tender_id           varchar(100) REFERENCES tenders (tender_id) ON DELETE SET NULL,
    notification_type   text NOT NULL,
    title               text NOT NULL,
    body                text,
    data                jsonb NOT NULL DEFAULT '{}'::jsonb,
    channel             text NOT NULL DEFAULT 'in_app',
    status              text NOT NULL DEFAULT 'pending',
    sent_at             timestamptz,
    read_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_notification_type_check CHECK (notification_type IN (
        'alert_match', 'deadline', 'status_change', 'billing', 'system', 'message', 'security')),
    CONSTRAINT notifications_channel_check
        CHECK (channel IN ('in_app', 'email', 'push', 'sms', 'webhook')),
    CONSTRAINT notifications_status_check
        CHECK (status IN ('pending', 'sent', 'delivered', 'failed', 'read'))
);

COMMENT ON TABLE notifications IS
    'Notifications sent to users (alert matches, deadlines, billing, security) per channel, '
    'with delivery and read state.';

CREATE INDEX notifications_user_id_idx ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_user_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_alert_id_idx ON notifications (alert_id);
CREATE INDEX notifications_tender_id_idx ON notifications (tender_id);
CREATE INDEX notifications_pending_idx ON notifications (created_at) WHERE status = 'pending';

CREATE TABLE user_preferences (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: preferences are part of the account.
    user_id                 uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    preferred_cpv_codes     varchar(10)[] NOT NULL DEFAULT '{}',
    preferred_entity_ids    uuid[] NOT NULL DEFAULT '{}',
    keywords                text[] NOT NULL DEFAULT '{}',
    regions                 text[] NOT NULL DEFAULT '{}',
    min_estimated_value     numeric(18,2),
    max_estimated_value     numeric(18,2),
    language                text NOT NULL DEFAULT 'mk',
    email_digest            text NOT NULL DEFAULT 'daily',
    notification_settings   jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_preferences_user_id_key UNIQUE (user_id),
    CONSTRAINT user_preferences_email_digest_check
        CHECK (email_digest IN ('none', 'daily', 'weekly')),
    CONSTRAINT user_preferences_value_range_check
        CHECK (min_estimated_value IS NULL OR max_estimated_value IS NULL
               OR min_estimated_value <= max_estimated_value)
);

COMMENT ON TABLE user_preferences IS
    'One row per user: CPV codes, procuring entities, keywords, regions and value range of '
    'interest, language and e-mail digest settings.';

CREATE TABLE personalization_settings (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: personalisation state is part of the account.
    user_id                     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    dashboard_layout            jsonb NOT NULL DEFAULT '{}'::jsonb,
    widgets                     jsonb NOT NULL DEFAULT '[]'::jsonb,
    recommendation_weights      jsonb NOT NULL DEFAULT '{}'::jsonb,
    interest_profile            jsonb NOT NULL DEFAULT '{}'::jsonb,
    ai_recommendations_enabled  boolean NOT NULL DEFAULT true,
    theme                       text NOT NULL DEFAULT 'system',
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT personalization_settings_user_id_key UNIQUE (user_id),
    CONSTRAINT personalization_settings_theme_check CHECK (theme IN ('light', 'dark', 'system'))
);

COMMENT ON TABLE personalization_settings IS
    'One row per user: dashboard layout, widgets, recommendation weights and the learned '
    'interest profile used to rank tenders.';

-- ---------------------------------------------------------------------------
-- Subscriptions and billing
-- ---------------------------------------------------------------------------

CREATE TABLE subscriptions (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: the subscription is account state; the money trail survives in
    -- billing_events (SET NULL) and in Stripe.
    user_id                 uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan                    text NOT NULL DEFAULT 'free',
    status                  text NOT NULL DEFAULT 'active',
    billing_interval        text,
    stripe_customer_id      text,
    stripe_subscription_id  text,
    stripe_price_id         text,
    amount                  numeric(18,2),
    currency                char(3),
    current_period_start    timestamptz,
    current_period_end      timestamptz,
    cancel_at_period_end    boolean NOT NULL DEFAULT false,
    canceled_at             timestamptz,
    trial_start             timestamptz,
    trial_end               timestamptz,
    metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_stripe_subscription_id_key UNIQUE (stripe_subscription_id),
    CONSTRAINT subscriptions_plan_check CHECK (plan IN ('free', 'pro', 'enterprise')),
    CONSTRAINT subscriptions_status_check CHECK (status IN (
        'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'incomplete',
        'incomplete_expired', 'paused')),
    CONSTRAINT subscriptions_billing_interval_check CHECK (billing_interval IN ('month', 'year')),
    CONSTRAINT subscriptions_amount_check CHECK (amount >= 0),
    CONSTRAINT subscriptions_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT subscriptions_period_check CHECK (current_period_end > current_period_start)
);

COMMENT ON TABLE subscriptions IS
    'Plan subscriptions (free / pro / enterprise) mirrored from Stripe: status, price, billing '
    'period, trial and cancellation.';

CREATE INDEX subscriptions_user_id_idx ON subscriptions (user_id, created_at DESC);
-- At most one live subscription per user.
CREATE UNIQUE INDEX subscriptions_one_live_per_user_idx ON subscriptions (user_id)
    WHERE status IN ('trialing', 'active', 'past_due', 'unpaid', 'incomplete', 'paused');
CREATE INDEX subscriptions_stripe_customer_id_idx ON subscriptions (stripe_customer_id);
CREATE INDEX subscriptions_status_period_end_idx ON subscriptions (status, current_period_end);

CREATE TABLE subscription_usage (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: usage counters belong to their subscription period.
    subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    -- CASCADE: and to the account (denormalised for per-user quota checks).
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric          text NOT NULL,
    period_start    timestamptz NOT NULL,
    period_end      timestamptz NOT NULL,
    used_count      bigint NOT NULL DEFAULT 0,
    -- NULL means unlimited.
    quota           bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscription_usage_subscription_metric_period_key
        UNIQUE (subscription_id, metric, period_start),
    CONSTRAINT subscription_usage_metric_check CHECK (metric IN (
        'api_calls', 'searches', 'ai_queries', 'ai_analyses', 'document_downloads',
        'exports', 'alerts')),
    CONSTRAINT subscription_usage_period_check CHECK (period_end > period_start),
    CONSTRAINT subscription_usage_used_count_check CHECK (used_count >= 0),
    CONSTRAINT subscription_usage_quota_check CHECK (quota >= 0)
);

COMMENT ON TABLE subscription_usage IS
    'Metered usage per subscription, metric and billing period against the plan quota.';

CREATE INDEX subscription_usage_user_id_idx ON subscription_usage (user_id, period_start DESC);

CREATE TABLE billing_events (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SET NULL: financial records must be retained after account deletion.
    user_id             uuid REFERENCES users (id) ON DELETE SET NULL,
    -- SET NULL: and after the subscription row is removed.
    subscription_id     uuid REFERENCES subscriptions (id) ON DELETE SET NULL,
    -- Stripe event type, e.g. 'invoice.paid', 'customer.subscription.updated'.
    event_type          text NOT NULL,
    stripe_event_id     text,
    stripe_invoice_id   text,
    amount              numeric(18,2),
    currency            char(3),
    status              text NOT NULL DEFAULT 'received',
    payload             jsonb NOT NULL DEFAULT '{}'::jsonb,
    error_message       text,
    processed_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- Webhooks are delivered at least once: the event id makes processing idempotent.
    CONSTRAINT billing_events_stripe_event_id_key UNIQUE (stripe_event_id),
    CONSTRAINT billing_events_status_check
        CHECK (status IN ('received', 'processed', 'failed', 'ignored')),
    CONSTRAINT billing_events_currency_check CHECK (currency ~ '^[A-Z]{3}$')
);

COMMENT ON TABLE billing_events IS
    'Append-only ledger of billing events (Stripe webhooks: invoices, payments, subscription '
    'changes) with their payload and processing state.';

CREATE INDEX billing_events_user_id_idx ON billing_events (user_id, created_at DESC);
CREATE INDEX billing_events_subscription_id_idx ON billing_events (subscription_id);
CREATE INDEX billing_events_event_type_idx ON billing_events (event_type, created_at DESC);
CREATE INDEX billing_events_stripe_invoice_id_idx ON billing_events (stripe_invoice_id);

CREATE TABLE usage_tracking (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SET NULL: aggregate product analytics keep the event after account deletion.
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    -- SET NULL: and after the API key that made the call is deleted.
    api_key_id      uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    action_type     text NOT NULL,
    resource_type   text,
    resource_id     text,
    ip_address      inet,
    user_agent      text,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE usage_tracking IS
    'General product usage events (page views, searches, exports, API calls) for analytics.';

CREATE INDEX usage_tracking_user_id_idx ON usage_tracking (user_id, created_at DESC);
CREATE INDEX usage_tracking_api_key_id_idx ON usage_tracking (api_key_id);
CREATE INDEX usage_tracking_action_type_idx ON usage_tracking (action_type, created_at DESC);
CREATE INDEX usage_tracking_created_at_brin_idx ON usage_tracking USING brin (created_at);

-- ---------------------------------------------------------------------------
-- Audit, settings, fraud
-- ---------------------------------------------------------------------------

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SET NULL: the security audit trail must survive deletion of the actor.
    user_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    -- Snapshot of the actor, readable after user_id is nulled.
    actor_email text,
    action      text NOT NULL,
    entity_type text,
    entity_id   text,
    ip_address  inet,
    user_agent  text,
    success     boolean NOT NULL DEFAULT true,
    old_values  jsonb,
    new_values  jsonb,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE audit_log IS
    'Security audit trail of user actions (logins, password and key changes, data exports), '
    'append-only.';

CREATE INDEX audit_log_user_id_idx ON audit_log (user_id, created_at DESC);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id);
CREATE INDEX audit_log_action_idx ON audit_log (action, created_at DESC);
CREATE INDEX audit_log_created_at_brin_idx ON audit_log USING brin (created_at);

CREATE TABLE admin_audit_log (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SET NULL: what an administrator did stays on record after the admin account is removed.
    admin_user_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    admin_email     text,
    -- SET NULL: and after the affected user is deleted (often the logged action itself).
    target_user_id  uuid REFERENCES users (id) ON DELETE SET NULL,
    action          text NOT NULL,
    target_type     text,
    target_id       text,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip_address      inet,
    user_agent      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE admin_audit_log IS
    'Append-only record of administrative actions (user bans, plan changes, setting edits, '
    'data corrections): who, on whom or what, and the details.';

CREATE INDEX admin_audit_log_admin_user_id_idx ON admin_audit_log (admin_user_id, created_at DESC);
CREATE INDEX admin_audit_log_target_user_id_idx ON admin_audit_log (target_user_id);
CREATE INDEX admin_audit_log_action_idx ON admin_audit_log (action, created_at DESC);
CREATE INDEX admin_audit_log_created_at_brin_idx ON admin_audit_log USING brin (created_at);

CREATE TABLE admin_settings (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    setting_key     text NOT NULL,
    value           jsonb NOT NULL,
    category        text NOT NULL DEFAULT 'general',
    description     text,
    is_sensitive    boolean NOT NULL DEFAULT false,
    -- SET NULL: the setting keeps its value when the admin who changed it is removed.
    updated_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT admin_settings_setting_key_key UNIQUE (setting_key)
);

COMMENT ON TABLE admin_settings IS
    'Operational settings edited at run time from the admin panel (maintenance banner, scraper '
    'schedule, moderation switches), with who changed them last.';

CREATE INDEX admin_settings_updated_by_idx ON admin_settings (updated_by);
CREATE INDEX admin_settings_category_idx ON admin_settings (category);

CREATE TABLE system_config (
    config_key      varchar(255) PRIMARY KEY,
    config_value    jsonb NOT NULL,
    category        text NOT NULL DEFAULT 'general',
    description     text,
    -- true when the value may be sent to the web client.
    is_public       boolean NOT NULL DEFAULT false,
    -- SET NULL: configuration outlives the account that last edited it.
    updated_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT system_config_config_key_check CHECK (config_key ~ '^[a-z0-9_]+(\.[a-z0-9_]+)*$')
);

COMMENT ON TABLE system_config IS
    'Platform configuration as dotted keys with JSONB values (plan limits, feature flags, '
    'retention periods, AI settings); defaults seeded by 20251124_091000.';

CREATE INDEX system_config_category_idx ON system_config (category);
CREATE INDEX system_config_updated_by_idx ON system_config (updated_by);

CREATE TABLE fraud_events (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SET NULL: fraud evidence must survive deletion of the account involved.
    user_id             uuid REFERENCES users (id) ON DELETE SET NULL,
    -- SET NULL: the event stays when the detection row that raised it is purged by retention.
    fraud_detection_id  uuid REFERENCES fraud_detection (id) ON DELETE SET NULL,
    event_type          text NOT NULL,
    severity            text NOT NULL DEFAULT 'medium',
    ip_address          inet,
    description         text,
    details             jsonb NOT NULL DEFAULT '{}'::jsonb,
    status              text NOT NULL DEFAULT 'open',
    -- SET NULL: the resolution stays on record after the reviewing admin is removed.
    resolved_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    resolved_at         timestamptz,
    resolution_notes    text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fraud_events_event_type_check CHECK (event_type IN (
        'suspicious_login', 'account_takeover', 'payment_fraud', 'chargeback',
        'rate_limit_exceeded', 'multi_account', 'trial_abuse', 'scraping', 'api_abuse', 'other')),
    CONSTRAINT fraud_events_severity_check
        CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    CONSTRAINT fraud_events_status_check
        CHECK (status IN ('open', 'investigating', 'resolved', 'false_positive'))
);

COMMENT ON TABLE fraud_events IS
    'Confirmed or suspected fraud incidents (account takeover, payment fraud, scraping, API '
    'abuse) with severity and the review workflow.';

CREATE INDEX fraud_events_user_id_idx ON fraud_events (user_id, created_at DESC);
CREATE INDEX fraud_events_fraud_detection_id_idx ON fraud_events (fraud_detection_id);
CREATE INDEX fraud_events_resolved_by_idx ON fraud_events (resolved_by);
CREATE INDEX fraud_events_severity_idx ON fraud_events (severity, created_at DESC);
CREATE INDEX fraud_events_open_idx ON fraud_events (created_at)
    WHERE status IN ('open', 'investigating');

-- ---------------------------------------------------------------------------
-- Support messaging
-- ---------------------------------------------------------------------------

CREATE TABLE message_threads (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: a customer's conversations are personal data deleted with the account.
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SET NULL: a thread is re-queued, not lost, when the assigned agent leaves.
    assigned_to     uuid REFERENCES users (id) ON DELETE SET NULL,
    -- SET NULL: the conversation stays readable if the tender it is about is withdrawn.
    tender_id       varchar(100) REFERENCES tenders (tender_id) ON DELETE SET NULL,
    subject         text NOT NULL,
    category        text NOT NULL DEFAULT 'support',
    status          text NOT NULL DEFAULT 'open',
    priority        text NOT NULL DEFAULT 'normal',
    last_message_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT message_threads_category_check CHECK (category IN (
        'support', 'billing', 'data_request', 'tender_question', 'feedback', 'other')),
    CONSTRAINT message_threads_status_check
        CHECK (status IN ('open', 'pending', 'resolved', 'closed', 'archived')),
    CONSTRAINT message_threads_priority_check
        CHECK (priority IN ('low', 'normal', 'high', 'urgent'))
);

COMMENT ON TABLE message_threads IS
    'Conversations between a user and platform staff (support, billing, data requests, '
    'questions about a tender).';

CREATE INDEX message_threads_user_id_idx ON message_threads (user_id, last_message_at DESC);
CREATE INDEX message_threads_assigned_to_idx ON message_threads (assigned_to);
CREATE INDEX message_threads_tender_id_idx ON message_threads (tender_id);
CREATE INDEX message_threads_status_idx ON message_threads (status, last_message_at DESC);

CREATE TABLE messages (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- CASCADE: messages are owned by their thread.
    thread_id   uuid NOT NULL REFERENCES message_threads (id) ON DELETE CASCADE,
    -- SET NULL: the other party's copy of the conversation keeps the message
    -- when the sender's account (e.g. a departed staff member) is removed.
    sender_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    sender_role text NOT NULL DEFAULT 'user',
    body        text NOT NULL,
    attachments jsonb NOT NULL DEFAULT '[]'::jsonb,
    is_internal boolean NOT NULL DEFAULT false,
    read_at     timestamptz,
    edited_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_sender_role_check CHECK (sender_role IN ('user', 'staff', 'system'))
);

COMMENT ON TABLE messages IS
    'Individual messages of a thread, with attachments, internal-note flag and read state.';

CREATE INDEX messages_thread_id_idx ON messages (thread_id, created_at);
CREATE INDEX messages_sender_id_idx ON messages (sender_id);
CREATE INDEX messages_unread_idx ON messages (thread_id) WHERE read_at IS NULL;

-- ---------------------------------------------------------------------------
-- updated_at triggers
-- ---------------------------------------------------------------------------

CREATE TRIGGER fraud_detection_set_updated_at BEFORE UPDATE ON fraud_detection
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER rate_limits_set_updated_at BEFORE UPDATE ON rate_limits
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER entity_categories_set_updated_at BEFORE UPDATE ON entity_categories
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER organizations_set_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER cpv_codes_set_updated_at BEFORE UPDATE ON cpv_codes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER tenders_set_updated_at BEFORE UPDATE ON tenders
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER tender_documents_set_updated_at BEFORE UPDATE ON tender_documents
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER documents_set_updated_at BEFORE UPDATE ON documents
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER tender_entity_link_set_updated_at BEFORE UPDATE ON tender_entity_link
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER api_keys_set_updated_at BEFORE UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER saved_searches_set_updated_at BEFORE UPDATE ON saved_searches
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER alerts_set_updated_at BEFORE UPDATE ON alerts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER user_preferences_set_updated_at BEFORE UPDATE ON user_preferences
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER personalization_settings_set_updated_at BEFORE UPDATE ON personalization_settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER subscriptions_set_updated_at BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER subscription_usage_set_updated_at BEFORE UPDATE ON subscription_usage
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER admin_settings_set_updated_at BEFORE UPDATE ON admin_settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER system_config_set_updated_at BEFORE UPDATE ON system_config
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER fraud_events_set_updated_at BEFORE UPDATE ON fraud_events
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER message_threads_set_updated_at BEFORE UPDATE ON message_threads
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER messages_set_updated_at BEFORE UPDATE ON messages
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
