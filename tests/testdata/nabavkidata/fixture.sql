-- Test data for the nabavkidata catalog (tests/pg/nabavkidata_pgtest.cc).
--
-- Inserts at least one row into every one of the 31 tables, with fixed keys so the test can
-- refer to rows. The test runs this file in one transaction right after applying the catalog
-- (the CPV and system_config seeds are already there). No BEGIN/COMMIT here.
--
-- UUID scheme: the first two digits name the table, the last two number the row:
--   11 entity_categories   12 organizations        13 users               16 tender_documents
--   17 documents           18 tender_entity_link   19 embeddings          20 analysis_history
--   21 query_history       22 api_keys             23 refresh_tokens      24 saved_searches
--   25 alerts              26 notifications        27 user_preferences    28 personalization_settings
--   29 subscriptions       30 subscription_usage   31 billing_events      32 usage_tracking
--   33 audit_log           34 admin_audit_log      35 admin_settings      37 fraud_detection
--   38 fraud_events        39 message_threads      40 messages            41 rate_limits
-- e.g. users row 1 is 13000000-0000-4000-8000-000000000001.
--
-- Who is who:
--   user 01 Ana Petrovska    works for supplier 04 (Vardar Gradba); owns a bit of everything,
--                            the user deleted by the cascade test.
--   user 02 Marko Stojanovski works for supplier 05 (Medika Farm).
--   user 03 Elena Nikolova   platform admin / support staff.
--   user 04 Goran Trajkovski  procurement officer at procuring entity 02 (Opshtina Bitola).
--   tender ocds-mk-2025-000102 (street reconstruction in Bitola) has documents, bids,
--                            embeddings and an analysis; the tender deleted by the cascade test.

-- ---------------------------------------------------------------------------
-- Reference data
-- ---------------------------------------------------------------------------

INSERT INTO entity_categories (id, parent_id, code, name, name_en, sort_order) VALUES
    ('11000000-0000-4000-8000-000000000001', NULL, 'state_administration',
     'Органи на државната управа', 'State administration bodies', 10),
    ('11000000-0000-4000-8000-000000000002', '11000000-0000-4000-8000-000000000001', 'ministry',
     'Министерства', 'Ministries', 11),
    ('11000000-0000-4000-8000-000000000003', NULL, 'municipality',
     'Единици на локална самоуправа', 'Municipalities', 20),
    ('11000000-0000-4000-8000-000000000004', NULL, 'public_health',
     'Јавни здравствени установи', 'Public health institutions', 30);

-- Two local codes below vocabulary codes (the whole CPV 2008 vocabulary is loaded by
-- 20251125_091000; these are test data, outside it).
INSERT INTO cpv_codes (code, parent_code, level, name_en, name_mk) VALUES
    ('33699000', '33600000', 4, 'Test data: locally classified medicines', 'Тест: лекови'),
    ('30299000', '30200000', 4, 'Test data: locally classified computer supplies',
     'Тест: компјутерски материјали');

INSERT INTO organizations (id, name, name_en, tax_id, registration_number, org_type,
                           entity_category_id, address, city, contact, website) VALUES
    ('12000000-0000-4000-8000-000000000001', 'Министерство за здравство', 'Ministry of Health',
     '4030990253671', '4054628', 'procuring_entity', '11000000-0000-4000-8000-000000000002',
     '{"street": "ул. 50 Дивизија бр. 14", "postal_code": "1000", "municipality": "Центар"}',
     'Скопје', '{"email": "javni.nabavki@zdravstvo.gov.mk", "phone": "+389 2 3112 500"}',
     'https://zdravstvo.gov.mk'),
    ('12000000-0000-4000-8000-000000000002', 'Општина Битола', 'Municipality of Bitola',
     '4002990112233', '4047532', 'procuring_entity', '11000000-0000-4000-8000-000000000003',
     '{"street": "ул. Булевар 1-ви Мај бр. 61", "postal_code": "7000"}',
     'Битола', '{"email": "nabavki@bitola.gov.mk"}', 'https://bitola.gov.mk'),
    ('12000000-0000-4000-8000-000000000003', 'ЈЗУ Универзитетска клиника за кардиологија',
     'PHI University Clinic of Cardiology', '4030996102455', '5118852', 'procuring_entity',
     '11000000-0000-4000-8000-000000000004',
     '{"street": "ул. Мајка Тереза бр. 17", "postal_code": "1000"}', 'Скопје', '{}', NULL),
    ('12000000-0000-4000-8000-000000000004', 'Вардар Градба ДООЕЛ Велес', 'Vardar Gradba DOOEL Veles',
     '4043012504418', '6602214', 'supplier', NULL,
     '{"street": "ул. Благој Ѓорев бр. 88", "postal_code": "1400"}', 'Велес',
     '{"email": "ponudi@vardargradba.mk", "phone": "+389 43 231 777"}', 'https://vardargradba.mk'),
    ('12000000-0000-4000-8000-000000000005', 'Медика Фарм ДООЕЛ Скопје', 'Medika Farm DOOEL Skopje',
     '4057009501234', '6423118', 'supplier', NULL,
     '{"street": "бул. Партизански одреди бр. 70", "postal_code": "1000"}', 'Скопје',
     '{"email": "tenderi@medikafarm.mk"}', NULL),
    ('12000000-0000-4000-8000-000000000006', 'Инфотек Солушнс ДООЕЛ Скопје',
     'Infotek Solutions DOOEL Skopje', '4080018512345', '7012345', 'supplier', NULL,
     '{"street": "ул. Орце Николов бр. 155", "postal_code": "1000"}', 'Скопје', '{}', NULL),
    ('12000000-0000-4000-8000-000000000007', 'Пелагонија Патишта ДОО Прилеп',
     'Pelagonija Patishta DOO Prilep', '4021005123987', '5920011', 'supplier', NULL,
     '{"street": "ул. Цар Самоил бр. 3", "postal_code": "7500"}', 'Прилеп', '{}', NULL);

