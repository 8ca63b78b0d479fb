// The real schemad binary and the real schemactl binary, on loopback: listing, version,
// status, authentication, a Python client, and the zero-config default.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "schemad/v1/schemad.grpc.pb.h"
#include "server/common/subprocess.h"
#include "tests/support/raw_call.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCatalog[] = SCHEMAD_SOURCE_DIR "/migrations/nabavkidata";

// True once `pid` has exited (a zombie waiting for its reaper counts as gone).
bool ProcessGone(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    const std::string stat = ReadTextFile(absl::StrCat("/proc/", pid, "/stat"));
    const size_t paren = stat.rfind(')');
    if (stat.empty() || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z")) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int CatalogRevisionCount() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kCatalog)) {
    count += absl::EndsWith(entry.path().string(), ".up.sql");
  }
  return count;
}

// Both binaries say what they are (version, the commit built, the API package); schemactl's
// `version` command stays the target's schema version.
TEST(VersionFlagTest, BothBinariesPrintTheirVersionAndCommit) {
  for (const char* binary : {SCHEMAD_BIN, SCHEMACTL_BIN}) {
    absl::StatusOr<CommandResult> version = RunCommand({binary, "--version"});
    ASSERT_TRUE(version.ok()) << version.status();
    EXPECT_EQ(version->exit_code, 0) << binary << version->err;
    EXPECT_THAT(version->out, AllOf(HasSubstr(" 0.1.0 (commit "), HasSubstr("API schemad.v1)")))
        << binary;
    if (std::filesystem::exists(SCHEMAD_SOURCE_DIR "/.git")) {
      EXPECT_THAT(version->out, Not(HasSubstr("commit unknown"))) << "built from a git checkout";
    }
  }
  EXPECT_THAT(RunCli({"version", "--help"}).out, HasSubstr("schemactl's own is --version"));
}

