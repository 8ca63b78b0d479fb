// Policy on the server (issue 12): typed refusals that programs read from the status details,
// a plan hash the environment requires, and the promotion gate from staging to prod, through
// the real schemad and schemactl binaries and a Python client.
#include <signal.h>

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string PlanHashOf(const CommandResult& plan) {
  const size_t at = plan.out.rfind("plan hash: ");
  return at == std::string::npos ? "" : plan.out.substr(at + 11, 64);
}

// schemactl as the caller with `token`.
CommandResult As(const ServerProcess& server, const std::string& token,
                 std::vector<std::string> args) {
  args.insert(args.begin(), {"--token", token});
  return server.Cli(args);
}

// Runs tests/e2e/refusal_client.py: "OK", or "CODE REASON versions facts".
std::string PythonApply(const ServerProcess& server, const std::string& target,
                        const std::string& token, const std::string& plan_hash = "") {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   SCHEMAD_SOURCE_DIR "/tests/e2e/refusal_client.py",
                                   SCHEMAD_PYTHON_STUBS,
                                   server.address(),
                                   target,
                                   token};
  if (!plan_hash.empty()) argv.push_back(plan_hash);
  absl::StatusOr<CommandResult> result = RunCommand(argv, CommandOptions());
  if (!result.ok()) return std::string(result.status().message());
  return result->out + result->err;
}

TEST(RefusalE2eTest, RefusalsAreTypedForProgramsAndWordedForPeople) {
  const std::string dir = MakeTempDir("schemad-refusal");
  WriteFiles(dir, {{"1_t.up.sql", "CREATE TABLE t (id int);"},
                   {"2_bad.up.sql",
                    "-- schemad:no-transaction\nCREATE TABLE u (id int);\n"
                    "INSERT INTO nope VALUES (1);\n"}});
  ServerConfig config;
  config.targets.push_back({"dev", "dev", dir, TestPostgres::Get().CreateDatabase(), ""});
  const std::string prod_dsn = TestPostgres::Get().CreateDatabase();
  config.targets.push_back({"prod", "prod", dir, prod_dsn, ""});
  config.tokens.push_back({"alice", "alice-token", {{"*", "admin"}}});
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  const ServerProcess& server = **started;

  // prod requires a plan hash (the default for prod), whoever calls: a raw Apply is refused.
  const std::string hash = PlanHashOf(server.Cli({"--token", "alice-token", "plan", "-t", "prod"}));
  ASSERT_EQ(hash.size(), 64u);
  EXPECT_EQ(PythonApply(server, "prod", "alice-token"),
            absl::StrCat("FAILED_PRECONDITION NEEDS_PLAN_HASH - environment=prod plan_hash=", hash,
                         "\n"));
  EXPECT_EQ(PythonApply(server, "prod", "alice-token", std::string(64, '0')),
            absl::StrCat("FAILED_PRECONDITION STALE_PLAN - expected_plan_hash=",
                         std::string(64, '0'), " plan_hash=", hash, "\n"));
  EXPECT_EQ(TestPostgres::MustQueryOne(prod_dsn, "SELECT count(*) FROM schemad.runs"), "0");
  // dev does not: the same raw Apply runs (and its second file fails half-way, outside a
  // transaction: an outcome, not a refusal; the failed run then blocks the target).
  EXPECT_EQ(PythonApply(server, "dev", "alice-token"), "OK\n");
  EXPECT_EQ(PythonApply(server, "prod", "alice-token", hash), "OK\n");
  const std::string run_id = TestPostgres::MustQueryOne(
      prod_dsn, "SELECT run_id FROM schemad.runs WHERE state = 'failed'");
  const std::string blocked =
      PlanHashOf(server.Cli({"--token", "alice-token", "plan", "-t", "prod"}));
  EXPECT_EQ(PythonApply(server, "prod", "alice-token", blocked),
            absl::StrCat("FAILED_PRECONDITION FAILED_RUN 2 run_id=", run_id, " state=failed\n"));

  // schemactl --json prints the same refusal on stdout; the exit code stays 6.
  CommandResult json =
      server.Cli({"--token", "alice-token", "--json", "apply", "-t", "prod", "--yes"});
  EXPECT_EQ(json.exit_code, 6) << json.err;
  EXPECT_THAT(json.out,
              AllOf(HasSubstr("\"code\":\"FAILED_PRECONDITION\""),
                    HasSubstr("\"reason\":\"FAILED_RUN\""), HasSubstr("\"versions\":[\"2\"]"),
                    HasSubstr(absl::StrCat("\"run_id\":\"", run_id, "\""))));
  EXPECT_THAT(json.err, HasSubstr("resolve it first"));
}

