// schemactl: the command-line client of schemad.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "build_info.h"
#include "client/exit_codes.h"
#include "client/render.h"
#include "grpcpp/grpcpp.h"
#include "openssl/evp.h"
#include "schemad/v1/schemad.grpc.pb.h"
#include "server/catalog/catalog.h"
#include "server/sql/lineage.h"
#include "server/sql/lint.h"
#include "yaml-cpp/yaml.h"

namespace schemad::cli {
namespace {

struct GlobalOptions {
  std::string server = "127.0.0.1:50051";
  std::string token;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  bool json = false;
  double timeout_seconds = 0;  // 0: the command's default
};

// The code, message and refusal (from the status details) of a failed call.
v1::CallError CallErrorOf(const grpc::Status& status) {
  v1::CallError error;
  error.set_code(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())));
  error.set_message(status.error_message());
  v1::StatusDetails details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& any : details.details()) {
      if (any.UnpackTo(error.mutable_refusal())) break;
    }
  }
  return error;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "schemactl: cannot read " << path << "\n";
    std::exit(kExitUsage);
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class Client {
 public:
  explicit Client(const GlobalOptions& options) : options_(options) {
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (!options.tls_ca.empty() || !options.tls_cert.empty()) {
      grpc::SslCredentialsOptions ssl;
      if (!options.tls_ca.empty()) ssl.pem_root_certs = ReadFile(options.tls_ca);
      if (!options.tls_cert.empty()) {
        ssl.pem_cert_chain = ReadFile(options.tls_cert);
        ssl.pem_private_key = ReadFile(options.tls_key);
      }
      credentials = grpc::SslCredentials(ssl);
    } else {
      credentials = grpc::InsecureChannelCredentials();
    }
    // Plans carry their files' SQL (a catalog file may be up to 64 MiB): raise gRPC's 4 MiB
    // default for what schemad sends; the server sets the same bound.
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(128 << 20);
    // `wait` retries across a schemad restart: reconnect within 2 s of it coming back, not after
    // gRPC's default back-off of up to 2 minutes.
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    channel_ = grpc::CreateCustomChannel(options.server, credentials, arguments);
    stub_ = v1::SchemaService::NewStub(channel_);
  }

  // A context with the bearer token and a deadline (`default_seconds` unless --timeout).
  std::unique_ptr<grpc::ClientContext> Context(double default_seconds) const {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
    const double seconds =
        options_.timeout_seconds > 0 ? options_.timeout_seconds : default_seconds;
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
    return context;
  }

  // Prints one clear line for a failed call (and with --json a CallError on stdout, with the
  // refusal from the status details) and returns the exit code for it.
  int Fail(const grpc::Status& status) const {
    if (options_.json) std::cout << ToJson(CallErrorOf(status)) << "\n";
    switch (status.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        if (channel_->GetState(false) != GRPC_CHANNEL_READY) {
          std::cerr << "schemactl: cannot reach schemad at " << options_.server
                    << " (is it running? set --server or SCHEMAD_SERVER)\n";
        } else {
          std::cerr << "schemactl: " << status.error_message() << "\n";
        }
        return kExitUnreachable;
      case grpc::StatusCode::UNAUTHENTICATED:
        std::cerr << "schemactl: not authenticated: " << status.error_message()
                  << " (set --token or SCHEMAD_TOKEN)\n";
        return kExitAuth;
      case grpc::StatusCode::PERMISSION_DENIED:
        std::cerr << "schemactl: not allowed: " << status.error_message() << "\n";
        return kExitAuth;
      case grpc::StatusCode::ABORTED:
        std::cerr << "schemactl: " << status.error_message() << "\n";
        return kExitLockHeld;
      case grpc::StatusCode::FAILED_PRECONDITION:
        std::cerr << "schemactl: " << status.error_message() << "\n";
        return kExitFailedPrecondition;
      default:
        std::cerr << "schemactl: " << status.error_message() << "\n";
        return kExitError;
    }
  }

  v1::SchemaService::Stub& stub() { return *stub_; }
  const GlobalOptions& options() const { return options_; }

 private:
  GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SchemaService::Stub> stub_;
};

constexpr double kReadTimeout = 30;
constexpr double kRunTimeout = 6 * 3600;

// One unary call with the client's token and a deadline.
template <typename Request, typename Response>
grpc::Status Unary(Client& client,
                   grpc::Status (v1::SchemaService::Stub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                   const Request& request, Response* response, double timeout = kReadTimeout) {
  auto context = client.Context(timeout);
  return (client.stub().*method)(context.get(), request, response);
}

void Print(const GlobalOptions& options, const google::protobuf::Message& message,
           const std::string& human) {
  std::cout << (options.json ? ToJson(message) + "\n" : human);
}

// Asks on a terminal; without one, --yes is required. Returns true to go on.
bool Confirm(const std::string& question, bool yes) {
  if (yes) return true;
  if (!isatty(STDIN_FILENO)) {
    std::cerr << "schemactl: " << question << " needs confirmation: pass --yes\n";
    return false;
  }
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
  return answer == "y" || answer == "yes";
}

// `target` as ListTargets describes it (environment and policy); nullopt with *exit_code set
// when it cannot be told.
std::optional<v1::Target> DescribeTarget(Client& client, const std::string& target,
                                         int* exit_code) {
  v1::ListTargetsResponse targets;
  grpc::Status status =
      Unary(client, &v1::SchemaService::Stub::ListTargets, v1::ListTargetsRequest(), &targets);
  if (!status.ok()) {
    *exit_code = client.Fail(status);
    return std::nullopt;
  }
  for (const v1::Target& t : targets.targets()) {
    if (t.name() == target) return t;
  }
  std::cerr << "schemactl: unknown target \"" << target << "\"\n";
  *exit_code = kExitError;
  return std::nullopt;
}

int ExitCodeOf(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_APPLIED:
    case v1::OUTCOME_NO_CHANGE:
    case v1::OUTCOME_ROLLED_BACK:
      return kExitOk;
    case v1::OUTCOME_TIMED_OUT:
      return kExitTimedOut;
    case v1::OUTCOME_INTERRUPTED:
      return kExitInterrupted;
    default:
      return kExitError;
  }
}

