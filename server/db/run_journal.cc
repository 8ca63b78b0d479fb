#include "server/db/run_journal.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/refusal.h"
#include "server/common/sha256.h"
#include "server/db/advisory_lock.h"
#include "server/db/transaction.h"

namespace schemad::db {
namespace {

constexpr char kIsInitialized[] = "SELECT to_regclass('schemad.runs') IS NOT NULL";

constexpr char kRunColumns[] =
    "r.run_id::text, coalesce(r.request_id, ''), r.principal, r.operation, r.target_version, "
    "r.plan_hash, r.state, extract(epoch FROM r.started_at)::float8, "
    "coalesce(extract(epoch FROM r.finished_at)::float8, 0), r.server_instance, r.backend_pid, "
    "r.current_version, r.current_mode, r.completed, array_to_string(r.completed_hashes, ','), "
    "r.partial, r.statement_index, r.error, r.sqlstate, r.failing_statement, r.outcome, "
    "r.overrides, r.from_version, r.reached_version, r.steps_done, r.duration_ms, "
    "r.request_fingerprint, ";

// Whether the run's current file reached its history (recorded by this run, or removed by this
// rollback): then nothing of it is left without its history row, whatever the progress says.
constexpr char kStepRecordedExpr[] =
    "(CASE WHEN r.operation = 'rollback' THEN NOT EXISTS (SELECT 1 FROM schemad.migrations m "
    "WHERE m.catalog = r.catalog AND m.version = r.current_version) ELSE EXISTS (SELECT 1 FROM "
    "schemad.migrations m WHERE m.catalog = r.catalog AND m.version = r.current_version AND "
    "m.run_id = r.run_id) END)";

constexpr char kInsertRun[] =
    "INSERT INTO schemad.runs (catalog, request_id, request_fingerprint, principal, operation, "
    "target_version, plan_hash, state, server_instance, backend_pid, overrides, from_version, "
    "reached_version) VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6, $7, 'running', $8, $9, $10, "
    "$11, $11) RETURNING run_id::text";

constexpr char kStepStarted[] =
    "UPDATE schemad.runs SET current_version = $2, current_mode = $3, current_transactional = "
    "($3 = 'transactional'), completed = $4, completed_hashes = string_to_array($5, ','), "
    "backend_pid = $6, steps_done = $7, reached_version = $8 WHERE run_id = $1::uuid";

constexpr char kProgress[] =
    "UPDATE schemad.runs SET completed = $2, completed_hashes = string_to_array($3, ',') "
    "WHERE run_id = $1::uuid AND ";

constexpr char kFinish[] =
    "UPDATE schemad.runs SET state = $2, finished_at = now(), current_version = $3, "
    "statement_index = $4, error = $5, sqlstate = $6, failing_statement = $7, outcome = $8, "
    "current_mode = $9, current_transactional = ($9 = 'transactional'), completed = $10, "
    "partial = $11, reached_version = $12, steps_done = $13, duration_ms = $14 "
    "WHERE run_id = $1::uuid";

RunState ParseRunState(const std::string& text) {
  if (text == "running") return RunState::kRunning;
  if (text == "succeeded") return RunState::kSucceeded;
  if (text == "failed") return RunState::kFailed;
  if (text == "interrupted") return RunState::kInterrupted;
  if (text == "timed_out") return RunState::kTimedOut;
  return RunState::kResolved;
}

Operation ParseOperation(const std::string& text) {
  if (text == "rollback") return Operation::kRollback;
  if (text == "resolve") return Operation::kResolve;
  if (text == "repair") return Operation::kRepair;
  if (text == "baseline") return Operation::kBaseline;
  if (text == "adopt") return Operation::kAdopt;
  return Operation::kApply;
}

FileMode ParseFileMode(const std::string& text) {
  if (text == "no-transaction") return FileMode::kNoTransaction;
  if (text == "chained") return FileMode::kChained;
  return FileMode::kTransactional;
}

Outcome ParseOutcome(const std::string& text) {
  for (Outcome o : {Outcome::kApplied, Outcome::kNoChange, Outcome::kFailed, Outcome::kInterrupted,
                    Outcome::kTimedOut, Outcome::kRolledBack, Outcome::kResolvedRetry,
                    Outcome::kResolvedMarkDone, Outcome::kRepaired}) {
    if (OutcomeName(o) == text) return o;
  }
  return Outcome::kNone;
}

RunRecord RunFromRow(const pqxx::row& row) {
  RunRecord run;
  run.run_id = row[0].as<std::string>();
  run.request_id = row[1].as<std::string>();
  run.principal = row[2].as<std::string>();
  run.operation = ParseOperation(row[3].as<std::string>());
  run.target_version = row[4].as<std::string>();
  run.plan_hash = row[5].as<std::string>();
  run.state = ParseRunState(row[6].as<std::string>());
  run.started_at = FromEpoch(row[7].as<double>());
  if (const double finished = row[8].as<double>(); finished > 0) {
    run.finished_at = FromEpoch(finished);
  }
  run.server_instance = row[9].as<std::string>();
  run.backend_pid = row[10].as<int>();
  run.current_version = row[11].as<std::string>();
  run.current_mode = ParseFileMode(row[12].as<std::string>());
  run.completed = row[13].as<int>();
  const std::string hashes = row[14].as<std::string>();
  if (!hashes.empty()) run.completed_hashes = absl::StrSplit(hashes, ',');
  run.partial = row[15].as<bool>();
  run.failed_statement = row[16].as<int>();
  run.error = row[17].as<std::string>();
  run.sqlstate = row[18].as<std::string>();
  run.failing_statement = row[19].as<std::string>();
  run.outcome = ParseOutcome(row[20].as<std::string>());
  run.overrides = row[21].as<std::string>();
  run.from_version = row[22].as<std::string>();
  run.reached_version = row[23].as<std::string>();
  run.steps_done = row[24].as<int>();
  run.duration_ms = row[25].as<double>();
  run.request_fingerprint = row[26].as<std::string>();
  run.orphaned = row[27].as<bool>();
  run.step_recorded = row[28].as<bool>();
  return run;
}

}  // namespace

std::string RunStateName(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kSucceeded:
      return "succeeded";
    case RunState::kFailed:
      return "failed";
    case RunState::kInterrupted:
      return "interrupted";
    case RunState::kTimedOut:
      return "timed_out";
    case RunState::kResolved:
      return "resolved";
  }
  return "unknown";
}