// Issue 12, item 6: prod takes only what staging applied with the same file, soaked, and still
// has; Plan shows the evidence; an admin may override with a reason, which is journaled.
TEST(PromotionE2eTest, ProdTakesOnlyWhatStagingAppliedSoakedAndStillHas) {
  const std::string dir = MakeTempDir("schemad-promotion");
  WriteFiles(dir, {{"1_a.up.sql", "CREATE TABLE a (id int);"},
                   {"1_a.down.sql", "DROP TABLE a;"},
                   {"2_b.up.sql", "CREATE TABLE b (id int);"},
                   {"2_b.down.sql", "DROP TABLE b;"}});
  const std::string staging_dsn = TestPostgres::Get().CreateDatabase();
  const std::string prod_dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config;
  config.targets.push_back({"staging-eu", "staging", dir, staging_dsn, ""});
  config.targets.push_back({"prod-eu", "prod", dir, prod_dsn, ""});
  config.tokens.push_back({"alice", "alice-token", {{"*", "admin"}}});
  config.tokens.push_back({"pipeline", "pipeline-token", {{"*", "deployer"}}});
  config.extra_yaml = "environments:\n  staging: {}\n  prod: {promote_from: staging, soak: 2s}\n";
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  const ServerProcess& server = **started;
  auto prod_versions = [&] {
    return TestPostgres::MustQueryOne(
        prod_dsn,
        "SELECT coalesce(string_agg(version, ',' ORDER BY version), '') FROM "
        "schemad.migrations");
  };

  CommandResult plan = As(server, "pipeline-token", {"plan", "-t", "prod-eu"});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, AllOf(HasSubstr("1 not promoted: staging-eu has not applied it"),
                              HasSubstr("2 not promoted: staging-eu has not applied it")));
  CommandResult refused = As(server, "pipeline-token", {"apply", "-t", "prod-eu", "--yes"});
  EXPECT_EQ(refused.exit_code, 6);
  EXPECT_THAT(refused.err, HasSubstr("apply refused: not promoted from staging: 1: staging-eu "
                                     "has not applied it; 2: staging-eu has not applied it"));
  CommandResult json = As(server, "pipeline-token", {"--json", "apply", "-t", "prod-eu", "--yes"});
  EXPECT_THAT(json.out, AllOf(HasSubstr("\"reason\":\"NOT_PROMOTED\""),
                              HasSubstr("\"versions\":[\"1\",\"2\"]"),
                              HasSubstr("\"promote_from\":\"staging\"")));

  ASSERT_EQ(
      As(server, "pipeline-token", {"apply", "-t", "staging-eu", "--to", "1", "--yes"}).exit_code,
      0);
  EXPECT_THAT(As(server, "pipeline-token", {"plan", "-t", "prod-eu"}).out,
              AllOf(HasSubstr("1 not promoted: staging-eu applied it at "),
                    HasSubstr("soaking until"), HasSubstr("(soak 2s)")));
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  const std::string staging_run = TestPostgres::MustQueryOne(
      staging_dsn, "SELECT run_id FROM schemad.migrations WHERE version = '1'");
  plan = As(server, "pipeline-token", {"plan", "-t", "prod-eu"});
  EXPECT_THAT(plan.out, AllOf(HasSubstr("1 promoted: staging-eu applied 1 at "),
                              HasSubstr(absl::StrCat(" by pipeline, run ", staging_run)),
                              HasSubstr("2 not promoted: staging-eu has not applied it")));
  // Another file under the same version is not the same revision.
  const std::string checksum = TestPostgres::MustQueryOne(
      staging_dsn, "SELECT checksum FROM schemad.migrations WHERE version = '1'");
  TestPostgres::MustQuery(staging_dsn,
                          "UPDATE schemad.migrations SET checksum = 'sha256:other' WHERE "
                          "version = '1'");
  EXPECT_THAT(As(server, "pipeline-token", {"plan", "-t", "prod-eu"}).out,
              HasSubstr("1 not promoted: staging-eu applied another file (checksum sha256:other"));
  TestPostgres::MustQuery(staging_dsn, absl::StrCat("UPDATE schemad.migrations SET checksum = '",
                                                    checksum, "' WHERE version = '1'"));
  CommandResult to_one =
      As(server, "pipeline-token", {"apply", "-t", "prod-eu", "--to", "1", "--yes"});
  EXPECT_EQ(to_one.exit_code, 0) << to_one.err;
  EXPECT_EQ(prod_versions(), "1");

  // Staging applies 2, it soaks, then staging rolls it back: the evidence is withdrawn.
  ASSERT_EQ(As(server, "pipeline-token", {"apply", "-t", "staging-eu", "--yes"}).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  EXPECT_THAT(As(server, "pipeline-token", {"plan", "-t", "prod-eu"}).out,
              HasSubstr("2 promoted: staging-eu applied 2"));
  ASSERT_EQ(As(server, "alice-token", {"rollback", "-t", "staging-eu", "--steps", "1", "--yes"})
                .exit_code,
            0);
  refused = As(server, "pipeline-token", {"apply", "-t", "prod-eu", "--yes"});
  EXPECT_EQ(refused.exit_code, 6);
  EXPECT_THAT(refused.err, HasSubstr("2: staging-eu has not applied it"));

  // The emergency override: admins only, with a reason that the journal and the audit keep.
  CommandResult not_admin =
      As(server, "pipeline-token",
         {"apply", "-t", "prod-eu", "--yes", "--override-promotion", "hotfix INC-1"});
  EXPECT_EQ(not_admin.exit_code, 8);
  EXPECT_THAT(not_admin.err, HasSubstr("needs role admin"));
  CommandResult overridden =
      As(server, "alice-token",
         {"apply", "-t", "prod-eu", "--yes", "--override-promotion", "hotfix INC-1"});
  EXPECT_EQ(overridden.exit_code, 0) << overridden.err;
  EXPECT_EQ(prod_versions(), "1,2");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                prod_dsn, "SELECT overrides FROM schemad.runs WHERE principal = 'alice'"),
            "promotion override (2 not promoted from staging): hotfix INC-1");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                prod_dsn,
                "SELECT count(*) FROM schemad.events WHERE principal = 'alice' AND "
                "detail LIKE '%promotion override (2 not promoted from staging): "
                "hotfix INC-1%'"),
            "1");
  // Rolling back needs no promotion.
  EXPECT_EQ(
      As(server, "alice-token", {"rollback", "-t", "prod-eu", "--steps", "1", "--yes"}).exit_code,
      0);
  EXPECT_EQ(prod_versions(), "1");
}

