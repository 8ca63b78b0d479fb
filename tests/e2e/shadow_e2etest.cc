// The shadow database through the real server and CLI: exact drift (the catalog replayed by
// PostgreSQL), the reversibility proof, rehearsals bound to the plan hash with
// require_rehearsal, the drift gate, and no shadow left behind after a crash.
#include <signal.h>

#include <chrono>
#include <filesystem>
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
  EXPECT_EQ(ShadowDatabases(), 0) << "a shadow database outlived its use";

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
  TestPostgres::MustQuery(dsn, "CREATE TABLE legacy (id int PRIMARY KEY); CREATE VIEW v AS "
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
  EXPECT_THAT(drift.out, AllOf(HasSubstr("no drift"),
                               HasSubstr("private cluster in " + state + "/shadow")));
  EXPECT_THAT(server->Log(), HasSubstr("shadow: starting a private PostgreSQL in " + state));
  EXPECT_EQ(server->Stop(), 0);
  EXPECT_FALSE(fs::exists(state + "/shadow/pgdata/postmaster.pid"))
      << "the private shadow cluster outlived schemad";
}

}  // namespace
}  // namespace schemad::testing