std::string OperationName(Operation operation) {
  switch (operation) {
    case Operation::kApply:
      return "apply";
    case Operation::kRollback:
      return "rollback";
    case Operation::kResolve:
      return "resolve";
    case Operation::kRepair:
      return "repair";
    case Operation::kBaseline:
      return "baseline";
    case Operation::kAdopt:
      return "adopt";
  }
  return "apply";
}

std::string OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kNone:
      return "";
    case Outcome::kApplied:
      return "APPLIED";
    case Outcome::kNoChange:
      return "NO_CHANGE";
    case Outcome::kFailed:
      return "FAILED";
    case Outcome::kInterrupted:
      return "INTERRUPTED";
    case Outcome::kTimedOut:
      return "TIMED_OUT";
    case Outcome::kRolledBack:
      return "ROLLED_BACK";
    case Outcome::kResolvedRetry:
      return "RESOLVED_RETRY";
    case Outcome::kResolvedMarkDone:
      return "RESOLVED_MARK_DONE";
    case Outcome::kRepaired:
      return "REPAIRED";
  }
  return "";
}

std::string FileModeName(FileMode mode) {
  switch (mode) {
    case FileMode::kTransactional:
      return "transactional";
    case FileMode::kNoTransaction:
      return "no-transaction";
    case FileMode::kChained:
      return "chained";
  }
  return "transactional";
}

std::string StatementHash(absl::string_view text) { return Sha256Hex(text).substr(0, 16); }

