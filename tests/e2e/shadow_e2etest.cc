// The shadow database through the real server and CLI: exact drift (the catalog replayed by
// PostgreSQL), the reversibility proof, rehearsals bound to the plan hash with
// require_rehearsal, the drift gate, and no shadow left behind after a crash.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/subprocess.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kShop[] = SCHEMAD_SOURCE_DIR "/tests/testdata/drift/catalog";
constexpr char kManualChanges[] = SCHEMAD_SOURCE_DIR "/tests/testdata/drift/manual_changes.sql";
constexpr char kKratos[] =
    SCHEMAD_SOURCE_DIR "/../shared/corpora/kratos/persistence/sql/migrations/sql";
constexpr char kMattermost[] =
    SCHEMAD_SOURCE_DIR "/../shared/corpora/mattermost/server/channels/db/migrations/postgres";

std::unique_ptr<ServerProcess> Start(ServerConfig config) {
  auto server = ServerProcess::Start(config);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

ServerConfig OneTarget(const std::string& catalog, const std::string& dsn,
                       const std::string& environment = "dev", const std::string& extra = "") {
  ServerConfig config;
  config.targets.push_back({"t", environment, catalog, dsn, extra});
  return config;
}

int ShadowDatabases() {
  return std::stoi(TestPostgres::MustQueryOne(
      TestPostgres::Get().admin_dsn(),
      "SELECT count(*) FROM pg_database WHERE datname LIKE 'schemad\\_shadow\\_%'"));
}

// Whether `done` becomes true within `seconds` (checked every 50 ms).
bool Eventually(const std::function<bool()>& done, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// Shadows are dropped in the background once used: waits up to 10 s for none to be left.
bool NoShadowLeft() {
  return Eventually([] { return ShadowDatabases() == 0; }, 10);
}

TEST(ExactDriftE2eTest, EachOfFourteenManualChangesIsReportedAndNothingElse) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = Start(OneTarget(kShop, dsn));
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  CommandResult clean = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_THAT(clean.out, AllOf(HasSubstr("no drift"), HasSubstr("replayed to 1 applied revision"),
                               HasSubstr("in a shadow database")));
  // The second look at the same state replays nothing.
  EXPECT_THAT(server->Cli({"drift", "-t", "t"}).out, HasSubstr("(cached)"));
  EXPECT_TRUE(NoShadowLeft()) << "a shadow database outlived its use";

  TestPostgres::MustQuery(dsn, ReadTextFile(kManualChanges));
  CommandResult drift = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(drift.exit_code, 4);
  const std::string wide(60, '-');
  EXPECT_EQ(
      drift.out.substr(0, drift.out.find("expected: ")),
      "DRIFT                  OBJECT                       EXPECTED" + std::string(54, ' ') +
          "ACTUAL\n---------------------  ---------------------------  " + wide + "  " + wide +
          "\n"
          "table row security     public.customers             enabled                       "
          "                                (none)\n"
          "unexpected index       public.customers_name_idx    absent                        "
          "                                CREATE INDEX customers_name_idx ON public.customers "
          "USING...\n"
          "sequence increment     public.invoice_no            1                             "
          "                                10\n"
          "view definition        public.open_orders           SELECT orders.id, "
          "orders.customer_id, orders.total FROM p...  SELECT orders.id, orders.customer_id, "
          "orders.total FROM p...\n"
          "enum values            public.order_status          'new', 'paid', 'shipped'      "
          "                                'new', 'paid', 'shipped', 'returned'\n"
          "table comment          public.orders                one row per order             "
          "                                orders, edited by hand\n"
          "table grants           public.orders                (none)                        "
          "                                PUBLIC SELECT\n"
          "column type            public.orders.invoice        bigint                        "
          "                                integer\n"
          "unexpected column      public.orders.note           absent                        "
          "                                text\n"
          "unexpected constraint  public.orders.orders_recent  absent                        "
          "                                CHECK ((placed_at > '2000-01-01 "
          "00:00:00+00'::timestamp w...\n"
          "missing trigger        public.orders.orders_touch   CREATE TRIGGER orders_touch "
          "BEFORE UPDATE ON public.order...  absent\n"
          "column default         public.orders.total          0                             "
          "                                1\n"
          "unexpected table       public.scratch               absent                        "
          "                                present\n"
          "function definition    public.touch()               CREATE OR REPLACE FUNCTION "
          "public.touch() RETURNS trigger...  CREATE OR REPLACE FUNCTION public.touch() RETURNS "
          "trigger...\n"
          "\n14 difference(s) from the catalog at 1\n");
  CommandResult json = server->Cli({"drift", "-t", "t", "--json"});
  EXPECT_THAT(json.out, AllOf(HasSubstr("\"drift_exact\":true"),
                              HasSubstr("{\"kind\":\"column default\",\"object\":"
                                        "\"public.orders.total\",\"expected\":\"0\","
                                        "\"actual\":\"1\"}")));
}

TEST(ExactDriftE2eTest, UninitialisedDatabaseWithTablesReportsThem) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  TestPostgres::MustQuery(dsn,
                          "CREATE TABLE legacy (id int PRIMARY KEY); CREATE VIEW v AS "
                          "SELECT id FROM legacy");
  auto server = Start(OneTarget(kShop, dsn));
  ASSERT_NE(server, nullptr);
  CommandResult drift = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(drift.exit_code, 4) << drift.out << drift.err;
  EXPECT_THAT(drift.out, AllOf(HasSubstr("unexpected table  public.legacy"),
                               HasSubstr("unexpected view   public.v"),
                               HasSubstr("2 difference(s) from the catalog at (empty)")));
}