// Issue 12, item 3: a catalog folder is re-read when it changes (before Plan, Apply and Status,
// on SIGHUP and on schemactl reload), without a restart; a plan pins the catalog's content.
TEST(ReloadE2eTest, AChangedFolderIsReadWithoutARestartAndAPlanPinsItsContent) {
  const std::string dir = MakeTempDir("schemad-reload");
  WriteFiles(dir, {{"1_a.up.sql", "CREATE TABLE a (id int);"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = StartServerFor(dir, dsn);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->Cli({"plan", "-t", "dev"}).out, HasSubstr("(empty) -> 1"));

  WriteFiles(dir, {{"2_b.up.sql", "CREATE TABLE b (id int);"}});
  CommandResult plan = server->Cli({"plan", "-t", "dev", "--to", "1"});
  EXPECT_THAT(plan.out, HasSubstr("(empty) -> 1"));
  EXPECT_THAT(server->Cli({"plan", "-t", "dev"}).out, HasSubstr("(empty) -> 2"));
  // The plan to 1 was made of the catalog with 1 and 2; a third revision changes the catalog,
  // so the same steps under its hash are refused.
  WriteFiles(dir, {{"3_c.up.sql", "CREATE TABLE c (id int);"}});
  CommandResult stale =
      server->Cli({"apply", "-t", "dev", "--to", "1", "--plan-hash", PlanHashOf(plan)});
  EXPECT_EQ(stale.exit_code, 6);
  EXPECT_THAT(stale.err, HasSubstr("the state moved since the plan was made"));

  // A file that does not load refuses plans, naming it; version reads go on; fixing it heals.
  WriteFiles(dir, {{"4_d.up.sql", "CREATE TABLE d (id int;"}});
  CommandResult broken = server->Cli({"plan", "-t", "dev"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_THAT(broken.err, HasSubstr("4_d.up.sql"));
  EXPECT_EQ(server->Cli({"version", "-t", "dev"}).exit_code, 0);
  WriteFiles(dir, {{"4_d.up.sql", "CREATE TABLE d (id int);"}});
  EXPECT_THAT(server->Cli({"plan", "-t", "dev"}).out, HasSubstr("(empty) -> 4"));
  ASSERT_EQ(server->Cli({"apply", "-t", "dev"}).exit_code, 0);

  // SIGHUP and schemactl reload re-read at once; ListTargets (which reads no folder) shows it.
  WriteFiles(dir, {{"5_e.up.sql", "CREATE TABLE e (id int);"}});
  kill(server->pid(), SIGHUP);
  CommandResult targets;
  for (int i = 0; i < 100; ++i) {
    targets = server->Cli({"targets"});
    if (absl::StrContains(targets.out, " 5 ")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(targets.out, HasSubstr(" 5 ")) << server->Log();
  WriteFiles(dir, {{"6_f.up.sql", "CREATE TABLE f (id int);"}});
  CommandResult reloaded = server->Cli({"reload"});
  EXPECT_EQ(reloaded.exit_code, 0) << reloaded.err;
  EXPECT_THAT(reloaded.out, AllOf(HasSubstr("dev: reloaded, 6 revision(s), latest 6 (sha256:")));
  EXPECT_THAT(server->Cli({"reload", "-t", "dev"}).out, HasSubstr("dev: unchanged"));
  EXPECT_THAT(server->Cli({"status", "-t", "dev", "--exit-code"}).exit_code, 3);
  EXPECT_THAT(server->Log(), HasSubstr("catalog reloaded: 6 revisions, latest 6"));
}

// Issue 12, items 2 and 4: releases are content-addressed snapshots in the control database,
// published once and never changed, seen by every replica at once, and planned and applied by
// digest or label.
TEST(ReleaseE2eTest, PublishedReleasesAreImmutableSharedAndApplicable) {
  const std::string control_dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-release");
  const std::string manifest = "name: shop\n";
  WriteFiles(dir + "/folder",
             {{"catalog.yaml", manifest}, {"1_a.up.sql", "CREATE TABLE a (id int);"}});
  WriteFiles(dir + "/v2", {{"catalog.yaml", manifest},
                           {"1_a.up.sql", "CREATE TABLE a (id int);"},
                           {"2_b.up.sql", "CREATE TABLE b (id int);"},
                           {"notes.txt", "not part of the catalog"}});
  WriteFiles(dir + "/edited", {{"catalog.yaml", manifest},
                               {"1_a.up.sql", "CREATE TABLE a (id int);"},
                               {"2_b.up.sql", "CREATE TABLE b (id bigint);"}});
  WriteFiles(dir, {{"control.dsn", control_dsn + "\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config;
  config.targets.push_back({"dev", "dev", dir + "/folder", dsn, ""});
  config.tokens.push_back({"alice", "alice-token", {{"*", "admin"}}});
  config.tokens.push_back({"pipeline", "pipeline-token", {{"*", "deployer"}}});
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir, "/control.dsn\n");
  auto a = ServerProcess::Start(config);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = ServerProcess::Start(config);  // a second replica on the same control database
  ASSERT_TRUE(b.ok()) << b.status();
  // The folder's content is a release too, once a call reads the folder.
  ASSERT_EQ(As(**a, "pipeline-token", {"status", "-t", "dev"}).exit_code, 0);

  CommandResult published =
      As(**a, "pipeline-token", {"publish", "--catalog", "shop", dir + "/v2", "--label", "v2"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  ASSERT_TRUE(absl::StartsWith(published.out, "sha256:")) << published.out;
  const std::string digest = published.out.substr(0, published.out.find('\n'));
  EXPECT_THAT(published.out, HasSubstr("catalog shop, 2 revision(s), latest 2, label v2, "
                                       "published by pipeline"));
  // The same content is the same release.
  CommandResult again = As(**a, "pipeline-token", {"publish", "--catalog", "shop", dir + "/v2"});
  EXPECT_EQ(again.out.substr(0, again.out.find('\n')), digest);

  // The other replica sees it at once (both read the control database).
  CommandResult listed = As(**b, "pipeline-token", {"releases", "--catalog", "shop"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, AllOf(HasSubstr(digest), HasSubstr("v2"),
                                HasSubstr("schemad (folder of target dev)")));
  EXPECT_THAT(As(**b, "pipeline-token", {"plan", "-t", "dev", "--release", "v2"}).out,
              AllOf(HasSubstr("(empty) -> 2"), HasSubstr("catalog: " + digest)));

  // A release may not change a revision an earlier one has.
  CommandResult edited =
      As(**a, "pipeline-token", {"--json", "publish", "--catalog", "shop", dir + "/edited"});
  EXPECT_EQ(edited.exit_code, 6);
  EXPECT_THAT(edited.err, AllOf(HasSubstr("publish refused: a release may not change a revision "
                                          "an earlier one has: 2_b (release " +
                                          digest + " has up v1:"),
                                HasSubstr("; this one up v1:")));
  EXPECT_THAT(edited.out,
              AllOf(HasSubstr("\"reason\":\"RELEASE_EDIT\""), HasSubstr("\"versions\":[\"2\"]")));
  EXPECT_EQ(As(**a, "pipeline-token",
               {"publish", "--catalog", "shop", dir + "/edited", "--allow-edit", "typo"})
                .exit_code,
            8);
  CommandResult allowed =
      As(**a, "alice-token",
         {"publish", "--catalog", "shop", dir + "/edited", "--allow-edit", "bigint ids"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_EQ(
      TestPostgres::MustQueryOne(control_dsn,
                                 "SELECT count(*) FROM schemad_control.audit WHERE method = "
                                 "'PublishRelease' AND reason LIKE '%allow-edit: bigint ids%'"),
      "1");

  // Apply by label: exactly that release's files run (the newest, "edited", is not it).
  CommandResult applied = As(**a, "pipeline-token", {"apply", "-t", "dev", "--release", "v2"});
  EXPECT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn, "SELECT data_type FROM information_schema.columns WHERE table_name = 'b'"),
            "integer");
  // A label is never a digest, and one label names one release.
  CommandResult digest_label = As(
      **a, "pipeline-token", {"publish", "--catalog", "shop", dir + "/v2", "--label", "sha256:0"});
  EXPECT_EQ(digest_label.exit_code, 1);
  EXPECT_THAT(digest_label.err, HasSubstr("label: must not look like a digest"));
  CommandResult taken =
      As(**a, "alice-token",
         {"publish", "--catalog", "shop", dir + "/edited", "--label", "v2", "--allow-edit", "x"});
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_THAT(taken.err, HasSubstr("label v2 of catalog shop is release " + digest));

  // Status names the release the target is at, and each applied revision's.
  CommandResult status = As(**a, "pipeline-token", {"--json", "status", "-t", "dev"});
  EXPECT_THAT(status.out, HasSubstr(absl::StrCat("\"release\":\"", digest, "\"")));
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn, "SELECT string_agg(DISTINCT release, ',') FROM schemad.migrations"),
            digest);
  // The folder put to v2's content is the newest release again (it was published before).
  WriteFiles(dir + "/folder", {{"2_b.up.sql", "CREATE TABLE b (id int);"}});
  EXPECT_THAT(As(**a, "pipeline-token", {"plan", "-t", "dev"}).out,
              HasSubstr("catalog: " + digest));
  CommandResult unknown = As(**a, "pipeline-token", {"plan", "-t", "dev", "--release", "v9"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no release \"v9\" of catalog shop"));
}

// Issue 12, item 7: `approvals: 1` means someone other than who applies approved exactly this
// plan hash, recently enough; a new plan hash needs a new approval.
TEST(ApprovalE2eTest, ApplyNeedsAnotherPrincipalsRecentApprovalOfThatPlanHash) {
  const std::string dir = MakeTempDir("schemad-approval");
  WriteFiles(dir, {{"control.dsn", TestPostgres::Get().CreateDatabase() + "\n"}});
  WriteFiles(dir + "/catalog", {{"1_a.up.sql", "CREATE TABLE a (id int);"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config;
  config.targets.push_back({"prod", "prod", dir + "/catalog", dsn, ""});
  config.tokens.push_back({"pipeline", "pipeline-token", {{"*", "deployer"}}});
  config.tokens.push_back({"bob", "bob-token", {{"prod", "approver"}}});
  config.tokens.push_back({"alice", "alice-token", {{"*", "admin"}}});
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir,
                                   "/control.dsn\nenvironments:\n  prod: {approvals: 1, "
                                   "approval_ttl: 3s}\n");
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  const ServerProcess& server = **started;
  auto apply = [&](const std::string& token, const std::string& hash) {
    return As(server, token, {"apply", "-t", "prod", "--plan-hash", hash, "--yes"});
  };
  const std::string hash = PlanHashOf(As(server, "pipeline-token", {"plan", "-t", "prod"}));
  ASSERT_EQ(hash.size(), 64u);
  CommandResult refused =
      As(server, "pipeline-token", {"--json", "apply", "-t", "prod", "--plan-hash", hash, "--yes"});
  EXPECT_EQ(refused.exit_code, 6);
  EXPECT_THAT(refused.err,
              HasSubstr(absl::StrCat("environment prod needs 1 approval(s) of plan ", hash,
                                     " by someone other than pipeline within "
                                     "3s; it has 0")));
  EXPECT_THAT(refused.out, HasSubstr("\"reason\":\"NEEDS_APPROVAL\""));
  CommandResult not_approver =
      As(server, "pipeline-token",
         {"approve", "-t", "prod", "--plan-hash", hash, "--comment", "looks fine"});
  EXPECT_EQ(not_approver.exit_code, 8);
  EXPECT_THAT(not_approver.err, HasSubstr("needs role approver"));
  ASSERT_EQ(
      As(server, "bob-token", {"approve", "-t", "prod", "--plan-hash", hash, "--comment", "CAB-7"})
          .exit_code,
      0);
  EXPECT_THAT(As(server, "pipeline-token", {"approvals", "-t", "prod"}).out,
              AllOf(HasSubstr(hash.substr(0, 16)), HasSubstr("bob"), HasSubstr("live"),
                    HasSubstr("CAB-7")));
  // One's own approval does not count.
  CommandResult own = apply("bob-token", hash);
  EXPECT_EQ(own.exit_code, 6);
  EXPECT_THAT(own.err, HasSubstr("it has 0; bob's own does not count"));

  // A new revision makes a new plan hash, which needs its own approval.
  WriteFiles(dir + "/catalog", {{"2_b.up.sql", "CREATE TABLE b (id int);"}});
  const std::string second = PlanHashOf(As(server, "pipeline-token", {"plan", "-t", "prod"}));
  ASSERT_NE(second, hash);
  EXPECT_THAT(apply("pipeline-token", hash).err, HasSubstr("the state moved since the plan"));
  EXPECT_THAT(apply("pipeline-token", second).err, HasSubstr("it has 0"));
  // An approval older than the TTL does not count; approving again renews it.
  ASSERT_EQ(
      As(server, "bob-token", {"approve", "-t", "prod", "--plan-hash", second, "--comment", "ok"})
          .exit_code,
      0);
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  EXPECT_THAT(apply("pipeline-token", second).err, HasSubstr("it has 0; 1 expired"));
  ASSERT_EQ(
      As(server, "bob-token", {"approve", "-t", "prod", "--plan-hash", second, "--comment", "ok"})
          .exit_code,
      0);
  CommandResult applied = apply("pipeline-token", second);
  EXPECT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn, "SELECT overrides FROM schemad.runs WHERE outcome = 'APPLIED'"),
            "approved by bob");

  // A checksum repair there needs an approval too, of the hash of exactly its changes, which
  // the refusal names.
  WriteFiles(dir + "/catalog", {{"1_a.up.sql", "CREATE TABLE a (id int); -- reformatted"}});
  CommandResult repair =
      As(server, "alice-token", {"repair", "-t", "prod", "--reason", "comment only"});
  EXPECT_EQ(repair.exit_code, 6);
  const size_t at = repair.err.find("approval(s) of repair ");
  ASSERT_NE(at, std::string::npos) << repair.err;
  const std::string repair_hash = repair.err.substr(at + 22, 64);
  ASSERT_EQ(As(server, "bob-token",
               {"approve", "-t", "prod", "--plan-hash", repair_hash, "--comment", "cosmetic"})
                .exit_code,
            0);
  CommandResult repaired =
      As(server, "alice-token", {"repair", "-t", "prod", "--reason", "comment only"});
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err;
  EXPECT_THAT(TestPostgres::MustQueryOne(
                  dsn, "SELECT overrides FROM schemad.runs WHERE outcome = 'REPAIRED'"),
              HasSubstr("approved by bob"));
}

// Issue 12, items 1 and 10: with a control database every mutating and every denied call is
// appended to schemad_control.audit as a hash chain; `audit --verify` names an edited or a
// deleted row.
TEST(AuditE2eTest, TheCentralAuditIsAChainThatNamesAnEditedOrDeletedRow) {
  const std::string dir = MakeTempDir("schemad-audit");
  const std::string control_dsn = TestPostgres::Get().CreateDatabase();
  WriteFiles(dir,
             {{"control.dsn", control_dsn + "\n"}, {"1_t.up.sql", "CREATE TABLE t (id int);"}});
  ServerConfig config;
  config.targets.push_back({"dev", "dev", dir, TestPostgres::Get().CreateDatabase(), ""});
  config.tokens.push_back({"alice", "alice-token", {{"*", "admin"}}});
  config.tokens.push_back({"watcher", "viewer-token", {{"*", "viewer"}}});
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir, "/control.dsn\n");
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  const ServerProcess& server = **started;
  auto rows = [&] {
    return TestPostgres::MustQueryOne(control_dsn,
                                      "SELECT string_agg(method || ' ' || target || ' ' || "
                                      "outcome, '; ' ORDER BY seq) FROM schemad_control.audit");
  };

  ASSERT_EQ(As(server, "alice-token", {"apply", "-t", "dev"}).exit_code, 0);
  EXPECT_EQ(As(server, "viewer-token", {"apply", "-t", "dev"}).exit_code, 8);
  EXPECT_EQ(As(server, "wrong-token", {"targets"}).exit_code, 8);
  // Denials are appended off the caller's thread: wait for them.
  for (int i = 0; i < 100 && rows().find("UNAUTHENTICATED") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(rows(),
            "PublishRelease dev PUBLISHED; Apply dev APPLIED; denied Apply dev PERMISSION_DENIED; "
            "denied ListTargets  UNAUTHENTICATED");
  EXPECT_EQ(
      TestPostgres::MustQueryOne(control_dsn,
                                 "SELECT count(*) FROM schemad_control.audit WHERE reason LIKE "
                                 "'%-token%' OR principal LIKE '%-token%'"),
      "0");

  CommandResult audit = As(server, "alice-token", {"audit", "--target", "dev"});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_THAT(audit.out, AllOf(HasSubstr("alice"), HasSubstr("Apply"), HasSubstr("APPLIED"),
                               HasSubstr("watcher"), HasSubstr("PERMISSION_DENIED")));
  EXPECT_THAT(As(server, "alice-token", {"audit", "--since", "1h"}).out,
              HasSubstr("UNAUTHENTICATED"));
  CommandResult viewer = As(server, "viewer-token", {"audit"});
  EXPECT_EQ(viewer.exit_code, 8);
  EXPECT_THAT(viewer.err, HasSubstr("GetAudit needs role admin on at least one target"));

  CommandResult verified = As(server, "alice-token", {"audit", "--verify"});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  // The viewer's denied GetAudit is the fifth row.
  EXPECT_EQ(verified.out, "audit chain intact: 5 row(s)\n");
  // An edit with psql is named; so is a deleted row once the edit is undone.
  TestPostgres::MustQuery(control_dsn,
                          "UPDATE schemad_control.audit SET outcome = 'APPLIED' WHERE seq = 3");
  CommandResult edited = As(server, "alice-token", {"audit", "--verify"});
  EXPECT_EQ(edited.exit_code, 4);
  EXPECT_EQ(edited.out,
            "audit chain BROKEN at row 3: row 3 was changed: its fields no longer give its hash "
            "(5 row(s))\n");
  TestPostgres::MustQuery(control_dsn,
                          "UPDATE schemad_control.audit SET outcome = "
                          "'PERMISSION_DENIED' WHERE seq = 3");
  EXPECT_EQ(As(server, "alice-token", {"audit", "--verify"}).exit_code, 0);
  TestPostgres::MustQuery(control_dsn, "DELETE FROM schemad_control.audit WHERE seq = 3");
  CommandResult deleted = As(server, "alice-token", {"audit", "--verify"});
  EXPECT_EQ(deleted.exit_code, 4);
  EXPECT_THAT(deleted.out, HasSubstr("BROKEN at row 3: row 3 is missing (row 4 follows row 2)"));

  // Without a control database the audit is not there, and says what it needs.
  auto plain = StartServerFor(dir, TestPostgres::Get().CreateDatabase());
  ASSERT_NE(plain, nullptr);
  CommandResult none = plain->Cli({"audit"});
  EXPECT_EQ(none.exit_code, 6);
  EXPECT_THAT(none.err, HasSubstr("needs a control database (config key control)"));
}

// The README's grants: once the schema exists, schemad's own role needs only SELECT and INSERT
// on it, and then cannot change or delete an audit row.
TEST(AuditE2eTest, TheReadmeGrantsMakeTheAuditAppendOnlyForSchemadsRole) {
  const std::string dir = MakeTempDir("schemad-audit-grants");
  const std::string control_dsn = TestPostgres::Get().CreateDatabase();
  const std::string role = absl::StrCat("schemad_app_", getpid());
  const std::string app_dsn = absl::StrCat(control_dsn, " user=", role);
  TestPostgres::MustQuery(
      control_dsn, absl::StrCat("DROP ROLE IF EXISTS ", role, "; CREATE ROLE ", role, " LOGIN"));
  WriteFiles(dir, {{"owner.dsn", control_dsn + "\n"}, {"app.dsn", app_dsn + "\n"}});
  WriteFiles(dir + "/catalog", {{"1_t.up.sql", "CREATE TABLE t (id int);"},
                                {"2_u.up.sql", "CREATE TABLE u (id int);"}});
  ServerConfig config;
  config.targets.push_back(
      {"dev", "dev", dir + "/catalog", TestPostgres::Get().CreateDatabase(), ""});
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir, "/owner.dsn\n");
  {
    auto owner = ServerProcess::Start(config);
    ASSERT_TRUE(owner.ok()) << owner.status();
    ASSERT_EQ((*owner)->Cli({"apply", "-t", "dev", "--to", "1"}).exit_code, 0);
  }
  TestPostgres::MustQuery(
      control_dsn,
      absl::StrCat("GRANT USAGE ON SCHEMA schemad_control TO ", role,
                   "; GRANT SELECT ON schemad_control.meta TO ", role,
                   "; GRANT SELECT, INSERT ON schemad_control.audit TO ", role,
                   "; GRANT SELECT, INSERT ON schemad_control.releases, "
                   "schemad_control.release_revisions, schemad_control.release_files, "
                   "schemad_control.blobs TO ",
                   role, "; GRANT UPDATE (label, published_at) ON schemad_control.releases TO ",
                   role, "; GRANT SELECT, INSERT, UPDATE ON schemad_control.approvals TO ", role));
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir, "/app.dsn\n");
  auto app = ServerProcess::Start(config);
  ASSERT_TRUE(app.ok()) << app.status();
  ASSERT_EQ((*app)->Cli({"apply", "-t", "dev"}).exit_code, 0);
  CommandResult verified = (*app)->Cli({"audit", "--verify"});
  // The owner's run: the folder published, its apply; then the app role's apply.
  EXPECT_EQ(verified.out, "audit chain intact: 3 row(s)\n") << verified.err << (*app)->Log();
  for (const char* change :
       {"UPDATE schemad_control.audit SET reason = 'x'", "DELETE FROM schemad_control.audit",
        "TRUNCATE schemad_control.audit", "UPDATE schemad_control.blobs SET content = ''",
        "DELETE FROM schemad_control.release_files"}) {
    absl::StatusOr<std::vector<std::string>> refused = TestPostgres::Query(app_dsn, change);
    EXPECT_FALSE(refused.ok()) << change;
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr("permission denied")) << change;
  }
}

}  // namespace
}  // namespace schemad::testing
