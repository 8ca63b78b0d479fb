// The bad-input catalogue (tests/testdata/bad, see its README): every case is a folder, and
// each gets exactly the code and message in its `expected` file. A catalog or config case is
// given to a real schemad at start-up, which must refuse it; a request case is sent as raw
// protobuf to a real schemad serving a good catalog. Adding a case is adding a folder.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "schemad/v1/schemad.grpc.pb.h"
#include "tests/support/golden.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kBad[] = SCHEMAD_SOURCE_DIR "/tests/testdata/bad";
constexpr char kSmall[] = SCHEMAD_SOURCE_DIR "/tests/testdata/catalogs/small";

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(kBad)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Replaces what differs between runs (temporary folders, database names, ports) by names.
std::string Normalize(std::string text,
                      const std::vector<std::pair<std::string, std::string>>& replacements) {
  for (const auto& [from, to] : replacements) {
    if (from.empty()) continue;
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
      at += to.size();
    }
  }
  text = std::regex_replace(text, std::regex("/tmp/schemad-testpg-[A-Za-z0-9]+"), "<pg>");
  text = std::regex_replace(text, std::regex("PGSQL\\.[0-9]+"), "PGSQL.<port>");
  return std::regex_replace(text, std::regex("t_[0-9]+_[0-9]+"), "<db>");
}

// The "msg" of one json log line, unescaped.
std::string JsonMessage(absl::string_view line) {
  const size_t at = line.find("\"msg\":\"");
  if (at == absl::string_view::npos) return "";
  absl::string_view msg = line.substr(at + 7);
  absl::ConsumeSuffix(&msg, "\"}");
  std::string message;
  for (size_t i = 0; i < msg.size(); ++i) {  // JSON string escapes, as schemad writes them
    if (msg[i] != '\\' || i + 1 == msg.size()) {
      message += msg[i];
      continue;
    }
    const char escaped = msg[++i];
    message += escaped == 'n' ? '\n' : escaped == 't' ? '\t' : escaped;
  }
  return message;
}

// The message of schemad's last critical log line (json format), or the whole log.
std::string CriticalMessage(const std::string& log) {
  std::string message;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "\"level\":\"critical\"")) message = JsonMessage(line);
  }
  return message.empty() ? "no critical log line; the log was:\n" + log : message;
}

// The messages of schemad's log lines at `level` (json format), joined by " | ".
std::string LogMessages(const std::string& log, const std::string& level) {
  std::string joined;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!absl::StrContains(line, "\"level\":\"" + level + "\"")) continue;
    absl::StrAppend(&joined, joined.empty() ? "" : " | ", JsonMessage(line));
  }
  return joined;
}

// A config case: schemad must refuse to start. Returns "exit N: message".
std::string ConfigOutcome(const fs::path& case_dir, const std::string& dsn) {
  CommandOptions options;
  options.env = {"TEST_DSN=" + dsn};
  absl::StatusOr<CommandResult> run =
      RunCommand({"timeout", "20", SCHEMAD_BIN, "--config", (case_dir / "schemad.yaml").string(),
                  "--log-format", "json"},
                 options);
  if (!run.ok()) return run.status().ToString();
  return Normalize(
      absl::StrCat("exit ", run->exit_code, ": ", CriticalMessage(run->out + run->err)),
      {{case_dir.string(), "<case>"}, {SCHEMAD_SOURCE_DIR, "<src>"}});
}

