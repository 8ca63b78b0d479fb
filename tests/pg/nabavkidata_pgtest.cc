// The seed's post-migration checklist (shared/seed/DELIVERABLES_CHECKLIST.md, "Testing Checklist /
// Post-Migration") as real PostgreSQL tests of the bundled catalog migrations/nabavkidata, applied
// through the in-process engine: tables, structure (golden), foreign keys, indexes, unique
// constraints, defaults, cascades, test data, queries, downgrade, plus the catalog's own promises
// (concurrent materialized-view refresh, re-runnable data revisions, the pgvector notice).
//
// The structure golden is tests/testdata/nabavkidata/structure.golden; run with
// SCHEMAD_UPDATE_GOLDEN=1 to rewrite it after an intended schema change.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/substitute.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/subprocess.h"
#include "tests/support/engine_runner.h"
#include "tests/support/matchers.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

using engine::RunEvent;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kCatalog[] = SCHEMAD_SOURCE_DIR "/migrations/nabavkidata";
constexpr char kCpvSeed[] =
    SCHEMAD_SOURCE_DIR "/migrations/nabavkidata/20251125_091000_load_cpv_2008_vocabulary.up.sql";
constexpr char kConfigSeed[] =
    SCHEMAD_SOURCE_DIR "/migrations/nabavkidata/20251124_091000_seed_system_config.up.sql";
constexpr char kTestdata[] = SCHEMAD_SOURCE_DIR "/tests/testdata/nabavkidata";
constexpr char kFixture[] = SCHEMAD_SOURCE_DIR "/tests/testdata/nabavkidata/fixture.sql";
constexpr char kGoldenName[] = "structure.golden";
constexpr char kGolden[] = SCHEMAD_SOURCE_DIR "/tests/testdata/nabavkidata/structure.golden";

constexpr char kAllVersions[] =
    "20251123_153004,20251123_220000,20251124_090000,20251124_091000,20251124_092000,"
    "20251124_093000,20251125_090000,20251125_091000";

// The 31 tables of the seed's inventory, in byte order.
constexpr const char* kTables[] = {
    "admin_audit_log",
    "admin_settings",
    "alerts",
    "analysis_history",
    "api_keys",
    "audit_log",
    "billing_events",
    "cpv_codes",
    "documents",
    "embeddings",
    "entity_categories",
    "fraud_detection",
    "fraud_events",
    "message_threads",
    "messages",
    "notifications",
    "organizations",
    "personalization_settings",
    "query_history",
    "rate_limits",
    "refresh_tokens",
    "saved_searches",
    "subscription_usage",
    "subscriptions",
    "system_config",
    "tender_documents",
    "tender_entity_link",
    "tenders",
    "usage_tracking",
    "user_preferences",
    "users",
};

constexpr const char* kMaterializedViews[] = {
    "mv_procuring_entity_spend",
    "mv_supplier_awards",
    "mv_tenders_by_cpv_division_month",
};

// Rows of the seed revisions.
constexpr int kSeededCpvCodes = 9454;  // the CPV 2008 vocabulary
constexpr int kSeededConfigKeys = 38;

// Keys of fixture.sql rows (its header explains the numbering).
constexpr char kAna[] = "13000000-0000-4000-8000-000000000001";    // supplier employee
constexpr char kMarko[] = "13000000-0000-4000-8000-000000000002";  // another customer
constexpr char kElena[] = "13000000-0000-4000-8000-000000000003";  // admin / support staff
constexpr char kStreetTender[] = "ocds-mk-2025-000102";            // documents, bids, embeddings

// FKs whose rows must stop a delete (README: reference data and public record).
constexpr const char* kRestrictForeignKeys[] = {
    "cpv_codes.parent_code", "entity_categories.parent_id", "tender_entity_link.organization_id",
    "tenders.cpv_code8",     "tenders.procuring_entity_id",
};

// Foreign keys without an index whose leading columns are exactly the FK columns (a partial or
// invalid index does not count). The query of the catalog README.
constexpr char kUncoveredForeignKeys[] = R"sql(
SELECT c.conrelid::regclass || ' ' || c.conname
  FROM pg_constraint c
 WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
   AND NOT EXISTS (
     SELECT 1 FROM pg_index i
      WHERE i.indrelid = c.conrelid AND i.indpred IS NULL AND i.indisvalid
        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
 ORDER BY 1)sql";

// Every column of every row, for before/after comparisons of the data revisions.
constexpr char kCpvContent[] = "SELECT string_agg(c::text, E'\\n' ORDER BY code) FROM cpv_codes c";
constexpr char kConfigContent[] =
    "SELECT string_agg(s::text, E'\\n' ORDER BY config_key) FROM system_config s";

// Runs `sql` (one or more statements) in one transaction and commits it. On an SQL error the
// transaction is rolled back and the message ends in "(SQLSTATE xxxxx)", like TestPostgres::Query.
absl::Status ExecInTransaction(const std::string& dsn, const std::string& sql) {
  try {
    pqxx::connection conn(dsn);
    pqxx::work txn(conn);
    txn.exec(sql);
    txn.commit();
    return absl::OkStatus();
  } catch (const pqxx::sql_error& e) {
    return absl::InternalError(absl::StrCat(e.what(), " (SQLSTATE ", e.sqlstate(), ")"));
  }
}

// Matches a status of ExecInTransaction / TestPostgres::Query that failed with `sqlstate`,
// naming `constraint` (a constraint, index or other word of the server's message).
auto FailsWith(const std::string& sqlstate, const std::string& constraint) {
  return StatusIs(
      absl::StatusCode::kInternal,
      AllOf(HasSubstr(absl::StrCat("(SQLSTATE ", sqlstate, ")")), HasSubstr(constraint)));
}

int64_t ToInt(const std::string& text) {
  int64_t value = -1;
  EXPECT_TRUE(absl::SimpleAtoi(text, &value)) << "not a number: \"" << text << "\"";
  return value;
}

// Lines of `a` that `b` lacks, counting duplicates.
std::vector<std::string> LinesOnlyIn(const std::string& a, const std::string& b) {
  std::vector<std::string> lines_a = absl::StrSplit(a, '\n');
  std::vector<std::string> lines_b = absl::StrSplit(b, '\n');
  std::sort(lines_a.begin(), lines_a.end());
  std::sort(lines_b.begin(), lines_b.end());
  std::vector<std::string> only;
  std::set_difference(lines_a.begin(), lines_a.end(), lines_b.begin(), lines_b.end(),
                      std::back_inserter(only));
  return only;
}

// Explains how two schema snapshots differ, line by line.
std::string SnapshotDifference(const std::string& actual, const std::string& expected) {
  const std::vector<std::string> extra = LinesOnlyIn(actual, expected);
  const std::vector<std::string> missing = LinesOnlyIn(expected, actual);
  if (extra.empty() && missing.empty()) {
    return "same lines in a different order (is the database collation not C?)";
  }
  return absl::StrCat("only in the database (", extra.size(), "):\n  ",
                      absl::StrJoin(extra, "\n  "), "\nonly in the expected snapshot (",
                      missing.size(), "):\n  ", absl::StrJoin(missing, "\n  "));
}

