#include "server/db/fleet_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/db/transaction.h"

namespace schemad::db {
namespace {

constexpr char kRunColumns[] =
    "fleet_run_id::text, group_name, coalesce(request_id, ''), release, to_version, principal, "
    "parallel, canary, max_failures, state, extract(epoch FROM created_at)::float8, "
    "extract(epoch FROM finished_at)::float8";

constexpr char kMemberColumns[] =
    "member, position, canary, state, plan_hash, run_id, version, error, claimed_by, "
    "extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8, "
    "fleet_run_id::text";

// A worker is alive while its session holds this lock: the key of run `run` and worker `worker`
// (SQL expressions).
std::string WorkerKey(absl::string_view run, absl::string_view worker) {
  return absl::StrCat("hashtextextended('schemad-fleet:' || ", run, " || ':' || ", worker, ", 0)");
}

// Whether nothing more may start: max_failures reached, or a canary failed.
constexpr char kBlocked[] =
    "((SELECT count(*) FROM schemad_control.fleet_members f WHERE f.fleet_run_id = $1::uuid AND "
    "f.state = 'failed') >= r.max_failures OR EXISTS (SELECT 1 FROM schemad_control.fleet_members "
    "k WHERE k.fleet_run_id = $1::uuid AND k.canary AND k.state = 'failed'))";

std::optional<absl::Time> OptionalTime(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return FromEpoch(field.as<double>());
}

FleetRun RunOf(const pqxx::row& row) {
  FleetRun run;
  run.id = row[0].as<std::string>();
  run.group = row[1].as<std::string>();
  run.request_id = row[2].as<std::string>();
  run.release = row[3].as<std::string>();
  run.to_version = row[4].as<std::string>();
  run.principal = row[5].as<std::string>();
  run.parallel = row[6].as<int>();
  run.canary = row[7].as<int>();
  run.max_failures = row[8].as<int>();
  run.state = row[9].as<std::string>();
  run.created_at = FromEpoch(row[10].as<double>());
  run.finished_at = OptionalTime(row[11]);
  return run;
}

FleetMember MemberOf(const pqxx::row& row) {
  FleetMember member;
  member.member = row[0].as<std::string>();
  member.position = row[1].as<int>();
  member.canary = row[2].as<bool>();
  member.state = row[3].as<std::string>();
  member.plan_hash = row[4].as<std::string>();
  member.run_id = row[5].as<std::string>();
  member.version = row[6].as<std::string>();
  member.error = row[7].as<std::string>();
  member.claimed_by = row[8].as<std::string>();
  member.started_at = OptionalTime(row[9]);
  member.finished_at = OptionalTime(row[10]);
  member.fleet_run_id = row[11].as<std::string>();
  return member;
}

}  // namespace

bool IsFleetRunId(const std::string& text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (text[i] == '-')) return false;
    if (!dash && !absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

absl::StatusOr<FleetRun> FleetStore::Start(const FleetRun& run,
                                           const std::vector<FleetMember>& members, bool* created) {
  *created = false;
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::work>(*conn, [&](pqxx::work& txn) -> absl::StatusOr<FleetRun> {
    // One fleet run per (group, request id), whoever asks first.
    txn.exec_params(
        "SELECT pg_advisory_xact_lock(hashtextextended('schemad-fleet-start:' || $1, 0))",
        run.group);
    if (!run.request_id.empty()) {
      const pqxx::result existing = txn.exec_params(
          absl::StrCat(
              "SELECT ", kRunColumns,
              " FROM schemad_control.fleet_runs WHERE group_name = $1 AND request_id = $2"),
          run.group, run.request_id);
      if (!existing.empty()) return RunOf(existing[0]);
    }
    const pqxx::row row = txn.exec_params1(
        absl::StrCat("INSERT INTO schemad_control.fleet_runs (group_name, request_id, release, "
                     "to_version, principal, parallel, canary, max_failures) VALUES ($1, "
                     "NULLIF($2, ''), $3, $4, $5, $6, $7, $8) RETURNING ",
                     kRunColumns),
        run.group, run.request_id, run.release, run.to_version, run.principal, run.parallel,
        run.canary, run.max_failures);
    FleetRun stored = RunOf(row);
    for (const FleetMember& member : members) {
      txn.exec_params(
          "INSERT INTO schemad_control.fleet_members (fleet_run_id, member, position, canary, "
          "plan_hash) VALUES ($1::uuid, $2, $3, $4, $5)",
          stored.id, member.member, member.position, member.canary, member.plan_hash);
    }
    *created = true;
    return stored;
  });
}

absl::StatusOr<FleetRun> FleetStore::Find(const std::string& id) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::read_transaction>(
      *conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<FleetRun> {
        const pqxx::result rows = txn.exec_params(
            absl::StrCat("SELECT ", kRunColumns,
                         " FROM schemad_control.fleet_runs WHERE fleet_run_id = $1::uuid"),
            id);
        if (rows.empty()) return absl::NotFoundError(absl::StrCat("no fleet run ", id));
        return RunOf(rows[0]);
      });
}

absl::StatusOr<std::vector<FleetRun>> FleetStore::List(const std::string& group, int limit) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::read_transaction>(
      *conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<FleetRun>> {
        std::vector<FleetRun> runs;
        for (const pqxx::row& row : txn.exec_params(
                 absl::StrCat("SELECT ", kRunColumns,
                              " FROM schemad_control.fleet_runs WHERE $1 = '' OR group_name = $1 "
                              "ORDER BY created_at DESC LIMIT $2"),
                 group, limit)) {
          runs.push_back(RunOf(row));
        }
        return runs;
      });
}