// Streams a run's events; returns the exit code of its outcome.
// Streams an ApplyGroup: a line per member start and end, a live tally on a terminal, and the
// members' table at the end. Exit 0 when the fleet run succeeded, 1 when a member failed or
// was skipped, 10 when it was not finished (stopped: resume it).
int FollowFleet(Client& client, const v1::ApplyGroupRequest& request) {
  auto context = client.Context(kRunTimeout);
  std::unique_ptr<grpc::ClientReaderInterface<v1::FleetEvent>> reader =
      client.stub().ApplyGroup(context.get(), request);
  const bool live = !client.options().json && isatty(STDERR_FILENO);
  v1::FleetEvent event;
  v1::FleetRun last;
  bool finished = false;
  while (reader->Read(&event)) {
    last = event.run();
    if (client.options().json) {
      std::cout << ToJson(event) << "\n" << std::flush;
    } else {
      if (live) std::cerr << "\r\033[K";
      if (event.type() == v1::FleetEvent::TYPE_FINISHED) {
        std::cout << "\n" << RenderFleetRun(event.run()) << std::flush;
      } else {
        std::cout << RenderFleetEvent(event) << std::flush;
      }
      if (live && event.type() != v1::FleetEvent::TYPE_FINISHED) {
        std::cerr << RenderFleetTally(event.tally()) << std::flush;
      }
    }
    finished |= event.type() == v1::FleetEvent::TYPE_FINISHED;
  }
  if (live) std::cerr << "\r\033[K" << std::flush;
  grpc::Status status = reader->Finish();
  if (!status.ok()) return client.Fail(status);
  if (!finished || last.state() == "running") return kExitInterrupted;
  return last.state() == "succeeded" ? kExitOk : kExitError;
}

int FollowRun(Client& client, grpc::ClientContext* context,
              grpc::ClientReaderInterface<v1::RunEvent>* reader) {
  v1::RunEvent event;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  std::string run_id;
  while (reader->Read(&event)) {
    if (client.options().json) {
      std::cout << ToJson(event) << "\n" << std::flush;
    } else {
      std::cout << RenderEvent(event) << std::flush;
    }
    if (event.has_run_started()) run_id = event.run_started().run_id();
    if (event.has_run_finished()) outcome = event.run_finished().outcome();
  }
  grpc::Status status = reader->Finish();
  (void)context;
  if (!status.ok() && !run_id.empty() && outcome == v1::OUTCOME_UNSPECIFIED) {
    // The run had started: say what that means instead of "cannot reach schemad".
    std::cerr << "schemactl: the stream of run " << run_id << " ended before the run did ("
              << status.error_message()
              << "): schemad stops a run whose caller goes away between statements and rolls "
                 "back its open transaction; see schemactl status / history for what committed\n";
    return kExitInterrupted;
  }
  if (!status.ok()) return client.Fail(status);
  return ExitCodeOf(outcome);
}

int Plan(Client& client, const v1::PlanRequest& request, v1::PlanResponse* response) {
  grpc::Status status = Unary(client, &v1::SchemaService::Stub::Plan, request, response);
  return status.ok() ? kExitOk : client.Fail(status);
}

// Reads coverage.required (or a top-level required:) from a manifest file.
absl::StatusOr<std::vector<v1::CoverageRequirement>> ReadManifest(const std::string& path) {
  std::vector<v1::CoverageRequirement> out;
  try {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Node required = root["coverage"] ? root["coverage"]["required"] : root["required"];
    if (!required || !required.IsSequence()) {
      return absl::InvalidArgumentError(path + ": expected coverage.required: [tables]");
    }
    for (const YAML::Node& entry : required) {
      v1::CoverageRequirement requirement;
      if (entry.IsScalar()) {
        requirement.set_table(entry.as<std::string>());
      } else {
        requirement.set_table(entry["table"].as<std::string>(""));
        if (entry["columns"]) {
          for (const auto& c : entry["columns"]) requirement.add_columns(c.as<std::string>());
        }
        if (entry["indexes"]) {
          for (const auto& i : entry["indexes"]) requirement.add_indexes(i.as<std::string>());
        }
      }
      out.push_back(requirement);
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(path + ": " + e.what());
  }
  return out;
}

// Lints files offline, each as its own plan: a table created earlier in the same file is new,
// any other table is taken to exist with data. Exit 4 when an unsuppressed error remains.
// Writes the catalog in SRC (read in `layout`) to the new folder DEST in schemad's layout.
int Import(const std::string& layout, const std::string& source, const std::string& dest) {
  LoadOptions load;
  load.layout = layout;
  absl::StatusOr<Catalog> catalog = LoadCatalog(source, load);
  if (!catalog.ok()) {
    std::cerr << "schemactl: " << catalog.status().message() << "\n";
    return kExitError;
  }
  std::error_code error;
  if (std::filesystem::exists(dest, error) && !std::filesystem::is_empty(dest, error)) {
    std::cerr << "schemactl: " << dest << " exists and is not empty: import writes a new folder\n";
    return kExitUsage;
  }
  std::filesystem::create_directories(dest, error);
  int marked = 0;
  const auto text_of = [&](const MigrationFile& file) {
    // One-file layouts put blank lines before a section (for line numbers): only those go.
    const size_t start = file.text().find_first_not_of('\n');
    std::string text = start == std::string::npos ? "" : file.text().substr(start);
    if (file.named_no_transaction) {
      text = absl::StrCat("-- schemad:no-transaction\n", text);
      ++marked;
    }
    // Flyway's own placeholders name the source (catalog.yaml's are kept and still apply).
    if (catalog->layout == "flyway") {
      const std::string substituted = absl::StrReplaceAll(
          text, {{"${flyway:filename}", std::filesystem::path(file.path).filename().string()},
                 {"${flyway:table}", "flyway_schema_history"}});
      marked += substituted != text;
      text = substituted;
    }
    return text;
  };
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream out(dest + "/" + name, std::ios::binary);
    out << text;
    return static_cast<bool>(out);
  };
  // The source's catalog.yaml (name, coverage, adopt: …) without its layout, or a new one.
  std::string manifest;
  for (absl::string_view line : absl::StrSplit(catalog->manifest_text, '\n')) {
    if (absl::StartsWith(line, "layout:")) continue;
    absl::StrAppend(&manifest, line, "\n");
  }
  if (catalog->manifest_text.empty()) manifest = absl::StrCat("name: ", catalog->name, "\n");
  if (catalog->empty_down_is_noop && manifest.find("empty_down_is_noop") == std::string::npos) {
    absl::StrAppend(&manifest, "empty_down_is_noop: true\n");
  }
  bool ok = write("catalog.yaml", absl::StrCat(manifest, "# imported from the ", catalog->layout,
                                               " layout of ", source, "\n"));
  for (const Revision& revision : catalog->revisions) {
    // The written name must read back as the same version (a Sqitch change named
    // 2024_users, or a Flyway description starting with digits, would not).
    absl::StatusOr<FileName> back = ParseFileName(revision.Id() + ".up.sql");
    if (!back.ok() || back->version != revision.version) {
      std::cerr << "schemactl: revision " << revision.version << " (" << revision.name
                << ") cannot be written as " << revision.Id()
                << ".up.sql: that name reads as another version; rename it in the source\n";
      std::filesystem::remove_all(dest, error);
      return kExitError;
    }
  }
  for (const Revision& revision : catalog->revisions) {
    ok &= write(revision.Id() + ".up.sql", text_of(revision.up));
    if (revision.down) ok &= write(revision.Id() + ".down.sql", text_of(*revision.down));
    if (revision.verify) ok &= write(revision.Id() + ".verify.sql", text_of(*revision.verify));
  }
  if (!ok) {
    std::cerr << "schemactl: cannot write into " << dest << "\n";
    return kExitError;
  }
  std::cout << "imported " << catalog->revisions.size() << " revision(s) of catalog "
            << catalog->name << " (" << catalog->layout << " layout) into " << dest << "\n";
  if (marked > 0) {
    std::cout << marked
              << " file(s) got -- schemad:no-transaction for their name's mark or Flyway's "
                 "${flyway:…} placeholders written out: their checksums differ from the "
                 "source's (schemactl repair after switching a target that ran the source "
                 "folder)\n";
  }
  return kExitOk;
}