bool UpdateGolden() {
  const char* value = std::getenv("SCHEMAD_UPDATE_GOLDEN");
  return value != nullptr && std::string(value) == "1";
}

// A fresh database with the whole catalog applied through the engine.
class NabavkidataPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = TestPostgres::Get().CreateDatabase();
    engine_ = MakeEngine(kCatalog, dsn_);
    ASSERT_NE(engine_, nullptr);
    apply_ = RunEngine(*engine_, ApplyRequest());
    ASSERT_THAT(apply_.status, IsOk());
    ASSERT_EQ(apply_.finished.outcome, db::Outcome::kApplied) << apply_.finished.message;
    ASSERT_EQ(apply_.finished.steps_done, 8);
  }

  std::vector<std::string> Rows(const std::string& sql) {
    return TestPostgres::MustQuery(dsn_, sql);
  }
  std::string One(const std::string& sql) { return TestPostgres::MustQueryOne(dsn_, sql); }
  int64_t Count(const std::string& table, const std::string& where = "true") {
    return ToInt(One(absl::StrCat("SELECT count(*) FROM ", table, " WHERE ", where)));
  }
  absl::Status Exec(const std::string& sql) { return ExecInTransaction(dsn_, sql); }

  // Runs fixture.sql in one transaction.
  absl::Status LoadFixture() {
    const std::string sql = ReadTextFile(kFixture);
    if (sql.empty()) return absl::NotFoundError(absl::StrCat(kFixture, " is missing or empty"));
    return Exec(sql);
  }

  std::string AppliedVersions() {
    return absl::StrJoin(Rows("SELECT version FROM schemad.migrations ORDER BY version_key"), ",");
  }

  bool PgvectorAvailable() {
    return One("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") != "0";
  }

  std::string dsn_;
  std::unique_ptr<engine::Engine> engine_;
  RunResult apply_;
};

// --- The apply itself --------------------------------------------------------------------------

TEST_F(NabavkidataPgTest, AppliesEveryRevisionAndReportsThePgvectorPath) {
  EXPECT_EQ(AppliedVersions(), kAllVersions);

  // Exactly one of the two paths of 20251124_093000, said by a NOTICE of that revision.
  std::vector<std::string> vector_notices;
  for (const RunEvent& event : apply_.events) {
    if (event.kind == RunEvent::Kind::kNotice && absl::StrContains(event.message, "pgvector")) {
      EXPECT_EQ(event.version, "20251124_093000") << event.message;
      vector_notices.push_back(event.message);
    }
  }
  const std::string column_type =
      One("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
          "WHERE attrelid = 'embeddings'::regclass AND attname = 'vector'");
  if (PgvectorAvailable()) {
    EXPECT_THAT(vector_notices,
                ElementsAre(HasSubstr("pgvector available: embeddings.vector converted to "
                                      "vector(768)")));
    EXPECT_EQ(column_type, "vector(768)");
    return;
  }
  EXPECT_THAT(
      vector_notices,
      ElementsAre(AllOf(HasSubstr("pgvector not available: embeddings.vector stays real[]"),
                        HasSubstr("embeddings_vector_dims_check enforces 768 dimensions"))));
  EXPECT_THAT(apply_.notices, Contains(HasSubstr("pgvector not available")));
  EXPECT_EQ(column_type, "real[]");
}

TEST_F(NabavkidataPgTest, EmbeddingVectorsMustHave768Dimensions) {
  if (PgvectorAvailable()) GTEST_SKIP() << "pgvector is installed: vector(768) checks this itself";
  ASSERT_THAT(Exec("INSERT INTO tenders (tender_id, title) VALUES ('t-1', 'Набавка на хартија')"),
              IsOk());
  const auto insert = [&](const std::string& value) {
    return Exec(absl::StrCat("INSERT INTO embeddings (tender_id, chunk_text, vector, model) ",
                             "VALUES ('t-1', 'Набавка на хартија', ", value, ", 'm')"));
  };
  EXPECT_THAT(insert("array_fill(0.5::real, ARRAY[767])"),
              FailsWith("23514", "embeddings_vector_dims_check"));
  EXPECT_THAT(insert("array_fill(0.5::real, ARRAY[769])"),
              FailsWith("23514", "embeddings_vector_dims_check"));
  EXPECT_THAT(insert("array_fill(0.5::real, ARRAY[2, 384])"),
              FailsWith("23514", "embeddings_vector_dims_check"));
  EXPECT_THAT(insert("array_fill(0.5::real, ARRAY[767]) || ARRAY[NULL::real]"),
              FailsWith("23514", "embeddings_vector_dims_check"));
  EXPECT_THAT(insert("array_fill(0.5::real, ARRAY[768])"), IsOk());
  EXPECT_EQ(Count("embeddings"), 1);
}

// --- 1. All tables exist -----------------------------------------------------------------------

TEST_F(NabavkidataPgTest, AllTablesExist) {
  EXPECT_THAT(Rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                   "ORDER BY tablename COLLATE \"C\""),
              ElementsAreArray(std::vector<std::string>(std::begin(kTables), std::end(kTables))));
  EXPECT_THAT(Rows("SELECT matviewname FROM pg_matviews WHERE schemaname = 'public' "
                   "ORDER BY matviewname COLLATE \"C\""),
              ElementsAreArray(std::vector<std::string>(std::begin(kMaterializedViews),
                                                        std::end(kMaterializedViews))));
  // The README promises a COMMENT on every table and materialized view.
  EXPECT_THAT(Rows("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                   "AND relkind IN ('r', 'm') AND obj_description(oid, 'pg_class') IS NULL"),
              IsEmpty());
}

// --- 2. Table structures match the schema -------------------------------------------------------

TEST_F(NabavkidataPgTest, TableStructuresMatchTheGolden) {
  if (PgvectorAvailable()) {
    GTEST_SKIP() << kGolden << " records the fallback path of 20251124_093000 (no pgvector)";
  }
  const std::string snapshot = SchemaSnapshot(dsn_);
  ASSERT_FALSE(snapshot.empty());
  if (UpdateGolden()) {
    WriteFiles(kTestdata, {{kGoldenName, snapshot}});
    std::cerr << "wrote " << kGolden << "\n";
    return;
  }
  std::string golden = ReadTextFile(kGolden);
  if (absl::EndsWith(golden, "\n")) golden.pop_back();
  ASSERT_FALSE(golden.empty()) << kGolden << " is missing; create it with SCHEMAD_UPDATE_GOLDEN=1";
  EXPECT_TRUE(snapshot == golden)
      << "the schema differs from " << kGolden
      << " (if the change is intended, regenerate it with SCHEMAD_UPDATE_GOLDEN=1)\n"
      << SnapshotDifference(snapshot, golden);
}

