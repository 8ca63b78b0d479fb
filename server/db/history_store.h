// What schemad records in each target database, schema `schemad`: applied revisions
// (migrations), the run journal (runs) and the audit log (events); and running a migration
// file's statements there.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/db/connection.h"

namespace schemad::db {

// Version of the bookkeeping schema this build writes.
inline constexpr int kBookkeepingVersion = 1;

struct AppliedRevision {
  std::string version;
  std::string name;
  std::string checksum;
  absl::Time applied_at;
  std::string applied_by;
  double duration_ms = 0;
  std::string run_id;
};

enum class RunState { kRunning, kSucceeded, kFailed, kInterrupted, kResolved };
std::string RunStateName(RunState state);

struct RunRecord {
  std::string run_id;
  std::string request_id;
  std::string principal;
  std::string operation;  // "apply", "rollback", "resolve"
  std::string target_version;
  std::string plan_hash;
  RunState state = RunState::kRunning;
  absl::Time started_at;
  std::optional<absl::Time> finished_at;
  std::string server_instance;
  int backend_pid = 0;
  std::string current_version;
  bool current_transactional = true;
  int statement_index = 0;  // 1-based index of the statement running or failed; 0: none
  std::string error;
  std::string sqlstate;
  std::string failing_statement;
  std::string outcome;
  // Explicit permissions the request used (out of order, checksum drift, lint override + reason).
  std::string overrides;
  // Running, but its backend is gone: the server that ran it died.
  bool orphaned = false;
};

struct EventRecord {
  int64_t id = 0;
  absl::Time at;
  std::string principal;
  std::string action;
  std::string run_id;
  std::string outcome;
  std::string detail;
};

// Reads and writes the bookkeeping schema through a connection the caller owns. Every method
// returns UNAVAILABLE when the connection breaks and INTERNAL for other database errors.
class HistoryStore {
 public:
  explicit HistoryStore(std::string catalog) : catalog_(std::move(catalog)) {}

  // Creates or upgrades the schema; idempotent. Returns FAILED_PRECONDITION when the database
  // was written by a newer schemad.
  absl::Status EnsureSchema(Connection& conn) const;
  // False when schema `schemad` does not exist yet.
  absl::StatusOr<bool> IsInitialized(Connection& conn) const;

  // Applied revisions of this catalog in version order; empty when uninitialised.
  absl::StatusOr<std::vector<AppliedRevision>> ReadApplied(Connection& conn) const;
  // The newest run, if it blocks others: failed; running (someone holds the catalog's advisory
  // lock); or stopped (interrupted, or orphaned: "running" but nobody holds the lock) inside a
  // non-transactional file, which may be half-applied. A transactional file that stopped left
  // nothing behind and blocks nothing.
  absl::StatusOr<std::optional<RunRecord>> ReadBlockingRun(Connection& conn) const;
  absl::StatusOr<std::optional<RunRecord>> ReadRun(Connection& conn,
                                                   const std::string& run_id) const;
  absl::StatusOr<std::optional<RunRecord>> ReadRunByRequestId(Connection& conn,
                                                              const std::string& request_id) const;
  // Runs newest first, at most `limit`, older than `before_run_started` when set.
  absl::StatusOr<std::vector<RunRecord>> ReadRuns(Connection& conn, int limit, int offset) const;
  absl::StatusOr<std::vector<EventRecord>> ReadEvents(Connection& conn, int limit,
                                                      int offset) const;

  // Journal writes, each committed at once (autocommit on `conn`).
  absl::StatusOr<std::string> StartRun(Connection& conn, const RunRecord& run) const;
  absl::Status UpdateProgress(Connection& conn, const std::string& run_id,
                              const std::string& version, bool transactional, int statement_index,
                              int backend_pid) const;
  absl::Status FinishRun(Connection& conn, const RunRecord& run) const;
  // Marks every "running" run interrupted. Call only while holding the advisory lock: then no
  // other run can be live.
  absl::Status MarkOrphanedInterrupted(Connection& conn) const;
  absl::Status AppendEvent(Connection& conn, const EventRecord& event) const;
  absl::Status RecordApplied(Connection& conn, const AppliedRevision& revision) const;
  absl::Status RemoveApplied(Connection& conn, const std::string& version) const;

  // The SQL that inserts or deletes a history row, for running inside a migration's own
  // transaction (values are bound by RunScript).
  struct HistoryWrite {
    bool insert = true;
    AppliedRevision revision;
  };

  // Runs `statements` on `conn`. Transactional: one transaction with `history` written in it;
  // non-transactional: statement by statement from `first_statement` (0-based), calling
  // `on_statement(index, duration_ms)` after each, then `history` in its own transaction.
  // `lock_timeout` is set for the session. Returns the failure, if any, with the 0-based index
  // of the failing statement.
  struct ScriptFailure {
    int statement_index = 0;
    std::string sqlstate;
    std::string message;
    bool lock_timeout = false;
    bool connection_lost = false;
  };
  absl::StatusOr<std::optional<ScriptFailure>> RunScript(
      Connection& conn, const std::vector<std::string>& statements, bool transactional,
      int first_statement, absl::Duration lock_timeout, const HistoryWrite& history,
      const std::function<bool()>& cancelled,
      const std::function<void(int, double)>& on_statement) const;

  // Makes the session that runs migrations notice a vanished client (PostgreSQL 14+), so a
  // long statement of a killed server is cancelled within a second instead of running on.
  void PrepareWorkSession(Connection& conn) const;

  // Indexes left INVALID (e.g. by a failed CREATE INDEX CONCURRENTLY), as schema.name.
  absl::StatusOr<std::vector<std::string>> InvalidIndexes(Connection& conn) const;

  // Session-level advisory lock for this catalog on `conn`; polled, never blocking inside a
  // transaction. True when taken.
  absl::StatusOr<bool> TryAdvisoryLock(Connection& conn) const;
  absl::Status AdvisoryUnlock(Connection& conn) const;

 private:
  int64_t LockKey() const;
  std::string catalog_;
};

}  // namespace schemad::db
