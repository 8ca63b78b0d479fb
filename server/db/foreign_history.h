// Other migration tools' history tables, read (never written) so that schemad can adopt what
// they applied: Alembic, Flyway, golang-migrate, dbmate, goose, sql-migrate and Sqitch.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/db/connection.h"

namespace schemad::db {

struct ForeignEntry {
  std::string id;  // the tool's own id: a version, a revision hash, a file or change name
  std::string description;
  std::string who;                 // empty when the tool does not keep it
  std::optional<absl::Time> when;  // likewise
  bool success = true;             // Flyway's success column
  std::string note;                // why the entry cannot be adopted as such (e.g. repeatable)
  // Everything up to this version is applied (Flyway's BASELINE row).
  bool cumulative = false;
};

struct ForeignHistory {
  std::string table;  // what was read, e.g. "flyway_schema_history"
  std::vector<ForeignEntry> entries;
  // The tool keeps only its current version(s) (Alembic heads, golang-migrate): every revision
  // up to it counts as applied.
  bool cumulative = false;
  // golang-migrate: the version whose migration failed half-way (dirty = true).
  std::string dirty_version;
};

// The tools schemactl adopt knows.
const std::vector<std::string>& ForeignTools();

// Reads `tool`'s history table. NOT_FOUND naming the table when it is not there;
// INVALID_ARGUMENT for an unknown tool. `sqitch_project`: the project of sqitch.changes to read
// (empty: every project).
absl::StatusOr<ForeignHistory> ReadForeignHistory(Connection& conn, const std::string& tool,
                                                  const std::string& sqitch_project = "");

}  // namespace schemad::db