// --- 3. Foreign keys created --------------------------------------------------------------------

TEST_F(NabavkidataPgTest, ForeignKeysAreCreatedIndexedAndHaveExplicitDeleteRules) {
  EXPECT_GE(ToInt(One("SELECT count(*) FROM pg_constraint "
                      "WHERE contype = 'f' AND connamespace = 'public'::regnamespace")),
            35);
  EXPECT_THAT(Rows(kUncoveredForeignKeys), IsEmpty());
  // Validated (the two fraud-table keys are added NOT VALID, then validated).
  EXPECT_THAT(Rows("SELECT conname FROM pg_constraint WHERE contype = 'f' "
                   "AND connamespace = 'public'::regnamespace AND NOT convalidated"),
              IsEmpty());
  // Every key says what a delete does: none is left at the implicit NO ACTION.
  EXPECT_THAT(Rows("SELECT conname FROM pg_constraint WHERE contype = 'f' "
                   "AND connamespace = 'public'::regnamespace AND confdeltype = 'a'"),
              IsEmpty());
  EXPECT_THAT(Rows("SELECT fk FROM (SELECT c.conrelid::regclass || '.' || a.attname AS fk "
                   "FROM pg_constraint c "
                   "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                   "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace "
                   "AND c.confdeltype = 'r') restrict_keys ORDER BY fk COLLATE \"C\""),
              ElementsAreArray(std::vector<std::string>(std::begin(kRestrictForeignKeys),
                                                        std::end(kRestrictForeignKeys))));
}

TEST_F(NabavkidataPgTest, TheUncoveredForeignKeyQueryCatchesAMissingIndex) {
  // The check above must be able to fail: without alerts_user_id_idx, and with only a partial
  // index on messages.sender_id, both keys are reported.
  ASSERT_THAT(Exec("DROP INDEX alerts_user_id_idx; DROP INDEX messages_sender_id_idx; "
                   "CREATE INDEX messages_sender_partial ON messages (sender_id) "
                   "WHERE sender_id IS NOT NULL"),
              IsOk());
  EXPECT_THAT(Rows(kUncoveredForeignKeys),
              ElementsAre("alerts alerts_user_id_fkey", "messages messages_sender_id_fkey"));
}

// --- 4. Indexes created -------------------------------------------------------------------------

TEST_F(NabavkidataPgTest, IndexesAreCreated) {
  EXPECT_GE(ToInt(One("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")), 85);
  // name, access method, unique, partial
  EXPECT_THAT(
      Rows("SELECT c.relname, am.amname, i.indisunique, i.indpred IS NOT NULL "
           "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
           "JOIN pg_am am ON am.oid = c.relam "
           "WHERE c.relnamespace = 'public'::regnamespace AND c.relname IN ("
           "'audit_log_created_at_brin_idx', 'mv_procuring_entity_spend_key', "
           "'mv_supplier_awards_key', 'mv_tenders_by_cpv_division_month_key', "
           "'notifications_user_id_idx', 'rate_limits_subject_endpoint_window_key', "
           "'subscriptions_one_live_per_user_idx', 'tender_documents_tender_id_sha256_key', "
           "'tenders_additional_cpv_codes_idx', 'tenders_procuring_entity_id_idx', "
           "'tenders_search_vector_idx', 'users_email_key') "
           "ORDER BY c.relname COLLATE \"C\""),
      ElementsAre("audit_log_created_at_brin_idx\tbrin\tf\tf",
                  "mv_procuring_entity_spend_key\tbtree\tt\tf",
                  "mv_supplier_awards_key\tbtree\tt\tf",
                  "mv_tenders_by_cpv_division_month_key\tbtree\tt\tf",
                  "notifications_user_id_idx\tbtree\tf\tf",
                  "rate_limits_subject_endpoint_window_key\tbtree\tt\tf",
                  "subscriptions_one_live_per_user_idx\tbtree\tt\tt",
                  "tender_documents_tender_id_sha256_key\tbtree\tt\tf",
                  "tenders_additional_cpv_codes_idx\tgin\tf\tf",
                  "tenders_procuring_entity_id_idx\tbtree\tf\tf",
                  "tenders_search_vector_idx\tgin\tf\tf", "users_email_key\tbtree\tt\tf"));
  EXPECT_EQ(
      One("SELECT indexdef FROM pg_indexes WHERE indexname = 'tenders_procuring_entity_id_idx'"),
      "CREATE INDEX tenders_procuring_entity_id_idx ON public.tenders USING btree "
      "(procuring_entity_id, publication_date DESC)");
}

// --- 5. Unique constraints applied --------------------------------------------------------------

TEST_F(NabavkidataPgTest, UniqueConstraintsRejectDuplicates) {
  EXPECT_GE(ToInt(One("SELECT count(*) FROM pg_constraint "
                      "WHERE contype = 'u' AND connamespace = 'public'::regnamespace")),
            8);
  ASSERT_THAT(LoadFixture(), IsOk());

  EXPECT_THAT(Exec("INSERT INTO users (email) VALUES ('ana.petrovska@vardargradba.mk')"),
              FailsWith("23505", "users_email_key"));
  // E-mails are stored lower-case, so the unique key is case-insensitive.
  EXPECT_THAT(Exec("INSERT INTO users (email) VALUES ('Ana.Petrovska@vardargradba.mk')"),
              FailsWith("23514", "users_email_check"));
  EXPECT_THAT(Exec("INSERT INTO users (email, stripe_customer_id) "
                   "VALUES ('druga.ana@vardargradba.mk', 'cus_R4anaPetrovska01')"),
              FailsWith("23505", "users_stripe_customer_id_key"));
  EXPECT_THAT(Exec("INSERT INTO organizations (name, tax_id) "
                   "VALUES ('Министерство за здравство (дупликат)', '4030990253671')"),
              FailsWith("23505", "organizations_tax_id_key"));
  EXPECT_THAT(Exec(absl::Substitute("INSERT INTO saved_searches (user_id, name) "
                                    "VALUES ('$0', 'Градежни работи во Пелагонија')",
                                    kAna)),
              FailsWith("23505", "saved_searches_user_id_name_key"));
  EXPECT_THAT(Exec(absl::Substitute("INSERT INTO tender_entity_link (tender_id, organization_id, "
                                    "role) VALUES ('$0', '12000000-0000-4000-8000-000000000004', "
                                    "'winner')",
                                    kStreetTender)),
              FailsWith("23505", "tender_entity_link_tender_org_role_key"));
  EXPECT_THAT(
      Exec(absl::Substitute(
          "INSERT INTO tender_documents (tender_id, file_name, sha256) VALUES ('$0', "
          "'kopija.pdf', '3d6e9431d062f0c2c8de1da6d74b40bee04b2bd08d4f4eed05ad53ebaa592984')",
          kStreetTender)),
      FailsWith("23505", "tender_documents_tender_id_sha256_key"));
  EXPECT_THAT(Exec("INSERT INTO billing_events (event_type, stripe_event_id) "
                   "VALUES ('invoice.paid', 'evt_1QAnaInvoicePaid01')"),
              FailsWith("23505", "billing_events_stripe_event_id_key"));
  EXPECT_THAT(Exec(absl::Substitute("INSERT INTO user_preferences (user_id) VALUES ('$0')", kAna)),
              FailsWith("23505", "user_preferences_user_id_key"));
  // At most one live subscription per user (partial unique index); a canceled one may coexist.
  EXPECT_THAT(
      Exec(absl::Substitute(
          "INSERT INTO subscriptions (user_id, plan, status) VALUES ('$0', 'pro', 'trialing')",
          kAna)),
      FailsWith("23505", "subscriptions_one_live_per_user_idx"));
  EXPECT_THAT(
      Exec(absl::Substitute(
          "INSERT INTO subscriptions (user_id, plan, status) VALUES ('$0', 'pro', 'canceled')",
          kAna)),
      IsOk());
  // Nothing of the refused inserts was written.
  EXPECT_EQ(Count("users"), 4);
  EXPECT_EQ(Count("organizations"), 7);
}