TEST(ExactDriftE2eTest, MattermostHasNoFalseDriftAndShowsItsKnownLeftoversAfterRollback) {
  if (!fs::exists(kMattermost)) GTEST_SKIP() << "../shared is absent";
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string catalog =
      CopyCatalog(kMattermost, "name: postgres\nempty_down_is_noop: true\n");
  auto server = Start(OneTarget(catalog, dsn, "dev", "    lock_timeout: 30s\n"));
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  CommandResult applied = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_THAT(applied.out, AllOf(HasSubstr("no drift"), HasSubstr("replayed to 158 applied")));
  ASSERT_EQ(server->Cli({"rollback", "-t", "t", "--to", "0"}).exit_code, 0);
  CommandResult rolled_back = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(rolled_back.exit_code, 4);
  // The two upstream typos in mattermost's down files (REPORT.md), nothing else.
  EXPECT_EQ(rolled_back.out.substr(0, rolled_back.out.find("expected: ")),
            "DRIFT             OBJECT                      EXPECTED  ACTUAL\n"
            "----------------  --------------------------  --------  " +
                std::string(60, '-') +
                "\n"
                "unexpected table  public.groupchannels        absent    present\n"
                "unexpected enum   public.property_field_type  absent    'text', 'select', "
                "'multiselect', 'date', 'user', 'multiuser'\n"
                "unexpected table  public.systems              absent    present\n"
                "unexpected table  public.threadmemberships    absent    present\n"
                "\n4 difference(s) from the catalog at (empty)\n");
}

