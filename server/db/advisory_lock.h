// The cross-replica lock of one catalog in one database: a session-level advisory lock held by
// the very session that runs the migration, so the lock and the work can only end together.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/db/connection.h"

namespace schemad::db {

// The advisory lock key of `catalog` (stable across releases of schemad).
int64_t CatalogLockKey(const std::string& catalog);

// SQL: true iff the session running it holds the advisory lock `key` (the function
// schemad.holds_lock of the bookkeeping schema). Fences commits: a step commits only while its
// run still holds the target.
std::string LockHeldBySelfSql(int64_t key);
// SQL: true iff any session holds the advisory lock `key` on the current database.
std::string LockHeldByAnyoneSql(int64_t key);

// Owns a pooled session and the advisory lock on it. Not thread-safe: one run uses it.
class AdvisoryLock {
 public:
  // Tries once, on `session` (which must hold no open transaction, so a waiter never keeps a
  // snapshot that a CREATE INDEX CONCURRENTLY of the holder waits for). Returns nullopt with
  // the lease handed back untouched through `session` when another session holds the lock.
  static absl::StatusOr<std::unique_ptr<AdvisoryLock>> TryAcquire(ConnectionPool::Lease& session,
                                                                  int64_t key);
  ~AdvisoryLock();
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

  Connection& session() { return *session_; }
  int64_t key() const { return key_; }

  // Unlocks and returns the session to the pool clean (no transaction, no settings, no
  // locks). Returns DATA_LOSS "the lock was lost before release" when the session no longer
  // held it, UNAVAILABLE when the session broke. Idempotent.
  absl::Status Release();

 private:
  AdvisoryLock(ConnectionPool::Lease session, int64_t key)
      : session_(std::move(session)), key_(key) {}
  ConnectionPool::Lease session_;
  int64_t key_;
  bool released_ = false;
};

}  // namespace schemad::db