// --- 6. Default values work ---------------------------------------------------------------------

TEST_F(NabavkidataPgTest, DefaultValuesAreFilledIn) {
  constexpr char kIsV4Uuid[] =
      "~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'";
  constexpr char kIsNow[] = "BETWEEN clock_timestamp() - interval '1 minute' AND clock_timestamp()";
  constexpr char kNewUser[] = "(SELECT id FROM users WHERE email = 'nova.korisnicka@primer.mk')";

  // id, role, is_active, email_verified, failed_login_count, locale, timezone, metadata,
  // created_at, updated_at, deleted_at
  EXPECT_EQ(One(absl::StrCat("INSERT INTO users (email) VALUES ('nova.korisnicka@primer.mk') "
                             "RETURNING id::text ",
                             kIsV4Uuid,
                             ", role, is_active, email_verified, "
                             "failed_login_count, locale, timezone, metadata, created_at ",
                             kIsNow, ", updated_at = created_at, deleted_at IS NULL")),
            "t\tuser\tt\tf\t0\tmk\tEurope/Skopje\t{}\tt\tt\tt");
  EXPECT_EQ(One("INSERT INTO organizations (name) VALUES ('Општина Охрид') RETURNING org_type, "
                "country_code, address, contact, external_ids, metadata, is_active"),
            "procuring_entity\tMK\t{}\t{}\t{}\t{}\tt");
  EXPECT_EQ(One(absl::StrCat("INSERT INTO tenders (tender_id, title) "
                             "VALUES ('ocds-mk-2025-900001', 'Набавка на зимска опрема') "
                             "RETURNING source_system, status, currency, language, has_lots, "
                             "additional_cpv_codes, raw, "
                             "search_vector @@ to_tsquery('simple', 'зимска'), created_at ",
                             kIsNow)),
            "e-nabavki\tpublished\tMKD\tmk\tf\t{}\t{}\tt\tt");
  EXPECT_EQ(One(absl::StrCat("INSERT INTO subscriptions (user_id) VALUES (", kNewUser,
                             ") RETURNING id::text ", kIsV4Uuid,
                             ", plan, status, cancel_at_period_end, metadata")),
            "t\tfree\tactive\tf\t{}");
  EXPECT_EQ(One(absl::StrCat("INSERT INTO api_keys (user_id, name, key_prefix, key_hash) VALUES (",
                             kNewUser,
                             ", 'CLI', 'nbk_test_0001', 'hash-1') "
                             "RETURNING scopes, is_active, revoked_at IS NULL")),
            "{read}\tt\tt");
  EXPECT_EQ(One(absl::StrCat(
                "INSERT INTO refresh_tokens (user_id, token_hash, expires_at) VALUES (", kNewUser,
                ", 'hash-2', now() + interval '30 days') "
                "RETURNING family_id::text ",
                kIsV4Uuid, ", family_id <> id")),
            "t\tt");
  EXPECT_EQ(One(absl::StrCat("INSERT INTO alerts (user_id, name) VALUES (", kNewUser,
                             ", 'Нови тендери') RETURNING alert_type, criteria, channels, "
                             "frequency, is_active, trigger_count")),
            "new_tender\t{}\t{email}\tdaily\tt\t0");
  EXPECT_EQ(One(absl::StrCat("INSERT INTO notifications (user_id, notification_type, title) "
                             "VALUES (",
                             kNewUser,
                             ", 'system', 'Добредојдовте') "
                             "RETURNING data, channel, status, read_at IS NULL")),
            "{}\tin_app\tpending\tt");
  EXPECT_EQ(One(absl::StrCat("INSERT INTO personalization_settings (user_id) VALUES (", kNewUser,
                             ") RETURNING dashboard_layout, widgets, recommendation_weights, "
                             "interest_profile, ai_recommendations_enabled, theme")),
            "{}\t[]\t{}\t{}\tt\tsystem");
  EXPECT_EQ(One(absl::StrCat("INSERT INTO user_preferences (user_id) VALUES (", kNewUser,
                             ") RETURNING preferred_cpv_codes, keywords, language, email_digest, "
                             "notification_settings")),
            "{}\t{}\tmk\tdaily\t{}");
  EXPECT_EQ(One("INSERT INTO query_history (query_text) VALUES ('лекови') "
                "RETURNING query_type, filters, sources"),
            "search\t{}\t[]");
  EXPECT_EQ(One("INSERT INTO fraud_detection (detection_type) VALUES ('registration') "
                "RETURNING risk_score, is_suspicious, is_blocked, action_taken, details"),
            "0.00\tf\tf\tnone\t{}");
  EXPECT_EQ(One(absl::StrCat("INSERT INTO documents DEFAULT VALUES RETURNING doc_id::text ",
                             kIsV4Uuid, ", extraction_status, uploaded_at ", kIsNow)),
            "t\tpending\tt");
  EXPECT_EQ(One("INSERT INTO tender_documents (tender_id, file_name) "
                "VALUES ('ocds-mk-2025-900001', 'tenderska_dokumentacija.pdf') "
                "RETURNING doc_type, extraction_status, metadata"),
            "other\tpending\t{}");
  EXPECT_EQ(One("INSERT INTO rate_limits (subject, window_start, limit_count) "
                "VALUES ('ip:10.0.0.1', date_trunc('minute', now()), 60) "
                "RETURNING endpoint, window_seconds, request_count"),
            "*\t60\t0");
  EXPECT_EQ(One("INSERT INTO billing_events (event_type) VALUES ('invoice.created') "
                "RETURNING status, payload"),
            "received\t{}");
  EXPECT_EQ(One("INSERT INTO fraud_events (event_type) VALUES ('scraping') "
                "RETURNING severity, status, details"),
            "medium\topen\t{}");
  // Generated column: the CPV division comes from the code.
  EXPECT_EQ(One("INSERT INTO cpv_codes (code, parent_code, level, name_en) "
                "VALUES ('45299000', '45200000', 4, 'A local code') "
                "RETURNING division, is_active"),
            "45\tt");

  // updated_at is the trigger's, whatever the UPDATE says.
  EXPECT_EQ(One("UPDATE users SET full_name = 'Нова Корисничка', updated_at = '2000-01-01' "
                "WHERE email = 'nova.korisnicka@primer.mk' "
                "RETURNING updated_at = now(), updated_at > created_at"),
            "t\tt");
}