// A catalog case, served as target dev. Either schemad refuses to start ("exit N: message"),
// or it serves and reports the file when it parses the catalog after start-up, and a plan of
// target dev is refused: "serves; log: …; plan: exit N: …".
std::string CatalogOutcome(const fs::path& case_dir, const std::string& dsn) {
  // Copied, so that special files can be made.
  const std::string root = MakeTempDir("schemad-bad");
  fs::copy(case_dir / "catalog", root + "/catalog",
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  if (fs::exists(case_dir / "catalog" / "mkfifo")) {
    fs::remove(root + "/catalog/mkfifo");
    std::ifstream names(case_dir / "catalog" / "mkfifo");
    for (std::string name; std::getline(names, name);) {
      if (!name.empty()) {
        EXPECT_EQ(mkfifo((root + "/catalog/" + name).c_str(), 0644), 0);
      }
    }
  }
  WriteFiles(root, {{"schemad.yaml",
                     "targets:\n  - name: dev\n    environment: dev\n"
                     "    catalog: catalog\n    dsn_env: TEST_DSN\n"}});
  const std::vector<std::pair<std::string, std::string>> names = {{root, "<case>"},
                                                                  {SCHEMAD_SOURCE_DIR, "<src>"}};
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::StartWithArgs(
      {"--config", root + "/schemad.yaml", "--log-format", "json"}, {"TEST_DSN=" + dsn});
  if (!server.ok()) {
    // "schemad exited with N:\n<log>"
    const std::string message(server.status().message());
    const size_t colon = message.find(':');
    return Normalize(absl::StrCat("exit ", message.substr(20, colon - 20), ": ",
                                  CriticalMessage(message.substr(colon + 1))),
                     names);
  }
  for (int i = 0; i < 200 && !absl::StrContains((*server)->Log(), "parsed "); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  CommandResult plan = (*server)->Cli({"plan", "-t", "dev"});
  return Normalize(
      absl::StrCat("serves; log: ", LogMessages((*server)->Log(), "error"), "; plan: exit ",
                   plan.exit_code, ": ", absl::StripTrailingAsciiWhitespace(plan.err)),
      names);
}

// The header lines of a request case: "# method: Plan", "# token: admin".
std::string Header(const std::string& text, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "# " + key + ": ")) return std::string(line);
  }
  return "";
}

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dsn_ = new std::string(TestPostgres::Get().CreateDatabase());
    // Target "badpass": a role that needs a password, given a wrong one. The test cluster
    // trusts local connections, so a rule for this one role goes in front of pg_hba.conf.
    // Only on the tests' own throwaway cluster, never on a server named by SCHEMAD_TEST_PG_DSN.
    if (!external_) {
      const std::string hba = TestPostgres::MustQueryOne(*dsn_, "SHOW hba_file");
      const std::string rules = ReadTextFile(hba);
      if (!absl::StrContains(rules, "schemad_pw")) {
        WriteFiles(hba.substr(0, hba.rfind('/')),
                   {{hba.substr(hba.rfind('/') + 1),
                     "local all schemad_pw scram-sha-256\nhost all schemad_pw all scram-sha-256\n" +
                         rules}});
      }
      TestPostgres::MustQuery(*dsn_,
                              "DO $$ BEGIN CREATE ROLE schemad_pw LOGIN PASSWORD 'right-secret'; "
                              "EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      TestPostgres::MustQuery(*dsn_, "SELECT pg_reload_conf()");
    }
    ServerConfig config;
    config.targets = {
        {"dev", "dev", kSmall, *dsn_, ""},
        {"down", "dev", kSmall, "host=127.0.0.1 port=1 dbname=x connect_timeout=5", ""},
        {"norole", "dev", kSmall, *dsn_ + " user=schemad_no_such_role", ""},
        {"badpass", "dev", kSmall, *dsn_ + " user=schemad_pw password=wrong-secret", ""}};
    config.tokens = {{"ci", "admin-token", {{"*", "admin"}}},
                     {"prod-reader", "prod-viewer-token", {{"prod", "viewer"}}},
                     {"dev-reader", "dev-viewer-token", {{"dev", "viewer"}}}};
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    stub_ = v1::SchemaService::NewStub(
                grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()))
                .release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    delete server_;
    delete dsn_;
  }

  template <typename Request, typename Response>
  std::string Call(const std::string& text,
                   grpc::Status (v1::SchemaService::Stub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*)) {
    Request request;
    if (!google::protobuf::TextFormat::ParseFromString(text, &request)) return "bad textproto";
    Response response;
    grpc::ClientContext context;
    Authorize(text, &context);
    return Outcome((stub_->*method)(&context, request, &response));
  }

  template <typename Request>
  std::string Stream(const std::string& text,
                     std::unique_ptr<grpc::ClientReader<v1::RunEvent>> (
                         v1::SchemaService::Stub::*method)(grpc::ClientContext*, const Request&)) {
    Request request;
    if (!google::protobuf::TextFormat::ParseFromString(text, &request)) return "bad textproto";
    grpc::ClientContext context;
    Authorize(text, &context);
    std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader = (stub_->*method)(&context, request);
    v1::RunEvent event;
    std::string events;
    while (reader->Read(&event)) events += " " + event.ShortDebugString();
    const grpc::Status status = reader->Finish();
    if (status.ok()) return "OK (the request ran:" + events + ")";
    return Outcome(status);
  }

  static void Authorize(const std::string& text, grpc::ClientContext* context) {
    const std::string token = Header(text, "token");
    if (token != "none") context->AddMetadata("authorization", "Bearer " + token + "-token");
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }

  static std::string Outcome(const grpc::Status& status) {
    static const char* const kCodes[] = {"OK",
                                         "CANCELLED",
                                         "UNKNOWN",
                                         "INVALID_ARGUMENT",
                                         "DEADLINE_EXCEEDED",
                                         "NOT_FOUND",
                                         "ALREADY_EXISTS",
                                         "PERMISSION_DENIED",
                                         "RESOURCE_EXHAUSTED",
                                         "FAILED_PRECONDITION",
                                         "ABORTED",
                                         "OUT_OF_RANGE",
                                         "UNIMPLEMENTED",
                                         "INTERNAL",
                                         "UNAVAILABLE",
                                         "DATA_LOSS",
                                         "UNAUTHENTICATED"};
    return Normalize(absl::StrCat(kCodes[status.error_code()], ": ", status.error_message()),
                     {{server_->address(), "<server>"}});
  }

  std::string RequestOutcome(const std::string& text) {
    const std::string method = Header(text, "method");
    using Stub = v1::SchemaService::Stub;
    if (method == "GetStatus") return Call(text, &Stub::GetStatus);
    if (method == "GetVersion") return Call(text, &Stub::GetVersion);
    if (method == "Plan") return Call(text, &Stub::Plan);
    if (method == "ResolveRun") return Call(text, &Stub::ResolveRun);
    if (method == "RepairChecksums") return Call(text, &Stub::RepairChecksums);
    if (method == "ValidateCoverage") return Call(text, &Stub::ValidateCoverage);
    if (method == "GetHistory") return Call(text, &Stub::GetHistory);
    if (method == "Apply") return Stream(text, &Stub::Apply);
    if (method == "Rollback") return Stream(text, &Stub::Rollback);
    return "unknown method \"" + method + "\" in the case's header";
  }

  static inline const bool external_ = std::getenv("SCHEMAD_TEST_PG_DSN") != nullptr;
  static std::string* dsn_;
  static ServerProcess* server_;
  static v1::SchemaService::Stub* stub_;
};

