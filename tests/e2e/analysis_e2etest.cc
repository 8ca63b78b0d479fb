// Coverage, drift and lint through the real server and CLI, against live databases (exact
// drift on the corpora: shadow_e2etest).
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNabavkidata[] = SCHEMAD_SOURCE_DIR "/migrations/nabavkidata";

std::unique_ptr<ServerProcess> StartServer(const std::string& catalog, const std::string& dsn,
                                           const std::string& environment = "dev",
                                           const std::string& extra = "") {
  return StartServerFor(catalog, dsn, "t", environment, extra);
}

TEST(CoverageE2eTest, BundledCatalogProvesTwentyTwoOfTwentyTwoLive) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = StartServer(kNabavkidata, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult before = server->Cli({"validate", "-t", "t"});
  EXPECT_EQ(before.exit_code, 4) << "nothing is live yet";
  EXPECT_THAT(before.out, AllOf(HasSubstr("NOT LIVE"), HasSubstr("Coverage: 0/22 (0%)")));
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  CommandResult after = server->Cli({"validate", "-t", "t"});
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_THAT(after.out, AllOf(HasSubstr("1   admin_audit_log           created, live  "
                                         "20251123_220000_create_missing_tables.up.sql"),
                               HasSubstr("14  rate_limits               created, live  "
                                         "20251123_153004_add_fraud_prevention_tables.up.sql"),
                               HasSubstr("Coverage: 22/22 (100%)"),
                               HasSubstr("Tables              31       31"),
                               HasSubstr("Foreign keys        52       52")));
  CommandResult json = server->Cli({"validate", "-t", "t", "--json"});
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_THAT(json.out, AllOf(HasSubstr("\"required_count\":22"), HasSubstr("\"covered_count\":22"),
                              HasSubstr("\"live_checked\":true")));
  // A manifest asking for a table nobody creates: missing, exit 4.
  const std::string dir = MakeTempDir("schemad-manifest");
  WriteFiles(dir, {{"manifest.yaml",
                    "coverage:\n  required:\n    - tenders\n    - table: tender_bids\n"
                    "    - table: users\n      columns: [email, shoe_size]\n"}});
  CommandResult manifest =
      server->Cli({"validate", "-t", "t", "--manifest", dir + "/manifest.yaml"});
  EXPECT_EQ(manifest.exit_code, 4);
  EXPECT_THAT(manifest.out,
              AllOf(HasSubstr("tender_bids  MISSING"), HasSubstr("missing columns: shoe_size"),
                    HasSubstr("Coverage: 1/3")));
}

// The seed hand-off's post-migration checklist, as the bundled catalog's verify script: run
// on any environment, it leaves nothing, and it names what broke.
TEST(ChecklistE2eTest, BundledVerifyScriptPassesLeavesNoRowsAndNamesABrokenCascade) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = StartServer(kNabavkidata, dsn);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  CommandResult verified = server->Cli({"verify", "-t", "t"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, AllOf(HasSubstr("20251123_220000  create_missing_tables     ok"),
                                  HasSubstr("20251125_091000  load_cpv_2008_vocabulary  ok"),
                                  HasSubstr("2 of 2 verified")));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT count(*) FROM users"), "0");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT count(*) FROM tenders"), "0");
  TestPostgres::MustQuery(
      dsn,
      "ALTER TABLE tender_documents DROP CONSTRAINT tender_documents_tender_id_fkey; "
      "ALTER TABLE tender_documents ADD CONSTRAINT tender_documents_tender_id_fkey "
      "FOREIGN KEY (tender_id) REFERENCES tenders (tender_id)");
  CommandResult broken = server->Cli({"verify", "-t", "t", "--json"});
  EXPECT_EQ(broken.exit_code, 4);
  EXPECT_THAT(broken.out, AllOf(HasSubstr("create_missing_tables.verify.sql line"),
                                HasSubstr("tender_documents_tender_id_fkey")));
}

TEST(CoverageE2eTest, CatalogCopyWithoutARequiredTableExitsFour) {
  const std::string copy = MakeTempDir("schemad-copy");
  for (const auto& entry : fs::directory_iterator(kNabavkidata)) {
    if (entry.path().filename().string().rfind("20251123_153004", 0) == 0) continue;
    fs::copy(entry.path(), copy + "/" + entry.path().filename().string());
  }
  auto server = StartServer(copy, TestPostgres::Get().CreateDatabase());
  ASSERT_NE(server, nullptr);
  CommandResult result = server->Cli({"validate", "-t", "t", "--static"});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_THAT(result.out, AllOf(HasSubstr("rate_limits               MISSING"),
                                HasSubstr("Coverage: 21/22 (95%)")));
}