// --- 7. Cascade deletes work --------------------------------------------------------------------

TEST_F(NabavkidataPgTest, DeletingAUserRemovesWhatTheyOwnAndKeepsHistory) {
  ASSERT_THAT(LoadFixture(), IsOk());
  struct Owned {
    const char* table;
    const char* column;
    const char* key;
  };
  const Owned owned[] = {
      {"api_keys", "user_id", kAna},
      {"refresh_tokens", "user_id", kAna},
      {"saved_searches", "user_id", kAna},
      {"alerts", "user_id", kAna},
      {"notifications", "user_id", kAna},
      {"user_preferences", "user_id", kAna},
      {"personalization_settings", "user_id", kAna},
      {"subscriptions", "user_id", kAna},
      {"subscription_usage", "user_id", kAna},
      {"message_threads", "user_id", kAna},
      {"rate_limits", "user_id", kAna},
      // Through their parents: the whole conversation, including the staff reply.
      {"messages", "thread_id", "39000000-0000-4000-8000-000000000001"},
      {"alerts", "saved_search_id", "24000000-0000-4000-8000-000000000001"},
  };
  const auto where = [](const Owned& o) { return absl::StrCat(o.column, " = '", o.key, "'"); };
  for (const Owned& o : owned) {
    ASSERT_GT(Count(o.table, where(o)), 0) << o.table << " has no row of the deleted user";
  }

  ASSERT_THAT(Exec(absl::Substitute("DELETE FROM users WHERE id = '$0'", kAna)), IsOk());

  for (const Owned& o : owned) EXPECT_EQ(Count(o.table, where(o)), 0) << o.table;
  // History survives with the user reference cleared (and the actor snapshot kept).
  EXPECT_EQ(One("SELECT user_id IS NULL, actor_email FROM audit_log "
                "WHERE id = '33000000-0000-4000-8000-000000000001'"),
            "t\tana.petrovska@vardargradba.mk");
  EXPECT_EQ(One("SELECT user_id IS NULL, subscription_id IS NULL, amount FROM billing_events "
                "WHERE id = '31000000-0000-4000-8000-000000000001'"),
            "t\tt\t1790.00");
  EXPECT_EQ(One("SELECT user_id IS NULL, query_text FROM query_history "
                "WHERE id = '21000000-0000-4000-8000-000000000001'"),
            "t\tреконструкција улици Битола");
  EXPECT_EQ(One("SELECT user_id IS NULL, tender_id FROM analysis_history "
                "WHERE id = '20000000-0000-4000-8000-000000000001'"),
            "t\tocds-mk-2025-000102");
  EXPECT_EQ(One("SELECT user_id IS NULL, api_key_id IS NULL, action_type FROM usage_tracking "
                "WHERE id = '32000000-0000-4000-8000-000000000001'"),
            "t\tt\tapi_call");
  EXPECT_EQ(One("SELECT user_id IS NULL, email FROM fraud_detection "
                "WHERE id = '37000000-0000-4000-8000-000000000001'"),
            "t\tana.petrovska@vardargradba.mk");
  EXPECT_EQ(One("SELECT user_id IS NULL, resolved_by IS NULL, fraud_detection_id IS NULL "
                "FROM fraud_events WHERE id = '38000000-0000-4000-8000-000000000001'"),
            "t\tf\tf");
  EXPECT_EQ(One("SELECT target_user_id IS NULL, admin_user_id IS NULL FROM admin_audit_log "
                "WHERE id = '34000000-0000-4000-8000-000000000001'"),
            "t\tf");
  EXPECT_EQ(One("SELECT uploaded_by IS NULL, file_name FROM documents "
                "WHERE doc_id = '17000000-0000-4000-8000-000000000002'"),
            "t\tponuda_nacrt.docx");
  // Nobody else lost anything; the employer stays.
  EXPECT_EQ(Count("users"), 3);
  const std::string marko = absl::StrCat("user_id = '", kMarko, "'");
  for (const char* table : {"api_keys", "refresh_tokens", "subscriptions", "user_preferences"}) {
    EXPECT_EQ(Count(table), 1) << table;
    EXPECT_EQ(Count(table, marko), 1) << table;
  }
  EXPECT_EQ(Count("messages"), 2);
  EXPECT_EQ(Count("organizations", "id = '12000000-0000-4000-8000-000000000004'"), 1);
}

TEST_F(NabavkidataPgTest, DeletingAStaffAccountKeepsTheirWork) {
  ASSERT_THAT(LoadFixture(), IsOk());
  ASSERT_THAT(Exec(absl::Substitute("DELETE FROM users WHERE id = '$0'", kElena)), IsOk());
  // Threads are re-queued, replies and audit entries stay, settings keep their values.
  EXPECT_EQ(One("SELECT count(*), count(assigned_to) FROM message_threads"), "2\t0");
  EXPECT_EQ(One("SELECT count(*), count(sender_id) FROM messages WHERE sender_role = 'staff'"),
            "2\t0");
  EXPECT_EQ(One("SELECT count(*), count(admin_user_id), min(admin_email) FROM admin_audit_log"),
            "2\t0\telena.nikolova@nabavkidata.mk");
  EXPECT_EQ(One("SELECT status, resolved_by IS NULL FROM fraud_events "
                "WHERE id = '38000000-0000-4000-8000-000000000001'"),
            "resolved\tt");
  EXPECT_EQ(One("SELECT updated_by IS NULL FROM admin_settings WHERE setting_key = "
                "'maintenance_banner'"),
            "t");
  EXPECT_EQ(One("SELECT updated_by IS NULL, config_value ->> 'ocds' FROM system_config "
                "WHERE config_key = 'scraper.sources'"),
            "t\ttrue");
}

