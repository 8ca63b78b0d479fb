// The lock on one target (database, catalog): in-process first, so two calls on one replica
// never race for it, then the advisory lock across replicas, held by the session that runs
// the migration.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/db/advisory_lock.h"
#include "server/db/connection.h"
#include "server/db/run_journal.h"

namespace schemad::engine {

// The in-process half: the keys this replica holds. Thread-safe.
class InProcessLocks {
 public:
  bool TryTake(const std::string& key);
  void Drop(const std::string& key);

 private:
  absl::Mutex mu_;
  std::map<std::string, bool> held_ ABSL_GUARDED_BY(mu_);
};

class TargetLock {
 public:
  // Takes both halves, polling with back-off (never blocking inside a transaction) until
  // `wait` has passed. Returns ABORTED naming the holder (from the journal), UNAVAILABLE when
  // the database is unreachable. `name` is the target's, for messages.
  static absl::StatusOr<std::unique_ptr<TargetLock>> Acquire(
      InProcessLocks& locks, const std::string& key, db::ConnectionPool& pool,
      const db::RunJournal& journal, const std::string& name, absl::Duration wait);
  ~TargetLock();

  db::Connection& session() { return advisory_->session(); }
  db::AdvisoryLock& advisory() { return *advisory_; }
  // Releases both halves; returns the advisory lock's report (DATA_LOSS when it had been lost).
  absl::Status Release();

 private:
  TargetLock(InProcessLocks& locks, std::string key) : locks_(locks), key_(std::move(key)) {}
  InProcessLocks& locks_;
  std::string key_;
  std::unique_ptr<db::AdvisoryLock> advisory_;
  bool released_ = false;
};

}  // namespace schemad::engine