TEST(DriftE2eTest, ManualAlterOutsideSchemadIsReportedAndNothingElse) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = StartServer(kNabavkidata, dsn);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  CommandResult clean = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_THAT(clean.out, HasSubstr("no drift"));
  TestPostgres::MustQuery(dsn, "ALTER TABLE tenders ADD COLUMN scraped_by text");
  CommandResult drift = server->Cli({"drift", "-t", "t", "--json"});
  EXPECT_EQ(drift.exit_code, 4);
  EXPECT_THAT(
      drift.out,
      HasSubstr("\"schema_drift\":[{\"kind\":\"unexpected column\",\"object\":"
                "\"public.tenders.scraped_by\",\"expected\":\"absent\",\"actual\":\"text\"}]"));
  TestPostgres::MustQuery(dsn,
                          "ALTER TABLE tenders DROP COLUMN scraped_by; "
                          "ALTER TABLE users ALTER COLUMN email TYPE varchar(320)");
  CommandResult type = server->Cli({"drift", "-t", "t"});
  // The type change also rewrote the CHECK that reads the column (PostgreSQL adds casts):
  // exact drift shows both.
  EXPECT_THAT(type.out,
              AllOf(HasSubstr("column type            public.users.email              text"),
                    HasSubstr("constraint definition  public.users.users_email_check  CHECK "
                              "(((email = lower(email))"),
                    HasSubstr("2 difference(s)")));
}

TEST(LintE2eTest, PlanShowsLiveSizeAndLockAndProdPolicyNeedsAReason) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-lint");
  WriteFiles(dir, {{"1_orders.up.sql",
                    "CREATE TABLE orders (id bigint PRIMARY KEY, placed_at timestamptz NOT NULL);\n"
                    "INSERT INTO orders SELECT g, now() FROM generate_series(1, 5000) g;\n"
                    "ANALYZE orders;"},
                   {"2_index.up.sql",
                    "CREATE INDEX orders_placed_at ON orders (placed_at);\n"
                    "ALTER TABLE orders DROP COLUMN placed_at;"}});
  auto server = StartServer(dir, dsn, "prod");
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t", "--to", "1", "--yes"}).exit_code, 0);
  CommandResult plan = server->Cli({"plan", "-t", "t"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(
      plan.out,
      AllOf(HasSubstr("2_index.up.sql:1: warning create-index-not-concurrently: builds index "
                      "public.orders_placed_at on public.orders without CONCURRENTLY [SHARE "
                      "lock, ~5000 rows]; instead: CREATE INDEX CONCURRENTLY"),
            HasSubstr("2_index.up.sql:2: error drop-column")));
  CommandResult refused = server->Cli({"apply", "-t", "t", "--yes"});
  EXPECT_EQ(refused.exit_code, 6);
  const std::string refusal = refused.err.substr(refused.err.find("schemactl: "));
  EXPECT_THAT(refusal, AllOf(HasSubstr("lint policy of prod blocks 1 finding(s): drop-column"),
                             Not(HasSubstr("create-index"))));
  CommandResult forced = server->Cli({"apply", "-t", "t", "--yes", "--lint-override",
                                      "column unused since release 41, approved in CHG-1234"});
  EXPECT_EQ(forced.exit_code, 0) << forced.out << forced.err;
  EXPECT_EQ(
      TestPostgres::MustQueryOne(dsn, "SELECT overrides FROM schemad.runs WHERE overrides <> ''"),
      "lint override (1 finding(s)): column unused since release 41, approved in CHG-1234");
}

TEST(LintE2eTest, OfflineLintOfAFolderSummarisesByRule) {
  CommandResult result =
      RunCli({"lint", SCHEMAD_SOURCE_DIR "/tests/testdata/lint/06_create_index.up.sql",
              SCHEMAD_SOURCE_DIR "/tests/testdata/lint/14_column_types.up.sql"});
  EXPECT_EQ(result.exit_code, 0);  // warnings only
  EXPECT_THAT(result.out,
              AllOf(HasSubstr("2 file(s)"), HasSubstr("create-index-not-concurrently: 1"),
                    HasSubstr("int-primary-key: 1")));
  CommandResult errors = RunCli({"lint", SCHEMAD_SOURCE_DIR "/tests/testdata/lint"});
  EXPECT_EQ(errors.exit_code, 4);
  CommandResult missing = RunCli({"lint", "/nonexistent.up.sql"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("cannot read /nonexistent.up.sql"));
}

}  // namespace
}  // namespace schemad::testing