// The ready file is there while schemad serves, and gone once it stopped.
TEST(ReadyFileTest, IsRemovedOnExit) {
  const std::string dir = MakeTempDir("schemad-ready");
  WriteFiles(dir, {{"dsn", TestPostgres::Get().CreateDatabase() + "\n"},
                   {"schemad.yaml", absl::StrCat("listen: 127.0.0.1:0\ntargets:\n  - name: dev\n"
                                                 "    environment: dev\n    catalog: ",
                                                 kCatalog, "\n    dsn_file: ", dir, "/dsn\n")}});
  absl::StatusOr<pid_t> pid = SpawnProcess(
      {SCHEMAD_BIN, "--config", dir + "/schemad.yaml", "--ready-file", dir + "/mine.ready"}, {},
      dir + "/log");
  ASSERT_TRUE(pid.ok()) << pid.status();
  for (int i = 0; i < 1000 && !std::filesystem::exists(dir + "/mine.ready"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/mine.ready")) << ReadTextFile(dir + "/log");
  kill(*pid, SIGTERM);
  int status = 0;
  waitpid(*pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadTextFile(dir + "/log");
  EXPECT_FALSE(std::filesystem::exists(dir + "/mine.ready"));
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = TestPostgres::Get().CreateDatabase();
    ServerConfig config;
    config.targets.push_back({"dev", "dev", kCatalog, dsn_, ""});
    config.targets.push_back({"prod", "prod", kCatalog, dsn_, ""});
    config.tokens.push_back({"alice", "alice-token", {{"*", "admin"}}});
    config.tokens.push_back({"viewer-bot", "viewer-token", {{"*", "viewer"}}});
    config.tokens.push_back({"dev-only", "dev-token", {{"dev", "deployer"}}});
    auto server = ServerProcess::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  CommandResult Cli(const std::vector<std::string>& args,
                    const std::string& token = "alice-token") {
    std::vector<std::string> full = args;
    if (!token.empty()) full.insert(full.begin(), {"--token", token});
    return server_->Cli(full);
  }
  std::string dsn_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(CliTest, TargetsListsWhatTheCallerMaySee) {
  CommandResult all = Cli({"targets"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_THAT(all.out, AllOf(HasSubstr("TARGET"), HasSubstr("dev "), HasSubstr("prod"),
                             HasSubstr("nabavkidata")));
  CommandResult dev_only = Cli({"targets", "--json"}, "dev-token");
  ASSERT_EQ(dev_only.exit_code, 0) << dev_only.err;
  EXPECT_THAT(dev_only.out, AllOf(HasSubstr("\"name\":\"dev\""), Not(HasSubstr("\"prod\""))));
}

TEST_F(CliTest, VersionJsonHasStableFields) {
  CommandResult result = Cli({"version", "--target", "dev", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out,
              AllOf(HasSubstr("\"target\":\"dev\""), HasSubstr("\"current_version\":\"\""),
                    HasSubstr(absl::StrCat("\"pending_count\":", CatalogRevisionCount())),
                    HasSubstr("\"latest_version\":\"20251125_"), HasSubstr("\"blocked\":false")));
}

TEST_F(CliTest, StatusExitCodeIsThreeWhilePendingThenZero) {
  CommandResult pending = Cli({"status", "-t", "dev", "--exit-code"});
  EXPECT_EQ(pending.exit_code, 3) << pending.err;
  EXPECT_THAT(pending.out, AllOf(HasSubstr("20251123_153004  add_fraud_prevention_tables"),
                                 HasSubstr("nothing applied yet")));
  CommandResult apply = Cli({"apply", "-t", "dev"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("APPLIED"));
  CommandResult current = Cli({"status", "-t", "dev", "--exit-code"});
  EXPECT_EQ(current.exit_code, 0) << current.err;
  EXPECT_THAT(current.out,
              AllOf(HasSubstr("applied"), HasSubstr(" 0 pending"), HasSubstr("alice")));
}

TEST_F(CliTest, MissingTokenIsUnauthenticated) {
  CommandResult result = Cli({"version", "-t", "dev"}, "");
  EXPECT_EQ(result.exit_code, 8);
  EXPECT_THAT(result.err, AllOf(HasSubstr("not authenticated"), HasSubstr("missing bearer token")));
}

TEST_F(CliTest, TokenFromAFile) {
  const std::string dir = MakeTempDir("schemad-token");
  WriteFiles(dir, {{"token", "viewer-token\n"}});
  CommandResult result = server_->Cli({"--token-file", dir + "/token", "version", "-t", "dev"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(CliTest, WrongTokenIsUnauthenticated) {
  CommandResult result = Cli({"status", "-t", "dev"}, "guess");
  EXPECT_EQ(result.exit_code, 8);
  EXPECT_THAT(result.err, HasSubstr("invalid bearer token"));
}

TEST_F(CliTest, ViewerCannotRollBackOrApply) {
  CommandResult rollback = Cli({"rollback", "-t", "dev", "--steps", "1"}, "viewer-token");
  EXPECT_EQ(rollback.exit_code, 8);
  EXPECT_THAT(rollback.err, AllOf(HasSubstr("not allowed"),
                                  HasSubstr("Rollback on a dev target needs role admin"),
                                  HasSubstr("viewer-bot has viewer")));
  CommandResult apply = Cli({"apply", "-t", "dev"}, "viewer-token");
  EXPECT_EQ(apply.exit_code, 8);
  EXPECT_THAT(apply.err, HasSubstr("needs role deployer"));
  CommandResult prod = Cli({"status", "-t", "prod"}, "dev-token");
  EXPECT_EQ(prod.exit_code, 8);
  EXPECT_THAT(prod.err, HasSubstr("dev-only has none"));
  // Issue 10, item 11 (the log half): every denial is logged with principal and peer.
  EXPECT_THAT(
      server_->Log(),
      AllOf(HasSubstr("denied Rollback target=dev principal=viewer-bot peer=ipv4:127.0.0.1"),
            HasSubstr("denied GetStatus target=prod principal=dev-only")));
}

// Issue 10, item 11 (the audit half): a denied call is an event in the audit log of the target
// it named (once the target has one), at most once a minute per caller, method and target.
TEST_F(CliTest, DeniedCallsAreAudited) {
  CommandResult before = Cli({"plan", "-t", "dev"}, "guess");
  EXPECT_EQ(before.exit_code, 8);  // no bookkeeping schema yet: logged, not written
  ASSERT_EQ(Cli({"apply", "-t", "dev"}).exit_code, 0);
  EXPECT_EQ(Cli({"status", "-t", "dev"}, "guess").exit_code, 8);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Cli({"rollback", "-t", "dev", "--steps", "1", "--yes"}, "viewer-token").exit_code, 8);
  }
  CommandResult history = Cli({"history", "-t", "dev", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_THAT(
      history.out,
      AllOf(HasSubstr("\"action\":\"denied GetStatus\""), HasSubstr("\"principal\":\"unknown\""),
            HasSubstr("\"outcome\":\"UNAUTHENTICATED\""),
            HasSubstr("\"action\":\"denied Rollback\""), HasSubstr("\"principal\":\"viewer-bot\""),
            HasSubstr("\"outcome\":\"PERMISSION_DENIED\""), HasSubstr("peer ipv4:127.0.0.1:")));
  const auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = history.out.find(needle); at != std::string::npos;
         at = history.out.find(needle, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("denied Rollback"), 1u);
  EXPECT_EQ(count("denied GetStatus"), 1u);
  EXPECT_EQ(count("denied Plan"), 0u);
  EXPECT_THAT(server_->Log(), HasSubstr("denied Plan target=dev principal=unknown"));
  EXPECT_THAT(history.out, Not(HasSubstr("guess")));  // the token is never written
}

// Every RPC of the service, called raw without a token, is refused before it does anything.
TEST_F(CliTest, EveryRpcRequiresAToken) {
  const auto* service =
      v1::GetVersionRequest::descriptor()->file()->FindServiceByName("SchemaService");
  ASSERT_NE(service, nullptr);
  ASSERT_GE(service->method_count(), 10);
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* method = service->method(i);
    std::string response;
    const grpc::Status status =
        RawUnaryCall(server_->address(),
                     absl::StrCat("/", service->full_name(), "/", method->name()), "", &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method->name();
  }
}

TEST_F(CliTest, UnknownTargetIsNotFound) {
  CommandResult result = Cli({"status", "-t", "staging"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("unknown target \"staging\""));
}

TEST_F(CliTest, UnreachableServerIsOneClearLine) {
  CommandResult result = RunCli({"--server", "127.0.0.1:1", "--timeout", "3", "targets"});
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_EQ(result.err,
            "schemactl: cannot reach schemad at 127.0.0.1:1 (is it running? set --server or "
            "SCHEMAD_SERVER)\n");
}

TEST_F(CliTest, UsageErrorsExitTwoAndHelpListsExitCodes) {
  EXPECT_EQ(RunCli({"status"}).exit_code, 2);
  EXPECT_EQ(RunCli({"frobnicate"}).exit_code, 2);
  CommandResult help = RunCli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, AllOf(HasSubstr("Exit codes:"), HasSubstr("3  pending revisions"),
                              HasSubstr("7  unreachable")));
}

TEST_F(CliTest, NonDevApplyNeedsYesWithoutATerminal) {
  CommandResult result = Cli({"apply", "-t", "prod"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("needs confirmation: pass --yes"));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT to_regclass('public.tenders') IS NULL"), "t");
  CommandResult yes = Cli({"apply", "-t", "prod", "--yes"});
  EXPECT_EQ(yes.exit_code, 0) << yes.out << yes.err;
  EXPECT_THAT(yes.err, HasSubstr("plan hash:"));
}

TEST_F(CliTest, HashTokenPrintsTheConfigHash) {
  CommandResult result = RunCli({"hash-token"}, {}, "alice-token\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, TokenHash("alice-token") + "\n");
}

TEST_F(CliTest, PythonClientReadsTheVersion) {
  CommandOptions options;
  absl::StatusOr<CommandResult> result =
      RunCommand({"/usr/bin/python3", SCHEMAD_SOURCE_DIR "/tests/e2e/version_client.py",
                  SCHEMAD_PYTHON_STUBS, server_->address(), "dev", "viewer-token"},
                 options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->exit_code, 0) << result->out << result->err;
  EXPECT_EQ(result->out, absl::StrCat("- ", CatalogRevisionCount(), " 20251125_091000\n"));
  absl::StatusOr<CommandResult> denied =
      RunCommand({"/usr/bin/python3", SCHEMAD_SOURCE_DIR "/tests/e2e/version_client.py",
                  SCHEMAD_PYTHON_STUBS, server_->address(), "dev"},
                 options);
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->exit_code, 1);
  EXPECT_EQ(denied->out, "UNAUTHENTICATED\n");
}

// TLS with client certificates (mTLS): the only way to serve without tokens beyond loopback.
// Issue 12, item 9: the principal is the certificate's (SAN URI, else DNS name, else subject
// CN), with the roles `certificates:` gives it; a run names it.
TEST(TlsTest, MutualTlsNamesTheCallerByItsCertificate) {
  const std::string dir = MakeTempDir("schemad-tls");
  WriteFiles(dir, {{"server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"},
                   {"deployer.ext", "subjectAltName=URI:spiffe://schemad.test/deploy-pipeline\n"}});
  auto openssl = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandOptions options;
    options.working_dir = dir;
    absl::StatusOr<CommandResult> result = RunCommand(argv, options);
    ASSERT_TRUE(result.ok() && result->exit_code == 0)
        << absl::StrJoin(args, " ") << ": " << (result.ok() ? result->err : "");
  };
  openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
           "-days", "1", "-subj", "/CN=schemad-test-ca"});
  // deployer: a SAN URI (and a CN that must not be used); viewer: a CN only; stranger: a CN
  // no entry names.
  for (const std::string name : {"server", "deployer", "viewer", "stranger"}) {
    openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
             name + ".csr", "-subj", "/CN=" + (name == "viewer" ? "ops-viewer" : name)});
    std::vector<std::string> sign = {"x509",        "-req",   "-in",    name + ".csr",     "-CA",
                                     "ca.pem",      "-CAkey", "ca.key", "-CAcreateserial", "-out",
                                     name + ".pem", "-days",  "1"};
    if (name == "server" || name == "deployer")
      sign.insert(sign.end(), {"-extfile", name + ".ext"});
    openssl(sign);
  }
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config;
  config.targets.push_back(
      {"dev", "dev", SCHEMAD_SOURCE_DIR "/tests/testdata/catalogs/small", dsn, ""});
  config.extra_yaml = absl::StrCat(
      "tls:\n  cert_file: ", dir, "/server.pem\n  key_file: ", dir,
      "/server.key\n  client_ca_file: ", dir,
      "/ca.pem\n"
      "certificates:\n"
      "  - principal: spiffe://schemad.test/deploy-pipeline\n    roles: {dev: deployer}\n"
      "  - principal: ops-viewer\n    roles: {dev: viewer}\n");
  auto server = ServerProcess::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  auto as = [&](const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> full = {"--tls-ca", dir + "/ca.pem"};
    if (!name.empty()) {
      full.insert(full.end(), {"--tls-cert", dir + "/" + name + ".pem", "--tls-key",
                               dir + "/" + name + ".key"});
    }
    full.insert(full.end(), args.begin(), args.end());
    return (*server)->Cli(full);
  };
  CommandResult viewer = as("viewer", {"version", "-t", "dev"});
  EXPECT_EQ(viewer.exit_code, 0) << viewer.err;
  EXPECT_THAT(viewer.out, HasSubstr("dev: nothing applied yet"));
  CommandResult viewer_applies = as("viewer", {"apply", "-t", "dev"});
  EXPECT_EQ(viewer_applies.exit_code, 8);
  EXPECT_THAT(viewer_applies.err, HasSubstr("needs role deployer; ops-viewer has viewer"));
  CommandResult deployer = as("deployer", {"apply", "-t", "dev"});
  EXPECT_EQ(deployer.exit_code, 0) << deployer.out << deployer.err;
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn,
                                       "SELECT string_agg(DISTINCT principal, ',') FROM "
                                       "schemad.runs"),
            "spiffe://schemad.test/deploy-pipeline");
  EXPECT_EQ(
      TestPostgres::MustQueryOne(dsn,
                                 "SELECT count(*) FROM schemad.events WHERE principal = "
                                 "'spiffe://schemad.test/deploy-pipeline' AND action = 'apply'"),
      "1");
  CommandResult stranger = as("stranger", {"version", "-t", "dev"});
  EXPECT_EQ(stranger.exit_code, 8);
  EXPECT_THAT(stranger.err,
              HasSubstr("client certificate of \"stranger\" is not in the server's certificates"));
  CommandResult without_certificate = as("", {"version", "-t", "dev"});
  EXPECT_EQ(without_certificate.exit_code, 7) << without_certificate.err;
  CommandResult plaintext = (*server)->Cli({"version", "-t", "dev"});
  EXPECT_EQ(plaintext.exit_code, 7) << plaintext.err;
}

TEST(ServerStartTest, BadConfigRefusesToStartNamingTheKey) {
  const std::string dir = MakeTempDir("schemad-badconfig");
  WriteFiles(dir, {{"schemad.yaml",
                    "targets:\n  - name: dev\n    environment: dev\n"
                    "    catalog: missing-catalog\n    dsn_env: X\n"}});
  auto server = ServerProcess::StartWithArgs({"--config", dir + "/schemad.yaml"});
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()),
              AllOf(HasSubstr("exited with 1"), HasSubstr("targets[0].catalog"),
                    HasSubstr("missing-catalog")));
}

TEST(ServerStartTest, NonLoopbackWithoutTokensIsRefused) {
  const std::string dir = MakeTempDir("schemad-open");
  WriteFiles(dir, {{"schemad.yaml", absl::StrCat("targets:\n  - name: dev\n    environment: dev\n"
                                                 "    catalog: ",
                                                 kCatalog, "\n    dsn_env: X\n")}});
  auto server = ServerProcess::StartWithArgs(
      {"--config", dir + "/schemad.yaml", "--listen", "0.0.0.0:0"}, {"X=host=/nowhere"});
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("not a loopback address"));
}

TEST(ServerStartTest, JsonLogsAreOneObjectPerLine) {
  const std::string dir = MakeTempDir("schemad-json");
  WriteFiles(dir, {{"schemad.yaml", absl::StrCat("targets:\n  - name: dev\n    environment: dev\n"
                                                 "    catalog: ",
                                                 kCatalog, "\n    dsn_env: X\n")}});
  auto server =
      ServerProcess::StartWithArgs({"--config", dir + "/schemad.yaml", "--log-format", "json"},
                                   {absl::StrCat("X=", TestPostgres::Get().CreateDatabase())});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->Stop(SIGTERM), 0);
  const std::string log = (*server)->Log();
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"ts_ms\":") && absl::EndsWith(line, "\"}")) << line;
    ++lines;
  }
  EXPECT_GE(lines, 3);
  EXPECT_THAT(log, AllOf(HasSubstr("serving on 127.0.0.1:"), Not(HasSubstr("host="))));
}