INSERT INTO users (id, email, password_hash, full_name, role, organization_id, email_verified,
                   email_verified_at, last_login_at, last_login_ip, stripe_customer_id, locale) VALUES
    ('13000000-0000-4000-8000-000000000001', 'ana.petrovska@vardargradba.mk',
     '$2b$12$S9v0pYQ8cJ2u3m0m1bq6QeQ7cN3zR8fK1yZtq0JjvG9h2wT4mA1hK', 'Ана Петровска', 'user',
     '12000000-0000-4000-8000-000000000004', true, '2025-01-15 10:02:00+01',
     '2025-11-20 08:15:00+01', '77.28.101.15', 'cus_R4anaPetrovska01', 'mk'),
    ('13000000-0000-4000-8000-000000000002', 'marko.stojanovski@medikafarm.mk',
     '$2b$12$Xq1nB7cL0pV3s8dE5fG2hOa9kW4yT6uI1oP3zR5xC7vB9nM2lK4jH', 'Марко Стојановски', 'user',
     '12000000-0000-4000-8000-000000000005', true, '2025-02-03 14:30:00+01',
     '2025-11-21 09:40:00+01', '92.55.64.200', 'cus_R4markoStojan02', 'mk'),
    ('13000000-0000-4000-8000-000000000003', 'elena.nikolova@nabavkidata.mk',
     '$2b$12$Lm3kJ9hG7fD5sA1qW2eR4tY6uI8oP0aS2dF4gH6jK8lZ1xC3vB5nM', 'Елена Николова', 'admin',
     NULL, true, '2024-12-01 09:00:00+01', '2025-11-22 07:55:00+01', '31.11.40.2', NULL, 'en'),
    ('13000000-0000-4000-8000-000000000004', 'goran.trajkovski@bitola.gov.mk',
     NULL, 'Горан Трајковски', 'moderator',
     '12000000-0000-4000-8000-000000000002', false, NULL, NULL, NULL, NULL, 'mk');

INSERT INTO system_config (config_key, config_value, category, description, is_public, updated_by)
VALUES
    ('scraper.sources', '{"e_nabavki": "https://e-nabavki.gov.mk", "ocds": true}', 'scraper',
     'Sources the scrapers read.', false, '13000000-0000-4000-8000-000000000003');

INSERT INTO admin_settings (id, setting_key, value, category, description, updated_by) VALUES
    ('35000000-0000-4000-8000-000000000001', 'maintenance_banner',
     '{"enabled": false, "text_mk": "Планирано одржување во недела од 02:00 до 04:00."}',
     'operations', 'Banner shown on every page.', '13000000-0000-4000-8000-000000000003'),
    ('35000000-0000-4000-8000-000000000002', 'scraper_paused', '{"paused": false}',
     'scraper', 'Pause all scrapers.', NULL);

-- ---------------------------------------------------------------------------
-- Tenders and what hangs off them
-- ---------------------------------------------------------------------------

