// The executor: runs a plan's steps one by one on the session that holds the target's lock,
// retrying lock timeouts, naming blockers, cleaning up after interrupted index builds, and
// filling in the run's end from what really committed.
#pragma once

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/db/run_journal.h"
#include "server/db/script_runner.h"
#include "server/engine/engine.h"

namespace schemad::engine {

// The error text of a step, the same for Run and Resolve:
// "apply 2_bad: statement 3 (line 3): relation … does not exist (SQLSTATE 42P01)".
std::string StepErrorText(const PlanStep& step, int statement_index, const std::string& message,
                          const std::string& sqlstate);

class Executor {
 public:
  // `sink` may be called from a helper thread too (blocker notices); the executor serialises.
  // `release`: the digest of the catalog the steps come from, recorded with each revision.
  Executor(const Target& target, TargetLock& lock, const EventSink& sink,
           const CancelCheck& cancelled, std::string release)
      : target_(target),
        lock_(lock),
        sink_(sink),
        cancelled_(cancelled),
        release_(std::move(release)) {}

  // Runs `steps` in order for the journaled `run`, the first one from statement
  // `first_statement` (0-based); `resume`: the first step continues a stopped run. Sets the
  // run's end: state, outcome, version reached, steps done, error and progress. Writes the
  // journal's progress, not its end.
  void Execute(const std::vector<PlanStep>& steps, int first_statement, bool resume,
               db::RunRecord& run);

  void Emit(const RunEvent& event);
  // Emits kStatementDone after every statement, also in a transactional file, while its
  // transaction is still open (a rehearsal reads the locks it holds then).
  void ReportEveryStatement() { every_statement_ = true; }

 private:
  db::StepResult RunStep(const PlanStep& step, int first_statement, bool resume,
                         db::RunRecord& run);
  // After the session broke: what committed, read on a new connection.
  void Reconcile(const PlanStep& step, const db::RunRecord& run, db::StepResult& result);
  void RecordFailure(const PlanStep& step, const db::StepResult& result, db::RunRecord& run);

  const Target& target_;
  TargetLock& lock_;
  const EventSink& sink_;
  const CancelCheck& cancelled_;
  const std::string release_;
  bool every_statement_ = false;
  absl::Mutex sink_mu_;
};

// The statements of `file` as the runner takes them.
std::vector<db::ScriptStatement> RunnerStatements(const MigrationFile& file);
db::FileMode ModeOf(sql::TransactionMode mode);

}  // namespace schemad::engine