// The kratos corpus through the popx reader: up, no drift; down, exactly the two extensions
// REPORT.md says no down drops; up again, no drift.
TEST(ExactDriftE2eTest, KratosRoundTripsWithNoFalseDriftAndOnlyItsKnownLeftovers) {
  if (!fs::exists(kKratos)) GTEST_SKIP() << "../shared is absent";
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = Start(OneTarget(kKratos, dsn, "dev", "    lock_timeout: 30s\n"));
  ASSERT_NE(server, nullptr);
  CommandResult up = server->Cli({"apply", "-t", "t"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("346"));
  CommandResult applied = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_THAT(applied.out, AllOf(HasSubstr("no drift"), HasSubstr("replayed to 346 applied")));
  CommandResult down = server->Cli({"rollback", "-t", "t", "--to", "0"});
  ASSERT_EQ(down.exit_code, 0) << down.out << down.err;
  CommandResult rolled_back = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(rolled_back.exit_code, 4);
  EXPECT_THAT(rolled_back.out, AllOf(HasSubstr("unexpected extension  btree_gin"),
                                     HasSubstr("unexpected extension  pg_trgm"),
                                     HasSubstr("2 difference(s) from the catalog at (empty)")))
      << rolled_back.out;
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  EXPECT_THAT(server->Cli({"drift", "-t", "t"}).out, HasSubstr("no drift"));
}

// A database two catalogs share: each target's drift replays both, so neither reports the
// other's tables.
TEST(ExactDriftE2eTest, TwoCatalogsOnOneDatabaseDoNotReportEachOther) {
  const std::string dir = MakeTempDir("schemad-two");
  WriteFiles(dir + "/billing", {{"catalog.yaml", "name: billing\n"},
                                {"1_invoices.up.sql", "CREATE TABLE invoices (id int);\n"}});
  WriteFiles(dir + "/search", {{"catalog.yaml", "name: search\n"},
                               {"1_terms.up.sql", "CREATE TABLE terms (id int);\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config;
  config.targets.push_back({"billing", "dev", dir + "/billing", dsn, ""});
  config.targets.push_back({"search", "dev", dir + "/search", dsn, ""});
  auto server = Start(config);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "billing"}).exit_code, 0);
  ASSERT_EQ(server->Cli({"apply", "-t", "search"}).exit_code, 0);
  for (const char* target : {"billing", "search"}) {
    CommandResult drift = server->Cli({"drift", "-t", target});
    EXPECT_EQ(drift.exit_code, 0) << drift.out << drift.err;
    EXPECT_THAT(drift.out, AllOf(HasSubstr("no drift"), HasSubstr("all 2 catalogs were replayed")));
  }
  TestPostgres::MustQuery(dsn, "CREATE TABLE stray (id int)");
  EXPECT_THAT(server->Cli({"drift", "-t", "search"}).out,
              AllOf(HasSubstr("unexpected table  public.stray"), HasSubstr("1 difference(s)")));
}

// The replay runs like the target: its search_path (unqualified names land in the same
// schema) and its role (its grants to itself are the owner's on both sides).
TEST(ExactDriftE2eTest, ReplayFollowsTheTargetsSearchPathAndRole) {
  const std::string base = TestPostgres::Get().CreateDatabase();
  const std::string db = base.substr(base.rfind("dbname=") + 7);
  TestPostgres::MustQuery(
      base, absl::StrCat("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
                         "'drift_app') THEN CREATE ROLE drift_app LOGIN; END IF; END $$; "
                         "ALTER DATABASE ",
                         db, " OWNER TO drift_app; ALTER DATABASE ", db,
                         " SET search_path = shop, public"));
  const std::string dir = MakeTempDir("schemad-role");
  WriteFiles(dir, {{"1_shop.up.sql",
                    "CREATE SCHEMA shop;\nCREATE TABLE items (id int);\n"
                    "GRANT SELECT ON items TO drift_app;\n"}});
  auto server = Start(OneTarget(dir, base + " user=drift_app"));
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  EXPECT_EQ(TestPostgres::MustQueryOne(base, "SELECT to_regclass('shop.items') IS NOT NULL"), "t");
  CommandResult drift = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(drift.exit_code, 0) << drift.out << drift.err;
  EXPECT_THAT(drift.out, HasSubstr("no drift"));
}

TEST(ExactDriftE2eTest, PrivateShadowClusterStartsOnDemandForExternalTargets) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string state = MakeTempDir("schemad-state");
  ServerConfig config = OneTarget(kShop, dsn);
  config.shadow_on_test_cluster = false;
  config.args = {"--state-dir", state};
  auto server = Start(config);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  CommandResult drift = server->Cli({"drift", "-t", "t"});
  EXPECT_EQ(drift.exit_code, 0) << drift.out << drift.err << server->Log();
  EXPECT_THAT(drift.out,
              AllOf(HasSubstr("no drift"), HasSubstr("private cluster in " + state + "/shadow")));
  EXPECT_THAT(server->Log(), HasSubstr("shadow: starting a private PostgreSQL in " + state));
  EXPECT_EQ(server->Stop(), 0);
  EXPECT_FALSE(fs::exists(state + "/shadow/pgdata/postmaster.pid"))
      << "the private shadow cluster outlived schemad";
}

