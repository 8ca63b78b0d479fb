#include "server/db/script_runner.h"

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/refusal.h"
#include "server/common/version.h"
#include "server/db/advisory_lock.h"
#include "server/db/transaction.h"

namespace schemad::db {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// A duration as a PostgreSQL setting; a positive one is at least 1 ms (0 would disable it).
std::string Milliseconds(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(d);
  if (d > absl::ZeroDuration() && ms == 0) ms = 1;
  return absl::StrCat("'", ms, "ms'");
}

// PostgreSQL's first line, without libpqxx's additions.
std::string CleanMessage(const std::exception& e) {
  std::string message = e.what();
  if (const size_t newline = message.find('\n'); newline != std::string::npos) {
    message = message.substr(0, newline);
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  if (absl::StartsWith(message, "ERROR:  ")) message = message.substr(8);
  return message;
}

// Thrown between statements when the caller cancelled.
struct CancelledError {};

// Thrown when a CREATE INDEX CONCURRENTLY finished but left its index INVALID (e.g. IF NOT
// EXISTS met the leftover of an earlier attempt).
struct StepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The end of a file, in one round trip: its final progress (fenced: only while this session
// holds the target's lock), its history row (only if the progress was written) and the version
// NOTIFY. Returns 1 when written.
constexpr char kCommitInsert[] =
    "WITH progress AS (UPDATE schemad.runs SET completed = $2, completed_hashes = "
    "string_to_array($3, ',') WHERE run_id = $1::uuid AND schemad.holds_lock($4) RETURNING 1), "
    "history AS (INSERT INTO schemad.migrations (catalog, version, version_key, name, checksum, "
    "applied_by, duration_ms, run_id, release) SELECT $5, $6, $7::numeric, $8, $9, $10, "
    "$11::float8, NULLIF($12, '')::uuid, $13 FROM progress ON CONFLICT (catalog, version_key) DO "
    "UPDATE SET checksum = EXCLUDED.checksum, applied_at = now(), applied_by = "
    "EXCLUDED.applied_by, duration_ms = EXCLUDED.duration_ms, run_id = EXCLUDED.run_id, release = "
    "EXCLUDED.release RETURNING 1) "
    "SELECT count(*), pg_notify('schemad_version', $5) FROM progress";
constexpr char kCommitDelete[] =
    "WITH progress AS (UPDATE schemad.runs SET completed = $2, completed_hashes = "
    "string_to_array($3, ',') WHERE run_id = $1::uuid AND schemad.holds_lock($4) RETURNING 1), "
    "history AS (DELETE FROM schemad.migrations WHERE catalog = $5 AND version_key = $6::numeric "
    "AND EXISTS (SELECT 1 FROM progress) RETURNING 1) "
    "SELECT count(*), pg_notify('schemad_version', $5) FROM progress";

// What no earlier file may leave behind (RESET ALL keeps role and session authorization).
constexpr char kResetSession[] = "RESET ALL; RESET SESSION AUTHORIZATION; RESET ROLE";
// Before the runner's own writes inside a file's transaction: whatever the file set (a role, a
// 1 ms statement_timeout, a short lock or idle timeout) must not touch the bookkeeping.
constexpr char kBookkeepingLocal[] =
    "SET LOCAL ROLE NONE; SET LOCAL synchronous_commit = on; SET LOCAL statement_timeout = '60s'; "
    "SET LOCAL lock_timeout = '30s'; SET LOCAL idle_in_transaction_session_timeout = 0";

constexpr char kIndexValid[] =
    "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)";

}  // namespace

StepResult ScriptRunner::Run(const StepSpec& step, const std::function<bool()>& cancelled,
                             const std::function<void(int, double)>& on_statement) {
  session_.MarkDirty();
  session_.ArmCancel(false);
  const int n = static_cast<int>(step.statements.size());
  std::vector<std::string> hashes;
  hashes.reserve(n);
  for (const ScriptStatement& statement : step.statements) hashes.push_back(statement.hash);
  const auto prefix = [&](int count) {
    return std::vector<std::string>(hashes.begin(), hashes.begin() + count);
  };
  bool has_control = false;
  for (const ScriptStatement& statement : step.statements) {
    has_control |= statement.transaction_control;
  }

  StepResult result;
  result.completed = step.first;
  int index = step.first;
  bool unwrapped = false;  // the statement in flight commits on its own
  const auto start = Clock::now();
  const auto exec = [&](const std::string& sql) {
    pqxx::nontransaction txn(session_.raw());
    txn.exec(sql);
  };
  // Runs statement `i`; returns its duration. The caller reports it once it is as durable as
  // the mode makes it.
  const auto run_statement = [&](int i) {
    if (cancelled()) throw CancelledError();
    const auto statement_start = Clock::now();
    session_.ArmCancel(true);
    try {
      exec(step.statements[i].text);
    } catch (...) {
      session_.ArmCancel(false);
      throw;
    }
    session_.ArmCancel(false);
    return MsSince(statement_start);
  };
  const std::string begin = "BEGIN";
  // Progress, fenced and synchronous whatever the file set, inside the transaction that is
  // open (`in_transaction`) or in one of its own.
  const auto write_progress = [&](int count, bool in_transaction) {
    exec(in_transaction ? kBookkeepingLocal : absl::StrCat("BEGIN; ", kBookkeepingLocal));
    {
      pqxx::nontransaction txn(session_.raw());
      journal_.WriteProgress(txn, step.run_id, count, prefix(count), lock_key_);
    }
    if (!in_transaction) exec("COMMIT");
  };
  // The history row, the final progress and the fence, then COMMIT.
  const auto commit_step = [&] {
    // The bookkeeping runs as the session's own user and commits synchronously, whatever the
    // file set (SET ROLE, synchronous_commit) and whatever COMMIT AND CHAIN dropped.
    exec(kBookkeepingLocal);
    {
      pqxx::nontransaction txn(session_.raw());
      const AppliedRevision& r = step.history.revision;
      const std::string all = absl::StrJoin(hashes, ",");
      const pqxx::result written =
          step.history.insert
              ? txn.exec_params(kCommitInsert, step.run_id, n, all, lock_key_, history_.catalog(),
                                r.version, VersionKey(r.version), r.name, r.checksum, r.applied_by,
                                MsSince(start), r.run_id, r.release)
              : txn.exec_params(kCommitDelete, step.run_id, n, all, lock_key_, history_.catalog(),
                                VersionKey(r.version));
      if (written[0][0].as<int>() != 1) throw LockLostError();
    }
    // What the file set at session level (SET ROLE …) ends with it.
    exec(absl::StrCat("COMMIT; ", kResetSession));
    result.completed = n;
  };

  try {
    // Nothing an earlier file set (search_path, role, timeouts…) reaches this one; a long
    // statement of a server that died is cancelled within a second (PostgreSQL 14+).
    const std::string settings = absl::StrCat(
        kResetSession, "; SET lock_timeout = ", Milliseconds(step.lock_timeout),
        "; SET statement_timeout = ", Milliseconds(step.statement_timeout),
        session_.raw().server_version() >= 140000 ? "; SET client_connection_check_interval = 1000"
                                                  : "");
    switch (step.mode) {
      case FileMode::kTransactional:
        exec(absl::StrCat(settings, "; ", begin));
        for (index = 0; index < n; ++index) on_statement(index, run_statement(index));
        commit_step();
        break;

      case FileMode::kChained:
        // The whole file runs in a transaction this runner opens; each COMMIT AND CHAIN ends a
        // segment whose progress commits with it.
        exec(absl::StrCat(settings, "; ", begin));
        for (index = step.first; index < n; ++index) {
          if (step.statements[index].commit_and_chain) {
            if (cancelled()) throw CancelledError();
            write_progress(index + 1, /*in_transaction=*/true);
            exec(step.statements[index].text);
            result.completed = index + 1;
            on_statement(index, 0);
            continue;
          }
          on_statement(index, run_statement(index));
        }
        commit_step();
        break;

      case FileMode::kNoTransaction:
        exec(settings);
        for (index = step.first; index < n; ++index) {
          const ScriptStatement& statement = step.statements[index];
          if (!has_control && !statement.outside_transaction) {
            // A statement that may run in a transaction commits together with its progress:
            // exactly once, whatever happens.
            unwrapped = false;
            exec(begin);
            const double ms = run_statement(index);
            exec(kBookkeepingLocal);
            {
              pqxx::nontransaction txn(session_.raw());
              journal_.WriteProgress(txn, step.run_id, index + 1, prefix(index + 1), lock_key_);
            }
            exec("COMMIT");
            result.completed = index + 1;
            on_statement(index, ms);
            continue;
          }
          unwrapped = true;
          if (!has_control) {
            pqxx::nontransaction txn(session_.raw());
            if (!txn.exec("SELECT " + LockHeldBySelfSql(lock_key_))[0][0].as<bool>()) {
              throw LockLostError();
            }
          }
          const double ms = run_statement(index);
          if (!statement.concurrent_index.empty()) {
            pqxx::nontransaction txn(session_.raw());
            const pqxx::result valid = txn.exec_params(kIndexValid, statement.concurrent_index);
            if (valid.empty() || !valid[0][0].as<bool>()) {
              throw StepError(absl::StrCat("index ", statement.concurrent_index,
                                           " is INVALID after CREATE INDEX CONCURRENTLY"));
            }
          }
          // Inside the file's own transaction block the progress commits (or rolls back) with
          // the statements it describes.
          if (has_control) {
            pqxx::nontransaction txn(session_.raw());
            journal_.WriteProgress(txn, step.run_id, index + 1, prefix(index + 1), lock_key_);
          } else {
            write_progress(index + 1, /*in_transaction=*/false);
          }
          // Inside the file's own block this is not durable yet; after a failure the journal
          // is read back for the truth.
          result.completed = index + 1;
          on_statement(index, ms);
        }
        if (has_control && session_.InTransactionBlock()) {
          throw StepError("the file leaves a transaction block open (BEGIN without COMMIT)");
        }
        unwrapped = false;
        exec(begin);
        commit_step();
        break;
    }
    result.kind = StepResult::Kind::kDone;
    result.duration_ms = MsSince(start);
    return result;
  } catch (const CancelledError&) {
    result.kind = StepResult::Kind::kCancelled;
    result.sqlstate = "57014";
    result.message = "cancelled before the statement started";
    unwrapped = false;
  } catch (const LockLostError& e) {
    result.kind = StepResult::Kind::kLockLost;
    result.message = e.what();
    unwrapped = false;
  } catch (const StepError& e) {
    result.kind = StepResult::Kind::kFailed;
    result.message = e.what();
  } catch (const pqxx::broken_connection& e) {
    result.kind = StepResult::Kind::kSessionLost;
    result.message = absl::StrCat("database connection lost: ", CleanMessage(e));
  } catch (const pqxx::sql_error& e) {
    result.sqlstate = e.sqlstate();
    result.message = CleanMessage(e);
    if (result.sqlstate == "55P03") {
      result.kind = StepResult::Kind::kLockTimeout;
    } else if (result.sqlstate == "57014" && cancelled()) {
      result.kind = StepResult::Kind::kCancelled;
    } else if (result.sqlstate == "57014" && step.statement_timeout > absl::ZeroDuration()) {
      // Cancelled, not by us: the statement_timeout (the message text is localised).
      result.kind = StepResult::Kind::kTimedOut;
    } else {
      result.kind = StepResult::Kind::kFailed;
    }
  } catch (const std::exception& e) {
    result.kind = StepResult::Kind::kFailed;
    result.message = CleanMessage(e);
  }
  result.failed_index = std::min(index, std::max(n - 1, 0));
  result.duration_ms = MsSince(start);
  if (result.kind != StepResult::Kind::kSessionLost) {
    session_.RollbackOpenTransaction();
    // The rollback took the file's settings with it, but not what it set outside a transaction.
    try {
      exec(kResetSession);
    } catch (const std::exception&) {
      // Reported by the read below when the session broke.
    }
    // The journal is the truth about what committed (the file's own transactions included).
    absl::StatusOr<RunJournal::Progress> durable = journal_.ReadProgress(session_, step.run_id);
    if (!durable.ok() &&
        (!session_.is_open() || durable.status().code() == absl::StatusCode::kUnavailable)) {
      result.kind = StepResult::Kind::kSessionLost;
      result.message = absl::StrCat(result.message, "; then ", durable.status().message());
    } else if (!durable.ok()) {
      result.unknown = true;
      result.message = absl::StrCat(
          result.message, "; then reading its progress failed: ", durable.status().message());
    } else if (step.mode != FileMode::kTransactional) {
      result.completed = durable->completed;
    }
  }
  if (step.mode == FileMode::kTransactional) result.completed = 0;
  result.partial =
      step.mode != FileMode::kTransactional &&
      (result.completed > 0 || unwrapped || result.kind == StepResult::Kind::kSessionLost);
  if (step.mode == FileMode::kChained) result.partial = result.completed > 0;
  return result;
}

absl::StatusOr<ScriptRunner::IndexState> ScriptRunner::PrepareConcurrentIndex(
    const std::string& index) {
  return InTransaction<pqxx::nontransaction>(
      session_, [&](pqxx::nontransaction& txn) -> absl::StatusOr<IndexState> {
        const pqxx::result valid = txn.exec_params(kIndexValid, index);
        if (valid.empty()) return IndexState::kAbsent;
        if (valid[0][0].as<bool>()) return IndexState::kValid;
        const pqxx::row name = txn.exec_params1(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
            index);
        txn.exec("DROP INDEX CONCURRENTLY IF EXISTS " + name[0].as<std::string>());
        return IndexState::kDroppedInvalid;
      });
}

absl::Status ScriptRunner::RecordCompleted(const StepSpec& step, int count) {
  std::vector<std::string> hashes;
  for (int i = 0; i < count; ++i) hashes.push_back(step.statements[i].hash);
  try {
    pqxx::nontransaction txn(session_.raw());
    journal_.WriteProgress(txn, step.run_id, count, hashes, lock_key_);
    return absl::OkStatus();
  } catch (const LockLostError& e) {
    return Aborted(RefusalReason::kLockLost, e.what());
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace schemad::db