TEST_F(NabavkidataPgTest, DeletingATenderRemovesItsDocumentsAndLinks) {
  ASSERT_THAT(LoadFixture(), IsOk());
  const std::string mine = absl::StrCat("tender_id = '", kStreetTender, "'");
  EXPECT_EQ(Count("tender_documents", mine), 2);
  EXPECT_EQ(Count("tender_entity_link", mine), 4);
  EXPECT_EQ(Count("documents", mine), 1);
  EXPECT_EQ(Count("embeddings", mine), 1);
  EXPECT_EQ(Count("analysis_history", mine), 1);

  ASSERT_THAT(Exec(absl::StrCat("DELETE FROM tenders WHERE ", mine)), IsOk());

  EXPECT_EQ(Count("tender_documents", mine), 0);
  EXPECT_EQ(Count("tender_entity_link", mine), 0);
  EXPECT_EQ(Count("documents", mine), 0);
  EXPECT_EQ(Count("embeddings", mine), 0);
  EXPECT_EQ(Count("embeddings", "tender_document_id = '16000000-0000-4000-8000-000000000002'"), 0);
  EXPECT_EQ(Count("analysis_history", mine), 0);
  // Other tenders keep theirs.
  EXPECT_EQ(Count("tender_documents"), 2);
  EXPECT_EQ(Count("tender_entity_link"), 5);
  EXPECT_EQ(Count("embeddings"), 2);
  // Inbox entries and conversations about the tender stay readable.
  EXPECT_EQ(One("SELECT tender_id IS NULL, title FROM notifications "
                "WHERE id = '26000000-0000-4000-8000-000000000002'"),
            "t\tТендерот е доделен");
  EXPECT_EQ(One("SELECT tender_id IS NULL, subject FROM message_threads "
                "WHERE id = '39000000-0000-4000-8000-000000000001'"),
            "t\tНедостасува документ во тендерот");
  // The parties are public record and stay.
  EXPECT_EQ(Count("organizations"), 7);
}

TEST_F(NabavkidataPgTest, ReferenceDataAndPublicRecordRefuseTheDelete) {
  ASSERT_THAT(LoadFixture(), IsOk());
  // A procuring entity with tenders.
  EXPECT_THAT(Exec("DELETE FROM organizations WHERE id = '12000000-0000-4000-8000-000000000001'"),
              FailsWith("23503", "tenders_procuring_entity_id_fkey"));
  // A supplier that only bid.
  EXPECT_THAT(Exec("DELETE FROM organizations WHERE id = '12000000-0000-4000-8000-000000000007'"),
              FailsWith("23503", "tender_entity_link_organization_id_fkey"));
  // CPV codes in use by a tender, or with finer codes below them.
  EXPECT_THAT(Exec("DELETE FROM cpv_codes WHERE code LIKE '4523312%'"),  // and its finer codes
              FailsWith("23503", "tenders_cpv_code8_fkey"));
  EXPECT_THAT(Exec("DELETE FROM cpv_codes WHERE code = '45000000'"),
              FailsWith("23503", "cpv_codes_parent_code_fkey"));
  // A category with sub-categories.
  EXPECT_THAT(Exec("DELETE FROM entity_categories WHERE code = 'state_administration'"),
              FailsWith("23503", "entity_categories_parent_id_fkey"));
  EXPECT_EQ(Count("organizations"), 7);
  EXPECT_EQ(Count("cpv_codes"), kSeededCpvCodes + 2);
  EXPECT_EQ(Count("entity_categories"), 4);
}

TEST_F(NabavkidataPgTest, RollingBackTheCpvSeedIsRefusedWhileTendersUseTheCodes) {
  ASSERT_THAT(LoadFixture(), IsOk());
  RunResult back = RunEngine(*engine_, RollbackRequest("20251123_220000"));
  ASSERT_THAT(back.status, IsOk());
  EXPECT_EQ(back.finished.outcome, db::Outcome::kFailed);
  EXPECT_EQ(back.finished.sqlstate, "23503");
  // The first down, the vocabulary's, stops at a code a tender uses; nothing of it is left.
  EXPECT_THAT(back.finished.message, HasSubstr("tenders_cpv_code8_fkey"));
  EXPECT_EQ(back.finished.steps_done, 0);
  EXPECT_EQ(AppliedVersions(), kAllVersions);
  EXPECT_EQ(Count("cpv_codes"), kSeededCpvCodes + 2);
}

// --- CPV master data: the whole vocabulary, keyed so that a real code always works -------------

TEST_F(NabavkidataPgTest, ARealCpvCodeIsAcceptedWhateverItsCheckDigit) {
  EXPECT_EQ(Count("cpv_codes"), kSeededCpvCodes);
  EXPECT_EQ(One("SELECT string_agg(format('%s:%s', level, n), ' ' ORDER BY level) FROM "
                "(SELECT level, count(*) n FROM cpv_codes GROUP BY level) l"),
            "1:45 2:272 3:1002 4:2379 5:5756");
  EXPECT_EQ(One("SELECT name_en, parent_code, level FROM cpv_codes WHERE code = '45233120'"),
            "Road construction works\t45233100\t5");
  EXPECT_EQ(One("SELECT count(*) FROM cpv_codes WHERE check_digit IS NOT NULL"), "50");
  // As published: with the official check digit, without one, and with the digit the weighted
  // sum gives where the official one differs (51000000-9 is official; the formula gives 2).
  int n = 0;
  for (const char* code : {"45233120-6", "45233120", "51000000-9", "51000000-2", "03111000-2"}) {
    EXPECT_THAT(Exec(absl::StrCat("INSERT INTO tenders (tender_id, title, cpv_code) VALUES "
                                  "('cpv-",
                                  ++n, "', 'Tender ", code, "', '", code, "')")),
                IsOk())
        << code;
  }
  EXPECT_EQ(One("SELECT cpv_code8 FROM tenders WHERE tender_id = 'cpv-1'"), "45233120");
  EXPECT_THAT(Exec("INSERT INTO tenders (tender_id, title, cpv_code) "
                   "VALUES ('cpv-x', 'Not a code', '99999999-1')"),
              FailsWith("23503", "tenders_cpv_code8_fkey"));
  EXPECT_THAT(Exec("INSERT INTO tenders (tender_id, title, cpv_code) "
                   "VALUES ('cpv-y', 'Not a code', '4523312')"),
              FailsWith("23514", "tenders_cpv_code_check"));
}