// The zero-config default: private PostgreSQL, target dev, bundled catalog; a clean stop
// leaves no postgres process behind; a second start reuses the cluster, even after a crash
// left a stale postmaster.pid.
TEST(ZeroConfigTest, StartsServesAndStopsCleanly) {
  const std::string state = MakeTempDir("schemad-zc");
  auto server = ServerProcess::StartWithArgs({"--state-dir", state});
  ASSERT_TRUE(server.ok()) << server.status();
  CommandResult version = (*server)->Cli({"version", "-t", "dev", "--json"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_THAT(version.out, HasSubstr("\"target\":\"dev\""));
  // The zero-config default keeps its control database (the central audit) on the same cluster.
  EXPECT_EQ((*server)->Cli({"apply", "-t", "dev", "--to", "20251123_153004"}).exit_code, 0);
  CommandResult audit = (*server)->Cli({"audit", "--verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  // The folder's content published as a release, then the apply.
  EXPECT_EQ(audit.out, "audit chain intact: 2 row(s)\n");
  const std::string pid_file = state + "/pgdata/postmaster.pid";
  ASSERT_TRUE(std::filesystem::exists(pid_file));
  const pid_t postmaster = std::stoi(ReadTextFile(pid_file));
  EXPECT_EQ(kill(postmaster, 0), 0);
  EXPECT_EQ((*server)->Stop(SIGINT), 0) << (*server)->Log();
  EXPECT_TRUE(ProcessGone(postmaster)) << "postgres " << postmaster << " is still running";
  EXPECT_FALSE(std::filesystem::exists(pid_file));

  // A crash leaves a postmaster.pid whose process is gone.
  WriteFiles(state + "/pgdata", {{"postmaster.pid", "999999\n" + state + "/pgdata\n"}});
  auto again = ServerProcess::StartWithArgs({"--state-dir", state});
  ASSERT_TRUE(again.ok()) << again.status();
  CommandResult targets = (*again)->Cli({"targets"});
  EXPECT_EQ(targets.exit_code, 0) << targets.err;
  EXPECT_THAT(targets.out, HasSubstr("nabavkidata"));
  EXPECT_EQ((*again)->Stop(SIGTERM), 0);
}

// Issue 11, item 4: schemactl wait for init containers and deploy scripts: 0 when the target
// reaches the version (also across a schemad crash and restart while it waits), 3 on timeout,
// 6 when a failed run blocks the target, 7 when schemad cannot be reached, 2 for a bad version.
TEST(WaitE2eTest, WaitExitCodesAndARestartDuringTheWait) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string dir = MakeTempDir("schemad-e2e-wait");
  WriteFiles(dir + "/catalog", {{"1_a.up.sql", "CREATE TABLE a (id int);\n"},
                                {"2_b.up.sql", "CREATE TABLE b (id int);\n"},
                                {"3_bad.up.sql",
                                 "-- schemad:no-transaction\nCREATE TABLE c (id int);\n"
                                 "SELECT * FROM missing_table;\n"}});
  WriteFiles(dir, {{"schemad.yaml",
                    "targets:\n  - name: dev\n    environment: dev\n"
                    "    catalog: catalog\n    dsn_env: WAIT_DSN\n"}});
  const std::vector<std::string> env = {"WAIT_DSN=" + dsn};
  auto started = ServerProcess::StartWithArgs({"--config", dir + "/schemad.yaml"}, env);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  const std::string address = server->address();

  CommandResult pending = server->Cli({"wait", "-t", "dev", "--latest", "--timeout", "1s"});
  EXPECT_EQ(pending.exit_code, 3) << pending.err;
  EXPECT_THAT(pending.err, HasSubstr("timed out after 1s: dev is at (empty), waiting for the "
                                     "latest, 3"));
  CommandResult unreachable = RunCli(
      {"--server", "127.0.0.1:1", "wait", "-t", "dev", "--min-version", "1", "--timeout", "1s"});
  EXPECT_EQ(unreachable.exit_code, 7) << unreachable.err;
  EXPECT_THAT(unreachable.err, HasSubstr("no version of dev from schemad at 127.0.0.1:1"));
  CommandResult bad = server->Cli({"wait", "-t", "dev", "--min-version", "v5"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--min-version v5: not a version"));

  // A waiter, then schemad is killed and comes back on the same address, then version 2 lands.
  CommandResult waited;
  std::thread waiter([&] {
    waited = RunCli(
        {"--server", address, "wait", "-t", "dev", "--min-version", "2", "--timeout", "60s"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server->Stop(SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  started =
      ServerProcess::StartWithArgs({"--config", dir + "/schemad.yaml", "--listen", address}, env);
  ASSERT_TRUE(started.ok()) << started.status();
  server = *std::move(started);
  CommandResult apply = server->Cli({"apply", "-t", "dev", "--to", "2"});
  EXPECT_EQ(apply.exit_code, 0) << apply.err;
  waiter.join();
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_THAT(waited.out, HasSubstr("2"));

  // Version 3 fails half-way (outside a transaction): the run blocks the target.
  EXPECT_EQ(server->Cli({"apply", "-t", "dev"}).exit_code, 1);
  CommandResult blocked = server->Cli({"wait", "-t", "dev", "--latest", "--timeout", "20s"});
  EXPECT_EQ(blocked.exit_code, 6) << blocked.err;
  EXPECT_THAT(blocked.err, HasSubstr("dev is blocked by a failed or interrupted run"));
  // At version 1 or later is still true: that waiter may go on.
  CommandResult json = server->Cli({"--json", "wait", "-t", "dev", "--min-version", "1"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"current_version\":\"2\""));
}

}  // namespace
}  // namespace schemad::testing
