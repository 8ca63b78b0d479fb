#include "server/engine/executor.h"

#include <atomic>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "server/common/sha256.h"
#include "server/db/introspection.h"

namespace schemad::engine {
namespace {

// A statement waiting longer than this gets a notice naming who blocks it.
constexpr absl::Duration kBlockerReportAfter = absl::Seconds(1);
// Failing statements are kept in the journal and responses up to this many bytes.
constexpr size_t kStatementTextLimit = 4096;

std::string StepLabel(const PlanStep& step) {
  return absl::StrCat(step.direction == Direction::kUp ? "apply " : "rollback ",
                      step.revision->Id());
}

RunEvent Event(RunEvent::Kind kind) {
  RunEvent event;
  event.kind = kind;
  return event;
}

std::string DescribeBlockers(const std::vector<db::BlockingSession>& blockers) {
  std::vector<std::string> parts;
  for (const db::BlockingSession& b : blockers) {
    parts.push_back(absl::StrFormat("pid %d (application \"%s\", user %s, %s for %.1f s: %s)",
                                    b.pid, b.application_name, b.user, b.state, b.seconds,
                                    b.query));
  }
  return absl::StrJoin(parts, "; ");
}

// The statement as kept: whole, or its first kStatementTextLimit bytes (cut where a UTF-8
// character starts: responses are proto3 strings) with its length and checksum.
std::string Truncated(const std::string& text) {
  if (text.size() <= kStatementTextLimit) return text;
  size_t cut = kStatementTextLimit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(text.substr(0, cut), "… (", text.size(), " bytes in all, sha256 ",
                      Sha256Hex(text), ")");
}

// Watches a running step from a helper thread: cancels the statement when the caller goes
// away, and names the sessions that block a statement waiting for a lock.
class StepWatcher {
 public:
  StepWatcher(const Target& target, db::Connection& session, const CancelCheck& cancelled,
              std::function<void(const std::string&)> notice)
      : target_(target), session_(session), cancelled_(cancelled), notice_(std::move(notice)) {
    statement_started_ = absl::Now();
    thread_ = std::thread([this] { Loop(); });
  }
  ~StepWatcher() {
    done_.Notify();
    thread_.join();
  }
  // The runner moved on to statement `index` (0-based).
  void StatementStarted(int index) {
    absl::MutexLock lock(&mu_);
    statement_ = index;
    statement_started_ = absl::Now();
  }
  std::string last_blockers() {
    absl::MutexLock lock(&mu_);
    return last_blockers_;
  }

 private:
  void Loop() {
    const int pid = session_.backend_pid();
    absl::Time last_check = absl::InfinitePast();
    std::optional<db::ConnectionPool::Lease> side;
    while (!done_.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      if (cancelled_()) {
        // Again every second: a cancel that reaches the backend between two statements is
        // ignored, and the runner checks for cancellation only between statements.
        if (absl::Now() - last_cancel_ >= absl::Seconds(1)) {
          session_.Cancel();
          last_cancel_ = absl::Now();
        }
        continue;
      }
      int statement;
      absl::Time started;
      {
        absl::MutexLock lock(&mu_);
        statement = statement_;
        started = statement_started_;
      }
      const absl::Time now = absl::Now();
      if (now - started < kBlockerReportAfter || now - last_check < absl::Seconds(1)) continue;
      last_check = now;
      if (!side) {
        absl::StatusOr<db::ConnectionPool::Lease> lease = target_.pool->Acquire();
        if (!lease.ok()) continue;
        side = *std::move(lease);
        // A stuck database must not stall the run through its watcher.
        (*side)->SetIfExists("statement_timeout", "2000");
      }
      absl::StatusOr<std::vector<db::BlockingSession>> blockers = db::BlockingSessions(**side, pid);
      if (!blockers.ok() || blockers->empty()) continue;
      const std::string text = DescribeBlockers(*blockers);
      bool changed;
      {
        absl::MutexLock lock(&mu_);
        changed = text != last_blockers_;
        last_blockers_ = text;
      }
      if (changed) {
        notice_(
            absl::StrCat("statement ", statement + 1, " has waited ",
                         absl::FormatDuration(absl::Seconds(absl::ToInt64Seconds(now - started))),
                         " for a lock held by ", text));
      }
    }
  }