std::string* BadInputTest::dsn_ = nullptr;
ServerProcess* BadInputTest::server_ = nullptr;
v1::SchemaService::Stub* BadInputTest::stub_ = nullptr;

TEST_F(BadInputTest, EveryCaseGetsItsExpectedCodeAndMessage) {
  const std::vector<std::string> names = CaseNames();
  EXPECT_GE(names.size(), 40u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const fs::path dir = fs::path(kBad) / name;
    std::string outcome;
    if (external_ && name == "request_dsn_wrong_password") continue;  // needs our pg_hba rule
    if (fs::exists(dir / "request.txtpb")) {
      outcome = RequestOutcome(ReadTextFile((dir / "request.txtpb").string()));
    } else if (fs::exists(dir / "schemad.yaml")) {
      outcome = ConfigOutcome(dir, *dsn_);
    } else if (fs::exists(dir / "catalog")) {
      outcome = CatalogOutcome(dir, *dsn_);
    } else {
      ADD_FAILURE() << "case " << name << " has no request.txtpb, schemad.yaml or catalog/";
      continue;
    }
    EXPECT_FALSE(absl::StrContains(outcome, "secret")) << "a DSN password reached a response";
    ExpectGolden("bad/" + name + "/expected", outcome + "\n");
  }
  // The server answered every request case and is still serving.
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer admin-token");
  v1::GetVersionRequest request;
  request.set_target("dev");
  v1::VersionInfo version;
  EXPECT_TRUE(stub_->GetVersion(&context, request, &version).ok());
}

}  // namespace
}  // namespace schemad::testing