INSERT INTO tenders (tender_id, source_id, title, description, procuring_entity_id,
                     procuring_entity_name, cpv_code, additional_cpv_codes, category,
                     procedure_type, status, estimated_value, awarded_value, currency,
                     publication_date, submission_deadline, opening_date, award_date,
                     contract_signing_date, winner_organization_id, num_bidders, source_url,
                     raw, scraped_at) VALUES
    ('ocds-mk-2025-000101', '04512/2025',
     'Набавка на лекови за лекување на малигни заболувања',
     'Рамковна спогодба за набавка на лекови за потребите на јавните здравствени установи.',
     '12000000-0000-4000-8000-000000000001', 'Министерство за здравство',
     '33600000-6', '{33000000-0}', 'goods', 'open', 'awarded', 12000000.00, 11450000.00, 'MKD',
     '2025-03-10 09:00:00+01', '2025-04-10 11:00:00+02', '2025-04-10 11:30:00+02',
     '2025-05-05 10:00:00+02', '2025-05-20', '12000000-0000-4000-8000-000000000005', 2,
     'https://e-nabavki.gov.mk/PublicAccess/home.aspx#/dossie/04512-2025',
     '{"ocid": "ocds-mk-2025-000101", "tag": ["tender", "award"]}', '2025-11-20 03:00:00+01'),
    ('ocds-mk-2025-000102', '07731/2025',
     'Реконструкција на улица Пеце Матичевски во Битола',
     'Изведба на градежни работи за реконструкција на коловоз и тротоари.',
     '12000000-0000-4000-8000-000000000002', 'Општина Битола',
     '45233120-6', '{45100000-8}', 'works', 'open', 'awarded', 25000000.00, 23800000.00, 'MKD',
     '2025-04-14 10:00:00+02', '2025-05-15 12:00:00+02', '2025-05-15 12:30:00+02',
     '2025-06-02 09:00:00+02', '2025-06-16', '12000000-0000-4000-8000-000000000004', 2,
     'https://e-nabavki.gov.mk/PublicAccess/home.aspx#/dossie/07731-2025',
     '{"ocid": "ocds-mk-2025-000102"}', '2025-11-20 03:00:00+01'),
    -- Published late on 30 September UTC, i.e. on 1 October in Skopje.
    ('ocds-mk-2025-000103', '11876/2025',
     'Набавка на електрична енергија за јавно осветлување',
     'Снабдување со електрична енергија за јавно осветлување и општински објекти за 2026 година.',
     '12000000-0000-4000-8000-000000000002', 'Општина Битола',
     '09000000-3', '{}', 'goods', 'open', 'open', 18500000.00, NULL, 'MKD',
     '2025-09-30 22:30:00+00', '2025-12-15 11:00:00+01', NULL, NULL, NULL, NULL, NULL,
     'https://e-nabavki.gov.mk/PublicAccess/home.aspx#/dossie/11876-2025',
     '{"ocid": "ocds-mk-2025-000103"}', '2025-11-20 03:00:00+01'),
    ('ocds-mk-2024-000104', '15002/2024',
     'Одржување и надградба на информацискиот систем за е-здравство',
     NULL, '12000000-0000-4000-8000-000000000001', 'Министерство за здравство',
     '72000000-5', '{48000000-8}', 'services', 'restricted', 'cancelled', 150000.00, NULL, 'EUR',
     '2024-11-20 09:00:00+01', '2024-12-20 11:00:00+01', NULL, NULL, NULL, NULL, 1, NULL,
     '{}', '2024-12-21 03:00:00+01'),
    ('ocds-mk-2026-000105', NULL,
     'Набавка на ангиографски систем', NULL,
     '12000000-0000-4000-8000-000000000003', 'ЈЗУ Универзитетска клиника за кардиологија',
     '33000000-0', '{}', 'goods', NULL, 'planned', 48000000.00, NULL, 'MKD',
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', NULL),
    ('ocds-mk-2025-000106', '10420/2025',
     'Набавка на канцелариски материјали', NULL,
     '12000000-0000-4000-8000-000000000003', 'ЈЗУ Универзитетска клиника за кардиологија',
     NULL, '{}', 'goods', 'low_value', 'published', 350000.00, NULL, 'MKD',
     '2025-09-05 08:00:00+02', '2025-09-20 10:00:00+02', NULL, NULL, NULL, NULL, NULL, NULL,
     '{}', '2025-11-20 03:00:00+01');

INSERT INTO tender_entity_link (id, tender_id, organization_id, role, bid_amount, currency, rank,
                                is_disqualified, disqualification_reason) VALUES
    ('18000000-0000-4000-8000-000000000001', 'ocds-mk-2025-000101',
     '12000000-0000-4000-8000-000000000001', 'procuring_entity', NULL, NULL, NULL, false, NULL),
    ('18000000-0000-4000-8000-000000000002', 'ocds-mk-2025-000101',
     '12000000-0000-4000-8000-000000000005', 'bidder', 11450000.00, 'MKD', 1, false, NULL),
    ('18000000-0000-4000-8000-000000000003', 'ocds-mk-2025-000101',
     '12000000-0000-4000-8000-000000000005', 'winner', 11450000.00, 'MKD', 1, false, NULL),
    ('18000000-0000-4000-8000-000000000004', 'ocds-mk-2025-000101',
     '12000000-0000-4000-8000-000000000006', 'bidder', 11900000.00, 'MKD', 2, true,
     'Недостасува потврда за регистрирана дејност.'),
    ('18000000-0000-4000-8000-000000000005', 'ocds-mk-2025-000102',
     '12000000-0000-4000-8000-000000000002', 'procuring_entity', NULL, NULL, NULL, false, NULL),
    ('18000000-0000-4000-8000-000000000006', 'ocds-mk-2025-000102',
     '12000000-0000-4000-8000-000000000004', 'bidder', 23800000.00, 'MKD', 1, false, NULL),
    ('18000000-0000-4000-8000-000000000007', 'ocds-mk-2025-000102',
     '12000000-0000-4000-8000-000000000004', 'winner', 23800000.00, 'MKD', 1, false, NULL),
    ('18000000-0000-4000-8000-000000000008', 'ocds-mk-2025-000102',
     '12000000-0000-4000-8000-000000000007', 'bidder', 24950000.00, 'MKD', 2, false, NULL),
    ('18000000-0000-4000-8000-000000000009', 'ocds-mk-2024-000104',
     '12000000-0000-4000-8000-000000000006', 'bidder', 149000.00, 'EUR', 1, false, NULL);

INSERT INTO tender_documents (id, tender_id, file_name, mime_type, file_size_bytes, sha256,
                              storage_url, source_url, doc_type, extraction_status,
                              extracted_text, page_count, language, extracted_at) VALUES
    ('16000000-0000-4000-8000-000000000001', 'ocds-mk-2025-000101', 'tenderska_dokumentacija.pdf',
     'application/pdf', 1843200,
     '04a1c165ee9c4860bf150e7136e9d1b0fe5c93ffb4715281555cb2b1b5a4484d',
     's3://nabavkidata-docs/2025/000101/tenderska_dokumentacija.pdf', NULL, 'tender_dossier',
     'success', 'Тендерска документација за набавка на лекови ...', 42, 'mk',
     '2025-03-10 12:00:00+01'),
    ('16000000-0000-4000-8000-000000000002', 'ocds-mk-2025-000102', 'tehnicka_specifikacija.pdf',
     'application/pdf', 925184,
     '3d6e9431d062f0c2c8de1da6d74b40bee04b2bd08d4f4eed05ad53ebaa592984',
     's3://nabavkidata-docs/2025/000102/tehnicka_specifikacija.pdf', NULL,
     'technical_specification', 'success',
     'Техничка спецификација: асфалтирање, рабници, атмосферска канализација ...', 18, 'mk',
     '2025-04-14 13:00:00+02'),
    ('16000000-0000-4000-8000-000000000003', 'ocds-mk-2025-000102',
     'dogovor_za_javna_nabavka.pdf', 'application/pdf', 310272,
     '509f984b56167543e194ad9c6359c15a49df39d85024395a1d192942bc178533',
     's3://nabavkidata-docs/2025/000102/dogovor_za_javna_nabavka.pdf', NULL, 'contract',
     'pending', NULL, NULL, NULL, NULL),
    ('16000000-0000-4000-8000-000000000004', 'ocds-mk-2025-000103', 'tenderska_dokumentacija.pdf',
     'application/pdf', 655360,
     'fdb58ff0fc44ae976fe613302d9ba440df73d9138be073bc06ecd4a02800afe5',
     's3://nabavkidata-docs/2025/000103/tenderska_dokumentacija.pdf', NULL, 'tender_dossier',
     'processing', NULL, NULL, NULL, NULL);

INSERT INTO documents (doc_id, tender_id, tender_document_id, uploaded_by, doc_type, file_name,
                       file_path, file_url, content_text, extraction_status, file_size_bytes,
                       page_count, mime_type) VALUES
    -- A legacy row mapped to its canonical tender_documents row.
    ('17000000-0000-4000-8000-000000000001', 'ocds-mk-2025-000102',
     '16000000-0000-4000-8000-000000000002', NULL, 'technical_specification',
     'tehnicka_specifikacija.pdf', '/data/docs/07731-2025/tehnicka_specifikacija.pdf',
     'https://e-nabavki.gov.mk/File/DownloadPublicFile?fileId=7731-1',
     'Техничка спецификација: асфалтирање, рабници ...', 'success', 925184, 18,
     'application/pdf'),
    -- A user's own upload for AI analysis, tied to no tender.
    ('17000000-0000-4000-8000-000000000002', NULL, NULL, '13000000-0000-4000-8000-000000000001',
     'bid', 'ponuda_nacrt.docx', '/data/uploads/13000000/ponuda_nacrt.docx', NULL,
     'Нацрт понуда за реконструкција на улица ...', 'success', 48213, 6,
     'application/vnd.openxmlformats-officedocument.wordprocessingml.document');

INSERT INTO embeddings (id, tender_id, tender_document_id, document_id, chunk_index, chunk_text,
                        vector, model, metadata) VALUES
    ('19000000-0000-4000-8000-000000000001', 'ocds-mk-2025-000102',
     '16000000-0000-4000-8000-000000000002', NULL, 0,
     'Техничка спецификација: асфалтирање, рабници, атмосферска канализација',
     (SELECT array_agg(round(sin(i)::numeric, 6)::real ORDER BY i) FROM generate_series(1, 768) i),
     'text-embedding-004', '{"page": 1}'),
    ('19000000-0000-4000-8000-000000000002', NULL, NULL, '17000000-0000-4000-8000-000000000002', 0,
     'Нацрт понуда за реконструкција на улица',
     (SELECT array_agg(round(cos(i)::numeric, 6)::real ORDER BY i) FROM generate_series(1, 768) i),
     'text-embedding-004', '{}'),
    ('19000000-0000-4000-8000-000000000003', 'ocds-mk-2025-000101', NULL, NULL, 0,
     'Набавка на лекови за лекување на малигни заболувања',
     (SELECT array_agg(round(sin(i * 0.5)::numeric, 6)::real ORDER BY i)
        FROM generate_series(1, 768) i),
     'text-embedding-004', '{"source": "title"}');

-- ---------------------------------------------------------------------------
-- Accounts: credentials, preferences, subscriptions
-- ---------------------------------------------------------------------------

INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash, scopes, last_used_at, expires_at)
VALUES
    ('22000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     'ERP интеграција', 'nbk_live_3f9a',
     '309eb163629581c3c3b41b07c8c1152dd80dc4a8d5492b5ee85b0086f4e729ca', '{read,export}',
     '2025-11-21 06:00:00+01', '2026-11-21 00:00:00+01'),
    ('22000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     'Аналитика', 'nbk_live_77b2',
     'e1f180881ea728f754b41a2eaac359de5ac2784cff651cfcd8d9d62cd2b19231', '{read}', NULL, NULL);

