#include "server/db/history_store.h"

#include <chrono>
#include <cstring>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/sha256.h"

namespace schemad::db {
namespace {

constexpr char kCreateSchema[] = R"sql(
CREATE SCHEMA IF NOT EXISTS schemad;
CREATE TABLE IF NOT EXISTS schemad.meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE IF NOT EXISTS schemad.migrations (
  catalog text NOT NULL,
  version text NOT NULL,
  version_key numeric NOT NULL,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL,
  duration_ms double precision NOT NULL DEFAULT 0,
  run_id uuid,
  PRIMARY KEY (catalog, version_key)
);
CREATE TABLE IF NOT EXISTS schemad.runs (
  run_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  catalog text NOT NULL,
  request_id text,
  principal text NOT NULL,
  operation text NOT NULL,
  target_version text NOT NULL DEFAULT '',
  plan_hash text NOT NULL DEFAULT '',
  state text NOT NULL CHECK (state IN ('running','succeeded','failed','interrupted','resolved')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  server_instance text NOT NULL,
  backend_pid integer NOT NULL DEFAULT 0,
  current_version text NOT NULL DEFAULT '',
  current_transactional boolean NOT NULL DEFAULT true,
  statement_index integer NOT NULL DEFAULT 0,
  error text NOT NULL DEFAULT '',
  sqlstate text NOT NULL DEFAULT '',
  failing_statement text NOT NULL DEFAULT '',
  outcome text NOT NULL DEFAULT '',
  overrides text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_request_id ON schemad.runs (catalog, request_id)
  WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_catalog_started ON schemad.runs (catalog, started_at DESC);
CREATE TABLE IF NOT EXISTS schemad.events (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  catalog text NOT NULL,
  principal text NOT NULL,
  action text NOT NULL,
  run_id uuid,
  outcome text NOT NULL DEFAULT '',
  detail text NOT NULL DEFAULT ''
);
INSERT INTO schemad.meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
)sql";

constexpr char kIsInitialized[] =
    "SELECT to_regclass('schemad.migrations') IS NOT NULL AND to_regclass('schemad.runs') IS NOT "
    "NULL";

constexpr char kReadApplied[] =
    "SELECT version, name, checksum, extract(epoch FROM applied_at)::float8, applied_by, "
    "duration_ms, coalesce(run_id::text, '') FROM schemad.migrations WHERE catalog = $1 "
    "ORDER BY version_key";

constexpr char kRunColumns[] =
    "r.run_id::text, coalesce(r.request_id, ''), r.principal, r.operation, r.target_version, "
    "r.plan_hash, r.state, extract(epoch FROM r.started_at)::float8, "
    "coalesce(extract(epoch FROM r.finished_at)::float8, 0), r.server_instance, r.backend_pid, "
    "r.current_version, r.current_transactional, r.statement_index, r.error, r.sqlstate, "
    "r.failing_statement, r.outcome, r.overrides, "
    "(r.state = 'running' AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = "
    "'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = "
    "current_database()) AND l.classid::int8 = %d AND l.objid::int8 = %d AND l.objsubid = 1))"
    " AS orphaned";

constexpr char kInsertApplied[] =
    "INSERT INTO schemad.migrations (catalog, version, version_key, name, checksum, applied_by, "
    "duration_ms, run_id) VALUES ($1, $2, $3::numeric, $4, $5, $6, $7::float8, "
    "NULLIF($8, '')::uuid) ON CONFLICT (catalog, version_key) DO UPDATE SET "
    "checksum = EXCLUDED.checksum, applied_at = now(), applied_by = EXCLUDED.applied_by, "
    "duration_ms = EXCLUDED.duration_ms, run_id = EXCLUDED.run_id";

// Journal writes need not wait for the disk: the migration's own transaction (with its
// history row) commits synchronously; losing the last journal line needs a database crash.
constexpr char kJournalWrite[] = "SET LOCAL synchronous_commit = off";

// Tells every replica's version cache that this catalog's recorded state changed; delivered on
// commit, so listeners never see a state older than the notification.
constexpr char kNotify[] = "SELECT pg_notify('schemad_version', $1)";

constexpr char kDeleteApplied[] =
    "DELETE FROM schemad.migrations WHERE catalog = $1 AND version_key = $2::numeric";

std::string DigitsKey(const std::string& version) {
  std::string digits;
  for (char c : version) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  return digits.empty() ? "0" : digits;
}

absl::Time FromEpoch(double seconds) {
  return absl::FromUnixMicros(static_cast<int64_t>(seconds * 1e6));
}

RunState ParseRunState(const std::string& text) {
  if (text == "running") return RunState::kRunning;
  if (text == "succeeded") return RunState::kSucceeded;
  if (text == "failed") return RunState::kFailed;
  if (text == "interrupted") return RunState::kInterrupted;
  return RunState::kResolved;
}

// The run columns; a running run is orphaned when nobody holds the catalog's advisory lock
// (every live run holds it until it has recorded its end).
std::string RunColumns(int64_t lock_key) {
  return absl::StrFormat(kRunColumns, lock_key >> 32, lock_key & 0xffffffff);
}

RunRecord RunFromRow(const pqxx::row& row) {
  RunRecord run;
  run.run_id = row[0].as<std::string>();
  run.request_id = row[1].as<std::string>();
  run.principal = row[2].as<std::string>();
  run.operation = row[3].as<std::string>();
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
  run.current_transactional = row[12].as<bool>();
  run.statement_index = row[13].as<int>();
  run.error = row[14].as<std::string>();
  run.sqlstate = row[15].as<std::string>();
  run.failing_statement = row[16].as<std::string>();
  run.outcome = row[17].as<std::string>();
  run.overrides = row[18].as<std::string>();
  run.orphaned = row[19].as<bool>();
  return run;
}

// Runs `body` in a read-only or autocommit transaction, mapping exceptions to Status.
template <typename Txn, typename Body>
auto InTransaction(Connection& conn, Body body) -> decltype(body(std::declval<Txn&>())) {
  try {
    Txn txn(conn.raw());
    auto result = body(txn);
    txn.commit();
    return result;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
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
    case RunState::kResolved:
      return "resolved";
  }
  return "unknown";
}

absl::Status HistoryStore::EnsureSchema(Connection& conn) const {
  // Fast path: one read when the schema is already at this build's version.
  absl::StatusOr<bool> current = InTransaction<pqxx::nontransaction>(
      conn, [&](pqxx::nontransaction& txn) -> absl::StatusOr<bool> {
        if (!txn.exec1("SELECT to_regclass('schemad.meta') IS NOT NULL AND "
                       "to_regclass('schemad.events') IS NOT NULL")[0]
                 .as<bool>()) {
          return false;
        }
        const pqxx::result version =
            txn.exec("SELECT value FROM schemad.meta WHERE key = 'schema_version'");
        return !version.empty() &&
               version[0][0].as<std::string>() == std::to_string(kBookkeepingVersion);
      });
  if (!current.ok()) return current.status();
  if (*current) return absl::OkStatus();
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    // Serialises concurrent first applies from several replicas.
    txn.exec("SELECT pg_advisory_xact_lock(7366216968616461)");
    txn.exec(kCreateSchema);
    const int stored =
        txn.exec1("SELECT value::int FROM schemad.meta WHERE key = 'schema_version'")[0].as<int>();
    if (stored > kBookkeepingVersion) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "schema schemad is at version %d, written by a newer schemad (this one knows %d)", stored,
          kBookkeepingVersion));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> HistoryStore::IsInitialized(Connection& conn) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<bool> {
        return txn.exec1(kIsInitialized)[0].as<bool>();
      });
}

