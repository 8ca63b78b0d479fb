// Fleets: a group of tenant databases (or schemas) applied as one fleet run, with a canary, a
// parallelism limit and max failures; a fleet run finished by another replica after the one
// driving it was killed; schema-per-tenant isolation; the promotion gate on a prod group.
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/db/advisory_lock.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Three revisions with unqualified names (they land in the session's search_path schema);
// `slow`: revision 2 sleeps, so a fleet run takes a while.
std::string ShopCatalog(bool slow = false) {
  const std::string dir = MakeTempDir("schemad-fleet-catalog");
  WriteFiles(dir, {{"catalog.yaml", "name: shop\n"},
                   {"1_accounts.up.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);\n"},
                   {"1_accounts.down.sql", "DROP TABLE accounts;\n"},
                   {"2_orders.up.sql",
                    absl::StrCat(slow ? "SELECT pg_sleep(0.4);\n" : "",
                                 "CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint "
                                 "REFERENCES accounts);\n")},
                   {"2_orders.down.sql", "DROP TABLE orders;\n"},
                   {"3_index.up.sql", "CREATE INDEX orders_account ON orders (account_id);\n"},
                   {"3_index.down.sql", "DROP INDEX orders_account;\n"}});
  return dir;
}

// `count` databases named <prefix>_tNN; returns the DSN template ({tenant} for tNN) and the
// tenants' names.
std::pair<std::string, std::vector<std::string>> TenantDatabases(const std::string& prefix,
                                                                 int count) {
  std::vector<std::string> tenants;
  for (int i = 0; i < count; ++i) {
    const std::string tenant = absl::StrCat("t", i < 10 ? "0" : "", i);
    TestPostgres::MustQuery(TestPostgres::Get().admin_dsn(),
                            absl::StrCat("CREATE DATABASE ", prefix, "_", tenant));
    tenants.push_back(tenant);
  }
  // libpq: the later dbname wins.
  return {absl::StrCat(TestPostgres::Get().admin_dsn(), " dbname=", prefix, "_{tenant}"), tenants};
}

std::string TenantDsn(const std::string& prefix, const std::string& tenant) {
  return absl::StrCat(TestPostgres::Get().admin_dsn(), " dbname=", prefix, "_", tenant);
}

// A config with one ordinary target, a control database and `groups` (YAML).
ServerConfig FleetConfig(const std::string& dir, const std::string& catalog,
                         const std::string& groups, const std::string& environments = "") {
  WriteFiles(dir, {{"control.dsn", TestPostgres::Get().CreateDatabase() + "\n"}});
  ServerConfig config;
  config.targets.push_back({"plain", "dev", catalog, TestPostgres::Get().CreateDatabase(), ""});
  config.extra_yaml =
      absl::StrCat("control:\n  dsn_file: ", dir, "/control.dsn\n", environments, groups);
  return config;
}

std::string GroupYaml(const std::string& name, const std::string& environment,
                      const std::string& catalog, const std::string& dsn_file,
                      const std::vector<std::string>& tenants, bool schemas = false) {
  return absl::StrCat("groups:\n  - name: ", name, "\n    environment: ", environment,
                      "\n    catalog: ", catalog, "\n    dsn_file: ", dsn_file, "\n    ",
                      schemas ? "schemas" : "tenants", ": [", absl::StrJoin(tenants, ", "),
                      "]\n    lock_wait: 2s\n");
}

// The fleet run id in `fleet-runs` output (its first row).
std::string NewestFleetRun(const ServerProcess& server, const std::string& group) {
  CommandResult runs = server.Cli({"fleet-runs", "--group", group});
  const size_t header = runs.out.find('\n');
  const size_t rule = runs.out.find('\n', header + 1);
  if (rule == std::string::npos) return "";
  return runs.out.substr(rule + 1, 36);
}

// The newest fleet run of `group` once `fleet-runs` shows `tally` (e.g. "done 2 /"), polled
// for up to 10 s; empty if it never does.
std::string WaitForFleetRun(const ServerProcess& server, const std::string& group,
                            const std::string& tally) {
  for (int i = 0; i < 500; ++i) {
    const std::string run = NewestFleetRun(server, group);
    if (!run.empty() &&
        absl::StrContains(server.Cli({"fleet-runs", "--group", group}).out, tally)) {
      return run;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return "";
}

TEST(FleetE2eTest, TheCanaryCatchesAFailingMemberAndMaxFailuresStopsNewStarts) {
  const std::string dir = MakeTempDir("schemad-fleet");
  const std::string catalog = ShopCatalog();
  auto [dsn, tenants] = TenantDatabases("fleet_a", 20);
  WriteFiles(dir, {{"tenants.dsn", dsn + "\n"}});
  // Member t02 has a table of that name already: its first revision fails.
  TestPostgres::MustQuery(TenantDsn("fleet_a", "t02"), "CREATE TABLE accounts (legacy int)");
  auto server = ServerProcess::Start(FleetConfig(
      dir, catalog, GroupYaml("tenants", "dev", catalog, dir + "/tenants.dsn", tenants)));
  ASSERT_TRUE(server.ok()) << server.status();

  // Canaries t00..t02: t02 fails, so nobody else starts.
  CommandResult canary =
      (*server)->Cli({"apply", "--group", "tenants", "--canary", "3", "--parallel", "4"});
  EXPECT_EQ(canary.exit_code, 1) << canary.out << canary.err;
  EXPECT_THAT(canary.out,
              AllOf(HasSubstr("FAILED tenants/t02"), HasSubstr("relation \"accounts\" already"),
                    HasSubstr("FAILED: done 2 / failed 1 / running 0 / left 0 / skipped 17")));
  EXPECT_EQ(TestPostgres::MustQueryOne(TenantDsn("fleet_a", "t05"),
                                       "SELECT to_regclass('schemad.migrations') IS NULL"),
            "t")
      << "no member after a failed canary starts";

  // No canary, at most one failure: t02 fails again and no member starts after it.
  CommandResult capped =
      (*server)->Cli({"apply", "--group", "tenants", "--parallel", "2", "--max-failures", "1"});
  EXPECT_EQ(capped.exit_code, 1) << capped.out << capped.err;
  EXPECT_THAT(capped.out, AllOf(HasSubstr("FAILED tenants/t02"), HasSubstr("/ skipped ")));
  EXPECT_THAT(capped.out, Not(HasSubstr("start  tenants/t19")));

  // Fixed, the fleet run goes through; the group's summary shows everyone at 3.
  TestPostgres::MustQuery(TenantDsn("fleet_a", "t02"), "DROP TABLE accounts");
  CommandResult fixed = (*server)->Cli({"apply", "--group", "tenants", "--parallel", "4"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  EXPECT_THAT(fixed.out, HasSubstr("SUCCEEDED: done 20 / failed 0"));
  CommandResult versions = (*server)->Cli({"versions", "--group", "tenants"});
  EXPECT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_THAT(versions.out,
              AllOf(HasSubstr("group tenants: 20 member(s)"), HasSubstr("3        20"),
                    Not(HasSubstr("failed in their last fleet run"))));
  CommandResult runs = (*server)->Cli({"fleet-runs", "--group", "tenants"});
  EXPECT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(runs.out, "tenants  ")).size() - 1, 3u)
      << runs.out;
  // The same request id attaches to the fleet run it started (nothing runs twice).
  CommandResult first = (*server)->Cli({"apply", "--group", "tenants", "--request-id", "r-1"});
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  CommandResult again = (*server)->Cli({"apply", "--group", "tenants", "--request-id", "r-1"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("attached to fleet run"));
  EXPECT_EQ(TestPostgres::MustQueryOne(TenantDsn("fleet_a", "t07"),
                                       "SELECT count(*) FROM schemad.migrations"),
            "3");
}

TEST(FleetE2eTest, AnotherReplicaFinishesAFleetRunWhoseReplicaWasKilled) {
  const std::string dir = MakeTempDir("schemad-fleet-kill");
  const std::string catalog = ShopCatalog(/*slow=*/true);
  auto [dsn, tenants] = TenantDatabases("fleet_k", 6);
  WriteFiles(dir, {{"tenants.dsn", dsn + "\n"}});
  const ServerConfig config = FleetConfig(
      dir, catalog, GroupYaml("tenants", "dev", catalog, dir + "/tenants.dsn", tenants));
  auto a = ServerProcess::Start(config);
  auto b = ServerProcess::Start(config);
  ASSERT_TRUE(a.ok() && b.ok());
  std::thread driving([&] { (*a)->Cli({"apply", "--group", "tenants", "--parallel", "1"}); });
  // Kill replica A once two members are done and a third runs.
  const std::string run = WaitForFleetRun(**b, "tenants", "done 2 /");
  ASSERT_FALSE(run.empty());
  EXPECT_EQ((*a)->Stop(9), 128 + 9);
  driving.join();
  CommandResult left = (*b)->Cli({"fleet-runs", "--run", run});
  EXPECT_THAT(left.out, HasSubstr("RUNNING")) << left.out;

  CommandResult resumed = (*b)->Cli({"resume-fleet", run});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_THAT(resumed.out, AllOf(HasSubstr("attached to fleet run " + run),
                                 HasSubstr("SUCCEEDED: done 6 / failed 0")));
  // Every member has its three revisions, each recorded once (a member A was in the middle of
  // has that run journaled as interrupted, and B's run applied what was left).
  for (const std::string& tenant : tenants) {
    EXPECT_EQ(TestPostgres::MustQueryOne(TenantDsn("fleet_k", tenant),
                                         "SELECT string_agg(version, ',' ORDER BY version_key) "
                                         "FROM schemad.migrations"),
              "1,2,3")
        << tenant;
  }
  EXPECT_THAT((*b)->Cli({"fleet-runs", "--run", run}).out,
              AllOf(HasSubstr("SUCCEEDED"), Not(HasSubstr("pending"))));
}

// A replica that stops (SIGTERM, no grace) interrupts the member it runs and gives it back;
// resume-fleet on another replica runs it again and finishes the fleet run.
TEST(FleetE2eTest, AStoppedReplicaGivesItsMemberBackAndResumeFinishes) {
  const std::string dir = MakeTempDir("schemad-fleet-stop");
  const std::string catalog = ShopCatalog(/*slow=*/true);
  auto [dsn, tenants] = TenantDatabases("fleet_s", 3);
  WriteFiles(dir, {{"tenants.dsn", dsn + "\n"}});
  ServerConfig config = FleetConfig(
      dir, catalog, GroupYaml("tenants", "dev", catalog, dir + "/tenants.dsn", tenants));
  config.extra_yaml += "shutdown_grace: 0s\n";
  auto a = ServerProcess::Start(config);
  auto b = ServerProcess::Start(config);
  ASSERT_TRUE(a.ok() && b.ok());
  std::thread driving([&] { (*a)->Cli({"apply", "--group", "tenants", "--parallel", "1"}); });
  const std::string run = WaitForFleetRun(**b, "tenants", "running 1 /");
  ASSERT_FALSE(run.empty());
  (*a)->Stop(15);
  driving.join();
  CommandResult left = (*b)->Cli({"fleet-runs", "--run", run});
  EXPECT_THAT(left.out,
              AllOf(HasSubstr("RUNNING"), HasSubstr("pending"), Not(HasSubstr("failed  "))))
      << left.out;
  CommandResult resumed = (*b)->Cli({"resume-fleet", run});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("SUCCEEDED: done 3 / failed 0"));
}

TEST(FleetE2eTest, SchemaPerTenantKeepsHistoriesLocksAndTablesApart) {
  const std::string dir = MakeTempDir("schemad-fleet-schemas");
  const std::string catalog = ShopCatalog();
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  WriteFiles(dir, {{"app.dsn", dsn + "\n"}});
  auto server = ServerProcess::Start(FleetConfig(
      dir, catalog,
      GroupYaml("shops", "dev", catalog, dir + "/app.dsn", {"acme", "globex"}, /*schemas=*/true)));
  ASSERT_TRUE(server.ok()) << server.status();
  CommandResult applied = (*server)->Cli({"apply", "--group", "shops", "--parallel", "2"});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  // Unqualified names landed in each tenant's schema, nowhere else.
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn,
                "SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY 1) FROM "
                "information_schema.tables WHERE table_name IN ('accounts', 'orders')"),
            "acme.accounts,acme.orders,globex.accounts,globex.orders");
  // Each tenant has its own history.
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn,
                                       "SELECT string_agg(catalog || ':' || n, ',' ORDER BY "
                                       "catalog) FROM (SELECT catalog, count(*) n FROM "
                                       "schemad.migrations GROUP BY catalog) c"),
            "shop@acme:3,shop@globex:3");
  EXPECT_EQ((*server)->Cli({"rollback", "-t", "shops/acme", "--steps", "1"}).exit_code, 0);
  EXPECT_THAT((*server)->Cli({"status", "-t", "shops/globex"}).out, HasSubstr("3 applied"));
  EXPECT_THAT((*server)->Cli({"status", "-t", "shops/acme"}).out, HasSubstr("2 applied"));
  // Each has its own lock: acme's held elsewhere blocks acme only.
  const std::string holder =
      absl::StrCat("SELECT pg_advisory_lock(", db::CatalogLockKey("shop@acme"), "), pg_sleep(4)");
  std::thread held([&] { TestPostgres::Query(dsn, holder).IgnoreError(); });
  absl::SleepFor(absl::Milliseconds(500));
  CommandResult blocked = (*server)->Cli({"apply", "-t", "shops/acme"});
  EXPECT_EQ(blocked.exit_code, 5) << blocked.out << blocked.err;
  CommandResult other = (*server)->Cli({"rollback", "-t", "shops/globex", "--steps", "1"});
  EXPECT_EQ(other.exit_code, 0) << other.out << other.err;
  held.join();
}