int Lint(const std::vector<std::string>& paths, bool json) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    if (std::filesystem::is_directory(path)) {
      std::vector<std::string> found;
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        const std::string name = entry.path().filename().string();
        absl::StatusOr<FileName> parsed = ParseFileName(name);
        if (parsed.ok() && parsed->up) found.push_back(entry.path().string());
      }
      std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) {
        const std::string na = std::filesystem::path(a).filename().string();
        const std::string nb = std::filesystem::path(b).filename().string();
        return CompareVersions(ParseFileName(na)->version, ParseFileName(nb)->version) < 0;
      });
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(path);
    }
  }
  std::map<std::string, int> by_rule;
  int errors = 0;
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) {
      std::cerr << "schemactl: cannot read " << file << "\n";
      return kExitUsage;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    absl::StatusOr<sql::Lineage> lineage = sql::AnalyzeLineage(buffer.str());
    if (!lineage.ok()) {
      std::cerr << "schemactl: " << file << ": " << lineage.status().message() << "\n";
      return kExitError;
    }
    sql::Linter linter;
    for (const sql::LintFinding& finding : linter.LintFile(file, buffer.str(), *lineage)) {
      v1::Finding out;
      out.set_rule(finding.rule);
      out.set_severity(static_cast<v1::Finding::Severity>(static_cast<int>(finding.severity)));
      out.set_object(finding.object);
      out.set_message(finding.message);
      out.set_file(finding.file);
      out.set_line(finding.line);
      out.set_alternative(finding.alternative);
      out.set_lock(finding.lock);
      out.set_table(finding.table);
      out.set_suppressed(finding.suppressed);
      out.set_suppression_reason(finding.suppression_reason);
      std::cout << (json ? ToJson(out) + "\n" : RenderFinding(out));
      if (!finding.suppressed) {
        ++by_rule[finding.rule];
        errors += finding.severity == sql::Severity::kError;
      }
    }
  }
  if (!json) {
    std::cout << "\n" << files.size() << " file(s)";
    if (by_rule.empty()) std::cout << ", no findings";
    std::cout << "\n";
    for (const auto& [rule, count] : by_rule) std::cout << "  " << rule << ": " << count << "\n";
  }
  return errors > 0 ? kExitCoverage : kExitOk;
}