absl::StatusOr<std::vector<AppliedRevision>> HistoryStore::ReadApplied(Connection& conn) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<AppliedRevision>> {
        std::vector<AppliedRevision> applied;
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return applied;
        for (const pqxx::row& row : txn.exec_params(kReadApplied, catalog_)) {
          AppliedRevision revision;
          revision.version = row[0].as<std::string>();
          revision.name = row[1].as<std::string>();
          revision.checksum = row[2].as<std::string>();
          revision.applied_at = FromEpoch(row[3].as<double>());
          revision.applied_by = row[4].as<std::string>();
          revision.duration_ms = row[5].as<double>();
          revision.run_id = row[6].as<std::string>();
          applied.push_back(std::move(revision));
        }
        return applied;
      });
}

absl::StatusOr<std::optional<RunRecord>> HistoryStore::ReadBlockingRun(Connection& conn) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::optional<RunRecord>> {
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return std::optional<RunRecord>();
        const pqxx::result rows =
            txn.exec_params(absl::StrCat("SELECT ", RunColumns(LockKey()),
                                         " FROM schemad.runs r WHERE r.catalog = $1 AND ("
                                         "r.state IN ('failed', 'running', 'interrupted')) "
                                         "ORDER BY r.started_at DESC LIMIT 1"),
                            catalog_);
        for (const pqxx::row& row : rows) {
          RunRecord run = RunFromRow(row);
          // A stopped transactional file left nothing behind: it blocks nothing.
          const bool stopped = run.state == RunState::kInterrupted || run.orphaned;
          if (run.state == RunState::kFailed ||
              (run.state == RunState::kRunning && !run.orphaned) ||
              (stopped && !run.current_transactional)) {
            return std::optional<RunRecord>(run);
          }
          return std::optional<RunRecord>();
        }
        return std::optional<RunRecord>();
      });
}