// Members listed by a query on a directory database at start-up.
TEST(FleetE2eTest, ADiscoveryQueryListsTheMembers) {
  const std::string dir = MakeTempDir("schemad-fleet-discovery");
  const std::string catalog = ShopCatalog();
  auto [dsn, tenants] = TenantDatabases("fleet_d", 3);
  const std::string directory = TestPostgres::Get().CreateDatabase();
  TestPostgres::MustQuery(directory,
                          "CREATE TABLE tenants (tenant text, active boolean); INSERT INTO tenants "
                          "VALUES ('t00', true), ('t01', false), ('t02', true)");
  WriteFiles(dir, {{"tenants.dsn", dsn + "\n"}, {"directory.dsn", directory + "\n"}});
  auto server = ServerProcess::Start(FleetConfig(
      dir, catalog,
      absl::StrCat("groups:\n  - name: tenants\n    environment: dev\n    catalog: ", catalog,
                   "\n    dsn_file: ", dir,
                   "/tenants.dsn\n    discovery:\n      query: SELECT "
                   "tenant FROM tenants WHERE active ORDER BY tenant\n      dsn_file: ",
                   dir, "/directory.dsn\n")));
  ASSERT_TRUE(server.ok()) << server.status();
  CommandResult applied = (*server)->Cli({"apply", "--group", "tenants", "--parallel", "2"});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_THAT(applied.out,
              AllOf(HasSubstr("SUCCEEDED: done 2 / failed 0"), Not(HasSubstr("tenants/t01"))));
  EXPECT_EQ(TestPostgres::MustQueryOne(TenantDsn("fleet_d", "t01"),
                                       "SELECT to_regclass('schemad.migrations') IS NULL"),
            "t");
  EXPECT_THAT((*server)->Cli({"versions", "--group", "tenants"}).out,
              HasSubstr("group tenants: 2 member(s)"));
}

