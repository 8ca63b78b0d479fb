// The applied revisions of one catalog in a target database (table schemad.migrations).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/db/connection.h"

namespace pqxx {
class transaction_base;
}

namespace schemad::db {

struct AppliedRevision {
  std::string version;
  std::string name;
  std::string checksum;
  absl::Time applied_at;
  std::string applied_by;
  double duration_ms = 0;
  std::string run_id;
  // The digest of the catalog content it was applied from (empty: before schemad recorded it).
  std::string release;
};

// What a step writes to the history in its own transaction: the revision recorded (up) or
// removed (down).
struct HistoryWrite {
  bool insert = true;
  AppliedRevision revision;
  // Recorded as applied then (adopted from another tool's history), not now.
  std::optional<absl::Time> applied_at;
};

// Reads and writes the applied revisions of `catalog`. Methods taking a Connection commit at
// once; they return UNAVAILABLE when the connection breaks and INTERNAL for other errors.
class HistoryStore {
 public:
  explicit HistoryStore(std::string catalog) : catalog_(std::move(catalog)) {}
  const std::string& catalog() const { return catalog_; }

  // Applied revisions in version order; empty when the bookkeeping schema does not exist.
  absl::StatusOr<std::vector<AppliedRevision>> ReadApplied(Connection& conn) const;
  // Whether `version` is recorded, by run `run_id` when not empty (what a commit whose
  // outcome was in doubt really did).
  absl::StatusOr<bool> IsRecorded(Connection& conn, const std::string& version,
                                  const std::string& run_id) const;
  // Replaces the recorded checksum of `version`; NOT_FOUND when it is not recorded.
  absl::Status UpdateChecksum(Connection& conn, const std::string& version,
                              const std::string& checksum) const;

  // Writes `write` (and the version NOTIFY) inside `txn`, the step's own transaction.
  void Write(pqxx::transaction_base& txn, const HistoryWrite& write, double duration_ms) const;

 private:
  std::string catalog_;
};

}  // namespace schemad::db
