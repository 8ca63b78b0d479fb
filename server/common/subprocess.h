// Running child processes: PostgreSQL's tools for the embedded cluster, binaries in tests.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace schemad {

// A user to run a child as (PostgreSQL's tools refuse to run as root).
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// Looks up `user` in the password database. Returns NOT_FOUND if there is no such user.
absl::StatusOr<RunAs> LookUpUser(const std::string& user);

struct CommandOptions {
  std::optional<RunAs> run_as;
  // Extra NAME=VALUE entries added to the inherited environment.
  std::vector<std::string> env;
  std::string stdin_data;
  std::string working_dir;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) to completion, capturing stdout and stderr.
// Returns INTERNAL only when the process could not be started.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const CommandOptions& options = {});

// Starts argv[0] in the background with stdout and stderr appended to `log_path` (or inherited
// when empty). Returns the child's pid.
absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv,
                                   const CommandOptions& options, const std::string& log_path);

}  // namespace schemad