absl::StatusOr<std::optional<RunRecord>> HistoryStore::ReadRun(Connection& conn,
                                                               const std::string& run_id) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::optional<RunRecord>> {
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return std::optional<RunRecord>();
        const pqxx::result rows = txn.exec_params(
            absl::StrCat("SELECT ", RunColumns(LockKey()),
                         " FROM schemad.runs r WHERE r.catalog = $1 AND r.run_id::text = $2"),
            catalog_, run_id);
        if (rows.empty()) return std::optional<RunRecord>();
        return std::optional<RunRecord>(RunFromRow(rows[0]));
      });
}

absl::StatusOr<std::optional<RunRecord>> HistoryStore::ReadRunByRequestId(
    Connection& conn, const std::string& request_id) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::optional<RunRecord>> {
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return std::optional<RunRecord>();
        const pqxx::result rows = txn.exec_params(
            absl::StrCat("SELECT ", RunColumns(LockKey()),
                         " FROM schemad.runs r WHERE r.catalog = $1 AND r.request_id = $2"),
            catalog_, request_id);
        if (rows.empty()) return std::optional<RunRecord>();
        return std::optional<RunRecord>(RunFromRow(rows[0]));
      });
}

absl::StatusOr<std::vector<RunRecord>> HistoryStore::ReadRuns(Connection& conn, int limit,
                                                              int offset) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<RunRecord>> {
        std::vector<RunRecord> runs;
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return runs;
        for (const pqxx::row& row : txn.exec_params(
                 absl::StrCat("SELECT ", RunColumns(LockKey()),
                              " FROM schemad.runs r WHERE r.catalog = $1 "
                              "ORDER BY r.started_at DESC, r.run_id LIMIT $2 OFFSET $3"),
                 catalog_, limit, offset)) {
          runs.push_back(RunFromRow(row));
        }
        return runs;
      });
}

absl::StatusOr<std::vector<EventRecord>> HistoryStore::ReadEvents(Connection& conn, int limit,
                                                                  int offset) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<EventRecord>> {
        std::vector<EventRecord> events;
        if (!txn.exec1(kIsInitialized)[0].as<bool>()) return events;
        for (const pqxx::row& row :
             txn.exec_params("SELECT id, extract(epoch FROM at)::float8, principal, action, "
                             "coalesce(run_id::text, ''), outcome, detail FROM schemad.events "
                             "WHERE catalog = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
                             catalog_, limit, offset)) {
          EventRecord event;
          event.id = row[0].as<int64_t>();
          event.at = FromEpoch(row[1].as<double>());
          event.principal = row[2].as<std::string>();
          event.action = row[3].as<std::string>();
          event.run_id = row[4].as<std::string>();
          event.outcome = row[5].as<std::string>();
          event.detail = row[6].as<std::string>();
          events.push_back(std::move(event));
        }
        return events;
      });
}

absl::StatusOr<std::string> HistoryStore::StartRun(Connection& conn, const RunRecord& run) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::StatusOr<std::string> {
    txn.exec(kJournalWrite);
    std::string id =
        txn.exec_params1(
               "INSERT INTO schemad.runs (catalog, request_id, principal, operation, "
               "target_version, plan_hash, state, server_instance, backend_pid, overrides) VALUES "
               "($1, NULLIF($2, ''), $3, $4, $5, $6, 'running', $7, $8, $9) RETURNING run_id::text",
               catalog_, run.request_id, run.principal, run.operation, run.target_version,
               run.plan_hash, run.server_instance, run.backend_pid, run.overrides)[0]
            .as<std::string>();
    txn.exec_params(kNotify, catalog_);
    return id;
  });
}