-- Ana's login family: token 01 was rotated into token 02.
INSERT INTO refresh_tokens (id, user_id, token_hash, family_id, replaced_by_id, user_agent,
                            ip_address, expires_at, revoked_at, revoked_reason) VALUES
    ('23000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000001',
     '9022654b0b009e843b99218b7c48839ce103690bc3bb6aa6aaadb3fa07f2f4c8',
     '23f00000-0000-4000-8000-000000000001', NULL, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
     '77.28.101.15', '2025-12-21 08:15:00+01', NULL, NULL),
    ('23000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '15227828021cb6dad49d98ce1b71676c0d54b629775288d543d8f978593daf61',
     '23f00000-0000-4000-8000-000000000001', '23000000-0000-4000-8000-000000000002',
     'Mozilla/5.0 (Windows NT 10.0; Win64; x64)', '77.28.101.15', '2025-12-20 08:15:00+01',
     '2025-11-20 08:15:00+01', 'rotated'),
    ('23000000-0000-4000-8000-000000000003', '13000000-0000-4000-8000-000000000002',
     '5eb30988d14adfc568f8013a160ba9f0694a09cf24cd55a305a820cd3170f01c',
     '23f00000-0000-4000-8000-000000000002', NULL, 'nabavkidata-android/3.2.0',
     '92.55.64.200', '2025-12-21 09:40:00+01', NULL, NULL);