TEST(ReversibilityE2eTest, FindsADownThatDropsADifferentIndexAndReportsAMissingDown) {
  const std::string dir = MakeTempDir("schemad-reversible");
  WriteFiles(dir, {{"1_base.up.sql",
                    "CREATE TABLE t (a int, b int, c int);\n"
                    "CREATE INDEX t_a_idx ON t (a);\nCREATE INDEX t_b_idx ON t (b);\n"},
                   {"1_base.down.sql", "DROP TABLE t;\n"},
                   {"2_note.up.sql", "COMMENT ON TABLE t IS 'no way back';\n"},
                   {"3_c_index.up.sql", "CREATE INDEX t_c_idx ON t (c);\n"},
                   {"3_c_index.down.sql", "DROP INDEX t_b_idx;  -- the wrong one\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = Start(OneTarget(dir, dsn));
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t", "--to", "1"}).exit_code, 0);
  CommandResult proof = server->Cli({"rehearse", "-t", "t", "--reversible"});
  EXPECT_EQ(proof.exit_code, 4) << proof.out << proof.err;
  EXPECT_THAT(
      proof.out,
      AllOf(HasSubstr("Reversibility proof of t: 1 -> 3"),
            HasSubstr("a replay of the catalog to t's revisions"), HasSubstr("irreversible"),
            HasSubstr("it has no down file"), HasSubstr("down does not restore"),
            HasSubstr("missing index     public.t_b_idx"),
            HasSubstr("unexpected index  public.t_c_idx"),
            HasSubstr("FAILED: 3_c_index: its down does not restore the schema before its "
                      "up (2 difference(s), first: missing index public.t_b_idx)")))
      << proof.out;
  // The proof ran in a shadow: the target is still at 1, and nothing is left behind.
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn,
                                       "SELECT count(*) FROM pg_indexes WHERE indexname = "
                                       "'t_c_idx'"),
            "0");
  EXPECT_TRUE(NoShadowLeft());
  // The same proof from plan --reversible, under the plan.
  CommandResult plan = server->Cli({"plan", "-t", "t", "--reversible"});
  EXPECT_EQ(plan.exit_code, 4);
  EXPECT_THAT(plan.out, AllOf(HasSubstr("plan hash"), HasSubstr("down does not restore")));
  // A correct down passes.
  WriteFiles(dir, {{"3_c_index.down.sql", "DROP INDEX t_c_idx;\n"}});
  CommandResult fixed = server->Cli({"rehearse", "-t", "t", "--reversible"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  EXPECT_THAT(fixed.out, HasSubstr("\nOK ("));
}

TEST(RehearsalE2eTest, RequireRehearsalRefusesUntilAFixedReleaseRehearsesClean) {
  const std::string dir = MakeTempDir("schemad-rehearsal");
  WriteFiles(
      dir + "/catalog",
      {{"1_accounts.up.sql", "CREATE TABLE accounts (id int PRIMARY KEY, email text);\n"},
       {"2_email_required.up.sql", "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\n"}});
  // Rows like production's: one account without an email.
  WriteFiles(dir, {{"sample.sql",
                    "DO $$ BEGIN IF to_regclass('accounts') IS NOT NULL THEN\n"
                    "  INSERT INTO accounts VALUES (1, 'a@example.com'), (2, NULL);\n"
                    "END IF; END $$;\n"},
                   {"control.dsn", TestPostgres::Get().CreateDatabase() + "\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config =
      OneTarget(dir + "/catalog", dsn, "live", "    rehearsal_data: " + dir + "/sample.sql\n");
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir,
                                   "/control.dsn\nenvironments:\n  dev: {}\n  live:\n"
                                   "    require_rehearsal: 24h\n");
  auto server = Start(config);
  ASSERT_NE(server, nullptr);

  CommandResult unrehearsed = server->Cli({"apply", "-t", "t", "--to", "1", "--yes"});
  EXPECT_EQ(unrehearsed.exit_code, 6) << unrehearsed.out << unrehearsed.err;
  EXPECT_THAT(unrehearsed.err,
              AllOf(HasSubstr("environment live needs a successful rehearsal of plan"),
                    HasSubstr("last rehearsal: none"), HasSubstr("schemactl rehearse --target t")));
  ASSERT_EQ(server->Cli({"rehearse", "-t", "t", "--to", "1"}).exit_code, 0);
  ASSERT_EQ(server->Cli({"apply", "-t", "t", "--to", "1", "--yes"}).exit_code, 0);

  CommandResult failed = server->Cli({"rehearse", "-t", "t"});
  EXPECT_EQ(failed.exit_code, 4) << failed.out << failed.err;
  EXPECT_THAT(failed.out,
              AllOf(HasSubstr("a copy of t's schema with its rehearsal_data"),
                    HasSubstr("2        email_required  failed"),
                    HasSubstr("column \"email\" of relation \"accounts\" contains null values"),
                    HasSubstr("recorded for require_rehearsal")));
  CommandResult refused = server->Cli({"apply", "-t", "t", "--yes"});
  EXPECT_EQ(refused.exit_code, 6);
  EXPECT_THAT(refused.err,
              AllOf(HasSubstr("last rehearsal: failed at"), HasSubstr("contains null values")));
  CommandResult json = server->Cli({"apply", "-t", "t", "--yes", "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"reason\":\"NEEDS_REHEARSAL\""));

  // The fixed release: a backfill before the constraint.
  fs::remove(dir + "/catalog/2_email_required.up.sql");
  WriteFiles(dir + "/catalog",
             {{"3_email_required.up.sql",
               "UPDATE accounts SET email = 'unknown@example.com' WHERE email IS NULL;\n"
               "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\n"}});
  CommandResult clean = server->Cli({"rehearse", "-t", "t"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_THAT(clean.out, AllOf(HasSubstr("email_required  ok"),
                               HasSubstr("public.accounts AccessExclusiveLock (stmt 2)"),
                               HasSubstr("recorded for require_rehearsal")))
      << clean.out;
  // Every lock of every statement is in the JSON: the backfill's UPDATE took RowExclusiveLock.
  CommandResult json_locks = server->Cli({"rehearse", "-t", "t", "--json"});
  EXPECT_THAT(json_locks.out,
              AllOf(HasSubstr("{\"index\":1,\"duration_ms\""),
                    HasSubstr("\"locks\":[\"public.accounts RowExclusiveLock\"]"),
                    HasSubstr("\"locks\":[\"public.accounts AccessExclusiveLock\"")))
      << json_locks.out;
  CommandResult applied = server->Cli({"apply", "-t", "t", "--yes"});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  // The rehearsals touched only shadows: the target has no sample rows.
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT count(*) FROM accounts"), "0");
  EXPECT_TRUE(NoShadowLeft());
}

TEST(DriftGateE2eTest, ApplyIsRefusedWhileDriftIsUnacceptedAndGoesThroughOnceAccepted) {
  const std::string dir = MakeTempDir("schemad-gate");
  WriteFiles(dir + "/catalog", {{"1_a.up.sql", "CREATE TABLE a (id int);\n"},
                                {"2_b.up.sql", "CREATE TABLE b (id int);\n"}});
  WriteFiles(dir, {{"control.dsn", TestPostgres::Get().CreateDatabase() + "\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config = OneTarget(dir + "/catalog", dsn);
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir,
                                   "/control.dsn\nenvironments:\n  dev:\n    drift_gate: true\n");
  auto server = Start(config);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t", "--to", "1"}).exit_code, 0);
  TestPostgres::MustQuery(dsn, "ALTER TABLE a ADD COLUMN hotfix int");
  CommandResult refused = server->Cli({"apply", "-t", "t", "--json"});
  EXPECT_EQ(refused.exit_code, 6) << refused.out << refused.err;
  EXPECT_THAT(refused.out, AllOf(HasSubstr("\"reason\":\"DRIFT\""),
                                 HasSubstr("1 difference(s), first: unexpected column "
                                           "public.a.hotfix"),
                                 HasSubstr("schemactl drift --target t --accept --reason R")));
  EXPECT_EQ(server->Cli({"drift", "-t", "t", "--accept"}).exit_code, 2) << "needs a reason";
  CommandResult accepted =
      server->Cli({"drift", "-t", "t", "--accept", "--reason", "hotfix kept until 3 lands"});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  EXPECT_THAT(server->Cli({"audit", "-t", "t"}).out,
              AllOf(HasSubstr("AcceptDrift"), HasSubstr("hotfix kept until 3 lands")));
}

TEST(ShadowCrashE2eTest, AShadowLeftByAKilledServerIsDroppedAfterRestart) {
  const std::string dir = MakeTempDir("schemad-crash");
  WriteFiles(dir, {{"1_slow.up.sql", "SELECT pg_sleep(3);\nCREATE TABLE s (id int);\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config = OneTarget(dir, dsn);
  auto server = Start(config);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  ASSERT_TRUE(NoShadowLeft());
  // A drift replays the slow revision; schemad is killed while it does.
  CommandOptions background;
  absl::StatusOr<pid_t> drift = SpawnProcess(
      {SCHEMACTL_BIN, "--server", server->address(), "drift", "-t", "t"}, background, "");
  ASSERT_TRUE(drift.ok());
  ASSERT_TRUE(Eventually([] { return ShadowDatabases() == 1; }, 10));
  server->Stop(SIGKILL);
  kill(*drift, SIGKILL);
  EXPECT_EQ(ShadowDatabases(), 1) << "the kill left its shadow (what this test is about)";
  // Its backend ends once PostgreSQL sees the client gone (client_connection_check_interval).
  Eventually(
      [] {
        return TestPostgres::MustQueryOne(TestPostgres::Get().admin_dsn(),
                                          "SELECT count(*) FROM pg_stat_activity WHERE datname "
                                          "LIKE 'schemad\\_shadow\\_%'") == "0";
      },
      15);
  auto restarted = Start(config);
  ASSERT_NE(restarted, nullptr);
  EXPECT_TRUE(Eventually([] { return ShadowDatabases() == 0; }, 15)) << restarted->Log();
  EXPECT_THAT(restarted->Log(), HasSubstr("left behind by a schemad that stopped"));
}

TEST(DriftWatchE2eTest, ChangesAreAuditedAsTheyAppearAndDisappear) {
  const std::string dir = MakeTempDir("schemad-watch");
  WriteFiles(dir + "/catalog", {{"1_a.up.sql", "CREATE TABLE a (id int);\n"}});
  WriteFiles(dir, {{"control.dsn", TestPostgres::Get().CreateDatabase() + "\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config = OneTarget(dir + "/catalog", dsn);
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir,
                                   "/control.dsn\nenvironments:\n  dev:\n    drift_check: 1s\n");
  auto server = Start(config);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  const auto audit_has = [&](const std::string& text) {
    return Eventually(
        [&] {
          return server->Cli({"audit", "-t", "t"}).out.find(text) != std::string::npos;
        },
        20);
  };
  // The first look is the baseline (a restart audits nothing); changes after it are audited.
  ASSERT_TRUE(Eventually(
      [&] {
        return server->Log().find("0 difference(s) at the first look (exact)") != std::string::npos;
      },
      20));
  TestPostgres::MustQuery(dsn, "CREATE INDEX a_id ON a (id)");
  EXPECT_TRUE(audit_has("DRIFT_APPEARED")) << server->Log();
  EXPECT_THAT(server->Cli({"audit", "-t", "t"}).out,
              HasSubstr("unexpected index public.a_id (expected absent"));
  TestPostgres::MustQuery(dsn, "DROP INDEX a_id");
  EXPECT_TRUE(audit_has("DRIFT_DISAPPEARED")) << server->Log();
}

}  // namespace
}  // namespace schemad::testing