absl::StatusOr<std::vector<FleetMember>> FleetStore::Members(const std::string& id) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::read_transaction>(
      *conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<FleetMember>> {
        std::vector<FleetMember> members;
        for (const pqxx::row& row :
             txn.exec_params(absl::StrCat("SELECT ", kMemberColumns,
                                          " FROM schemad_control.fleet_members WHERE "
                                          "fleet_run_id = $1::uuid ORDER BY position"),
                             id)) {
          members.push_back(MemberOf(row));
        }
        return members;
      });
}

absl::StatusOr<FleetTally> FleetStore::Tally(const std::string& id) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::read_transaction>(
      *conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<FleetTally> {
        FleetTally tally;
        for (const pqxx::row& row : txn.exec_params(
                 "SELECT state, canary, count(*)::int FROM schemad_control.fleet_members WHERE "
                 "fleet_run_id = $1::uuid GROUP BY state, canary",
                 id)) {
          tally.Add(row[0].as<std::string>(), row[2].as<int>());
          if (row[1].as<bool>() && row[0].as<std::string>() == "failed") {
            tally.canary_failed += row[2].as<int>();
          }
        }
        return tally;
      });
}

FleetStore::Worker::~Worker() = default;  // closing the session releases its lock

bool FleetStore::Worker::Alive() {
  absl::MutexLock lock(&mu_);
  return session_->IsAlive();
}

absl::StatusOr<std::unique_ptr<FleetStore::Worker>> FleetStore::Join(const std::string& id,
                                                                     const std::string& name) {
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<Connection> session, Connection::Open(dsn_));
  absl::Status locked =
      InTransaction<pqxx::nontransaction>(*session, [&](pqxx::nontransaction& txn) -> absl::Status {
        txn.exec_params(absl::StrCat("SELECT pg_advisory_lock(", WorkerKey("$1", "$2"), ")"), id,
                        name);
        return absl::OkStatus();
      });
  if (!locked.ok()) return locked;
  return std::unique_ptr<Worker>(new Worker(std::move(session), name));
}

absl::StatusOr<int> FleetStore::ReclaimOrphans(const std::string& id) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::work>(*conn, [&](pqxx::work& txn) -> absl::StatusOr<int> {
    // A worker's lock that can be taken is a worker that is gone (taken for this transaction
    // only). Its member may be part-way (revisions of this fleet run applied): its plan from
    // the start no longer holds, so it is planned again when it is claimed.
    const pqxx::result rows = txn.exec_params(
        absl::StrCat("UPDATE schemad_control.fleet_members SET state = 'pending', claimed_by = '', "
                     "started_at = NULL, plan_hash = '' WHERE fleet_run_id = $1::uuid AND state = "
                     "'running' AND pg_try_advisory_xact_lock(",
                     WorkerKey("$1::text", "claimed_by"), ") RETURNING member"),
        id);
    return static_cast<int>(rows.size());
  });
}

absl::StatusOr<std::optional<FleetMember>> FleetStore::Claim(const std::string& id,
                                                             const Worker& worker,
                                                             int max_failures) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::work>(
      *conn, [&](pqxx::work& txn) -> absl::StatusOr<std::optional<FleetMember>> {
        // Close takes the run's row FOR UPDATE: a claim and a close never interleave.
        if (txn.exec_params("SELECT 1 FROM schemad_control.fleet_runs WHERE fleet_run_id = "
                            "$1::uuid AND state = 'running' FOR SHARE",
                            id)
                .empty()) {
          return std::optional<FleetMember>();
        }
        const pqxx::result rows = txn.exec_params(
            absl::StrCat(
                "UPDATE schemad_control.fleet_members m SET state = 'running', claimed_by = $2, "
                "started_at = now() WHERE (m.fleet_run_id, m.member) = (SELECT fleet_run_id, "
                "member FROM schemad_control.fleet_members c WHERE c.fleet_run_id = $1::uuid AND "
                "c.state = 'pending' AND NOT EXISTS (SELECT 1 FROM schemad_control.fleet_members "
                "k WHERE k.fleet_run_id = c.fleet_run_id AND k.canary AND k.state = 'failed') AND "
                "(c.canary OR NOT EXISTS (SELECT 1 FROM schemad_control.fleet_members k WHERE "
                "k.fleet_run_id = c.fleet_run_id AND k.canary AND k.state IN ('pending', "
                "'running'))) AND (SELECT count(*) FROM schemad_control.fleet_members f WHERE "
                "f.fleet_run_id = c.fleet_run_id AND f.state = 'failed') < $3 ORDER BY c.position "
                "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING ",
                kMemberColumns),
            id, worker.name(), max_failures);
        if (rows.empty()) return std::optional<FleetMember>();
        return std::optional<FleetMember>(MemberOf(rows[0]));
      });
}