INSERT INTO saved_searches (id, user_id, name, query, filters, notify, notify_frequency,
                            last_run_at, last_result_count) VALUES
    ('24000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     'Градежни работи во Пелагонија', 'реконструкција улица',
     '{"cpv_divisions": ["45"], "cities": ["Битола", "Прилеп"], "min_value": 1000000}', true,
     'daily', '2025-11-21 07:00:00+01', 4),
    ('24000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     'Лекови и медицински потрошен материјал', 'лекови',
     '{"cpv_codes": ["33600000-6"], "statuses": ["open", "published"]}', false, 'weekly',
     NULL, NULL);

INSERT INTO alerts (id, user_id, saved_search_id, name, alert_type, criteria, channels, frequency,
                    last_triggered_at, trigger_count) VALUES
    ('25000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '24000000-0000-4000-8000-000000000001', 'Нови тендери: градежни работи', 'new_tender',
     '{}', '{email,in_app}', 'daily', '2025-11-21 07:00:00+01', 12),
    ('25000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002', NULL,
     'Рок за поднесување понуди', 'deadline_reminder', '{"days_before": [7, 1]}', '{email}',
     'instant', NULL, 0);

INSERT INTO notifications (id, user_id, alert_id, tender_id, notification_type, title, body, data,
                           channel, status, sent_at, read_at) VALUES
    ('26000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '25000000-0000-4000-8000-000000000001', 'ocds-mk-2025-000103', 'alert_match',
     'Нов тендер: Набавка на електрична енергија', 'Општина Битола објави нов тендер.',
     '{"tender_id": "ocds-mk-2025-000103"}', 'email', 'sent', '2025-10-01 07:00:00+02', NULL),
    ('26000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002', NULL,
     'ocds-mk-2025-000102', 'status_change', 'Тендерот е доделен',
     'Реконструкција на улица Пеце Матичевски: доделен договор.', '{}', 'in_app', 'read',
     '2025-06-02 10:00:00+02', '2025-06-02 12:00:00+02'),
    ('26000000-0000-4000-8000-000000000003', '13000000-0000-4000-8000-000000000002', NULL, NULL,
     'billing', 'Фактурата е платена', NULL, '{"invoice": "in_1QxMarko0001"}', 'email',
     'delivered', '2025-11-01 08:00:00+01', NULL);

