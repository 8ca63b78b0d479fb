// The target's own audit log (table schemad.events): every mutating call and every refusal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/db/connection.h"

namespace pqxx {
class transaction_base;
}

namespace schemad::db {

struct EventRecord {
  int64_t id = 0;
  absl::Time at;
  std::string principal;
  std::string action;
  std::string run_id;
  std::string outcome;
  std::string detail;
};

// Appends to and reads the audit log of `catalog`. Appends commit synchronously.
class AuditLog {
 public:
  explicit AuditLog(std::string catalog) : catalog_(std::move(catalog)) {}
  absl::Status Append(Connection& conn, const EventRecord& event) const;
  // Appends only if the target already has its bookkeeping schema (a denied caller must not
  // create it). Returns whether a row was written.
  absl::StatusOr<bool> AppendIfPresent(Connection& conn, const EventRecord& event) const;
  // Appends inside `txn` (e.g. together with the run's end).
  void Write(pqxx::transaction_base& txn, const EventRecord& event) const;
  // Newest first.
  absl::StatusOr<std::vector<EventRecord>> Read(Connection& conn, int limit, int offset) const;

 private:
  std::string catalog_;
};

}  // namespace schemad::db