absl::Status FleetStore::Finish(const std::string& id, const Worker& worker,
                                const FleetMember& member) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::work>(*conn, [&](pqxx::work& txn) -> absl::Status {
    const pqxx::result rows = txn.exec_params(
        "UPDATE schemad_control.fleet_members SET state = $3, run_id = $4, version = $5, error = "
        "$6, finished_at = now() WHERE fleet_run_id = $1::uuid AND member = $2 AND claimed_by = "
        "$7 AND state = 'running' RETURNING 1",
        id, member.member, member.state, member.run_id, member.version, member.error,
        worker.name());
    if (rows.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "fleet run ", id, ": member ", member.member, " is no longer this worker's"));
    }
    return absl::OkStatus();
  });
}

absl::Status FleetStore::Release(const std::string& id, const Worker& worker,
                                 const std::string& member) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::work>(*conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "UPDATE schemad_control.fleet_members SET state = 'pending', claimed_by = '', started_at "
        "= NULL, plan_hash = '' WHERE fleet_run_id = $1::uuid AND member = $2 AND claimed_by = $3 "
        "AND state = 'running'",
        id, member, worker.name());
    return absl::OkStatus();
  });
}

absl::StatusOr<FleetRun> FleetStore::Close(const std::string& id) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::work>(*conn, [&](pqxx::work& txn) -> absl::StatusOr<FleetRun> {
    txn.exec_params(
        "SELECT 1 FROM schemad_control.fleet_runs WHERE fleet_run_id = $1::uuid FOR UPDATE", id);
    // Ends only when nothing runs, and nothing pending may still start.
    const bool open =
        txn.exec_params1(
               absl::StrCat("SELECT EXISTS (SELECT 1 FROM schemad_control.fleet_members WHERE "
                            "fleet_run_id = $1::uuid AND state = 'running') OR (EXISTS (SELECT 1 "
                            "FROM schemad_control.fleet_members WHERE fleet_run_id = $1::uuid AND "
                            "state = 'pending') AND NOT ",
                            kBlocked,
                            ") FROM schemad_control.fleet_runs r WHERE r.fleet_run_id = $1::uuid"),
               id)[0]
            .as<bool>();
    if (!open) {
      txn.exec_params(
          "UPDATE schemad_control.fleet_members SET state = 'skipped' WHERE fleet_run_id = "
          "$1::uuid AND state = 'pending'",
          id);
      txn.exec_params(
          "UPDATE schemad_control.fleet_runs SET finished_at = coalesce(finished_at, now()), state "
          "= CASE WHEN EXISTS (SELECT 1 FROM schemad_control.fleet_members WHERE "
          "fleet_run_id = $1::uuid AND state IN ('failed', 'skipped')) THEN 'failed' ELSE "
          "'succeeded' END WHERE fleet_run_id = $1::uuid",
          id);
    }
    const pqxx::result rows = txn.exec_params(
        absl::StrCat("SELECT ", kRunColumns,
                     " FROM schemad_control.fleet_runs WHERE fleet_run_id = $1::uuid"),
        id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("no fleet run ", id));
    return RunOf(rows[0]);
  });
}

absl::StatusOr<std::map<std::string, FleetMember>> FleetStore::LastStates(
    const std::string& group) {
  SCHEMAD_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return InTransaction<pqxx::read_transaction>(
      *conn,
      [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::map<std::string, FleetMember>> {
        std::map<std::string, FleetMember> states;
        for (const pqxx::row& row : txn.exec_params(
                 absl::StrCat("SELECT DISTINCT ON (member) ", kMemberColumns,
                              " FROM (SELECT m.*, r.created_at AS run_created_at FROM "
                              "schemad_control.fleet_members m JOIN schemad_control.fleet_runs r "
                              "USING (fleet_run_id) WHERE r.group_name = $1 AND m.state <> "
                              "'skipped') x ORDER BY member, run_created_at DESC"),
                 group)) {
          FleetMember member = MemberOf(row);
          states[member.member] = std::move(member);
        }
        return states;
      });
}

}  // namespace schemad::db
