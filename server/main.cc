// schemad: composition root only: flags -> config -> logging -> wiring -> serve.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "build_info.h"
#include "server/api/server.h"
#include "server/common/logging.h"
#include "server/config/config.h"
#include "server/embedded/local_cluster.h"
#include "server/engine/engine.h"
#include "spdlog/spdlog.h"

#ifndef SCHEMAD_SOURCE_DIR
#define SCHEMAD_SOURCE_DIR "."
#endif

namespace {

namespace fs = std::filesystem;

constexpr char kDefaultDatabase[] = "schemad";
constexpr char kControlDatabase[] = "schemad_control";

std::optional<std::string> GetEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// The bundled catalog: ./migrations/nabavkidata, else the one in the source tree we were
// built from.
std::string DefaultCatalog() {
  for (const fs::path& candidate : {fs::path("migrations/nabavkidata"),
                                    fs::path(SCHEMAD_SOURCE_DIR) / "migrations/nabavkidata"}) {
    if (fs::is_directory(candidate)) return fs::absolute(candidate).lexically_normal().string();
  }
  return "migrations/nabavkidata";
}

int Fail(const std::string& message) {
  spdlog::critical("{}", message);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "schemad: the PostgreSQL schema-management service.\n"
      "Without --config it starts a private PostgreSQL in --state-dir and serves target `dev`\n"
      "with the bundled nabavkidata catalog on 127.0.0.1:50051."};
  std::string config_path, listen, state_dir = ".schemad", catalog, log_format = "text";
  std::string log_level = "info", ready_file, pg_bin_dir;
  app.add_option("--config", config_path, "YAML config file (targets, tokens, tls)")
      ->check(CLI::ExistingFile);
  app.add_option("--listen", listen, "address to serve on, overrides the config (host:port)");
  app.add_option("--state-dir", state_dir,
                 "folder of the private PostgreSQL (zero-config), and of the private shadow "
                 "cluster (shadow/) when the config has no shadow:")
      ->capture_default_str();
  app.add_option("--catalog", catalog, "zero-config: catalog folder of target dev");
  app.add_option("--pg-bin-dir", pg_bin_dir, "folder of initdb/pg_ctl/pg_dump (default: newest)");
  app.add_option("--log-format", log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--ready-file", ready_file,
                 "write the bound address to this file once serving, removed on exit (for "
                 "scripts and tests)");
  app.set_version_flag(
      "--version", absl::StrCat("schemad ", kSchemadVersion, " (commit ", kSchemadCommit, ", API ",
                                kSchemadProtoPackage, ")"));
  CLI11_PARSE(app, argc, argv);
  // A peer that goes away mid-write (a pipe, a socket) is an error to handle, not a signal that
  // kills the server.
  signal(SIGPIPE, SIG_IGN);