RunJournal::RunJournal(std::string catalog)
    : catalog_(std::move(catalog)),
      lock_key_(CatalogLockKey(catalog_)),
      // A running run is orphaned when nobody holds the catalog's lock: every live run holds
      // it, on the session that runs it, until it has recorded its end.
      columns_(absl::StrCat(kRunColumns, "(r.state = 'running' AND NOT ",
                            LockHeldByAnyoneSql(lock_key_), ") AS orphaned, ", kStepRecordedExpr,
                            " AS step_recorded")) {}

absl::StatusOr<std::string> RunJournal::Start(Connection& conn, const RunRecord& run) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::StatusOr<std::string> {
    std::string id = txn.exec_params1(kInsertRun, catalog_, run.request_id, run.request_fingerprint,
                                      run.principal, OperationName(run.operation),
                                      run.target_version, run.plan_hash, run.server_instance,
                                      run.backend_pid, run.overrides, run.from_version)[0]
                         .as<std::string>();
    txn.exec_params(kNotifyVersion, catalog_);
    return id;
  });
}

absl::Status RunJournal::StepStarted(Connection& conn, const RunRecord& run, bool durable) const {
  const std::string hashes = absl::StrJoin(run.completed_hashes, ",");
  if (!durable) {
    // One round trip: the update commits on its own, asynchronously (a local setting of the
    // statement's own transaction).
    return InTransaction<pqxx::nontransaction>(
        conn, [&](pqxx::nontransaction& txn) -> absl::Status {
          txn.exec_params(absl::StrCat("WITH u AS (", kStepStarted,
                                       " RETURNING 1) SELECT set_config('synchronous_commit', "
                                       "'off', true) FROM u"),
                          run.run_id, run.current_version, FileModeName(run.current_mode),
                          run.completed, hashes, run.backend_pid, run.steps_done,
                          run.reached_version);
          return absl::OkStatus();
        });
  }
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec("SET LOCAL synchronous_commit = on");
    txn.exec_params(kStepStarted, run.run_id, run.current_version, FileModeName(run.current_mode),
                    run.completed, hashes, run.backend_pid, run.steps_done, run.reached_version);
    return absl::OkStatus();
  });
}

void RunJournal::WriteProgress(pqxx::transaction_base& txn, const std::string& run_id,
                               int completed, const std::vector<std::string>& hashes,
                               int64_t lock_key) const {
  const pqxx::result updated = txn.exec_params(absl::StrCat(kProgress, LockHeldBySelfSql(lock_key)),
                                               run_id, completed, absl::StrJoin(hashes, ","));
  if (updated.affected_rows() != 1) throw LockLostError();
}

absl::StatusOr<RunJournal::Progress> RunJournal::ReadProgress(Connection& conn,
                                                              const std::string& run_id) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<Progress> {
        const pqxx::row row = txn.exec_params1(
            "SELECT current_version, completed FROM schemad.runs WHERE run_id = $1::uuid", run_id);
        return Progress{row[0].as<std::string>(), row[1].as<int>()};
      });
}

absl::Status RunJournal::Finish(Connection& conn, const RunRecord& run, bool lock_lost,
                                const std::function<void(pqxx::transaction_base&)>& also) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec("SET LOCAL synchronous_commit = on");
    const pqxx::result updated = txn.exec_params(
        absl::StrCat(kFinish, lock_lost ? " AND state = 'running'"
                                        : absl::StrCat(" AND ", LockHeldBySelfSql(lock_key_))),
        run.run_id, RunStateName(run.state), run.current_version, run.failed_statement, run.error,
        run.sqlstate, run.failing_statement, OutcomeName(run.outcome),
        FileModeName(run.current_mode), run.completed, run.partial, run.reached_version,
        run.steps_done, run.duration_ms);
    if (updated.affected_rows() != 1) {
      return FailedPrecondition(
          RefusalReason::kLockLost,
          "the journal row was not written: this run no longer holds the target's lock and the "
          "row is no longer running (another run took over)");
    }
    if (also) also(txn);
    txn.exec_params(kNotifyVersion, catalog_);
    return absl::OkStatus();
  });
}

