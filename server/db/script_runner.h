// Runs one migration file's statements on the session that holds the target's lock, in the
// file's mode, with its history row and its durable progress written in the same transactions
// as the statements they describe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/db/connection.h"
#include "server/db/history_store.h"
#include "server/db/run_journal.h"

namespace schemad::db {

struct ScriptStatement {
  std::string text;
  std::string hash;  // StatementHash(text)
  // PostgreSQL refuses it inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM…).
  bool outside_transaction = false;
  // BEGIN / COMMIT / ROLLBACK … as written in the file (not the SAVEPOINT family).
  bool transaction_control = false;
  // COMMIT AND CHAIN: in a chained file, the end of a durable segment.
  bool commit_and_chain = false;
  // CREATE INDEX CONCURRENTLY: the index it builds, as written ("s.name" or "name").
  std::string concurrent_index;
};

struct StepSpec {
  std::string run_id;
  FileMode mode = FileMode::kTransactional;
  std::vector<ScriptStatement> statements;
  // Resume point: statements before it are durable already (non-transactional and chained).
  int first = 0;
  absl::Duration lock_timeout = absl::Seconds(5);
  absl::Duration statement_timeout = absl::ZeroDuration();  // zero: none
  HistoryWrite history;
};

struct StepResult {
  enum class Kind {
    kDone,
    kFailed,       // a statement failed; nothing of the failed transaction is left
    kLockTimeout,  // SQLSTATE 55P03: may be retried
    kTimedOut,     // statement_timeout
    kCancelled,    // the caller went away, or the server is stopping
    kLockLost,     // the fence found the target's lock gone: nothing was committed
    kSessionLost,  // the session broke: `completed` is a lower bound, read the journal
  };
  Kind kind = Kind::kDone;
  int completed = 0;     // statements whose effects are durable (journaled)
  int failed_index = 0;  // 0-based index of the statement that failed or was running
  std::string sqlstate;
  std::string message;
  // Something of this file is committed without its history row.
  bool partial = false;
  // The session broke (even if what it committed was then read back as complete).
  bool session_lost = false;
  // What committed could not be read back after the session broke.
  bool unknown = false;
  double duration_ms = 0;
};

// Not thread-safe; the session is used by one run. Cancel() on the session from another thread
// stops the statement running.
class ScriptRunner {
 public:
  ScriptRunner(Connection& session, const RunJournal& journal, const HistoryStore& history,
               int64_t lock_key)
      : session_(session), journal_(journal), history_(history), lock_key_(lock_key) {}

  // Runs `step` from step.first. `on_statement(index, duration_ms)` follows each statement;
  // `cancelled` is checked between statements.
  StepResult Run(const StepSpec& step, const std::function<bool()>& cancelled,
                 const std::function<void(int, double)>& on_statement);

  // Before a resumed CREATE INDEX CONCURRENTLY of `index` ("s.name" or "name"): drops it
  // (DROP INDEX CONCURRENTLY) when it is INVALID, the leftover of the interrupted attempt.
  enum class IndexState { kAbsent, kDroppedInvalid, kValid };
  absl::StatusOr<IndexState> PrepareConcurrentIndex(const std::string& index);
  // Records, fenced, that the first `count` statements of `step` are complete (a resumed
  // statement whose effect is found complete, e.g. its index exists and is valid).
  absl::Status RecordCompleted(const StepSpec& step, int count);

 private:
  Connection& session_;
  const RunJournal& journal_;
  const HistoryStore& history_;
  int64_t lock_key_;
};

}  // namespace schemad::db
