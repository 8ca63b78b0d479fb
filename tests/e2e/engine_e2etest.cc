// Apply, rollback and resolve through the real schemad and schemactl binaries: progress
// output, crash safety (kill -9), two servers on one database, bad requests, and a real
// catalog written by another project (mattermost).
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "schemad/v1/schemad.grpc.pb.h"
#include "tests/support/engine_runner.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSmall[] = SCHEMAD_SOURCE_DIR "/tests/testdata/catalogs/small";
constexpr char kMattermost[] =
    SCHEMAD_SOURCE_DIR "/../shared/corpora/mattermost/server/channels/db/migrations/postgres";

std::unique_ptr<ServerProcess> StartServer(const std::string& catalog, const std::string& dsn,
                                           const std::string& extra = "") {
  return StartServerFor(catalog, dsn, "dev", "dev", extra);
}

TEST(ApplyE2eTest, ApplyShowsProgressAndRollbackUndoesIt) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = StartServer(kSmall, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult plan = server->Cli({"plan", "-t", "dev", "--sql"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(
      plan.out,
      AllOf(
          HasSubstr("Apply plan for dev: (empty) -> 005"),
          HasSubstr("5  up   005      concurrent_index  1           no transaction"),
          HasSubstr("-- Runs outside a transaction: the parser sees CONCURRENTLY.\nCREATE INDEX "
                    "CONCURRENTLY audit_at ON audit (at);"),
          HasSubstr("runs outside a transaction (statement 1 (line 2): CREATE INDEX CONCURRENTLY"),
          HasSubstr("plan hash: ")));
  const std::string hash = plan.out.substr(plan.out.rfind("plan hash: ") + 11, 64);

  CommandResult apply = server->Cli({"apply", "-t", "dev", "--plan-hash", hash});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_THAT(apply.out, AllOf(HasSubstr(": 5 step(s)"), HasSubstr("up   001_create_accounts ..."),
                               HasSubstr("up   005_concurrent_index (no transaction) ..."),
                               HasSubstr("statement 1/1 done"), HasSubstr("APPLIED: 5 step(s) in"),
                               HasSubstr("now at 005")));
  CommandResult stale = server->Cli({"apply", "-t", "dev", "--plan-hash", hash});
  EXPECT_EQ(stale.exit_code, 6);
  EXPECT_THAT(stale.err, HasSubstr("the state moved since the plan was made"));

  CommandResult json = server->Cli({"apply", "-t", "dev", "--json"});
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_THAT(json.out, HasSubstr("\"outcome\":\"OUTCOME_NO_CHANGE\""));

  CommandResult rollback = server->Cli({"rollback", "-t", "dev", "--steps", "2"});
  ASSERT_EQ(rollback.exit_code, 0) << rollback.err;
  EXPECT_THAT(rollback.out,
              AllOf(HasSubstr("down 005_concurrent_index"), HasSubstr("down 004_audit"),
                    HasSubstr("ROLLED_BACK: 2 step(s)"), HasSubstr("now at 003")));
  EXPECT_EQ(AppliedVersions(dsn), "001,002,003");

  CommandResult history = server->Cli({"history", "-t", "dev"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_THAT(history.out, AllOf(HasSubstr("rollback"), HasSubstr("apply"), HasSubstr("succeeded"),
                                 HasSubstr("REFUSED")));
}

TEST(ApplyE2eTest, FailedRunIsResolvedWithTheCli) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-resolve");
  WriteFiles(dir, {{"1_t.up.sql", "CREATE TABLE t (id int, code text);"},
                   {"2_idx.up.sql",
                    "INSERT INTO t VALUES (1, 'x'), (2, 'x');\n"
                    "CREATE UNIQUE INDEX CONCURRENTLY t_code ON t (code);\n"
                    "INSERT INTO t VALUES (3, 'z');\n"}});
  auto server = StartServer(dir, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult failed = server->Cli({"apply", "-t", "dev"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.out,
              AllOf(HasSubstr("FAILED"), HasSubstr("apply 2_idx: statement 2"),
                    HasSubstr("SQLSTATE 23505"), HasSubstr("indexes left INVALID: public.t_code")));
  CommandResult status = server->Cli({"status", "-t", "dev"});
  EXPECT_THAT(status.out, AllOf(HasSubstr("BLOCKED by run "), HasSubstr("failed, started"),
                                HasSubstr("at 2 statement 2"),
                                HasSubstr("committed: 1 statement(s) of 2 without its history row"),
                                HasSubstr("--retry resumes at statement 2")));
  CommandResult refused = server->Cli({"apply", "-t", "dev"});
  EXPECT_EQ(refused.exit_code, 6);
  EXPECT_THAT(refused.err, HasSubstr("resolve it first"));
  const std::string run_id =
      TestPostgres::MustQueryOne(dsn, "SELECT run_id FROM schemad.runs WHERE state = 'failed'");
  TestPostgres::MustQuery(dsn, "DELETE FROM t WHERE id = 2; DROP INDEX t_code");
  CommandResult resolve = server->Cli({"resolve", "-t", "dev", "--run", run_id, "--retry"});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.out << resolve.err;
  EXPECT_THAT(resolve.out, HasSubstr("resolved"));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT string_agg(id::text, ',' ORDER BY id) FROM t"),
            "1,3");
  EXPECT_EQ(AppliedVersions(dsn), "1,2");
}

// Issue 9, items 8, 11, 13 at the terminal: TIMED_OUT has its own exit code, a stream that
// ends mid-run says the run was interrupted (not "cannot reach schemad"), repair accepts a
// changed file for good.
TEST(ApplyE2eTest, ExitCodesSayTimedOutInterruptedAndRepairAcceptsDrift) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-codes");
  WriteFiles(dir, {{"1_t.up.sql", "CREATE TABLE t (id int);"},
                   {"2_slow.up.sql", "-- schemad:timeout 200ms\nSELECT pg_sleep(3);\n"}});
  auto server = StartServer(dir, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult timed_out = server->Cli({"apply", "-t", "dev"});
  EXPECT_EQ(timed_out.exit_code, 9) << timed_out.out << timed_out.err;
  EXPECT_THAT(timed_out.out, AllOf(HasSubstr("TIMED_OUT: 1 step(s)"), HasSubstr("now at 1"),
                                   HasSubstr("statement timeout")));
  EXPECT_THAT(server->Cli({"--help"}).out, HasSubstr("9  timed out"));

  WriteFiles(dir, {{"2_slow.up.sql", "SELECT pg_sleep(3);\n"}});
  auto restarted = StartServer(dir, dsn);
  ASSERT_NE(restarted, nullptr);
  CommandResult cut =
      RunCli({"--server", restarted->address(), "--timeout", "1", "apply", "-t", "dev"});
  EXPECT_EQ(cut.exit_code, 10) << cut.out << cut.err;
  EXPECT_THAT(cut.err, AllOf(HasSubstr("ended before the run did"), HasSubstr("rolls back"),
                             Not(HasSubstr("cannot reach"))));
  // The server saw the caller go and recorded the run as interrupted.
  for (int i = 0;
       i < 100 && TestPostgres::MustQueryOne(dsn,
                                             "SELECT count(*) FROM schemad.runs WHERE state = "
                                             "'running'") != "0";
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn, "SELECT state FROM schemad.runs ORDER BY started_at DESC LIMIT 1"),
            "interrupted");

  WriteFiles(dir, {{"1_t.up.sql", "-- the table\nCREATE TABLE t (id int);"},
                   {"2_slow.up.sql", "SELECT 1;\n"}});
  auto edited = StartServer(dir, dsn);
  ASSERT_NE(edited, nullptr);
  EXPECT_EQ(edited->Cli({"apply", "-t", "dev"}).exit_code, 6);
  CommandResult repair = edited->Cli({"repair", "-t", "dev", "--reason", "comment only"});
  ASSERT_EQ(repair.exit_code, 0) << repair.err;
  EXPECT_THAT(repair.out, AllOf(HasSubstr("1: v1:"), HasSubstr("1 checksum(s) re-recorded")));
  CommandResult apply = edited->Cli({"apply", "-t", "dev"});
  EXPECT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("now at 2 (from 1)"));
}

// Item 14: a caller that stops reading the stream never holds the migration (or its locks):
// the run finishes while the client reads nothing.
TEST(ApplyE2eTest, ACallerThatStopsReadingDoesNotHoldTheRun) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-slow-reader");
  std::string chatty;
  const std::string notice(3000, 'x');
  for (int i = 0; i < 6000; ++i) {
    absl::StrAppend(&chatty, "DO $$BEGIN RAISE NOTICE '", notice, "'; END$$;\n");
  }
  WriteFiles(dir, {{"1_chatty.up.sql", chatty}});
  auto server = StartServer(dir, dsn);
  ASSERT_NE(server, nullptr);
  auto stub = v1::SchemaService::NewStub(
      grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  v1::ApplyRequest request;
  request.set_target("dev");
  std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader = stub->Apply(&context, request);
  // Read nothing; the run must still finish, recorded.
  std::string state;
  for (int i = 0; i < 1200; ++i) {
    absl::StatusOr<std::vector<std::string>> rows =
        TestPostgres::Query(dsn, "SELECT state FROM schemad.runs");
    state = rows.ok() && !rows->empty() ? (*rows)[0] : "";
    if (!state.empty() && state != "running") break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(state, "succeeded");
  EXPECT_EQ(AppliedVersions(dsn), "1");
  // The server says so once its handler is done.
  for (int i = 0; i < 200 && server->Log().find("stopped reading") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(server->Log(), HasSubstr("the caller stopped reading; dropped its stream"));
  context.TryCancel();
  reader->Finish();
}

// Item 14: a server asked to stop gives a running migration its grace, then cancels the
// statement, rolls back and records the end (no run is left "running").
TEST(CrashE2eTest, ShutdownCancelsARunAfterItsGraceAndRecordsTheEnd) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-shutdown");
  WriteFiles(dir, {{"1_slow.up.sql", "CREATE TABLE never (id int);\nSELECT pg_sleep(30);\n"}});
  ServerConfig config;
  config.targets.push_back({"dev", "dev", dir, dsn, ""});
  config.extra_yaml = "shutdown_grace: 1s\n";
  auto server = ServerProcess::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  CommandOptions options;
  options.env = {"SCHEMAD_TOKEN="};
  auto cli = SpawnProcess({SCHEMACTL_BIN, "--server", (*server)->address(), "apply", "-t", "dev"},
                          options, MakeTempDir("schemad-e2e-shutdown-cli") + "/cli.log");
  ASSERT_TRUE(cli.ok());
  bool sleeping = false;
  for (int i = 0; i < 400 && !sleeping; ++i) {
    sleeping = TestPostgres::MustQueryOne(dsn,
                                          "SELECT count(*) FROM pg_stat_activity WHERE "
                                          "query LIKE 'SELECT pg_sleep%'") == "1";
    if (!sleeping) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(sleeping);
  const absl::Time asked = absl::Now();
  EXPECT_EQ((*server)->Stop(SIGTERM), 0) << (*server)->Log();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(10));
  int cli_status = 0;
  waitpid(*cli, &cli_status, 0);
  EXPECT_EQ(WEXITSTATUS(cli_status), 10);
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT state || ' ' || outcome FROM schemad.runs"),
            "interrupted INTERRUPTED");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT to_regclass('never') IS NULL"), "t");
}

// kill -9 in the middle of a long transactional file: the database holds nothing of that
// file, the journal says interrupted, and the next apply proceeds.
TEST(CrashE2eTest, KillNineMidMigrationLeavesDatabaseAndJournalInAgreement) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-crash");
  WriteFiles(dir, {{"1_control.up.sql",
                    "CREATE TABLE control (sleep_seconds int);\n"
                    "INSERT INTO control VALUES (60);"},
                   {"2_slow.up.sql",
                    "CREATE TABLE half_done (id int);\n"
                    "SELECT pg_sleep(sleep_seconds) FROM control;\n"
                    "CREATE TABLE after_sleep (id int);"}});
  auto server = StartServer(dir, dsn);
  ASSERT_NE(server, nullptr);
  CommandOptions options;
  options.env = {"SCHEMAD_TOKEN="};
  auto cli = SpawnProcess({SCHEMACTL_BIN, "--server", server->address(), "apply", "-t", "dev"},
                          options, MakeTempDir("schemad-e2e-crash-cli") + "/cli.log");
  ASSERT_TRUE(cli.ok());
  // Wait until the slow statement is running.
  bool sleeping = false;
  for (int i = 0; i < 200 && !sleeping; ++i) {
    sleeping =
        TestPostgres::MustQueryOne(
            dsn, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'") ==
        "1";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(sleeping);
  EXPECT_EQ(
      TestPostgres::MustQueryOne(dsn, "SELECT state || ' ' || current_version FROM schemad.runs"),
      "running 2");
  EXPECT_EQ(server->Stop(SIGKILL), 128 + SIGKILL);
  int cli_status = 0;
  waitpid(*cli, &cli_status, 0);
  EXPECT_EQ(WEXITSTATUS(cli_status), 10);  // interrupted: the stream ended mid-run

  // PostgreSQL notices the vanished client within a second and rolls its transaction back.
  std::string remaining;
  for (int i = 0; i < 100; ++i) {
    remaining = TestPostgres::MustQueryOne(
        dsn, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'");
    if (remaining == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(remaining, "0");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT to_regclass('half_done') IS NULL"), "t");
  EXPECT_EQ(AppliedVersions(dsn), "1");

  TestPostgres::MustQuery(dsn, "UPDATE control SET sleep_seconds = 0");
  auto restarted = StartServer(dir, dsn);
  ASSERT_NE(restarted, nullptr);
  CommandResult status = restarted->Cli({"status", "-t", "dev", "--json"});
  EXPECT_THAT(status.out, Not(HasSubstr("blocking_run\":{\"run_id")));
  CommandResult apply = restarted->Cli({"apply", "-t", "dev"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(AppliedVersions(dsn), "1,2");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn, "SELECT string_agg(state, ',' ORDER BY started_at) FROM schemad.runs"),
            "interrupted,succeeded");
  EXPECT_THAT(
      TestPostgres::MustQueryOne(dsn, "SELECT error FROM schemad.runs WHERE state = 'interrupted'"),
      HasSubstr("the server running it stopped"));
}

TEST(ReplicaE2eTest, TwoServersOnOneDatabaseApplyEachRevisionOnce) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-replicas");
  std::map<std::string, std::string> files;
  for (int i = 1; i <= 30; ++i) {
    files[absl::StrCat(1000 + i, "_t.up.sql")] =
        absl::StrCat("CREATE TABLE t", i, " (id int PRIMARY KEY);\nSELECT pg_sleep(0.02);");
  }
  WriteFiles(dir, files);
  auto a = StartServer(dir, dsn);
  auto b = StartServer(dir, dsn);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  CommandResult ra, rb;
  std::thread ta([&] { ra = a->Cli({"apply", "-t", "dev"}); });
  std::thread tb([&] { rb = b->Cli({"apply", "-t", "dev"}); });
  ta.join();
  tb.join();
  EXPECT_EQ(ra.exit_code, 0) << ra.err;
  EXPECT_EQ(rb.exit_code, 0) << rb.err;
  const std::string both = ra.out + rb.out;
  EXPECT_THAT(both, AllOf(HasSubstr("APPLIED: 30 step(s)"), HasSubstr("NO_CHANGE: 0 step(s)")));
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn, "SELECT count(*) || ' ' || count(DISTINCT version) FROM schemad.migrations"),
            "30 30");
}

// GetVersion is answered from a cache: in steady state the database sees no transaction per
// call; a change made through another replica reaches this one's cache by NOTIFY.
TEST(ReplicaE2eTest, VersionCacheMakesNoDatabaseRoundTripsAndHearsOtherReplicas) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto a = StartServer(kSmall, dsn);
  auto b = StartServer(kSmall, dsn);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  auto channel = grpc::CreateChannel(b->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::SchemaService::NewStub(channel);
  auto get_version = [&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetVersionRequest request;
    request.set_target("dev");
    v1::VersionInfo info;
    EXPECT_TRUE(stub->GetVersion(&context, request, &info).ok());
    return info;
  };
  get_version();  // warms the cache
  // PostgreSQL 15 flushes a backend's statistics at most once a second and holds them up to
  // 10 s while busy; a backend that exits flushes at once. So: count across a server's whole
  // life — start it, make the calls, stop it, then read.
  const std::string transactions =
      "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()";
  auto counted = StartServer(kSmall, dsn);
  ASSERT_NE(counted, nullptr);
  auto counted_stub = v1::SchemaService::NewStub(
      grpc::CreateChannel(counted->address(), grpc::InsecureChannelCredentials()));
  auto counted_version = [&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetVersionRequest request;
    request.set_target("dev");
    v1::VersionInfo info;
    EXPECT_TRUE(counted_stub->GetVersion(&context, request, &info).ok());
    return info;
  };
  counted_version();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long before = std::stol(TestPostgres::MustQueryOne(dsn, transactions));
  for (int i = 0; i < 200; ++i) EXPECT_EQ(counted_version().pending_count(), 5);
  EXPECT_EQ(counted->Stop(SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long after = std::stol(TestPostgres::MustQueryOne(dsn, transactions));
  // Without the cache each call is two read transactions (400 here); what remains is the
  // warm-up's and the monitoring connections' own.
  EXPECT_LT(after - before, 20) << "GetVersion reached the database";

  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::WatchVersionRequest watch;
  watch.set_target("dev");
  watch.set_min_version("005");
  auto reader = stub->WatchVersion(&watch_context, watch);
  v1::VersionInfo info;
  ASSERT_TRUE(reader->Read(&info));
  EXPECT_EQ(info.current_version(), "");
  ASSERT_EQ(a->Cli({"apply", "-t", "dev"}).exit_code, 0);
  const auto applied = std::chrono::steady_clock::now();
  std::string seen;
  while (reader->Read(&info)) seen = info.current_version();
  const auto delay = std::chrono::steady_clock::now() - applied;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(seen, "005");
  EXPECT_LT(delay, std::chrono::seconds(5));
  EXPECT_EQ(get_version().current_version(), "005");
}

class BadRequestE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = TestPostgres::Get().CreateDatabase();
    server_ = StartServer(kSmall, dsn_);
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::SchemaService::NewStub(channel_);
  }
  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return context;
  }
  std::string dsn_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SchemaService::Stub> stub_;
};

TEST_F(BadRequestE2eTest, EachBadFieldGetsItsCodeAndMessage) {
  struct Expectation {
    grpc::Status status;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Expectation> cases;
  {
    v1::PlanRequest request;
    request.set_target("dev");
    request.set_direction(static_cast<v1::Direction>(42));
    v1::PlanResponse response;
    cases.push_back({stub_->Plan(Context().get(), request, &response),
                     grpc::StatusCode::INVALID_ARGUMENT, "direction: unknown value"});
  }
  {
    v1::PlanRequest request;
    v1::PlanResponse response;
    cases.push_back({stub_->Plan(Context().get(), request, &response),
                     grpc::StatusCode::INVALID_ARGUMENT, "target: required"});
  }
  {
    v1::PlanRequest request;
    request.set_target("nope");
    v1::PlanResponse response;
    cases.push_back({stub_->Plan(Context().get(), request, &response), grpc::StatusCode::NOT_FOUND,
                     "unknown target \"nope\""});
  }
  {
    // Issue 10, item 6: every string field is bounded and printable, checked at the edge.
    v1::PlanRequest request;
    request.set_target(std::string(10000, 't'));
    v1::PlanResponse response;
    cases.push_back({stub_->Plan(Context().get(), request, &response),
                     grpc::StatusCode::INVALID_ARGUMENT, "target: 10000 bytes, at most 128"});
  }
  {
    v1::ApplyRequest request;
    request.set_target("dev");
    request.set_request_id(std::string(10000, 'r'));
    auto context = Context();
    auto reader = stub_->Apply(context.get(), request);
    v1::RunEvent event;
    while (reader->Read(&event)) {
    }
    cases.push_back({reader->Finish(), grpc::StatusCode::INVALID_ARGUMENT,
                     "request_id: 10000 bytes, at most 256"});
  }
  {
    v1::ApplyRequest request;
    request.set_target("dev");
    request.set_request_id(std::string("deploy\0-1", 9));
    auto context = Context();
    auto reader = stub_->Apply(context.get(), request);
    v1::RunEvent event;
    while (reader->Read(&event)) {
    }
    cases.push_back({reader->Finish(), grpc::StatusCode::INVALID_ARGUMENT,
                     "request_id: contains a control character"});
  }
  {
    v1::RollbackRequest request;
    request.set_target("dev");
    request.set_to_version("latest");
    auto context = Context();
    auto reader = stub_->Rollback(context.get(), request);
    v1::RunEvent event;
    while (reader->Read(&event)) {
    }
    cases.push_back({reader->Finish(), grpc::StatusCode::INVALID_ARGUMENT,
                     "to_version: \"latest\" is not a version"});
  }
  {
    v1::PlanRequest request;
    request.set_target("dev");
    request.set_to_version("999");
    v1::PlanResponse response;
    cases.push_back({stub_->Plan(Context().get(), request, &response), grpc::StatusCode::NOT_FOUND,
                     "version 999 is not in catalog small"});
  }
  {
    v1::PlanRequest request;
    request.set_target("dev");
    request.set_direction(v1::DIRECTION_DOWN);
    request.set_to_version("1");
    request.set_steps(2);
    v1::PlanResponse response;
    cases.push_back({stub_->Plan(Context().get(), request, &response),
                     grpc::StatusCode::INVALID_ARGUMENT, "not both"});
  }
  {
    v1::GetHistoryRequest request;
    request.set_target("dev");
    request.set_page_token("not-a-token");
    v1::GetHistoryResponse response;
    cases.push_back({stub_->GetHistory(Context().get(), request, &response),
                     grpc::StatusCode::INVALID_ARGUMENT, "page_token: not one we issued"});
  }
  {
    v1::GetHistoryRequest request;
    request.set_target("dev");
    request.set_page_size(100000);
    v1::GetHistoryResponse response;
    cases.push_back({stub_->GetHistory(Context().get(), request, &response),
                     grpc::StatusCode::INVALID_ARGUMENT, "page_size: must be between 0 and 500"});
  }
  {
    v1::ResolveRunRequest request;
    request.set_target("dev");
    request.set_run_id("00000000-0000-0000-0000-000000000000");
    v1::ResolveRunResponse response;
    cases.push_back({stub_->ResolveRun(Context().get(), request, &response),
                     grpc::StatusCode::INVALID_ARGUMENT, "action: must be"});
  }
  {
    v1::ApplyRequest request;
    request.set_target("dev");
    request.set_lock_wait_seconds(-3);
    auto context = Context();
    auto reader = stub_->Apply(context.get(), request);
    v1::RunEvent event;
    while (reader->Read(&event)) {
    }
    cases.push_back({reader->Finish(), grpc::StatusCode::INVALID_ARGUMENT, "lock_wait_seconds"});
  }
  {
    v1::ValidateCoverageRequest request;
    request.set_target("dev");
    request.add_requirements()->add_columns("id");
    v1::ValidateCoverageResponse response;
    cases.push_back({stub_->ValidateCoverage(Context().get(), request, &response),
                     grpc::StatusCode::INVALID_ARGUMENT, "requirements: an entry has no table"});
  }
  for (const Expectation& expectation : cases) {
    EXPECT_EQ(expectation.status.error_code(), expectation.code) << expectation.message;
    EXPECT_THAT(expectation.status.error_message(), HasSubstr(expectation.message));
  }
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT count(*) FROM pg_namespace WHERE nspname = 'schemad'"),
            "0");
}

// Issue 10, item 3 (part): a plan whose file is over gRPC's default 4 MiB still reaches the CLI.
TEST(ApplyE2eTest, PlanOfAFileOverFourMegabytesIsShown) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-big");
  std::string big = "CREATE TABLE big (id int, note text);\n";
  const std::string row =
      absl::StrCat("INSERT INTO big VALUES (1, '", std::string(1000, 'x'), "');\n");
  while (big.size() < (6 << 20)) big += row;
  WriteFiles(dir, {{"1_big.up.sql", big}});
  auto server = StartServer(dir, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult plan = server->Cli({"plan", "-t", "dev", "--sql"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_GT(plan.out.size(), size_t{6} << 20);
}

// Issue 10, item 3: a plan carries at most 32 MiB of SQL; the steps beyond say so, with their
// size and checksum, instead of a response too large to receive.
TEST(ApplyE2eTest, PlanOmitsSqlBeyondItsBudget) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-budget");
  const std::string row =
      absl::StrCat("INSERT INTO big VALUES (1, '", std::string(2000, 'x'), "');\n");
  std::string file = "CREATE TABLE IF NOT EXISTS big (id int, note text);\n";
  while (file.size() < (17 << 20)) file += row;
  WriteFiles(dir, {{"1_a.up.sql", file}, {"2_b.up.sql", file}, {"3_c.up.sql", "SELECT 1;\n"}});
  auto server = StartServer(dir, dsn);
  ASSERT_NE(server, nullptr);
  // (Outputs are tens of MiB: checked with StrContains, never printed.)
  CommandResult plan = server->Cli({"plan", "-t", "dev", "--sql"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_TRUE(absl::StrContains(plan.out, "1_a.up.sql (v1:"));
  EXPECT_TRUE(absl::StrContains(plan.out, "INSERT INTO big"));
  EXPECT_TRUE(absl::StrContains(plan.out, absl::StrCat("2_b.up.sql (v1:")));
  EXPECT_TRUE(absl::StrContains(plan.out, absl::StrCat(": ", file.size(), " bytes not shown")));
  EXPECT_TRUE(absl::StrContains(plan.out, "3_c.up.sql (v1:"));
  EXPECT_FALSE(absl::StrContains(plan.out, "SELECT 1"));  // after an omitted step: omitted too
  EXPECT_LT(plan.out.size(), size_t{18} << 20);
  CommandResult json = server->Cli({"--json", "plan", "-t", "dev"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_TRUE(absl::StrContains(json.out, "\"sql_omitted\":true"));
  EXPECT_TRUE(absl::StrContains(json.out, absl::StrCat("\"sql_bytes\":\"", file.size(), "\"")));
}

// Issue 10, item 8: a port in use is named as such, not only "cannot listen".
TEST(ServerCatalogE2eTest, PortInUseIsNamed) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto first = StartServer(kSmall, dsn);
  ASSERT_NE(first, nullptr);
  const std::string dir = MakeTempDir("schemad-port-in-use");
  WriteFiles(dir, {{"schemad.yaml", absl::StrCat("targets:\n  - name: dev\n    environment: dev\n"
                                                 "    catalog: ",
                                                 kSmall, "\n    dsn_env: DSN\n")}});
  auto second = ServerProcess::StartWithArgs(
      {"--config", dir + "/schemad.yaml", "--listen", first->address()}, {"DSN=" + dsn});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), AllOf(HasSubstr("cannot listen on " + first->address()),
                                               HasSubstr("Address already in use")));
}

// A syntax error does not stop the server (other targets and the revisions before it stay
// usable): it is logged right after start-up, and every plan that includes the file is refused
// naming the file and line.
TEST(ServerCatalogE2eTest, SyntaxErrorInACatalogFileRefusesPlansNamingFileAndLine) {
  const std::string dir = MakeTempDir("schemad-e2e-syntax");
  WriteFiles(dir,
             {{"1_ok.up.sql", "CREATE TABLE a (id int);"},
              {"2_typo.up.sql", "CREATE TABLE b (id int);\n\nALTER TABEL b ADD COLUMN x int;\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string prod_dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config;
  config.targets.push_back({"dev", "dev", dir, dsn, ""});
  config.targets.push_back({"other", "dev", kSmall, TestPostgres::Get().CreateDatabase(), ""});
  config.targets.push_back({"prod", "prod", dir, prod_dsn, ""});
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  const auto has_error = [] {
    return AllOf(HasSubstr("2_typo.up.sql"), HasSubstr("line 3"),
                 HasSubstr("syntax error at or near \"TABEL\""));
  };
  for (int i = 0; i < 100 && !absl::StrContains(server->Log(), "parsed 2 files"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(server->Log(),
              AllOf(HasSubstr("target dev: "), has_error(), HasSubstr("target dev: parsed 2 files"),
                    HasSubstr("1 with errors")));
  CommandResult plan = server->Cli({"plan", "-t", "dev"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_THAT(plan.err, has_error());
  CommandResult apply = server->Cli({"apply", "-t", "dev"});
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_THAT(apply.err, has_error());
  EXPECT_EQ(AppliedVersions(dsn), "");
  // What does not need the bad file still works.
  CommandResult first = server->Cli({"apply", "-t", "dev", "--to", "1"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(AppliedVersions(dsn), "1");
  CommandResult other = server->Cli({"apply", "-t", "other"});
  EXPECT_EQ(other.exit_code, 0) << other.err;
  // Outside dev, apply plans first and lints (errors block in prod): still only the bad file
  // is refused, not the revisions before it.
  for (const char* args : {"plan -t prod --to 1", "apply -t prod --to 1 --yes"}) {
    std::vector<std::string> argv = absl::StrSplit(args, ' ');
    CommandResult result = server->Cli(argv);
    EXPECT_EQ(result.exit_code, 0) << args << ": " << result.err;
  }
  EXPECT_EQ(AppliedVersions(prod_dsn), "1");
  CommandResult validate = server->Cli({"validate", "-t", "dev"});
  EXPECT_EQ(validate.exit_code, 1);
  EXPECT_THAT(validate.err, has_error());
}

// The mattermost corpus (158 revisions, golang-migrate naming): up, down, up through the
// real server and CLI. REPORT.md: two misspelled down files leave groupchannels and
// threadmemberships behind, 000015's down is comment-only (systems stays), and 000129's down
// leaves the enum type property_field_type.
TEST(CorpusE2eTest, MattermostUpDownUp) {
  if (!std::filesystem::exists(kMattermost)) GTEST_SKIP() << "../shared is absent: " << kMattermost;
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  // Its 14 comment-only downs of non-empty ups mean "nothing to undo": say so once, in a
  // catalog.yaml.
  const std::string catalog =
      CopyCatalog(kMattermost, "name: postgres\nempty_down_is_noop: true\n");
  auto server = StartServer(catalog, dsn, "    lock_timeout: 30s\n");
  ASSERT_NE(server, nullptr);
  CommandResult up = server->Cli({"apply", "-t", "dev"});
  ASSERT_EQ(up.exit_code, 0) << up.out.substr(up.out.size() > 3000 ? up.out.size() - 3000 : 0)
                             << up.err;
  EXPECT_THAT(up.out, HasSubstr("APPLIED: 158 step(s)"));
  const std::string first = SchemaSnapshot(dsn);
  EXPECT_THAT(first, HasSubstr("relation channels r"));

  CommandResult down = server->Cli({"rollback", "-t", "dev", "--to", "0"});
  ASSERT_EQ(down.exit_code, 0) << down.out.substr(down.out.size() > 3000 ? down.out.size() - 3000
                                                                         : 0)
                               << down.err;
  EXPECT_THAT(down.out, HasSubstr("ROLLED_BACK: 158 step(s)"));
  EXPECT_EQ(AppliedVersions(dsn), "");
  EXPECT_EQ(
      absl::StrJoin(TestPostgres::MustQuery(
                        dsn,
                        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                        "AND relkind = 'r' ORDER BY 1"),
                    ","),
      "groupchannels,systems,threadmemberships");
  EXPECT_EQ(
      absl::StrJoin(TestPostgres::MustQuery(
                        dsn,
                        "SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace "
                        "AND typtype = 'e' ORDER BY 1"),
                    ","),
      "property_field_type");

  CommandResult again = server->Cli({"apply", "-t", "dev"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("APPLIED: 158 step(s)"));
  EXPECT_EQ(SchemaSnapshot(dsn), first);
}

}  // namespace
}  // namespace schemad::testing