absl::Status HistoryStore::UpdateProgress(Connection& conn, const std::string& run_id,
                                          const std::string& version, bool transactional,
                                          int statement_index, int backend_pid) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec(kJournalWrite);
    txn.exec_params(
        "UPDATE schemad.runs SET current_version = $2, current_transactional = $3, "
        "statement_index = $4, backend_pid = $5 WHERE run_id = $1::uuid",
        run_id, version, transactional, statement_index, backend_pid);
    return absl::OkStatus();
  });
}

absl::Status HistoryStore::FinishRun(Connection& conn, const RunRecord& run) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec(kJournalWrite);
    txn.exec_params(
        "UPDATE schemad.runs SET state = $2, finished_at = now(), current_version = $3, "
        "statement_index = $4, error = $5, sqlstate = $6, failing_statement = $7, outcome = $8, "
        "current_transactional = $9 WHERE run_id = $1::uuid",
        run.run_id, RunStateName(run.state), run.current_version, run.statement_index, run.error,
        run.sqlstate, run.failing_statement, run.outcome, run.current_transactional);
    txn.exec_params(kNotify, catalog_);
    return absl::OkStatus();
  });
}

absl::Status HistoryStore::MarkOrphanedInterrupted(Connection& conn) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec(kJournalWrite);
    const pqxx::result updated = txn.exec_params(
        "UPDATE schemad.runs r SET state = 'interrupted', finished_at = now(), "
        "error = CASE WHEN r.error = '' THEN 'the server running it stopped before recording "
        "its end' ELSE r.error END, outcome = 'INTERRUPTED' "
        "WHERE r.catalog = $1 AND r.state = 'running'",
        catalog_);
    if (updated.affected_rows() > 0) txn.exec_params(kNotify, catalog_);
    return absl::OkStatus();
  });
}

absl::Status HistoryStore::AppendEvent(Connection& conn, const EventRecord& event) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec(kJournalWrite);
    txn.exec_params(
        "INSERT INTO schemad.events (catalog, principal, action, run_id, outcome, detail) "
        "VALUES ($1, $2, $3, NULLIF($4, '')::uuid, $5, $6)",
        catalog_, event.principal, event.action, event.run_id, event.outcome, event.detail);
    return absl::OkStatus();
  });
}

absl::Status HistoryStore::RecordApplied(Connection& conn, const AppliedRevision& revision) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(kInsertApplied, catalog_, revision.version, DigitsKey(revision.version),
                    revision.name, revision.checksum, revision.applied_by, revision.duration_ms,
                    revision.run_id);
    txn.exec_params(kNotify, catalog_);
    return absl::OkStatus();
  });
}

