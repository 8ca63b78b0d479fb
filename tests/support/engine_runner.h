// Drives an in-process Engine against a test database and collects what a run streams.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/engine/engine.h"

namespace schemad::testing {

struct RunResult {
  absl::Status status;
  std::vector<engine::RunEvent> events;
  // The kRunFinished event (outcome, error, statement index), or default when none came.
  engine::RunEvent finished;
  std::vector<std::string> notices;
};

// Creates an engine with one target named `name` over `catalog` and `dsn`.
std::unique_ptr<engine::Engine> MakeEngine(const std::string& catalog, const std::string& dsn,
                                           const std::string& name = "dev",
                                           absl::Duration lock_timeout = absl::Seconds(5),
                                           absl::Duration lock_wait = absl::Seconds(30));

RunResult RunEngine(
    engine::Engine& engine, const engine::RunRequest& request,
    const engine::CancelCheck& cancelled = [] { return false; });
engine::RunRequest ApplyRequest(const std::string& to = "");
engine::RunRequest RollbackRequest(const std::string& to, int steps = 0);

// Versions recorded in schemad.migrations, in order, comma-separated.
std::string AppliedVersions(const std::string& dsn);

// Columns, indexes, constraints, views, functions and types of schema public, one per line.
std::string SchemaSnapshot(const std::string& dsn);

}  // namespace schemad::testing