// Re-keying a database that has tenders already: their codes keep working; and going back is
// refused, naming why, while a tender's code is not the official "code-digit" text.
TEST_F(NabavkidataPgTest, ReKeyingKeepsExistingTendersAndTheWayBackIsGuarded) {
  RunResult down = RunEngine(*engine_, RollbackRequest("20251124_093000"));
  ASSERT_THAT(down.status, IsOk());
  ASSERT_EQ(down.finished.outcome, db::Outcome::kRolledBack) << down.finished.message;
  ASSERT_THAT(Exec("INSERT INTO tenders (tender_id, title, cpv_code) VALUES "
                   "('old-1', 'Before the re-key', '45000000-7')"),
              IsOk());
  engine::RunRequest to_rekey = ApplyRequest();
  to_rekey.plan.to_version = "20251125_090000";
  RunResult rekeyed = RunEngine(*engine_, to_rekey);
  ASSERT_THAT(rekeyed.status, IsOk());
  ASSERT_EQ(rekeyed.finished.outcome, db::Outcome::kApplied) << rekeyed.finished.message;
  EXPECT_EQ(One("SELECT cpv_code8, cpv_code FROM tenders WHERE tender_id = 'old-1'"),
            "45000000\t45000000-7");
  // Published with another digit: accepted now, and it keeps the way back shut.
  ASSERT_THAT(Exec("INSERT INTO tenders (tender_id, title, cpv_code) VALUES "
                   "('new-1', 'After the re-key', '45000000-1')"),
              IsOk());
  RunResult back = RunEngine(*engine_, RollbackRequest("20251124_093000"));
  ASSERT_THAT(back.status, IsOk());
  EXPECT_EQ(back.finished.outcome, db::Outcome::kFailed);
  EXPECT_THAT(back.finished.message,
              HasSubstr("without the official check digit (e.g. 45000000-1)"));
  ASSERT_THAT(Exec("DELETE FROM tenders WHERE tender_id = 'new-1'"), IsOk());
  RunResult again = RunEngine(*engine_, RollbackRequest("20251124_093000"));
  ASSERT_THAT(again.status, IsOk());
  EXPECT_EQ(again.finished.outcome, db::Outcome::kRolledBack) << again.finished.message;
  EXPECT_EQ(One("SELECT cpv_code FROM tenders WHERE tender_id = 'old-1'"), "45000000-7");
}

// The data revision is what the generator writes from the vocabulary file (when it is here).
TEST(NabavkidataCatalogTest, TheVocabularyRevisionIsTheGeneratorsOutput) {
  const std::string csv = SCHEMAD_SOURCE_DIR "/../shared/data/cpv2008_en.csv";
  if (!std::filesystem::exists(csv)) GTEST_SKIP() << csv << " is absent";
  absl::StatusOr<CommandResult> generated =
      RunCommand({"/usr/bin/python3", SCHEMAD_SOURCE_DIR "/migrations/tools/cpv_vocabulary_sql.py",
                  csv, "up"});
  ASSERT_TRUE(generated.ok()) << generated.status();
  ASSERT_EQ(generated->exit_code, 0) << generated->err;
  EXPECT_TRUE(generated->out == ReadTextFile(kCpvSeed))
      << "regenerate " << kCpvSeed << " with migrations/tools/cpv_vocabulary_sql.py";
  absl::StatusOr<CommandResult> down =
      RunCommand({"/usr/bin/python3", SCHEMAD_SOURCE_DIR "/migrations/tools/cpv_vocabulary_sql.py",
                  csv, "down"});
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_TRUE(down->out == ReadTextFile(SCHEMAD_SOURCE_DIR
                                        "/migrations/nabavkidata/"
                                        "20251125_091000_load_cpv_2008_vocabulary.down.sql"))
      << "regenerate the down with migrations/tools/cpv_vocabulary_sql.py";
}

// --- 8. Can insert test data --------------------------------------------------------------------

TEST_F(NabavkidataPgTest, TestDataCanBeInsertedIntoEveryTable) {
  std::vector<int64_t> before;
  for (const char* table : kTables) before.push_back(Count(table));
  ASSERT_THAT(LoadFixture(), IsOk());
  for (size_t i = 0; i < std::size(kTables); ++i) {
    const int64_t after = Count(kTables[i]);
    EXPECT_GE(after, 1) << kTables[i];
    EXPECT_GT(after, before[i]) << "fixture.sql inserts nothing into " << kTables[i];
  }
}

// --- 9. Can query all tables --------------------------------------------------------------------

TEST_F(NabavkidataPgTest, EveryTableCanBeQueried) {
  for (const char* table : kTables) {
    absl::StatusOr<std::vector<std::string>> count =
        TestPostgres::Query(dsn_, absl::StrCat("SELECT count(*) FROM ", table));
    ASSERT_THAT(count, IsOk()) << table;
    ASSERT_EQ(count->size(), 1u) << table;
    // Only the two data revisions put rows in.
    const std::string expected = std::string(table) == "cpv_codes"       ? "9454"
                                 : std::string(table) == "system_config" ? "38"
                                                                         : "0";
    EXPECT_EQ((*count)[0], expected) << table;
    EXPECT_THAT(TestPostgres::Query(dsn_, absl::StrCat("SELECT * FROM ", table, " LIMIT 1")),
                IsOk())
        << table;
  }
  for (const char* view : kMaterializedViews) {
    EXPECT_THAT(TestPostgres::Query(dsn_, absl::StrCat("SELECT * FROM ", view)), IsOk()) << view;
  }
}

// --- 10. Downgrade works ------------------------------------------------------------------------

TEST_F(NabavkidataPgTest, RollbackToZeroLeavesNothingAndReapplyGivesTheSameSchema) {
  const std::string applied = SchemaSnapshot(dsn_);
  ASSERT_FALSE(applied.empty());

  RunResult down = RunEngine(*engine_, RollbackRequest("0"));
  ASSERT_THAT(down.status, IsOk());
  EXPECT_EQ(down.finished.outcome, db::Outcome::kRolledBack) << down.finished.message;
  EXPECT_EQ(down.finished.steps_done, 8);
  EXPECT_EQ(AppliedVersions(), "");
  EXPECT_EQ(SchemaSnapshot(dsn_), "");
  EXPECT_THAT(Rows("SELECT format('%s %s', relname, relkind) FROM pg_class "
                   "WHERE relnamespace = 'public'::regnamespace"),
              IsEmpty());
  EXPECT_THAT(Rows("SELECT matviewname FROM pg_matviews WHERE schemaname = 'public'"), IsEmpty());
  EXPECT_THAT(Rows("SELECT oid::regprocedure::text FROM pg_proc "
                   "WHERE pronamespace = 'public'::regnamespace"),
              IsEmpty());
  EXPECT_THAT(Rows("SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace"),
              IsEmpty());
  EXPECT_THAT(Rows("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"), IsEmpty());
  EXPECT_THAT(down.notices,
              Contains(HasSubstr(PgvectorAvailable() ? "embeddings.vector converted back to real[]"
                                                     : "embeddings.vector is real[]")));

  RunResult up = RunEngine(*engine_, ApplyRequest());
  ASSERT_THAT(up.status, IsOk());
  EXPECT_EQ(up.finished.outcome, db::Outcome::kApplied) << up.finished.message;
  EXPECT_EQ(up.finished.steps_done, 8);
  EXPECT_EQ(AppliedVersions(), kAllVersions);
  const std::string reapplied = SchemaSnapshot(dsn_);
  EXPECT_TRUE(reapplied == applied) << SnapshotDifference(reapplied, applied);
  EXPECT_EQ(Count("cpv_codes"), kSeededCpvCodes);
  EXPECT_EQ(Count("system_config"), kSeededConfigKeys);
}

