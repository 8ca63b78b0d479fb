#include "server/db/audit_log.h"

#include "server/db/transaction.h"

namespace schemad::db {
namespace {

constexpr char kAppend[] =
    "INSERT INTO schemad.events (catalog, principal, action, run_id, outcome, detail) "
    "VALUES ($1, $2, $3, NULLIF($4, '')::uuid, $5, $6)";

constexpr char kRead[] =
    "SELECT id, extract(epoch FROM at)::float8, principal, action, coalesce(run_id::text, ''), "
    "outcome, detail FROM schemad.events WHERE catalog = $1 ORDER BY id DESC LIMIT $2 OFFSET $3";

}  // namespace

void AuditLog::Write(pqxx::transaction_base& txn, const EventRecord& event) const {
  txn.exec_params(kAppend, catalog_, event.principal, event.action, event.run_id, event.outcome,
                  event.detail);
}

absl::Status AuditLog::Append(Connection& conn, const EventRecord& event) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    Write(txn, event);
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> AuditLog::AppendIfPresent(Connection& conn, const EventRecord& event) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::StatusOr<bool> {
    if (!txn.exec1("SELECT to_regclass('schemad.events') IS NOT NULL")[0].as<bool>()) return false;
    Write(txn, event);
    return true;
  });
}

absl::StatusOr<std::vector<EventRecord>> AuditLog::Read(Connection& conn, int limit,
                                                        int offset) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<EventRecord>> {
        std::vector<EventRecord> events;
        if (!txn.exec1("SELECT to_regclass('schemad.events') IS NOT NULL")[0].as<bool>()) {
          return events;
        }
        for (const pqxx::row& row : txn.exec_params(kRead, catalog_, limit, offset)) {
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

}  // namespace schemad::db
