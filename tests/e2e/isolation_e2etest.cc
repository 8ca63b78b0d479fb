// Issue 11: one server for every service. 1,000 WatchVersion streams hold no thread and do not
// stop an Apply on another target; a database that never answers does not slow a healthy one;
// per-caller quotas; per-target gRPC health; `schemactl versions --exit-code`.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "schemad/v1/schemad.grpc.pb.h"
#include "tests/support/raw_call.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"
#include "tests/support/watchers.h"

namespace schemad::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// A TCP port that accepts connections into its backlog and never answers: a database host
// that hangs.
class Blackhole {
 public:
  Blackhole() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 1);
    socklen_t length = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
  }
  ~Blackhole() { close(fd_); }
  std::string Dsn() const {
    return absl::StrCat("host=127.0.0.1 port=", port_, " dbname=x user=x connect_timeout=2");
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::unique_ptr<v1::SchemaService::Stub> Stub(const std::string& address) {
  return v1::SchemaService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

void Prepare(grpc::ClientContext* context, const std::string& token, absl::Duration deadline) {
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
}

struct Timed {
  grpc::Status status;
  absl::Duration took;
};

Timed GetVersion(v1::SchemaService::Stub& stub, const std::string& target,
                 const std::string& token = "") {
  grpc::ClientContext context;
  Prepare(&context, token, absl::Seconds(20));
  v1::GetVersionRequest request;
  request.set_target(target);
  v1::VersionInfo info;
  const absl::Time start = absl::Now();
  grpc::Status status = stub.GetVersion(&context, request, &info);
  return {status, absl::Now() - start};
}

// The gRPC health of `service`: "SERVING", "NOT_SERVING", or the error.
std::string Health(const std::string& address, const std::string& service) {
  // grpc.health.v1.HealthCheckRequest { string service = 1; }
  const std::string request =
      absl::StrCat("\x0a", std::string(1, static_cast<char>(service.size())), service);
  std::string body;
  const grpc::Status status = RawUnaryCall(address, "/grpc.health.v1.Health/Check", request, &body);
  if (!status.ok()) return absl::StrCat("error ", status.error_code());
  // HealthCheckResponse { ServingStatus status = 1; }: 1 SERVING, 2 NOT_SERVING.
  if (body.size() == 2 && body[0] == '\x08') return body[1] == 1 ? "SERVING" : "NOT_SERVING";
  return body.empty() ? "UNKNOWN" : "?";
}

// Polls until `service`'s health is `want` (or 20 s pass); returns the last answer.
std::string AwaitHealth(const std::string& address, const std::string& service,
                        const std::string& want) {
  std::string got;
  for (int i = 0; i < 200; ++i) {
    got = Health(address, service);
    if (got == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return got;
}

std::string WriteCatalog(const std::string& dir) {
  WriteFiles(dir, {{"1_a.up.sql", "CREATE TABLE a (id int);\n"},
                   {"1_a.down.sql", "DROP TABLE a;\n"},
                   {"2_b.up.sql", "CREATE TABLE b (id int);\n"},
                   {"2_b.down.sql", "DROP TABLE b;\n"}});
  return dir;
}

TEST(WatchersE2eTest, AThousandWatchersHoldNoThreadAndAnApplyElsewhereSucceeds) {
  const std::string dir = MakeTempDir("schemad-e2e-watchers");
  const std::string catalog = WriteCatalog(dir + "/catalog");
  ServerConfig config;
  config.targets.push_back({"watched", "dev", catalog, TestPostgres::Get().CreateDatabase(), ""});
  config.targets.push_back({"other", "dev", catalog, TestPostgres::Get().CreateDatabase(), ""});
  auto started = ServerProcess::Start(config);  // the default max_threads: 64
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);

  constexpr int kWatchers = 1000;
  Watchers watchers(server->address(), "watched", "", kWatchers);
  EXPECT_EQ(watchers.AwaitMessages(1, absl::Seconds(60)), kWatchers);
  EXPECT_EQ(watchers.ended(), 0) << watchers.first_error().error_message();

  // 1,000 open streams are more than the 64 sync threads: the other target is still served.
  CommandResult status = server->Cli({"status", "-t", "other"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  CommandResult apply = server->Cli({"apply", "-t", "other", "--to", "1"});
  EXPECT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("APPLIED"));

  // An apply on the watched target reaches every watcher.
  CommandResult watched = server->Cli({"apply", "-t", "watched"});
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_EQ(watchers.AwaitMessages(2, absl::Seconds(60)), kWatchers);
  std::map<std::string, int> versions;
  for (int i = 0; i < 100; ++i) {
    versions = watchers.LastVersions();
    if (versions["2"] == kWatchers) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(versions["2"], kWatchers);
  EXPECT_EQ(watchers.ended(), 0) << watchers.first_error().error_message();
}

TEST(BlackholeE2eTest, AHungDatabaseFailsFastAndDoesNotSlowAHealthyTarget) {
  const std::string dir = MakeTempDir("schemad-e2e-blackhole");
  const std::string catalog = WriteCatalog(dir + "/catalog");
  Blackhole hole;
  ServerConfig config;
  config.targets.push_back({"dev", "dev", catalog, TestPostgres::Get().CreateDatabase(), ""});
  config.targets.push_back({"hole", "dev", catalog, hole.Dsn(), ""});
  config.extra_yaml = "limits:\n  calls_per_caller: 200\n";  // all calls come from one host
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  auto stub = Stub(server->address());

  // 100 GetVersion calls on the hung target at once, and the healthy one meanwhile.
  std::vector<Timed> hung(100);
  std::vector<std::thread> callers;
  for (int i = 0; i < 100; ++i) {
    callers.emplace_back([&, i] { hung[i] = GetVersion(*stub, "hole"); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  absl::Duration slowest_healthy;
  for (int i = 0; i < 20; ++i) {
    Timed healthy = GetVersion(*stub, "dev");
    EXPECT_TRUE(healthy.status.ok()) << healthy.status.error_message();
    slowest_healthy = std::max(slowest_healthy, healthy.took);
  }
  for (auto& caller : callers) caller.join();
  // Generous for a loaded 2-core machine; the figure itself is in tests/bench.
  EXPECT_LT(slowest_healthy, absl::Seconds(1));
  for (const Timed& call : hung) {
    EXPECT_EQ(call.status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(call.status.error_message(), HasSubstr("cannot connect to the target database"));
  }

  // After that timeout the breaker is open: the next call fails at once, saying so.
  Timed fast = GetVersion(*stub, "hole");
  EXPECT_EQ(fast.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(fast.status.error_message(),
              AllOf(HasSubstr("database unreachable (1 failed connect, next attempt in"),
                    HasSubstr("timeout expired")));
  EXPECT_LT(fast.took, absl::Milliseconds(500));
  CommandResult targets = server->Cli({"targets"});
  EXPECT_EQ(targets.exit_code, 0) << targets.err;
  EXPECT_THAT(targets.out, HasSubstr("unreachable (breaker open, retry in"));
  EXPECT_EQ(AwaitHealth(server->address(), "schemad.target.dev", "SERVING"), "SERVING");
  EXPECT_EQ(Health(server->address(), "schemad.target.hole"), "NOT_SERVING");

  // versions: one view of both, exit 3 naming each target behind.
  CommandResult versions = server->Cli({"versions", "--exit-code"});
  EXPECT_EQ(versions.exit_code, 3) << versions.err;
  EXPECT_THAT(versions.err, HasSubstr("behind: dev (2 pending), hole (unknown)"));
  EXPECT_THAT(versions.out, AllOf(HasSubstr("hole: database unreachable"),
                                  HasSubstr("unreachable (breaker open")));
  EXPECT_EQ(server->Cli({"apply", "-t", "dev"}).exit_code, 0);
  CommandResult only_dev = server->Cli({"versions", "--exit-code", "--catalog", "nope"});
  EXPECT_EQ(only_dev.exit_code, 0) << only_dev.err;
  versions = server->Cli({"--json", "versions"});
  EXPECT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_THAT(versions.out,
              AllOf(HasSubstr("\"target\":\"dev\""), HasSubstr("\"known\":true"),
                    HasSubstr("\"current_version\":\"2\""), HasSubstr("\"breaker\":\"open\"")));
}

TEST(HealthE2eTest, ATargetIsServingUntilAFailedRunBlocksItAndAgainOnceResolved) {
  const std::string dir = MakeTempDir("schemad-e2e-health");
  WriteFiles(dir + "/catalog", {{"1_a.up.sql", "CREATE TABLE a (id int);\n"},
                                {"2_bad.up.sql",
                                 "-- schemad:no-transaction\nCREATE TABLE c (id int);\n"
                                 "SELECT * FROM missing_table;\n"}});
  ServerConfig config;
  config.targets.push_back(
      {"dev", "dev", dir + "/catalog", TestPostgres::Get().CreateDatabase(), ""});
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  const std::string address = server->address();

  EXPECT_EQ(AwaitHealth(address, "schemad.v1.SchemaService", "SERVING"), "SERVING");
  EXPECT_EQ(AwaitHealth(address, "schemad.target.dev", "SERVING"), "SERVING");
  EXPECT_EQ(Health(address, "schemad.target.nope"), "error 5");  // NOT_FOUND

  EXPECT_EQ(server->Cli({"apply", "-t", "dev"}).exit_code, 1);
  EXPECT_EQ(AwaitHealth(address, "schemad.target.dev", "NOT_SERVING"), "NOT_SERVING");
  CommandResult status = server->Cli({"--json", "status", "-t", "dev"});
  const size_t at = status.out.find("\"run_id\":\"");
  ASSERT_NE(at, std::string::npos) << status.out;
  const std::string run_id = status.out.substr(at + 10, 36);
  CommandResult resolved = server->Cli({"resolve", "-t", "dev", "--run", run_id, "--mark-done"});
  EXPECT_EQ(resolved.exit_code, 0) << resolved.err;
  EXPECT_EQ(AwaitHealth(address, "schemad.target.dev", "SERVING"), "SERVING");

  // Draining: NOT_SERVING from the signal on (gRPC's own shutdown says so too).
  EXPECT_EQ(server->Stop(SIGTERM), 0);
}

// The service is NOT_SERVING until its catalogs are parsed (in the background after start-up:
// a 6 MB file takes a while, even more under ASan), then SERVING.
TEST(HealthE2eTest, TheServiceIsNotServingUntilItsCatalogsAreParsed) {
  const std::string dir = MakeTempDir("schemad-e2e-health-parse");
  std::string seed = "CREATE TABLE seed (id bigint, title text);\n";
  for (int i = 0; seed.size() < (6u << 20); ++i) {
    absl::StrAppend(&seed, "INSERT INTO seed VALUES (", i, ", 'Набавка на опрема ", i, "');\n");
  }
  WriteFiles(dir + "/catalog", {{"1_seed.up.sql", seed}});
  ServerConfig config;
  config.targets.push_back(
      {"dev", "dev", dir + "/catalog", TestPostgres::Get().CreateDatabase(), ""});
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  EXPECT_EQ(Health(server->address(), "schemad.v1.SchemaService"), "NOT_SERVING");
  EXPECT_EQ(AwaitHealth(server->address(), "schemad.v1.SchemaService", "SERVING"), "SERVING");
  EXPECT_THAT(server->Log(), HasSubstr("parsed 1 files"));
}

TEST(QuotaE2eTest, ACallerBeyondItsQuotaIsRefusedNamingTheLimitAndOthersAreNot) {
  const std::string dir = MakeTempDir("schemad-e2e-quota");
  const std::string catalog = WriteCatalog(dir + "/catalog");
  ServerConfig config;
  config.targets.push_back({"dev", "dev", catalog, TestPostgres::Get().CreateDatabase(), ""});
  const std::string locked_dsn = TestPostgres::Get().CreateDatabase();
  config.targets.push_back({"locked", "dev", catalog, locked_dsn, ""});
  config.tokens.push_back({"bot", "bot-token", {{"*", "viewer"}}});
  config.tokens.push_back({"other-bot", "other-token", {{"*", "viewer"}}});
  config.tokens.push_back({"deployer", "deploy-token", {{"*", "admin"}}});
  config.extra_yaml =
      "max_threads: 8\nlimits:\n  watches_per_caller: 3\n  calls_per_caller: 4\n"
      "  reserved_for_changes: 4\n";
  auto started = ServerProcess::Start(config);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);

  {
    Watchers three(server->address(), "dev", "bot-token", 3, 1);
    EXPECT_EQ(three.AwaitMessages(1, absl::Seconds(30)), 3);
    Watchers fourth(server->address(), "dev", "bot-token", 1, 1);
    fourth.AwaitMessages(1, absl::Seconds(2));
    for (int i = 0; i < 100 && fourth.ended() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(fourth.first_error().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(fourth.first_error().error_message(),
                HasSubstr("bot holds 3 open WatchVersion streams, the most one caller may hold "
                          "(limits.watches_per_caller)"));
    Watchers other(server->address(), "dev", "other-token", 1, 1);
    EXPECT_EQ(other.AwaitMessages(1, absl::Seconds(30)), 1);
  }
  // Closed streams give their quota back.
  Watchers again(server->address(), "dev", "bot-token", 3, 1);
  EXPECT_EQ(again.AwaitMessages(1, absl::Seconds(30)), 3);

  // Reads fill the sync threads they may use (each waits on a lock held on its target's
  // history table); an Apply on another target still finds a thread kept for it.
  ASSERT_EQ(
      server->Cli({"--token", "deploy-token", "apply", "-t", "locked", "--to", "1"}).exit_code, 0);
  pqxx::connection holder(locked_dsn);
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE schemad.migrations IN ACCESS EXCLUSIVE MODE");
  std::vector<CommandResult> reads(8);
  std::vector<std::thread> readers;
  for (int i = 0; i < 8; ++i) {
    readers.emplace_back([&, i] {
      reads[i] =
          server->Cli({"--token", i % 2 ? "bot-token" : "other-token", "status", "-t", "locked"});
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CommandResult apply = server->Cli({"--token", "deploy-token", "apply", "-t", "dev"});
  EXPECT_EQ(apply.exit_code, 0) << apply.err;
  lock.abort();
  for (auto& reader : readers) reader.join();
  int refused = 0, answered = 0;
  for (const CommandResult& read : reads) {
    refused += read.err.find(
                   "reads in flight, the most it takes (max_threads less "
                   "limits.reserved_for_changes") != std::string::npos;
    answered += read.exit_code == 0;
  }
  EXPECT_EQ(refused, 4);
  EXPECT_EQ(answered, 4);

  // A denied GetVersion (callback API) is still audited, written off the callback thread.
  auto stub = Stub(server->address());
  EXPECT_EQ(GetVersion(*stub, "dev", "wrong-token").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::string history;
  for (int i = 0; i < 100 && history.find("denied GetVersion") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    history = server->Cli({"--token", "deploy-token", "--json", "history", "-t", "dev"}).out;
  }
  EXPECT_THAT(history, AllOf(HasSubstr("\"action\":\"denied GetVersion\""),
                             HasSubstr("\"outcome\":\"UNAUTHENTICATED\"")));
}

}  // namespace
}  // namespace schemad::testing
