// The run journal of one catalog in a target database (table schemad.runs): every run, its
// durable progress and its end, so a crash at any moment leaves a journal that tells the truth.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/db/connection.h"

namespace pqxx {
class transaction_base;
}

namespace schemad::db {

enum class RunState { kRunning, kSucceeded, kFailed, kInterrupted, kTimedOut, kResolved };
enum class Operation { kApply, kRollback, kResolve, kRepair, kBaseline, kAdopt };
enum class Outcome {
  kNone,
  kApplied,
  kNoChange,
  kFailed,
  kInterrupted,
  kTimedOut,
  kRolledBack,
  kResolvedRetry,
  kResolvedMarkDone,
  kRepaired,
};
// How a file runs: one transaction; statement by statement; or inside a transaction the runner
// opens whose COMMIT AND CHAIN statements are durable checkpoints.
enum class FileMode { kTransactional, kNoTransaction, kChained };

std::string RunStateName(RunState state);
std::string OperationName(Operation operation);
std::string OutcomeName(Outcome outcome);
std::string FileModeName(FileMode mode);

struct RunRecord {
  std::string run_id;
  std::string request_id;
  // sha256 of what the request asked for: a request id reused for another request is refused.
  std::string request_fingerprint;
  std::string principal;
  Operation operation = Operation::kApply;
  std::string target_version;
  std::string plan_hash;
  RunState state = RunState::kRunning;
  absl::Time started_at;
  std::optional<absl::Time> finished_at;
  std::string server_instance;
  int backend_pid = 0;
  std::string from_version;
  std::string reached_version;  // the version recorded when the run ended
  int steps_done = 0;
  double duration_ms = 0;
  // The file running (or stopped): its version, mode and durable progress.
  std::string current_version;
  FileMode current_mode = FileMode::kTransactional;
  int completed = 0;                          // statements whose effects are durable
  std::vector<std::string> completed_hashes;  // StatementHash of each of them
  // Something of the current file may be committed without its history row: resolve first.
  bool partial = false;
  int failed_statement = 0;  // 1-based; 0: none
  std::string error;
  std::string sqlstate;
  std::string failing_statement;
  Outcome outcome = Outcome::kNone;
  // Explicit permissions the request used (out of order, checksum drift, lint override + reason).
  std::string overrides;
  // Running, but nobody holds the catalog's lock: the server that ran it died.
  bool orphaned = false;
  // The current file's history row is written (read only).
  bool step_recorded = false;
};

// A short, stable hash of a statement's text, kept per completed statement.
std::string StatementHash(absl::string_view text);

// Reads and writes the runs of `catalog`. Every write that a client or a later run relies on
// commits synchronously before the method returns. Methods return UNAVAILABLE when the
// connection breaks and INTERNAL for other database errors.
class RunJournal {
 public:
  explicit RunJournal(std::string catalog);
  const std::string& catalog() const { return catalog_; }

  absl::StatusOr<std::string> Start(Connection& conn, const RunRecord& run) const;
  // The run moved on to a file. `durable`: committed synchronously (a non-transactional file,
  // whose mode a later run relies on); otherwise a hint that costs no disk flush (a
  // transactional file leaves nothing if the hint is lost).
  absl::Status StepStarted(Connection& conn, const RunRecord& run, bool durable) const;
  // Records `completed` statements (hashes) of the current file; inside `txn` when given (the
  // statement's or segment's own transaction), fenced: throws LockLostError when the session
  // no longer holds `lock_key`.
  void WriteProgress(pqxx::transaction_base& txn, const std::string& run_id, int completed,
                     const std::vector<std::string>& hashes, int64_t lock_key) const;
  // The durable progress of `run_id`, as committed: the file it is at and its completed
  // statements.
  struct Progress {
    std::string version;
    int completed = 0;
  };
  absl::StatusOr<Progress> ReadProgress(Connection& conn, const std::string& run_id) const;
  // Records the end, on the session that holds the catalog's lock (fenced: a session that lost
  // the lock writes nothing), or with `lock_lost` on any connection while the row is still
  // "running" (nobody took the run over). Returns FAILED_PRECONDITION when nothing was written.
  // `also`, when given, writes more in the same transaction (the audit event, a history row
  // marked done): one disk flush, all or nothing.
  absl::Status Finish(Connection& conn, const RunRecord& run, bool lock_lost = false,
                      const std::function<void(pqxx::transaction_base&)>& also = {}) const;
  // Marks every "running" run interrupted. Call only while holding the catalog's lock: then no
  // other run can be live.
  absl::Status MarkOrphanedInterrupted(Connection& conn) const;

  // The newest run, if it blocks others: running (someone holds the lock), or stopped
  // (failed, interrupted, timed out, orphaned) with partial state.
  absl::StatusOr<std::optional<RunRecord>> ReadBlocking(Connection& conn) const;
  absl::StatusOr<std::optional<RunRecord>> ReadRun(Connection& conn,
                                                   const std::string& run_id) const;
  absl::StatusOr<std::optional<RunRecord>> ReadByRequestId(Connection& conn,
                                                           const std::string& request_id) const;
  // Runs newest first.
  absl::StatusOr<std::vector<RunRecord>> ReadRuns(Connection& conn, int limit, int offset) const;

 private:
  // The run whose `column` (a fixed column expression, never input) equals `value`.
  absl::StatusOr<std::optional<RunRecord>> ReadOne(Connection& conn, const std::string& column,
                                                   const std::string& value) const;
  std::string catalog_;
  int64_t lock_key_;
  std::string columns_;
};

// Thrown inside a step's transaction when the fence finds the lock gone.
struct LockLostError : std::runtime_error {
  LockLostError() : std::runtime_error("this run no longer holds the target's lock") {}
};

}  // namespace schemad::db