  if (absl::Status logging = schemad::SetUpLogging(
          log_format == "json" ? schemad::LogFormat::kJson : schemad::LogFormat::kText, log_level);
      !logging.ok()) {
    std::cerr << "schemad: " << logging.message() << "\n";
    return 2;
  }
  // An unreachable database must not hold a thread for minutes (libpq waits forever by default);
  // a connect_timeout in a DSN, or PGCONNECT_TIMEOUT set by the operator, wins.
  setenv("PGCONNECT_TIMEOUT", "10", /*overwrite=*/0);
  // Signals are taken by one thread with sigwait; block them before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  schemad::Config config;
  std::unique_ptr<schemad::LocalCluster> cluster;
  if (!config_path.empty()) {
    absl::StatusOr<schemad::Config> loaded = schemad::LoadConfigFile(config_path, GetEnv);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    config = *std::move(loaded);
  } else {
    schemad::LocalCluster::Options options;
    options.state_dir = state_dir;
    options.bin_dir = pg_bin_dir;
    spdlog::info("zero-config: starting a private PostgreSQL in {}", state_dir);
    absl::StatusOr<std::unique_ptr<schemad::LocalCluster>> started =
        schemad::LocalCluster::Start(options);
    if (!started.ok()) return Fail(std::string(started.status().message()));
    cluster = *std::move(started);
    for (const char* database : {kDefaultDatabase, kControlDatabase}) {
      if (absl::Status created = cluster->EnsureDatabase(database); !created.ok()) {
        return Fail(std::string(created.message()));
      }
    }
    config.control.dsn = cluster->Dsn(kControlDatabase);
    config.control.dsn_source = "embedded cluster";
    config.shadow.dsn = cluster->Dsn("postgres");
    config.shadow.dsn_source = "embedded cluster";
    schemad::TargetConfig dev;
    dev.name = "dev";
    config.environments = schemad::DefaultEnvironments();
    dev.environment = config.environments.front();
    dev.catalog_path = catalog.empty() ? DefaultCatalog() : catalog;
    dev.dsn = cluster->Dsn(kDefaultDatabase);
    dev.dsn_source = "embedded cluster";
    config.targets.push_back(dev);
    spdlog::info("zero-config: target dev = database {} over socket {}, catalog {}",
                 kDefaultDatabase, cluster->socket_dir(), dev.catalog_path);
  }
  if (!listen.empty()) config.listen = listen;
  // Without `shadow:`, shadow databases go to a private cluster started when first needed.
  config.shadow.state_dir = (fs::path(state_dir) / "shadow").string();
  config.shadow.bin_dir = pg_bin_dir;
  if (absl::Status valid = schemad::ValidateConfig(config); !valid.ok()) {
    return Fail(std::string(valid.message()));
  }
  if (absl::Status discovered = schemad::engine::ExpandDiscoveredGroups(&config);
      !discovered.ok()) {
    return Fail(std::string(discovered.message()));
  }

  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const absl::Time load_start = absl::Now();
  absl::StatusOr<std::unique_ptr<schemad::engine::Engine>> engine = schemad::engine::Engine::Create(
      config.targets, absl::StrCat(host, ":", getpid()), config.control, config.shadow);
  if (!engine.ok()) return Fail(std::string(engine.status().message()));
  spdlog::info("catalogs read in {} ms", absl::ToInt64Milliseconds(absl::Now() - load_start));
  if (config.control.enabled()) {
    spdlog::info("control database: dsn from {}", config.control.dsn_source);
  }
  for (const auto& target : (*engine)->targets()) {
    spdlog::info("target {} ({}): catalog {} with {} revisions, dsn from {}", target->config.name,
                 target->config.environment.name, target->catalog()->name,
                 target->catalog()->revisions.size(), target->config.dsn_source);
  }
  absl::StatusOr<schemad::api::RunningServer> server =
      schemad::api::StartServer(config, engine->get());
  if (!server.ok()) return Fail(std::string(server.status().message()));
  if (config.tokens.empty()) {
    spdlog::warn("no tokens configured: every caller is admin (allowed on loopback only)");
  }
  spdlog::info("schemad serving on {}{}", server->address, config.tls.enabled() ? " (TLS)" : "");
  if (!ready_file.empty()) {
    std::ofstream(ready_file + ".tmp") << server->address << "\n";
    fs::rename(ready_file + ".tmp", ready_file);
  }

  // In the background: connect and fill the version caches (the first GetVersion usually finds
  // a warm cache), and parse the catalogs (a syntax error is logged right after start-up).
  // Serving waits for neither.
  server->WatchTargets(**engine);
  std::atomic<bool> stopping{false};
  absl::Mutex health_mu;  // "serving" is set once parsed, unless shutting down meanwhile
  std::thread parse([&] {
    for (const auto& report : (*engine)->ParseCatalogs([&] { return stopping.load(); })) {
      for (const absl::Status& error : report.errors) {
        spdlog::error("target {}: {} (a plan that includes this file is refused)", report.target,
                      std::string(error.message()));
      }
      spdlog::info("target {}: parsed {} files in {} ms, {} with errors", report.target,
                   report.files, absl::ToInt64Milliseconds(report.took), report.errors.size());
    }
    // The parser's transient allocations were made on this thread's malloc arena: give the
    // freed pages back, so an idle schemad stays as small as one that never parsed.
    malloc_trim(0);
    absl::MutexLock lock(&health_mu);
    if (!stopping) server->SetServing(true);
  });
  std::thread signal_waiter([&] {
    int signal_number = 0;
    // SIGHUP re-reads every catalog folder (what changed is logged); SIGINT/SIGTERM stop.
    while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
      spdlog::info("received SIGHUP: re-reading the catalogs");
      for (const auto& target : (*engine)->targets()) {
        (*engine)->Refresh(*target, /*force=*/true).IgnoreError();  // Refresh logs failures
      }
    }
    spdlog::info("received {}, shutting down", strsignal(signal_number));
    {
      absl::MutexLock lock(&health_mu);
      stopping = true;
      server->SetServing(false);
    }
    // Calls in flight get the grace; then runs are cancelled between statements (also those
    // whose caller was dropped, which gRPC's own cancellation no longer reaches).
    absl::Notification shut_down;
    std::thread stop_runs([&] {
      if (!shut_down.WaitForNotificationWithTimeout(config.shutdown_grace)) {
        server->service->StopRuns();
      }
    });
    server->server->Shutdown(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(config.shutdown_grace));
    shut_down.Notify();
    stop_runs.join();
  });
  server->server->Wait();
  // Serving is over: nothing may read the address any more.
  if (!ready_file.empty()) {
    std::error_code ignored;
    fs::remove(ready_file, ignored);
  }
  (*engine)->StopWatching();  // its health observer writes to the server's health service
  signal_waiter.join();
  parse.join();
  if (cluster != nullptr) {
    spdlog::info("stopping the private PostgreSQL");
    if (absl::Status stopped = cluster->Stop(); !stopped.ok()) {
      return Fail(std::string(stopped.message()));
    }
  }
  spdlog::info("stopped");
  return 0;
}