absl::Status RunJournal::MarkOrphanedInterrupted(Connection& conn) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    // What a stopped file left behind follows from its mode and durable progress: a
    // transactional file nothing; a chained one its committed segments; a no-transaction file
    // possibly its statement in flight too.
    const pqxx::result updated = txn.exec_params(
        absl::StrCat("UPDATE schemad.runs r SET state = 'interrupted', finished_at = now(), "
                     "error = CASE WHEN r.error = '' THEN 'the server running it stopped before "
                     "recording its end' ELSE r.error END, outcome = 'INTERRUPTED', "
                     "partial = (r.current_mode = 'no-transaction' OR (r.current_mode = "
                     "'chained' AND r.completed > 0)) AND NOT ",
                     kStepRecordedExpr, " WHERE r.catalog = $1 AND r.state = 'running'"),
        catalog_);
    if (updated.affected_rows() > 0) txn.exec_params(kNotifyVersion, catalog_);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<RunRecord>> RunJournal::ReadBlocking(Connection& conn) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::optional<RunRecord>> {
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return std::optional<RunRecord>();
        const pqxx::result rows = txn.exec_params(
            absl::StrCat("SELECT ", columns_,
                         " FROM schemad.runs r WHERE r.catalog = $1 AND r.operation IN "
                         "('apply', 'rollback') ORDER BY r.started_at DESC LIMIT 1"),
            catalog_);
        if (rows.empty()) return std::optional<RunRecord>();
        RunRecord run = RunFromRow(rows[0]);
        if (run.state == RunState::kRunning && !run.orphaned) return std::optional<RunRecord>(run);
        if (run.orphaned) {
          run.partial = run.current_mode == FileMode::kNoTransaction ||
                        (run.current_mode == FileMode::kChained && run.completed > 0);
        }
        // Its history row is written (the file completed, or was marked done): nothing of it
        // is left without one.
        if (run.step_recorded) run.partial = false;
        const bool stopped = run.orphaned || run.state == RunState::kFailed ||
                             run.state == RunState::kInterrupted ||
                             run.state == RunState::kTimedOut;
        if (stopped && run.partial) return std::optional<RunRecord>(run);
        return std::optional<RunRecord>();
      });
}

absl::StatusOr<std::optional<RunRecord>> RunJournal::ReadOne(Connection& conn,
                                                             const std::string& column,
                                                             const std::string& value) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::optional<RunRecord>> {
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return std::optional<RunRecord>();
        const pqxx::result rows = txn.exec_params(
            absl::StrCat("SELECT ", columns_, " FROM schemad.runs r WHERE r.catalog = $1 AND r.",
                         column, " = $2"),
            catalog_, value);
        if (rows.empty()) return std::optional<RunRecord>();
        return std::optional<RunRecord>(RunFromRow(rows[0]));
      });
}

absl::StatusOr<std::optional<RunRecord>> RunJournal::ReadRun(Connection& conn,
                                                             const std::string& run_id) const {
  return ReadOne(conn, "run_id::text", run_id);
}

absl::StatusOr<std::optional<RunRecord>> RunJournal::ReadByRequestId(
    Connection& conn, const std::string& request_id) const {
  return ReadOne(conn, "request_id", request_id);
}

absl::StatusOr<std::vector<RunRecord>> RunJournal::ReadRuns(Connection& conn, int limit,
                                                            int offset) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<RunRecord>> {
        std::vector<RunRecord> runs;
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return runs;
        for (const pqxx::row& row : txn.exec_params(
                 absl::StrCat("SELECT ", columns_,
                              " FROM schemad.runs r WHERE r.catalog = $1 "
                              "ORDER BY r.started_at DESC, r.run_id LIMIT $2 OFFSET $3"),
                 catalog_, limit, offset)) {
          runs.push_back(RunFromRow(row));
        }
        return runs;
      });
}

}  // namespace schemad::db