TEST(FleetE2eTest, AProdGroupNeedsItsReleasePromotedFromStaging) {
  const std::string dir = MakeTempDir("schemad-fleet-prod");
  const std::string catalog = ShopCatalog();
  auto [dsn, tenants] = TenantDatabases("fleet_p", 3);
  WriteFiles(dir, {{"tenants.dsn", dsn + "\n"}});
  ServerConfig config = FleetConfig(
      dir, catalog, GroupYaml("customers", "prod", catalog, dir + "/tenants.dsn", tenants),
      "environments:\n  dev: {}\n  staging: {}\n  prod: {promote_from: staging}\n");
  config.targets.push_back({"stage", "staging", catalog, TestPostgres::Get().CreateDatabase(), ""});
  auto server = ServerProcess::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  CommandResult refused =
      (*server)->Cli({"apply", "--group", "customers", "--parallel", "3", "--max-failures", "3"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_THAT(refused.out, AllOf(HasSubstr("FAILED customers/t00"), HasSubstr("staging")));
  EXPECT_THAT(refused.out, HasSubstr("failed 3"));
  EXPECT_EQ((*server)->Cli({"apply", "-t", "stage", "--yes"}).exit_code, 0);
  CommandResult promoted = (*server)->Cli({"apply", "--group", "customers", "--parallel", "3"});
  EXPECT_EQ(promoted.exit_code, 0) << promoted.out << promoted.err;
  EXPECT_THAT(promoted.out, HasSubstr("SUCCEEDED: done 3 / failed 0"));
}

}  // namespace
}  // namespace schemad::testing