  const Target& target_;
  db::Connection& session_;
  const CancelCheck& cancelled_;
  std::function<void(const std::string&)> notice_;
  absl::Notification done_;
  absl::Time last_cancel_ = absl::InfinitePast();
  absl::Mutex mu_;
  int statement_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time statement_started_ ABSL_GUARDED_BY(mu_);
  std::string last_blockers_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace

std::string StepErrorText(const PlanStep& step, int statement_index, const std::string& message,
                          const std::string& sqlstate) {
  const auto& statements = step.file->script().statements;
  const int count = static_cast<int>(statements.size());
  std::string where;
  if (statement_index >= 0 && statement_index < count) {
    where = absl::StrCat(": statement ", statement_index + 1, " (line ",
                         statements[statement_index].line, ")");
  } else if (step.direction == Direction::kUp && step.revision->verify &&
             statement_index - count - 1 >= 0 &&
             statement_index - count - 1 <
                 static_cast<int>(step.revision->verify->script().statements.size())) {
    // Past the up's statements (and the savepoint): its verify file's checks.
    const int check = statement_index - count - 1;
    where = absl::StrCat(": verify check ", check + 1, " (", step.revision->verify->path, " line ",
                         step.revision->verify->script().statements[check].line,
                         "; the up file is rolled back)");
  }
  return absl::StrCat(StepLabel(step), where, ": ", message,
                      sqlstate.empty() ? "" : absl::StrCat(" (SQLSTATE ", sqlstate, ")"));
}

db::FileMode ModeOf(sql::TransactionMode mode) {
  switch (mode) {
    case sql::TransactionMode::kTransactional:
      return db::FileMode::kTransactional;
    case sql::TransactionMode::kNonTransactional:
      return db::FileMode::kNoTransaction;
    case sql::TransactionMode::kChained:
      return db::FileMode::kChained;
  }
  return db::FileMode::kTransactional;
}

std::vector<db::ScriptStatement> RunnerStatements(const MigrationFile& file) {
  std::vector<db::ScriptStatement> statements;
  statements.reserve(file.script().statements.size());
  for (const sql::Statement& s : file.script().statements) {
    db::ScriptStatement statement;
    statement.text = std::string(s.text);
    statement.hash = db::StatementHash(statement.text);
    statement.outside_transaction = !s.needs_no_transaction.empty();
    statement.transaction_control = s.transaction_control;
    statement.commit_and_chain = s.commit_and_chain;
    statement.concurrent_index = s.concurrent_index;
    statements.push_back(std::move(statement));
  }
  return statements;
}

void Executor::Emit(const RunEvent& event) {
  absl::MutexLock lock(&sink_mu_);
  sink_(event);
}

void Executor::Execute(const std::vector<PlanStep>& steps, int first_statement, bool resume,
                       db::RunRecord& run) {
  const absl::Time start = absl::Now();
  int first = first_statement;
  for (const PlanStep& step : steps) {
    const db::StepResult result = RunStep(step, first, resume, run);
    first = 0;
    resume = false;
    if (result.kind != db::StepResult::Kind::kDone) {
      RecordFailure(step, result, run);
      break;
    }
    ++run.steps_done;
    run.reached_version = step.version_after;
    run.completed = 0;
    run.partial = false;
    if (result.session_lost) {
      // Its commit went through, then the session broke: the run cannot go on without it.
      run.state = db::RunState::kInterrupted;
      run.outcome = db::Outcome::kInterrupted;
      run.error = absl::StrCat("the database session was lost after ", step.revision->Id(),
                               " committed (", result.message,
                               "); nothing of a later revision ran: apply again to continue");
      break;
    }
  }
  run.duration_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
}

db::StepResult Executor::RunStep(const PlanStep& step, int first_statement, bool resume,
                                 db::RunRecord& run) {
  db::Connection& session = lock_.session();
  db::StepSpec spec;
  spec.run_id = run.run_id;
  spec.mode = ModeOf(step.mode);
  spec.statements = RunnerStatements(*step.file);
  if (step.direction == Direction::kUp && step.revision->verify) {
    // The checks run in the up's own transaction: one that fails rolls the file back; what
    // passing checks wrote is rolled back to the savepoint before them.
    const auto marker = [](const std::string& text) {
      db::ScriptStatement statement;
      statement.text = text;
      statement.hash = db::StatementHash(text);
      return statement;
    };
    spec.statements.push_back(marker("SAVEPOINT schemad_verify"));
    for (db::ScriptStatement& check : RunnerStatements(*step.revision->verify)) {
      spec.statements.push_back(std::move(check));
    }
    spec.statements.push_back(marker("ROLLBACK TO SAVEPOINT schemad_verify"));
  }
  spec.first = first_statement;
  spec.lock_timeout = target_.config.lock_timeout;
  // The file's own -- schemad:timeout, else the up file's (for its down; read from its text,
  // checked at load), else the target's.
  spec.statement_timeout = step.file->script().timeout.value_or(
      sql::ReadDirectives(step.revision->up.text())
          ->timeout.value_or(target_.config.statement_timeout));
  spec.history.insert = step.direction == Direction::kUp;
  spec.history.revision.version = step.revision->version;
  spec.history.revision.name = step.revision->name;
  spec.history.revision.checksum = step.revision->up.checksum;
  spec.history.revision.applied_by = run.principal;
  spec.history.revision.run_id = run.run_id;
  spec.history.revision.release = release_;

  run.current_version = step.revision->version;
  run.current_mode = spec.mode;
  run.completed = first_statement;
  run.completed_hashes.clear();
  for (int i = 0; i < first_statement && i < static_cast<int>(spec.statements.size()); ++i) {
    run.completed_hashes.push_back(spec.statements[i].hash);
  }
  run.backend_pid = session.backend_pid();

  db::StepResult result;
  // A non-transactional or chained file's mode is what a later run relies on to judge what a
  // crash left: durable before its first statement. A transactional file leaves nothing.
  if (absl::Status journaled =
          target_.journal.StepStarted(session, run, spec.mode != db::FileMode::kTransactional);
      !journaled.ok()) {
    result.kind = db::StepResult::Kind::kSessionLost;
    result.message = std::string(journaled.message());
    result.completed = first_statement;
    Reconcile(step, run, result);
    return result;
  }
  RunEvent started = Event(RunEvent::Kind::kStepStarted);
  started.version = step.revision->version;
  started.name = step.revision->name;
  started.direction = step.direction;
  started.mode = step.mode;
  started.statement_count = static_cast<int>(spec.statements.size());
  Emit(started);

  const auto notice = [&](const std::string& message) {
    RunEvent event = Event(RunEvent::Kind::kNotice);
    event.version = step.revision->version;
    event.message = message;
    Emit(event);
  };
  const auto forward_notices = [&] {
    for (std::string& text : session.TakeNotices()) notice(text);
  };
  db::ScriptRunner runner(session, target_.journal, target_.store, lock_.advisory().key());
  StepWatcher watcher(target_, session, cancelled_, notice);
  const int count = static_cast<int>(spec.statements.size());
  const auto on_statement = [&](int index, double duration_ms) {
    forward_notices();
    watcher.StatementStarted(index + 1);
    // A transactional file's statements are not progress anyone can resume from: the step's
    // own events say enough (and a seed file of thousands of INSERTs stays quiet).
    if (spec.mode == db::FileMode::kTransactional && !every_statement_) return;
    RunEvent done = Event(RunEvent::Kind::kStatementDone);
    done.version = step.revision->version;
    done.statement_index = index + 1;
    done.statement_count = count;
    done.duration_ms = duration_ms;
    Emit(done);
  };

  absl::Duration backoff = absl::Milliseconds(200);
  for (int attempt = 0;; ++attempt) {
    // A resumed or retried CREATE INDEX CONCURRENTLY first drops the INVALID index that its
    // interrupted attempt left, or it would fail ("already exists") or, with IF NOT EXISTS,
    // be skipped while the index stays unusable.
    if ((attempt > 0 || spec.first > 0 || resume) && spec.first < count &&
        !spec.statements[spec.first].concurrent_index.empty()) {
      const std::string index = spec.statements[spec.first].concurrent_index;
      absl::StatusOr<db::ScriptRunner::IndexState> state = runner.PrepareConcurrentIndex(index);
      std::string text;
      if (state.ok() && *state == db::ScriptRunner::IndexState::kDroppedInvalid) {
        text = absl::StrCat("dropped INVALID index ", index,
                            " left by an interrupted CREATE INDEX CONCURRENTLY, before running "
                            "statement ",
                            spec.first + 1, " again");
      } else if (state.ok() && *state == db::ScriptRunner::IndexState::kValid &&
                 runner.RecordCompleted(spec, spec.first + 1).ok()) {
        // The build finished before the interruption, only its progress was not recorded.
        text = absl::StrCat("index ", index, " exists and is valid: statement ", spec.first + 1,
                            " completed before the interruption; recorded as done");
        ++spec.first;
      }
      if (!text.empty()) {
        notice(text);
        db::EventRecord event;
        event.principal = run.principal;
        event.action = "resume-concurrent-index";
        event.run_id = run.run_id;
        event.outcome = "DONE";
        event.detail = absl::StrCat(step.revision->Id(), ": ", text);
        target_.audit.Append(session, event).IgnoreError();
      }
    }
    watcher.StatementStarted(spec.first);
    result = runner.Run(spec, cancelled_, on_statement);
    forward_notices();
    if (result.kind != db::StepResult::Kind::kLockTimeout ||
        attempt >= target_.config.lock_retries || cancelled_()) {
      break;
    }
    std::string blockers = watcher.last_blockers();
    notice(absl::StrCat("lock_timeout at statement ", result.failed_index + 1, ": ", result.message,
                        blockers.empty() ? "" : absl::StrCat(" (held by ", blockers, ")"),
                        "; retry ", attempt + 1, " of ", target_.config.lock_retries, " in ",
                        absl::FormatDuration(backoff)));
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(10));
    if (spec.mode != db::FileMode::kTransactional) spec.first = result.completed;
  }
  if (result.kind == db::StepResult::Kind::kSessionLost) Reconcile(step, run, result);
  run.completed = result.completed;
  if (result.kind == db::StepResult::Kind::kDone) {
    RunEvent finished = Event(RunEvent::Kind::kStepFinished);
    finished.version = step.revision->version;
    finished.duration_ms = result.duration_ms;
    Emit(finished);
  }
  return result;
}

void Executor::Reconcile(const PlanStep& step, const db::RunRecord& run, db::StepResult& result) {
  const std::string& run_id = run.run_id;
  result.session_lost = true;
  result.unknown = true;
  absl::StatusOr<db::ConnectionPool::Lease> conn = target_.pool->Acquire();
  if (!conn.ok()) return;  // the journal keeps the last durable progress; the run is orphaned
  // The old backend may still be alive (a broken network, not a dead server) and commit
  // later: end it, and wait for it, before reading what it did.
  if (run.backend_pid > 0 && !db::TerminateBackend(**conn, run.backend_pid).ok()) {
    return;  // it may still commit: what it did cannot be known yet
  }
  const bool up = step.direction == Direction::kUp;
  absl::StatusOr<bool> recorded =
      target_.store.IsRecorded(**conn, step.revision->version, up ? run_id : "");
  absl::StatusOr<db::RunJournal::Progress> progress = target_.journal.ReadProgress(**conn, run_id);
  if (!recorded.ok() || !progress.ok()) return;
  result.unknown = false;
  if (*recorded == up) {
    // The commit went through before the session broke.
    result.kind = db::StepResult::Kind::kDone;
    result.completed = static_cast<int>(step.file->script().statements.size());
    result.partial = false;
    return;
  }
  // Progress counts for this file only if the journal had moved on to it.
  if (step.mode != sql::TransactionMode::kTransactional &&
      progress->version == step.revision->version) {
    result.completed = progress->completed;
  }
  if (step.mode == sql::TransactionMode::kChained) result.partial = result.completed > 0;
}

void Executor::RecordFailure(const PlanStep& step, const db::StepResult& result,
                             db::RunRecord& run) {
  using Kind = db::StepResult::Kind;
  const auto& statements = step.file->script().statements;
  run.completed = result.completed;
  run.partial = result.partial;
  run.sqlstate = result.sqlstate;
  run.failed_statement = statements.empty() ? 0 : result.failed_index + 1;
  const int count = static_cast<int>(statements.size());
  if (result.failed_index < count) {
    run.failing_statement = Truncated(std::string(statements[result.failed_index].text));
  } else if (step.direction == Direction::kUp && step.revision->verify) {
    // One of the verify file's checks (after the savepoint marker), named in the error text.
    const auto& checks = step.revision->verify->script().statements;
    const int check = result.failed_index - count - 1;
    if (check >= 0 && check < static_cast<int>(checks.size())) {
      run.failing_statement = Truncated(std::string(checks[check].text));
    }
  }
  std::string message = result.message;
  switch (result.kind) {
    case Kind::kTimedOut:
      run.state = db::RunState::kTimedOut;
      run.outcome = db::Outcome::kTimedOut;
      break;
    case Kind::kCancelled:
      run.state = db::RunState::kInterrupted;
      run.outcome = db::Outcome::kInterrupted;
      message =
          absl::StrCat("cancelled (the caller went away or the server is stopping): ", message);
      break;
    case Kind::kLockLost:
    case Kind::kSessionLost:
      run.state = db::RunState::kInterrupted;
      run.outcome = db::Outcome::kInterrupted;
      break;
    default:
      run.state = db::RunState::kFailed;
      run.outcome = db::Outcome::kFailed;
      break;
  }
  if (result.sqlstate == "25001") {
    absl::StrAppend(&message, " (add -- ", sql::kNoTransactionDirective,
                    " to run this file statement by statement)");
  }
  run.error = StepErrorText(step, result.failed_index, message, result.sqlstate);
  if (result.unknown) {
    absl::StrAppend(&run.error, "; what of ", step.revision->Id(),
                    " committed could not be read back: see status");
  } else if (!run.partial) {
    absl::StrAppend(&run.error, "; nothing of ", step.revision->Id(), " was committed");
  } else {
    absl::StatusOr<db::ConnectionPool::Lease> conn = target_.pool->Acquire();
    if (conn.ok()) {
      absl::StatusOr<std::vector<std::string>> invalid = db::InvalidIndexes(**conn);
      if (invalid.ok() && !invalid->empty()) {
        absl::StrAppend(&run.error, "; indexes left INVALID: ", absl::StrJoin(*invalid, ", "));
      }
    }
  }
}

}  // namespace schemad::engine
