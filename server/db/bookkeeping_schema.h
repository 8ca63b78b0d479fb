// The bookkeeping schema `schemad` in each target database: its tables and their versioned
// upgrades (meta.schema_version).
#pragma once

#include "absl/status/statusor.h"
#include "server/db/connection.h"

namespace schemad::db {

// Version of the bookkeeping schema this build writes.
inline constexpr int kBookkeepingVersion = 4;

// Creates or upgrades schema `schemad`; idempotent, safe against concurrent replicas. Returns
// FAILED_PRECONDITION when the database was written by a newer schemad.
absl::Status EnsureBookkeepingSchema(Connection& conn);

// False when schema `schemad` does not exist yet.
absl::StatusOr<bool> BookkeepingInitialized(Connection& conn);

}  // namespace schemad::db