INSERT INTO user_preferences (id, user_id, preferred_cpv_codes, preferred_entity_ids, keywords,
                              regions, min_estimated_value, max_estimated_value, language,
                              email_digest, notification_settings) VALUES
    ('27000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '{45000000-7,45200000-9}', '{12000000-0000-4000-8000-000000000002}',
     '{реконструкција,асфалтирање,улица}', '{Пелагониски}', 1000000.00, 100000000.00, 'mk',
     'daily', '{"email": true, "push": false}'),
    ('27000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     '{33000000-0,33600000-6}', '{}', '{лекови}', '{Скопски}', NULL, NULL, 'mk', 'weekly', '{}');

INSERT INTO personalization_settings (id, user_id, dashboard_layout, widgets,
                                      recommendation_weights, interest_profile, theme) VALUES
    ('28000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '{"columns": 2}', '["deadlines", "new_tenders", "competitors"]',
     '{"cpv": 0.5, "entity": 0.3, "value": 0.2}', '{"45": 0.92, "71": 0.31}', 'light'),
    ('28000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     '{}', '[]', '{}', '{"33": 0.97}', 'dark');

INSERT INTO subscriptions (id, user_id, plan, status, billing_interval, stripe_customer_id,
                           stripe_subscription_id, stripe_price_id, amount, currency,
                           current_period_start, current_period_end, canceled_at) VALUES
    ('29000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001', 'pro',
     'active', 'month', 'cus_R4anaPetrovska01', 'sub_1QAnaPro0001', 'price_pro_monthly_mkd',
     1790.00, 'MKD', '2025-11-01 00:00:00+01', '2025-12-01 00:00:00+01', NULL),
    ('29000000-0000-4000-8000-000000000003', '13000000-0000-4000-8000-000000000001', 'free',
     'canceled', NULL, NULL, NULL, NULL, 0.00, 'MKD', '2025-01-15 00:00:00+01',
     '2025-02-15 00:00:00+01', '2025-02-10 12:00:00+01'),
    ('29000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     'enterprise', 'active', 'year', 'cus_R4markoStojan02', 'sub_1QMarkoEnt0002',
     'price_enterprise_yearly_eur', 2990.00, 'EUR', '2025-02-03 00:00:00+01',
     '2026-02-03 00:00:00+01', NULL);

INSERT INTO subscription_usage (id, subscription_id, user_id, metric, period_start, period_end,
                                used_count, quota) VALUES
    ('30000000-0000-4000-8000-000000000001', '29000000-0000-4000-8000-000000000001',
     '13000000-0000-4000-8000-000000000001', 'searches', '2025-11-01 00:00:00+01',
     '2025-12-01 00:00:00+01', 734, 2000),
    ('30000000-0000-4000-8000-000000000002', '29000000-0000-4000-8000-000000000002',
     '13000000-0000-4000-8000-000000000002', 'ai_queries', '2025-11-01 00:00:00+01',
     '2025-12-01 00:00:00+01', 58, NULL);

INSERT INTO billing_events (id, user_id, subscription_id, event_type, stripe_event_id,
                            stripe_invoice_id, amount, currency, status, payload, processed_at)
VALUES
    ('31000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '29000000-0000-4000-8000-000000000001', 'invoice.paid', 'evt_1QAnaInvoicePaid01',
     'in_1QAna0001', 1790.00, 'MKD', 'processed', '{"billing_reason": "subscription_cycle"}',
     '2025-11-01 00:05:00+01'),
    ('31000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     '29000000-0000-4000-8000-000000000002', 'invoice.paid', 'evt_1QMarkoInvoicePaid1',
     'in_1QxMarko0001', 2990.00, 'EUR', 'processed', '{}', '2025-02-03 00:05:00+01');

-- ---------------------------------------------------------------------------
-- History and logs
-- ---------------------------------------------------------------------------

INSERT INTO analysis_history (id, user_id, tender_id, analysis_type, model, prompt, input, result,
                              status, tokens_input, tokens_output, cost_usd, duration_ms,
                              completed_at) VALUES
    ('20000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     'ocds-mk-2025-000102', 'bid_recommendation', 'gemini-1.5-pro',
     'Дали треба да поднесеме понуда?', '{"document_ids": ["16000000-0000-4000-8000-000000000002"]}',
     '{"recommendation": "bid", "confidence": 0.72}', 'completed', 18240, 912, 0.031250, 8421,
     '2025-04-15 10:00:08+02'),
    ('20000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     'ocds-mk-2025-000101', 'summary', 'gemini-1.5-flash', NULL, '{}',
     '{"summary": "Рамковна спогодба за лекови, вредност 12 милиони денари."}', 'completed',
     9120, 340, 0.002100, 2210, '2025-03-11 09:00:03+01');

INSERT INTO query_history (id, user_id, session_id, query_text, query_type, filters, answer,
                           sources, confidence, result_count, response_time_ms) VALUES
    ('21000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '21f00000-0000-4000-8000-000000000001', 'реконструкција улици Битола', 'search',
     '{"cpv_divisions": ["45"]}', NULL, '[]', NULL, 4, 85),
    ('21000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     '21f00000-0000-4000-8000-000000000002', 'Кој најчесто добива тендери за лекови?',
     'rag_question', '{}', 'Најчесто добитник е Медика Фарм ДООЕЛ Скопје.',
     '[{"tender_id": "ocds-mk-2025-000101"}]', 0.81, 1, 1930);

INSERT INTO usage_tracking (id, user_id, api_key_id, action_type, resource_type, resource_id,
                            ip_address, user_agent, metadata) VALUES
    ('32000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '22000000-0000-4000-8000-000000000001', 'api_call', 'tender', 'ocds-mk-2025-000102',
     '77.28.101.15', 'erp-connector/1.4', '{"endpoint": "/api/v1/tenders/{id}"}'),
    ('32000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002', NULL,
     'export', 'search', NULL, '92.55.64.200', 'Mozilla/5.0', '{"rows": 120}');

INSERT INTO audit_log (id, user_id, actor_email, action, entity_type, entity_id, ip_address,
                       user_agent, success, old_values, new_values, details) VALUES
    ('33000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     'ana.petrovska@vardargradba.mk', 'api_key.create', 'api_key',
     '22000000-0000-4000-8000-000000000001', '77.28.101.15', 'Mozilla/5.0', true, NULL,
     '{"name": "ERP интеграција"}', '{}'),
    ('33000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     'marko.stojanovski@medikafarm.mk', 'login', 'user', '13000000-0000-4000-8000-000000000002',
     '92.55.64.200', 'Mozilla/5.0', true, NULL, NULL, '{"method": "password"}');

INSERT INTO admin_audit_log (id, admin_user_id, admin_email, target_user_id, action, target_type,
                             target_id, details, ip_address) VALUES
    ('34000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000003',
     'elena.nikolova@nabavkidata.mk', '13000000-0000-4000-8000-000000000001',
     'subscription.plan_changed', 'subscription', '29000000-0000-4000-8000-000000000001',
     '{"from": "free", "to": "pro"}', '31.11.40.2'),
    ('34000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000003',
     'elena.nikolova@nabavkidata.mk', NULL, 'setting.updated', 'admin_setting',
     'maintenance_banner', '{"enabled": false}', '31.11.40.2');

INSERT INTO fraud_detection (id, user_id, email, ip_address, device_fingerprint, user_agent,
                             detection_type, risk_score, is_suspicious, is_blocked, action_taken,
                             details) VALUES
    ('37000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     'ana.petrovska@vardargradba.mk', '185.220.101.7', 'fp_9c1e77a0', 'curl/8.4.0', 'login', 64.50,
     true, false, 'challenged', '{"reason": "tor_exit_node"}'),
    ('37000000-0000-4000-8000-000000000002', NULL, 'tender.bot@mailinator.com', '45.140.17.9',
     'fp_0b42aa19', 'python-requests/2.31', 'registration', 92.00, true, true, 'blocked',
     '{"reason": "disposable_email"}');

INSERT INTO fraud_events (id, user_id, fraud_detection_id, event_type, severity, ip_address,
                          description, details, status, resolved_by, resolved_at,
                          resolution_notes) VALUES
    ('38000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '37000000-0000-4000-8000-000000000001', 'suspicious_login', 'medium', '185.220.101.7',
     'Најава од Tor излезен јазол.', '{}', 'resolved', '13000000-0000-4000-8000-000000000003',
     '2025-11-20 10:00:00+01', 'Корисничката потврди најава преку VPN.'),
    ('38000000-0000-4000-8000-000000000002', NULL, '37000000-0000-4000-8000-000000000002',
     'multi_account', 'high', '45.140.17.9', 'Повеќе сметки од ист уред.', '{"accounts": 4}',
     'open', NULL, NULL, NULL);

INSERT INTO rate_limits (id, user_id, subject, ip_address, endpoint, window_start, window_seconds,
                         request_count, limit_count, blocked_until) VALUES
    ('41000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     'user:13000000-0000-4000-8000-000000000001', '77.28.101.15', '/api/v1/tenders/search',
     '2025-11-21 09:00:00+01', 60, 42, 60, NULL),
    ('41000000-0000-4000-8000-000000000002', NULL, 'ip:45.140.17.9', '45.140.17.9', '*',
     '2025-11-21 09:00:00+01', 60, 5, 5, '2025-11-21 09:05:00+01');

-- ---------------------------------------------------------------------------
-- Support messaging
-- ---------------------------------------------------------------------------

INSERT INTO message_threads (id, user_id, assigned_to, tender_id, subject, category, status,
                             priority, last_message_at) VALUES
    ('39000000-0000-4000-8000-000000000001', '13000000-0000-4000-8000-000000000001',
     '13000000-0000-4000-8000-000000000003', 'ocds-mk-2025-000102',
     'Недостасува документ во тендерот', 'tender_question', 'resolved', 'normal',
     '2025-04-16 09:30:00+02'),
    ('39000000-0000-4000-8000-000000000002', '13000000-0000-4000-8000-000000000002',
     '13000000-0000-4000-8000-000000000003', NULL, 'Фактура на англиски јазик', 'billing',
     'open', 'low', '2025-11-02 10:15:00+01');

INSERT INTO messages (id, thread_id, sender_id, sender_role, body, attachments, is_internal,
                      read_at) VALUES
    ('40000000-0000-4000-8000-000000000001', '39000000-0000-4000-8000-000000000001',
     '13000000-0000-4000-8000-000000000001', 'user',
     'Договорот за тендерот 07731/2025 не може да се преземе.', '[]', false,
     '2025-04-16 09:00:00+02'),
    ('40000000-0000-4000-8000-000000000002', '39000000-0000-4000-8000-000000000001',
     '13000000-0000-4000-8000-000000000003', 'staff',
     'Документот е повторно преземен од е-набавки, сега е достапен.',
     '[{"file_name": "dogovor_za_javna_nabavka.pdf"}]', false, NULL),
    ('40000000-0000-4000-8000-000000000003', '39000000-0000-4000-8000-000000000002',
     '13000000-0000-4000-8000-000000000002', 'user',
     'Може ли фактурата да ја добиеме и на англиски јазик?', '[]', false,
     '2025-11-02 10:20:00+01'),
    ('40000000-0000-4000-8000-000000000004', '39000000-0000-4000-8000-000000000002',
     '13000000-0000-4000-8000-000000000003', 'staff',
     'Проверено со сметководство, се чека Stripe шаблон.', '[]', true, NULL);
