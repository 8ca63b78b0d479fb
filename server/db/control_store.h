// The control database (schema schemad_control): what is not about one target. For now the
// central audit, a hash chain: each row carries the hash of the one before it, so an edited or
// deleted row breaks the chain at that row.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/db/connection.h"

namespace schemad::db {

struct AuditEntry {
  int64_t seq = 0;
  absl::Time at;
  std::string principal;
  std::string peer;
  std::string method;  // "Apply", "Rollback", "ResolveRun", "RepairChecksums", "denied Plan", …
  std::string target;
  std::string plan_hash;
  std::string outcome;  // "APPLIED", "FAILED", "REFUSED", "PERMISSION_DENIED", …
  std::string reason;
  std::string prev_hash;
  std::string hash;
};

// The hash of `entry` (its seq, time, fields and prev_hash): sha256 hex.
std::string AuditEntryHash(const AuditEntry& entry);

struct AuditCheck {
  int64_t rows = 0;
  // The first row that does not verify (0: the chain is whole), and why.
  int64_t broken_at = 0;
  std::string problem;
};

// Thread-safe.
class ControlStore {
 public:
  explicit ControlStore(std::string dsn) : pool_(std::move(dsn), 2) {}

  // Creates or upgrades schema schemad_control (serialised between replicas). Returns
  // FAILED_PRECONDITION when a newer schemad wrote it.
  absl::Status EnsureSchema();
  // Appends `entry` (its seq, time and hashes are set here) and commits synchronously.
  absl::Status Append(AuditEntry entry);
  // Rows of `target` (empty: all) at or after `since`, oldest first, at most `limit`.
  absl::StatusOr<std::vector<AuditEntry>> Read(const std::string& target, absl::Time since,
                                               int limit);
  // Recomputes every row's hash in order and checks that each follows the one before.
  absl::StatusOr<AuditCheck> Verify();

 private:
  ConnectionPool pool_;
};

}  // namespace schemad::db