absl::Status HistoryStore::RemoveApplied(Connection& conn, const std::string& version) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(kDeleteApplied, catalog_, DigitsKey(version));
    txn.exec_params(kNotify, catalog_);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<HistoryStore::ScriptFailure>> HistoryStore::RunScript(
    Connection& conn, const std::vector<std::string>& statements, bool transactional,
    int first_statement, absl::Duration lock_timeout, const HistoryWrite& history,
    const std::function<bool()>& cancelled,
    const std::function<void(int, double)>& on_statement) const {
  using Clock = std::chrono::steady_clock;
  const std::string timeout = absl::StrCat("'", absl::ToInt64Milliseconds(lock_timeout), "ms'");
  const auto write_history = [&](pqxx::transaction_base& txn, double duration_ms) {
    const AppliedRevision& r = history.revision;
    if (history.insert) {
      txn.exec_params(kInsertApplied, catalog_, r.version, DigitsKey(r.version), r.name, r.checksum,
                      r.applied_by, duration_ms, r.run_id);
    } else {
      txn.exec_params(kDeleteApplied, catalog_, DigitsKey(r.version));
    }
    txn.exec_params(kNotify, catalog_);
  };
  const auto failure = [](int index, const std::exception& e) {
    ScriptFailure f;
    f.statement_index = index;
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
      f.sqlstate = sql->sqlstate();
      f.lock_timeout = f.sqlstate == "55P03";
    }
    f.connection_lost = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr;
    f.message = e.what();
    while (!f.message.empty() && (f.message.back() == '\n' || f.message.back() == ' ')) {
      f.message.pop_back();
    }
    // libpqxx appends the query to some messages; keep PostgreSQL's first line.
    if (const size_t newline = f.message.find('\n'); newline != std::string::npos) {
      f.message = f.message.substr(0, newline);
    }
    if (f.message.rfind("ERROR:  ", 0) == 0) f.message = f.message.substr(8);
    return f;
  };
  const auto start = Clock::now();
  const auto elapsed_ms = [](Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
  };

  if (transactional) {
    int index = 0;
    try {
      pqxx::work txn(conn.raw());
      txn.exec("SET LOCAL lock_timeout = " + timeout);
      for (; index < static_cast<int>(statements.size()); ++index) {
        if (cancelled()) {
          ScriptFailure f;
          f.statement_index = index;
          f.sqlstate = "57014";
          f.message = "cancelled by the caller";
          return std::optional<ScriptFailure>(f);
        }
        const auto statement_start = Clock::now();
        txn.exec(statements[index]);
        on_statement(index, elapsed_ms(statement_start));
      }
      write_history(txn, elapsed_ms(start));
      txn.commit();
      return std::optional<ScriptFailure>();
    } catch (const pqxx::in_doubt_error& e) {
      return StatusFromException(e);
    } catch (const std::exception& e) {
      return std::optional<ScriptFailure>(failure(index, e));
    }
  }

  int index = first_statement;
  try {
    pqxx::nontransaction txn(conn.raw());
    txn.exec("SET lock_timeout = " + timeout);
    for (; index < static_cast<int>(statements.size()); ++index) {
      if (cancelled()) {
        ScriptFailure f;
        f.statement_index = index;
        f.sqlstate = "57014";
        f.message = "cancelled by the caller";
        return std::optional<ScriptFailure>(f);
      }
      const auto statement_start = Clock::now();
      txn.exec(statements[index]);
      on_statement(index, elapsed_ms(statement_start));
    }
    txn.exec("RESET lock_timeout");  // pooled connections carry no run's settings
  } catch (const std::exception& e) {
    return std::optional<ScriptFailure>(failure(index, e));
  }
  try {
    pqxx::work txn(conn.raw());
    write_history(txn, elapsed_ms(start));
    txn.commit();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
  return std::optional<ScriptFailure>();
}

void HistoryStore::PrepareWorkSession(Connection& conn) const {
  try {
    pqxx::nontransaction txn(conn.raw());
    txn.exec(
        "SELECT set_config(name, '1000', false) FROM pg_settings "
        "WHERE name = 'client_connection_check_interval'");
  } catch (const std::exception&) {
    // Older servers: the statement simply runs to its end.
  }
}

absl::StatusOr<std::vector<std::string>> HistoryStore::InvalidIndexes(Connection& conn) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<std::string>> {
        std::vector<std::string> names;
        for (const pqxx::row& row : txn.exec("SELECT n.nspname || '.' || c.relname FROM pg_index i "
                                             "JOIN pg_class c ON c.oid = i.indexrelid "
                                             "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                             "WHERE NOT i.indisvalid ORDER BY 1")) {
          names.push_back(row[0].as<std::string>());
        }
        return names;
      });
}

int64_t HistoryStore::LockKey() const {
  const std::string digest = Sha256Hex(absl::StrCat("schemad/catalog/", catalog_));
  uint64_t key = std::stoull(digest.substr(0, 15), nullptr, 16);
  return static_cast<int64_t>(key);
}

absl::StatusOr<bool> HistoryStore::TryAdvisoryLock(Connection& conn) const {
  try {
    pqxx::nontransaction txn(conn.raw());
    return txn.exec_params1("SELECT pg_try_advisory_lock($1)", LockKey())[0].as<bool>();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::Status HistoryStore::AdvisoryUnlock(Connection& conn) const {
  try {
    pqxx::nontransaction txn(conn.raw());
    txn.exec_params("SELECT pg_advisory_unlock($1)", LockKey());
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace schemad::db
