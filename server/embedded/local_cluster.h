// A private PostgreSQL cluster in a folder, started with the system's initdb/pg_ctl: the
// zero-config default's database, and the tests' throwaway server.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/common/subprocess.h"

namespace schemad {

class LocalCluster {
 public:
  struct Options {
    // Holds pgdata/, run/ (the socket) and postgres.log; created if missing.
    std::string state_dir;
    // Folder of initdb and pg_ctl; empty: the newest /usr/lib/postgresql/*/bin.
    std::string bin_dir;
    // The socket's port number (there is no TCP listener, so it cannot clash).
    int port = 5432;
    // Extra settings for the server (-c name=value), e.g. fsync=off for tests.
    std::vector<std::string> settings;
  };

  // Initialises the cluster when the folder is new, removes a stale postmaster.pid, starts the
  // server and waits until it accepts connections. When running as root, the tools run as the
  // `postgres` system user. Returns FAILED_PRECONDITION with the tool's output on failure.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(const Options& options);

  // Stops the server (fast shutdown) if still running.
  ~LocalCluster();
  absl::Status Stop();

  // A libpq connection string for `database` over the cluster's socket (no password).
  std::string Dsn(const std::string& database) const;
  // Creates `database` if it does not exist.
  absl::Status EnsureDatabase(const std::string& database) const;
  const std::string& socket_dir() const { return socket_dir_; }
  int port() const { return options_.port; }

 private:
  explicit LocalCluster(Options options) : options_(std::move(options)) {}
  absl::StatusOr<CommandResult> Tool(const std::string& name,
                                     const std::vector<std::string>& args) const;

  Options options_;
  std::optional<RunAs> run_as_;
  std::string data_dir_;
  std::string socket_dir_;
  bool running_ = false;
};

// The newest /usr/lib/postgresql/<major>/bin that has initdb, or "" if none.
std::string FindPostgresBinDir();

}  // namespace schemad