// schemactl wait: follows the target's version (WatchVersion) until it reaches `min_version`
// (or, with `latest`, until nothing is pending), across schemad restarts and unreachable
// periods, retrying with back-off until `timeout`. 0 reached, 3 timed out, 6 blocked by a failed
// run, 7 never reachable.
int Wait(Client& client, const GlobalOptions& options, const std::string& target,
         const std::string& min_version, bool latest, absl::Duration timeout) {
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout);
  std::optional<v1::VersionInfo> last;
  absl::Duration backoff = absl::Milliseconds(100);
  // At the version is enough, even if a later run failed; the latest needs no blocking run.
  const auto reached = [&](const v1::VersionInfo& info) {
    if (latest) return !info.blocked() && info.pending_count() == 0;
    return !info.current_version().empty() &&
           CompareVersions(info.current_version(), min_version) >= 0;
  };
  std::string last_error;
  while (std::chrono::system_clock::now() < deadline) {
    grpc::ClientContext context;
    if (!options.token.empty()) context.AddMetadata("authorization", "Bearer " + options.token);
    context.set_deadline(deadline);
    // While schemad is down (restarting), the call waits for it to come back instead of failing.
    context.set_wait_for_ready(true);
    v1::WatchVersionRequest request;
    request.set_target(target);
    if (!latest) request.set_min_version(min_version);
    std::unique_ptr<grpc::ClientReader<v1::VersionInfo>> reader =
        client.stub().WatchVersion(&context, request);
    for (v1::VersionInfo info; reader->Read(&info);) {
      last = info;
      backoff = absl::Milliseconds(100);
      if (reached(info)) {
        Print(options, info, RenderVersion(info));
        return kExitOk;
      }
      if (info.blocked()) {
        Print(options, info, RenderVersion(info));
        std::cerr << "schemactl: " << target
                  << " is blocked by a failed or interrupted run (schemactl status -t " << target
                  << " names it; resolve it first)\n";
        return kExitFailedPrecondition;
      }
    }
    const grpc::Status status = reader->Finish();
    switch (status.error_code()) {
      case grpc::StatusCode::OK:           // the stream ended: schemad stopping, or reached
      case grpc::StatusCode::UNAVAILABLE:  // not reachable (yet), or restarting
      case grpc::StatusCode::CANCELLED:    // schemad shut down under us
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        last_error = status.error_message();
        break;
      default:
        return client.Fail(status);  // unknown target, no permission, bad version: no retry
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(
        std::min(backoff, absl::FromChrono(deadline - std::chrono::system_clock::now()))));
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
  if (!last) {
    std::cerr << "schemactl: no version of " << target << " from schemad at " << options.server
              << " within " << absl::FormatDuration(timeout) << (last_error.empty() ? "" : ": ")
              << last_error << "\n";
    return kExitUnreachable;
  }
  Print(options, *last, RenderVersion(*last));
  std::cerr << "schemactl: timed out after " << absl::FormatDuration(timeout) << ": " << target
            << " is at " << (last->current_version().empty() ? "(empty)" : last->current_version())
            << ", waiting for " << (latest ? "the latest, " + last->latest_version() : min_version)
            << "\n";
  return kExitPending;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"schemactl: the command-line client of schemad, the PostgreSQL schema service."};
  app.set_version_flag("--version",
                       absl::StrCat("schemactl ", kSchemadVersion, " (commit ", kSchemadCommit,
                                    ", API ", kSchemadProtoPackage, ")"));
  app.footer(std::string("\nEnvironment: SCHEMAD_SERVER, SCHEMAD_TOKEN.\n\n") + kExitCodesHelp);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the command
  GlobalOptions options;
  if (const char* server = std::getenv("SCHEMAD_SERVER")) options.server = server;
  if (const char* token = std::getenv("SCHEMAD_TOKEN")) options.token = token;
  app.add_option("--server", options.server, "schemad address host:port (env SCHEMAD_SERVER)")
      ->capture_default_str();
  std::string token_file;
  app.add_option("--token-file", token_file, "read the bearer token from this file")
      ->check(CLI::ExistingFile);
  app.add_option("--token", options.token,
                 "bearer token (prefer --token-file or env SCHEMAD_TOKEN: flags show in ps)");
  app.add_option("--tls-ca", options.tls_ca, "use TLS, trusting this CA (PEM)");
  app.add_option("--tls-cert", options.tls_cert, "client certificate for mTLS (PEM)");
  app.add_option("--tls-key", options.tls_key, "client key for mTLS (PEM)");
  app.add_flag("--json", options.json, "machine output on stdout (stable snake_case fields)");
  app.add_option("--timeout", options.timeout_seconds,
                 "deadline in seconds (default 30; 6 h for apply/rollback/resolve)");

  std::string target, to_version, plan_hash, request_id, run_id, page_token, manifest;
  std::string lint_override;
  std::string override_promotion;
  std::vector<std::string> lint_paths;
  bool static_only = false;
  int steps = 0, page_size = 0;
  bool exit_code_flag = false, with_sql = false, yes = false, retry = false, mark_done = false;
  bool allow_out_of_order = false, accept_drift = false;

  auto* targets_cmd = app.add_subcommand("targets", "list the targets you may see");
  auto* version_cmd = app.add_subcommand(
      "version", "a target's current schema version (cheap); schemactl's own is --version");
  std::string catalog_filter;
  auto* versions_cmd =
      app.add_subcommand("versions", "every target's version, pending count and database state");
  versions_cmd->add_option("--catalog", catalog_filter, "only the targets of this catalog");
  std::string group;
  versions_cmd->add_option("--group", group,
                           "only the members of this group, summarised: how many at each "
                           "version, which are blocked, which failed in the last fleet run");
  versions_cmd->add_flag("--exit-code", exit_code_flag,
                         "exit 3 when a target is behind (pending, blocked or unknown)");
  version_cmd->add_option("--target,-t", target, "target name")->required();
  std::string min_version, wait_timeout = "10m";
  bool wait_latest = false;
  auto* wait_cmd = app.add_subcommand(
      "wait", "wait until a target reaches a version (for init containers and deploy scripts)");
  wait_cmd->add_option("--target,-t", target, "target name")->required();
  auto* min_option =
      wait_cmd->add_option("--min-version", min_version, "the version to reach (or later)");
  auto* latest_option =
      wait_cmd->add_flag("--latest", wait_latest, "wait until nothing of the catalog is pending");
  min_option->excludes(latest_option);
  wait_cmd
      ->add_option("--timeout", wait_timeout,
                   "how long to wait, e.g. 90s or 10m (schemad restarting meanwhile is fine)")
      ->capture_default_str();
  wait_cmd->footer(
      "Exit codes: 0 reached, 3 timed out, 6 a failed run blocks the target, 7 schemad not\n"
      "reachable within the timeout (it retries with back-off until then).");
  auto* status_cmd = app.add_subcommand("status", "applied and pending revisions of a target");
  status_cmd->add_option("--target,-t", target, "target name")->required();
  status_cmd->add_flag("--exit-code", exit_code_flag, "exit 3 when revisions are pending");
  auto* plan_cmd = app.add_subcommand("plan", "what apply would run, and its plan hash");
  plan_cmd->add_option("--target,-t", target, "target name")->required();
  plan_cmd->add_option("--to", to_version, "apply up to this version (default: latest)");
  plan_cmd->add_flag("--sql", with_sql, "show each step's SQL");
  bool reversible = false;
  plan_cmd->add_flag("--reversible", reversible,
                     "also prove the plan reversible in a shadow database (as rehearse "
                     "--reversible); exit 4 when a revision does not round-trip");
  std::string release;
  plan_cmd->add_option("--release", release,
                       "plan this release (digest or label; default: the newest)");
  auto* apply_cmd = app.add_subcommand("apply", "apply pending revisions (a target, or a group)");
  auto* apply_target = apply_cmd->add_option("--target,-t", target, "target name");
  auto* apply_group =
      apply_cmd->add_option("--group,-g", group, "apply every member of this group (a fleet run)");
  apply_target->excludes(apply_group);
  int parallel = 1, canary = 0, max_failures = 1;
  apply_cmd->add_option("--parallel", parallel, "--group: members applied at once")
      ->capture_default_str();
  apply_cmd
      ->add_option("--canary", canary,
                   "--group: the first K members go first; one failing stops the fleet run")
      ->capture_default_str();
  apply_cmd
      ->add_option("--max-failures", max_failures,
                   "--group: no new member starts once this many failed")
      ->capture_default_str();
  apply_cmd->footer(
      "Examples:\n"
      "  schemactl apply -t staging\n"
      "  schemactl apply --group tenants --canary 2 --parallel 4 --max-failures 3\n"
      "A fleet run is recorded in the control database: schemactl fleet-runs lists them and\n"
      "schemactl resume-fleet RUN finishes one that was stopped (or whose replica died).");
  auto* fleet_runs_cmd = app.add_subcommand(
      "fleet-runs", "fleet runs of groups, newest first (with --run: its members)");
  std::string fleet_run;
  fleet_runs_cmd->add_option("--group,-g", group, "only this group's");
  fleet_runs_cmd->add_option("--run", fleet_run, "this fleet run, with every member");
  auto* resume_fleet_cmd = app.add_subcommand(
      "resume-fleet", "work a fleet run that was stopped or whose replica died (deployer)");
  resume_fleet_cmd->add_option("run", fleet_run, "the fleet run's id")->required();
  resume_fleet_cmd->add_option("--parallel", parallel, "members applied at once by this call")
      ->capture_default_str();
  apply_cmd->add_option("--to", to_version, "apply up to this version (default: latest)");
  apply_cmd->add_option("--plan-hash", plan_hash, "refuse unless the plan still has this hash");
  apply_cmd->add_option("--release", release,
                        "apply this release (digest or label; default: the newest)");
  apply_cmd->add_option("--request-id", request_id,
                        "idempotency key: a retry returns the same run");
  apply_cmd->add_flag("--allow-out-of-order", allow_out_of_order,
                      "apply pending revisions older than the current one (admin)");
  apply_cmd->add_flag("--accept-checksum-drift", accept_drift,
                      "go on although applied files changed (admin)");
  apply_cmd->add_flag("--yes,-y", yes,
                      "do not ask for confirmation (non-dev targets and those that need a plan "
                      "hash)");
  apply_cmd->add_option("--lint-override", lint_override,
                        "reason to apply although the lint policy blocks (journaled)");
  apply_cmd->add_option("--override-promotion", override_promotion,
                        "emergency: reason to apply revisions the environment it promotes from "
                        "has not (admin; journaled and audited)");
  auto* rollback_cmd = app.add_subcommand("rollback", "roll back applied revisions (admin)");
  rollback_cmd->add_option("--target,-t", target, "target name")->required();
  auto* to_opt = rollback_cmd->add_option("--to", to_version, "roll back to this version (0: all)");
  auto* steps_opt = rollback_cmd->add_option("--steps", steps, "roll back this many revisions")
                        ->check(CLI::PositiveNumber);
  to_opt->excludes(steps_opt);
  rollback_cmd->add_option("--plan-hash", plan_hash, "refuse unless the plan still has this hash");
  rollback_cmd->add_option("--request-id", request_id, "idempotency key");
  rollback_cmd->add_flag("--yes,-y", yes, "do not ask for confirmation (non-dev targets)");
  auto* history_cmd = app.add_subcommand("history", "runs and audit events, newest first");
  history_cmd->add_option("--target,-t", target, "target name")->required();
  history_cmd->add_option("--page-size", page_size, "rows per page (default 20)");
  history_cmd->add_option("--page-token", page_token, "from the previous page");
  auto* publish_cmd = app.add_subcommand(
      "publish", "store a catalog folder as an immutable release; prints its digest (deployer)");
  std::string publish_catalog;
  std::string publish_dir;
  std::string label;
  std::string allow_edit;
  publish_cmd->add_option("--catalog", publish_catalog, "the catalog's name")->required();
  publish_cmd->add_option("dir", publish_dir, "the catalog folder")->required();
  publish_cmd->add_option("--label", label, "a name for the release, unique in the catalog");
  publish_cmd->add_option("--allow-edit", allow_edit,
                          "admin: publish although it changes a revision an earlier release has "
                          "(the reason is audited)");
  auto* releases_cmd = app.add_subcommand("releases", "a catalog's releases, newest first");
  releases_cmd->add_option("--catalog", publish_catalog, "the catalog's name")->required();
  auto* approve_cmd = app.add_subcommand(
      "approve", "approve a plan hash for someone else to apply (approver or admin)");
  std::string comment;
  approve_cmd->add_option("--target,-t", target, "target name")->required();
  approve_cmd->add_option("--plan-hash", plan_hash, "the plan hash (from schemactl plan)")
      ->required();
  approve_cmd->add_option("--comment", comment, "why (kept with the approval)")->required();
  auto* approvals_cmd = app.add_subcommand("approvals", "a target's approvals, newest first");
  approvals_cmd->add_option("--target,-t", target, "target name")->required();
  auto* audit_cmd = app.add_subcommand(
      "audit", "the central audit: every mutating and denied call, oldest first (admin)");
  std::string audit_target;
  std::string since;
  int audit_limit = 0;
  bool verify = false;
  audit_cmd->add_option("--target,-t", audit_target, "only rows of this target");
  audit_cmd->add_option("--since", since,
                        "only rows this recent (a duration: 24h, 30m) or since a time "
                        "(2026-12-01T10:00:00Z)");
  audit_cmd->add_option("--limit", audit_limit, "at most this many rows (default 1000)");
  audit_cmd->add_flag("--verify", verify,
                      "recompute the hash chain; exit 4 naming the first row that does not "
                      "verify");
  auto* reload_cmd = app.add_subcommand(
      "reload", "re-read catalog folders on the server now (as SIGHUP does; deployer)");
  reload_cmd->add_option("--target,-t", audit_target, "only this target");
  auto* resolve_cmd = app.add_subcommand("resolve", "resolve a failed run (admin)");
  resolve_cmd->add_option("--target,-t", target, "target name")->required();
  resolve_cmd->add_option("--run", run_id, "the failed run's id")->required();
  auto* retry_opt = resolve_cmd->add_flag("--retry", retry,
                                          "resume the stopped file after its committed statements");
  auto* done_opt = resolve_cmd->add_flag(
      "--mark-done", mark_done,
      "you finished the revision by hand: record it as applied (rolled back, for a rollback)");
  retry_opt->excludes(done_opt);
  auto* repair_cmd = app.add_subcommand(
      "repair", "accept changed files of applied revisions: re-record their checksums (admin)");
  repair_cmd->add_option("--target,-t", target, "target name")->required();
  repair_cmd->add_option("--version", to_version, "only this version (default: every drifted one)");
  std::string reason;
  repair_cmd->add_option("--reason", reason, "why the change is accepted (journaled)")->required();
  auto* validate_cmd = app.add_subcommand(
      "validate", "coverage of the required tables, statistics and quality checks");
  validate_cmd->add_option("--target,-t", target, "target name")->required();
  validate_cmd
      ->add_option("--manifest", manifest,
                   "YAML with coverage.required (default: the catalog's catalog.yaml)")
      ->check(CLI::ExistingFile);
  validate_cmd->add_flag("--static", static_only, "do not look at the live database");
  auto* drift_cmd = app.add_subcommand(
      "drift", "the live schema against the catalog at the target's current version");
  drift_cmd->add_option("--target,-t", target, "target name")->required();
  bool accept = false;
  drift_cmd->add_flag("--accept", accept,
                      "admin: accept the present drift (an environment's drift_gate then lets "
                      "Apply through while the drift stays exactly this); needs --reason");
  drift_cmd->add_option("--reason", reason, "why the drift is accepted (audited)");
  auto* baseline_cmd = app.add_subcommand(
      "baseline",
      "admin: record every revision up to --to as applied without running it (a database "
      "built before schemad)");
  baseline_cmd->add_option("--target,-t", target, "target name")->required();
  baseline_cmd->add_option("--to", to_version, "the version the database is at")->required();
  baseline_cmd->add_flag("--verify", verify,
                         "refuse unless the live schema is the catalog's at --to (exact drift)");
  baseline_cmd->add_option("--reason", reason, "why (journaled)")->required();
  std::string from_tool;
  auto* adopt_cmd = app.add_subcommand(
      "adopt", "admin: record what another tool applied, read from its own table (left untouched)");
  adopt_cmd->add_option("--target,-t", target, "target name")->required();
  adopt_cmd
      ->add_option("--from", from_tool,
                   "alembic, flyway, golang-migrate, dbmate, goose, sql-migrate or sqitch")
      ->required();
  adopt_cmd->add_flag("--verify", verify,
                      "refuse unless the live schema is the catalog's at what is adopted");
  adopt_cmd->add_option("--reason", reason, "why (journaled; default: adopted from TOOL)");
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "run the verify scripts of every applied revision against the live target, in a "
      "transaction that is rolled back (nothing is left)");
  verify_cmd->add_option("--target,-t", target, "target name")->required();
  auto* rehearse_cmd = app.add_subcommand(
      "rehearse",
      "run the plan in a shadow database built from the target's schema (durations, locks, "
      "outcome; kept for require_rehearsal), or prove it reversible");
  rehearse_cmd->add_option("--target,-t", target, "target name")->required();
  rehearse_cmd->add_option("--to", to_version, "rehearse up to this version (default: latest)");
  rehearse_cmd->add_option("--release", release,
                           "rehearse this release (digest or label; default: the newest)");
  rehearse_cmd->add_flag("--reversible", reversible,
                         "in a replay of the catalog at the target's version, apply each pending "
                         "revision, roll it back and apply it again, comparing the schemas");
  rehearse_cmd->add_flag("--allow-out-of-order", allow_out_of_order,
                         "rehearse pending revisions older than the newest applied one");
  std::string import_layout, import_source, import_dest;
  auto* import_cmd = app.add_subcommand(
      "import", "offline: write a catalog of another layout to a new folder in schemad's layout");
  import_cmd
      ->add_option("--from", import_layout,
                   "native, popx, dbmate, goose, sql-migrate, flyway or sqitch")
      ->required();
  import_cmd->add_option("source", import_source, "the other tool's folder")->required();
  import_cmd->add_option("dest", import_dest, "a new folder")->required();
  auto* lint_cmd = app.add_subcommand(
      "lint", "offline: lint migration files (a folder: each of its .up.sql files)");
  lint_cmd->add_option("paths", lint_paths, "files or catalog folders")->required();
  auto* hash_cmd = app.add_subcommand(
      "hash-token", "print the SHA-256 of a token read from stdin, for the server config");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (!token_file.empty()) {
    options.token = std::string(absl::StripAsciiWhitespace(ReadFile(token_file)));
  }
  if (hash_cmd->parsed()) {
    std::string token;
    std::getline(std::cin, token);
    token = std::string(absl::StripAsciiWhitespace(token));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr);
    for (unsigned int i = 0; i < length; ++i) std::printf("%02x", digest[i]);
    std::printf("\n");
    return kExitOk;
  }

  if (lint_cmd->parsed()) return Lint(lint_paths, options.json);
  if (import_cmd->parsed()) return Import(import_layout, import_source, import_dest);

  Client client(options);
  if (validate_cmd->parsed()) {
    v1::ValidateCoverageRequest request;
    request.set_target(target);
    request.set_static_only(static_only);
    if (!manifest.empty()) {
      absl::StatusOr<std::vector<v1::CoverageRequirement>> requirements = ReadManifest(manifest);
      if (!requirements.ok()) {
        std::cerr << "schemactl: " << requirements.status().message() << "\n";
        return kExitUsage;
      }
      for (auto& requirement : *requirements) *request.add_requirements() = requirement;
    }
    v1::ValidateCoverageResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::ValidateCoverage, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderCoverage(response));
    bool error = response.covered_count() < response.required_count();
    for (const v1::Finding& finding : response.findings()) {
      error |= finding.severity() == v1::Finding::SEVERITY_ERROR;
    }
    return error ? kExitCoverage : kExitOk;
  }
  if (drift_cmd->parsed() && accept) {
    if (reason.empty()) {
      std::cerr << "schemactl: drift --accept needs --reason\n";
      return kExitUsage;
    }
    v1::AcceptDriftRequest request;
    request.set_target(target);
    request.set_reason(reason);
    v1::AcceptDriftResponse response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::AcceptDrift, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response,
          absl::StrCat("accepted the drift of ", target, " (", response.drift_hash(), ")\n"));
    return kExitOk;
  }
  if (baseline_cmd->parsed() || adopt_cmd->parsed()) {
    v1::AdoptionResponse response;
    grpc::Status status;
    if (baseline_cmd->parsed()) {
      v1::BaselineRequest request;
      request.set_target(target);
      request.set_to_version(to_version);
      request.set_verify(verify);
      request.set_reason(reason);
      status = Unary(client, &v1::SchemaService::Stub::Baseline, request, &response);
    } else {
      v1::AdoptRequest request;
      request.set_target(target);
      request.set_from(from_tool);
      request.set_verify(verify);
      request.set_reason(reason);
      status = Unary(client, &v1::SchemaService::Stub::Adopt, request, &response);
    }
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderAdoption(response));
    return kExitOk;
  }
  if (verify_cmd->parsed()) {
    v1::RunVerifyScriptsRequest request;
    request.set_target(target);
    v1::RunVerifyScriptsResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::RunVerifyScripts, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderVerify(response));
    bool failed = false;
    for (const v1::VerifiedRevision& revision : response.revisions()) failed |= !revision.ok();
    return failed ? kExitCoverage : kExitOk;
  }
  if (rehearse_cmd->parsed()) {
    v1::RehearseRequest request;
    request.set_target(target);
    request.set_to_version(to_version);
    request.set_release(release);
    request.set_reversible(reversible);
    request.set_allow_out_of_order(allow_out_of_order);
    v1::Rehearsal response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::Rehearse, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderRehearsal(response));
    return response.ok() ? kExitOk : kExitCoverage;
  }
  if (drift_cmd->parsed()) {
    v1::GetStatusRequest request;
    request.set_target(target);
    v1::GetStatusResponse response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::GetStatus, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderDrift(response));
    return response.schema_drift().empty() ? kExitOk : kExitCoverage;
  }
  if (targets_cmd->parsed()) {
    v1::ListTargetsResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::ListTargets, v1::ListTargetsRequest(), &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderTargets(response));
    return kExitOk;
  }
  if (versions_cmd->parsed()) {
    v1::ListTargetVersionsRequest request;
    request.set_catalog(catalog_filter);
    request.set_group(group);
    v1::ListTargetVersionsResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::ListTargetVersions, request, &response);
    if (!status.ok()) return client.Fail(status);
    if (!group.empty() && response.targets().empty()) {
      std::cerr << "schemactl: no group " << group << " (or no member you may see)\n";
      return kExitError;
    }
    Print(options, response,
          group.empty()
              ? RenderTargetVersions(response)
              : RenderGroupVersions(group, response) + "\n" + RenderTargetVersions(response));
    if (!exit_code_flag) return kExitOk;
    std::vector<std::string> behind;
    for (const v1::TargetVersion& t : response.targets()) {
      if (!IsBehind(t)) continue;
      behind.push_back(absl::StrCat(t.target(), " (",
                                    !t.known()    ? "unknown"
                                    : t.blocked() ? "blocked"
                                                  : absl::StrCat(t.pending_count(), " pending"),
                                    ")"));
    }
    if (behind.empty()) return kExitOk;
    std::cerr << "schemactl: behind: " << absl::StrJoin(behind, ", ") << "\n";
    return kExitPending;
  }
  if (version_cmd->parsed()) {
    v1::GetVersionRequest request;
    request.set_target(target);
    v1::VersionInfo response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::GetVersion, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderVersion(response));
    return kExitOk;
  }
  if (wait_cmd->parsed()) {
    if (min_version.empty() && !wait_latest) {
      std::cerr << "schemactl: wait needs --min-version V or --latest\n";
      return kExitUsage;
    }
    if (!wait_latest && !IsVersion(min_version)) {
      std::cerr << "schemactl: --min-version " << min_version << ": not a version\n";
      return kExitUsage;
    }
    absl::Duration timeout;
    double seconds = 0;
    if (!absl::ParseDuration(wait_timeout, &timeout)) {
      if (!absl::SimpleAtod(wait_timeout, &seconds)) {
        std::cerr << "schemactl: --timeout " << wait_timeout
                  << ": not a duration like 90s or 10m\n";
        return kExitUsage;
      }
      timeout = absl::Seconds(seconds);
    }
    return Wait(client, options, target, min_version, wait_latest, timeout);
  }
  if (status_cmd->parsed()) {
    v1::GetStatusRequest request;
    request.set_target(target);
    request.set_skip_schema_drift(true);
    v1::GetStatusResponse response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::GetStatus, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderStatus(response));
    return exit_code_flag && response.pending_count() > 0 ? kExitPending : kExitOk;
  }
  if (plan_cmd->parsed()) {
    v1::PlanRequest request;
    request.set_target(target);
    request.set_direction(v1::DIRECTION_UP);
    request.set_to_version(to_version);
    request.set_release(release);
    v1::PlanResponse response;
    if (int code = Plan(client, request, &response); code != kExitOk) return code;
    Print(options, response, RenderPlan(response, with_sql));
    if (!reversible) return kExitOk;
    v1::RehearseRequest proof_request;
    proof_request.set_target(target);
    proof_request.set_to_version(to_version);
    proof_request.set_release(release);
    proof_request.set_reversible(true);
    v1::Rehearsal proof;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::Rehearse, proof_request, &proof);
    if (!status.ok()) return client.Fail(status);
    if (!options.json) std::cout << "\n";
    Print(options, proof, RenderRehearsal(proof));
    return proof.ok() ? kExitOk : kExitCoverage;
  }
  if ((apply_cmd->parsed() && !group.empty()) || resume_fleet_cmd->parsed()) {
    v1::ApplyGroupRequest request;
    request.set_group(group);
    request.set_release(release);
    request.set_to_version(to_version);
    request.set_parallel(parallel);
    request.set_canary(canary);
    request.set_max_failures(max_failures);
    request.set_request_id(request_id);
    request.set_resume_fleet_run_id(fleet_run);
    return FollowFleet(client, request);
  }
  if (fleet_runs_cmd->parsed()) {
    v1::ListFleetRunsRequest request;
    request.set_group(group);
    request.set_fleet_run_id(fleet_run);
    request.set_limit(fleet_run.empty() ? 20 : 500);
    v1::ListFleetRunsResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::ListFleetRuns, request, &response);
    if (!status.ok()) return client.Fail(status);
    if (!fleet_run.empty() && response.runs().empty()) {
      std::cerr << "schemactl: no fleet run " << fleet_run << "\n";
      return kExitError;
    }
    Print(options, response, RenderFleetRuns(response));
    return kExitOk;
  }
  if (apply_cmd->parsed() && target.empty()) {
    std::cerr << "schemactl: apply needs --target T or --group G\n";
    return kExitUsage;
  }
  if (apply_cmd->parsed() || rollback_cmd->parsed()) {
    const bool up = apply_cmd->parsed();
    if (!up && to_version.empty() && steps == 0) {
      std::cerr << "schemactl: rollback needs --to VERSION (0 for everything) or --steps N\n";
      return kExitUsage;
    }
    int code = kExitOk;
    const std::optional<v1::Target> described = DescribeTarget(client, target, &code);
    if (!described) return code;
    const std::string& environment = described->environment_name();
    if (environment != "dev" || described->policy().require_plan_hash()) {
      // Show exactly what will run and pin it with the plan hash.
      v1::PlanRequest plan_request;
      plan_request.set_target(target);
      plan_request.set_direction(up ? v1::DIRECTION_UP : v1::DIRECTION_DOWN);
      plan_request.set_to_version(to_version);
      plan_request.set_steps(steps);
      plan_request.set_allow_out_of_order(allow_out_of_order);
      plan_request.set_accept_checksum_drift(accept_drift);
      if (up) plan_request.set_release(release);
      v1::PlanResponse plan;
      if (code = Plan(client, plan_request, &plan); code != kExitOk) return code;
      if (!options.json) std::cerr << RenderPlan(plan, false);
      if (plan.steps().empty()) {
        std::cout << (options.json ? "" : "NO_CHANGE: nothing to do\n");
      }
      if (!plan.steps().empty() &&
          !Confirm(absl::StrCat(up ? "apply " : "roll back ", plan.steps_size(), " revision(s) on ",
                                environment, " target ", target, "?"),
                   yes)) {
        return kExitUsage;
      }
      if (plan_hash.empty()) plan_hash = plan.plan_hash();
    }
    auto context = client.Context(kRunTimeout);
    std::unique_ptr<grpc::ClientReaderInterface<v1::RunEvent>> reader;
    if (up) {
      v1::ApplyRequest request;
      request.set_target(target);
      request.set_to_version(to_version);
      request.set_expected_plan_hash(plan_hash);
      request.set_request_id(request_id);
      request.set_allow_out_of_order(allow_out_of_order);
      request.set_accept_checksum_drift(accept_drift);
      request.set_release(release);
      request.set_lint_override_reason(lint_override);
      request.set_override_promotion_reason(override_promotion);
      reader = client.stub().Apply(context.get(), request);
    } else {
      v1::RollbackRequest request;
      request.set_target(target);
      request.set_to_version(to_version);
      request.set_steps(steps);
      request.set_expected_plan_hash(plan_hash);
      request.set_request_id(request_id);
      reader = client.stub().Rollback(context.get(), request);
    }
    return FollowRun(client, context.get(), reader.get());
  }
  if (history_cmd->parsed()) {
    v1::GetHistoryRequest request;
    request.set_target(target);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    v1::GetHistoryResponse response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::GetHistory, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderHistory(response));
    return kExitOk;
  }
  if (publish_cmd->parsed()) {
    v1::PublishReleaseRequest request;
    request.set_catalog(publish_catalog);
    request.set_label(label);
    request.set_allow_edit_reason(allow_edit);
    std::error_code error;
    std::vector<std::string> names;
    // The folder's catalog files; a Sqitch project's plan and script folders too.
    const bool sqitch = std::filesystem::exists(publish_dir + "/sqitch.plan", error);
    for (const char* sub : {"", "deploy/", "revert/", "verify/"}) {
      if (*sub != '\0' && !sqitch) break;
      const std::string folder = publish_dir + "/" + sub;
      if (*sub != '\0' && !std::filesystem::is_directory(folder, error)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file()) continue;
        std::string lower = absl::AsciiStrToLower(name);
        if (absl::EndsWith(lower, ".sql") ||
            (*sub == '\0' && (name == "catalog.yaml" || name == "sqitch.plan"))) {
          names.push_back(sub + name);
        }
      }
      if (error) break;
    }
    if (error) {
      std::cerr << "schemactl: cannot read " << publish_dir << ": " << error.message() << "\n";
      return kExitUsage;
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      v1::ReleaseFile* file = request.add_files();
      file->set_name(name);
      file->set_content(ReadFile((std::filesystem::path(publish_dir) / name).string()));
    }
    v1::Release response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::PublishRelease, request, &response, kRunTimeout);
    if (!status.ok()) return client.Fail(status);
    Print(
        options, response,
        absl::StrCat(response.digest(), "\n", "catalog ", response.catalog(), ", ",
                     response.revision_count(), " revision(s), latest ", response.latest_version(),
                     response.label().empty() ? "" : ", label " + response.label(),
                     ", published by ", response.published_by(), "\n"));
    return kExitOk;
  }
  if (releases_cmd->parsed()) {
    v1::ListReleasesRequest request;
    request.set_catalog(publish_catalog);
    v1::ListReleasesResponse response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::ListReleases, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderReleases(response));
    return kExitOk;
  }
  if (approve_cmd->parsed()) {
    v1::ApprovePlanRequest request;
    request.set_target(target);
    request.set_plan_hash(plan_hash);
    request.set_comment(comment);
    v1::Approval response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::ApprovePlan, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response,
          absl::StrCat("approved plan ", response.plan_hash(), " of ", response.target(), " as ",
                       response.principal(), "\n"));
    return kExitOk;
  }
  if (approvals_cmd->parsed()) {
    v1::ListApprovalsRequest request;
    request.set_target(target);
    v1::ListApprovalsResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::ListApprovals, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderApprovals(response));
    return kExitOk;
  }
  if (audit_cmd->parsed()) {
    if (verify) {
      v1::VerifyAuditResponse response;
      grpc::Status status = Unary(client, &v1::SchemaService::Stub::VerifyAudit,
                                  v1::VerifyAuditRequest(), &response, kRunTimeout);
      if (!status.ok()) return client.Fail(status);
      Print(options, response,
            response.intact()
                ? absl::StrCat("audit chain intact: ", response.rows(), " row(s)\n")
                : absl::StrCat("audit chain BROKEN at row ", response.broken_at(), ": ",
                               response.problem(), " (", response.rows(), " row(s))\n"));
      return response.intact() ? kExitOk : kExitCoverage;
    }
    v1::GetAuditRequest request;
    request.set_only_target(audit_target);
    request.set_limit(audit_limit);
    if (!since.empty()) {
      absl::Duration ago;
      absl::Time at;
      std::string error;
      if (absl::ParseDuration(since, &ago)) {
        at = absl::Now() - ago;
      } else if (!absl::ParseTime(absl::RFC3339_full, since, &at, &error)) {
        std::cerr << "schemactl: --since: \"" << since
                  << "\" is neither a duration (24h) nor a time (2026-12-01T10:00:00Z)\n";
        return kExitUsage;
      }
      request.mutable_since()->set_seconds(absl::ToUnixSeconds(at));
    }
    v1::GetAuditResponse response;
    grpc::Status status = Unary(client, &v1::SchemaService::Stub::GetAudit, request, &response);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderAudit(response));
    return kExitOk;
  }
  if (reload_cmd->parsed()) {
    v1::ReloadCatalogsRequest request;
    request.set_only_target(audit_target);
    v1::ReloadCatalogsResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::ReloadCatalogs, request, &response, kRunTimeout);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderReload(response));
    for (const v1::CatalogReload& target : response.targets()) {
      if (!target.error().empty()) return kExitError;
    }
    return kExitOk;
  }
  if (resolve_cmd->parsed()) {
    if (!retry && !mark_done) {
      std::cerr << "schemactl: resolve needs --retry or --mark-done\n";
      return kExitUsage;
    }
    v1::ResolveRunRequest request;
    request.set_target(target);
    request.set_run_id(run_id);
    request.set_action(retry ? v1::ResolveRunRequest::ACTION_RETRY
                             : v1::ResolveRunRequest::ACTION_MARK_DONE);
    v1::ResolveRunResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::ResolveRun, request, &response, kRunTimeout);
    if (!status.ok()) return client.Fail(status);
    Print(options, response, RenderRun(response.run()));
    return ExitCodeOf(response.outcome());
  }
  if (repair_cmd->parsed()) {
    v1::RepairChecksumsRequest request;
    request.set_target(target);
    request.set_version(to_version);
    request.set_reason(reason);
    v1::RepairChecksumsResponse response;
    grpc::Status status =
        Unary(client, &v1::SchemaService::Stub::RepairChecksums, request, &response);
    if (!status.ok()) return client.Fail(status);
    std::string text;
    for (const v1::RepairedChecksum& r : response.repaired()) {
      absl::StrAppend(&text, r.version(), ": ", r.old_checksum(), " -> ", r.new_checksum(), "\n");
    }
    absl::StrAppend(&text,
                    response.repaired_size() == 0
                        ? "nothing to repair: every applied revision matches its file\n"
                        : absl::StrCat(response.repaired_size(), " checksum(s) re-recorded\n"));
    Print(options, response, text);
    return kExitOk;
  }
  return kExitUsage;
}

}  // namespace schemad::cli

int main(int argc, char** argv) { return schemad::cli::Main(argc, argv); }