// --- The catalog's own promises -----------------------------------------------------------------

TEST_F(NabavkidataPgTest, MaterializedViewsRefreshConcurrently) {
  ASSERT_THAT(LoadFixture(), IsOk());
  for (const char* view : kMaterializedViews) {
    // Created WITH DATA over empty tables; the fixture shows up only after a refresh.
    EXPECT_EQ(Count(view), 0) << view;
    EXPECT_THAT(
        TestPostgres::Query(dsn_, absl::StrCat("REFRESH MATERIALIZED VIEW CONCURRENTLY ", view)),
        IsOk())
        << view;
  }

  // Per CPV division (00 = none) and Skopje month; tender 000103 was published on 30 September
  // UTC, which is 1 October in Skopje. The planned tender has no publication date and is left out.
  EXPECT_THAT(Rows("SELECT cpv_division, division_name, to_char(month, 'YYYY-MM'), currency, "
                   "tender_count, awarded_count, cancelled_count, total_estimated_value, "
                   "total_awarded_value FROM mv_tenders_by_cpv_division_month "
                   "ORDER BY cpv_division, month, currency"),
              ElementsAre("00\tUnclassified\t2025-09\tMKD\t1\t0\t0\t350000.00\tNULL",
                          "09\tPetroleum products, fuel, electricity and other sources of energy"
                          "\t2025-10\tMKD\t1\t0\t0\t18500000.00\tNULL",
                          "33\tMedical equipments, pharmaceuticals and personal care products"
                          "\t2025-03\tMKD\t1\t1\t0\t12000000.00\t11450000.00",
                          "45\tConstruction work\t2025-04\tMKD\t1\t1\t0\t25000000.00\t23800000.00",
                          "72\tIT services: consulting, software development, Internet and support"
                          "\t2024-11\tEUR\t1\t0\t1\t150000.00\tNULL"));
  EXPECT_THAT(Rows("SELECT procuring_entity_name, year, currency, tender_count, awarded_count, "
                   "total_estimated_value, total_awarded_value, distinct_winner_count "
                   "FROM mv_procuring_entity_spend ORDER BY procuring_entity_id, year, currency"),
              ElementsAre("Министерство за здравство\t2024\tEUR\t1\t0\t150000.00\tNULL\t0",
                          "Министерство за здравство\t2025\tMKD\t1\t1\t12000000.00\t11450000.00\t1",
                          "Општина Битола\t2025\tMKD\t2\t1\t43500000.00\t23800000.00\t1",
                          "ЈЗУ Универзитетска клиника за кардиологија\t2025\tMKD\t1\t0\t350000.00"
                          "\tNULL\t0"));
  EXPECT_THAT(Rows("SELECT supplier_name, year, currency, tenders_participated, tenders_won, "
                   "total_won_value FROM mv_supplier_awards ORDER BY supplier_id, year, currency"),
              ElementsAre("Вардар Градба ДООЕЛ Велес\t2025\tMKD\t1\t1\t23800000.00",
                          "Медика Фарм ДООЕЛ Скопје\t2025\tMKD\t1\t1\t11450000.00",
                          "Инфотек Солушнс ДООЕЛ Скопје\t2024\tEUR\t1\t0\tNULL",
                          "Инфотек Солушнс ДООЕЛ Скопје\t2025\tMKD\t1\t0\tNULL",
                          "Пелагонија Патишта ДОО Прилеп\t2025\tMKD\t1\t0\tNULL"));

  // The scheduler's entry point refreshes all three the same way.
  EXPECT_THAT(TestPostgres::Query(dsn_, "SELECT refresh_dashboard_materialized_views()"), IsOk());
  EXPECT_EQ(Count("mv_supplier_awards"), 5);

  // What CONCURRENTLY buys: a reader inside an open transaction does not block the refresh,
  // while a plain REFRESH has to wait for it.
  pqxx::connection reader_connection(dsn_);
  pqxx::work reader(reader_connection);
  reader.exec("SELECT count(*) FROM mv_supplier_awards");
  EXPECT_THAT(Exec("SET LOCAL lock_timeout = '5s'; "
                   "REFRESH MATERIALIZED VIEW CONCURRENTLY mv_supplier_awards"),
              IsOk());
  EXPECT_THAT(
      Exec("SET LOCAL lock_timeout = '200ms'; REFRESH MATERIALIZED VIEW mv_supplier_awards"),
      FailsWith("55P03", "lock timeout"));
  reader.commit();
}

TEST_F(NabavkidataPgTest, DataRevisionsCanBeRunAgainWithoutChangingAnything) {
  const std::string cpv_before = One(kCpvContent);
  const std::string config_before = One(kConfigContent);
  ASSERT_FALSE(cpv_before.empty());
  ASSERT_FALSE(config_before.empty());

  for (const char* file : {kCpvSeed, kConfigSeed}) {
    const std::string sql = ReadTextFile(file);
    ASSERT_FALSE(sql.empty()) << file;
    EXPECT_THAT(Exec(sql), IsOk()) << file;
  }

  EXPECT_EQ(Count("cpv_codes"), kSeededCpvCodes);
  EXPECT_EQ(Count("system_config"), kSeededConfigKeys);
  // Same rows, same updated_at: no row was even touched by the upsert.
  EXPECT_EQ(One(kCpvContent), cpv_before);
  EXPECT_EQ(One(kConfigContent), config_before);
}

TEST_F(NabavkidataPgTest, RerunningTheSeedsKeepsOperatorValuesAndRepairsTheVocabulary) {
  ASSERT_THAT(Exec("UPDATE system_config SET config_value = '{\"interval_minutes\": 15}' "
                   "WHERE config_key = 'dashboards.refresh'; "
                   "DELETE FROM system_config WHERE config_key = 'features.messaging'; "
                   "UPDATE cpv_codes SET name_en = 'Construction' WHERE code = '45000000'"),
              IsOk());
  for (const char* file : {kCpvSeed, kConfigSeed}) {
    EXPECT_THAT(Exec(ReadTextFile(file)), IsOk()) << file;
  }
  // A value an operator tuned is never overwritten; a missing key comes back.
  EXPECT_EQ(One("SELECT config_value ->> 'interval_minutes' FROM system_config "
                "WHERE config_key = 'dashboards.refresh'"),
            "15");
  EXPECT_EQ(One("SELECT config_value FROM system_config WHERE config_key = 'features.messaging'"),
            "{\"enabled\": true}");
  // The official CPV name is restored.
  EXPECT_EQ(One("SELECT name_en FROM cpv_codes WHERE code = '45000000'"), "Construction work");
  EXPECT_EQ(Count("system_config"), kSeededConfigKeys);
  EXPECT_EQ(Count("cpv_codes"), kSeededCpvCodes);
}

}  // namespace
}  // namespace schemad::testing
