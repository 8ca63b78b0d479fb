// Runs the real schemad binary on a free loopback port, and the real schemactl against it.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/subprocess.h"

namespace schemad::testing {

struct TargetSpec {
  std::string name = "dev";
  std::string environment = "dev";
  std::string catalog;
  std::string dsn;
  std::string extra_yaml;  // more keys for this target, e.g. "    lock_timeout: 500ms\n"
};

struct TokenSpec {
  std::string principal;
  std::string token;  // the plain token; the config gets its SHA-256
  std::map<std::string, std::string> roles;
};

// Config YAML for `targets` (DSNs passed through environment variables) and `tokens`.
struct ServerConfig {
  std::vector<TargetSpec> targets;
  std::vector<TokenSpec> tokens;
  std::string extra_yaml;
  // Shadow databases (drift, rehearsals) on the test cluster; false: schemad's default, a
  // private cluster in its --state-dir.
  bool shadow_on_test_cluster = true;
  // More command-line arguments for schemad (e.g. --state-dir).
  std::vector<std::string> args;
};

class ServerProcess {
 public:
  // Writes the config, starts schemad on 127.0.0.1:0 and waits until it serves (its
  // --ready-file appears). Returns the log on failure.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(const ServerConfig& config);
  // Starts schemad with these exact arguments (e.g. the zero-config default).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> StartWithArgs(
      std::vector<std::string> args, const std::vector<std::string>& env = {});

  ~ServerProcess();

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  std::string Log() const;
  // Sends `signal` and waits for the exit; returns the exit code (128 + signal if killed).
  int Stop(int signal = 15);

  // Runs schemactl --server <this> args...
  CommandResult Cli(const std::vector<std::string>& args,
                    const std::vector<std::string>& env = {}) const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  std::string address_;
  std::string log_path_;
};

// A server with one target named `name` (the test fails if it does not start).
std::unique_ptr<ServerProcess> StartServerFor(const std::string& catalog, const std::string& dsn,
                                              const std::string& name = "dev",
                                              const std::string& environment = "dev",
                                              const std::string& extra_yaml = "");

// Runs schemactl with exactly these args.
CommandResult RunCli(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                     const std::string& stdin_data = "");

// sha256 hex, as the config wants tokens.
std::string TokenHash(const std::string& token);

}  // namespace schemad::testing
