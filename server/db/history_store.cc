#include "server/db/history_store.h"

#include "absl/strings/str_cat.h"
#include "server/common/version.h"
#include "server/db/transaction.h"

namespace schemad::db {
namespace {

constexpr char kIsInitialized[] = "SELECT to_regclass('schemad.migrations') IS NOT NULL";

constexpr char kReadApplied[] =
    "SELECT version, name, checksum, extract(epoch FROM applied_at)::float8, applied_by, "
    "duration_ms, coalesce(run_id::text, ''), coalesce(to_jsonb(m) ->> 'release', '') FROM "
    "schemad.migrations m WHERE catalog = $1 ORDER BY version_key";  // release: version 4

constexpr char kInsertApplied[] =
    "INSERT INTO schemad.migrations (catalog, version, version_key, name, checksum, applied_by, "
    "duration_ms, run_id, release) VALUES ($1, $2, $3::numeric, $4, $5, $6, $7::float8, "
    "NULLIF($8, '')::uuid, $9) ON CONFLICT (catalog, version_key) DO UPDATE SET "
    "checksum = EXCLUDED.checksum, applied_at = now(), applied_by = EXCLUDED.applied_by, "
    "duration_ms = EXCLUDED.duration_ms, run_id = EXCLUDED.run_id, release = EXCLUDED.release";

// Adopted from another tool's history: when it ran there ($10, seconds since the epoch).
constexpr char kInsertAdopted[] =
    "INSERT INTO schemad.migrations (catalog, version, version_key, name, checksum, applied_by, "
    "duration_ms, run_id, release, applied_at) VALUES ($1, $2, $3::numeric, $4, $5, $6, "
    "$7::float8, NULLIF($8, '')::uuid, $9, to_timestamp($10::float8))";

constexpr char kDeleteApplied[] =
    "DELETE FROM schemad.migrations WHERE catalog = $1 AND version_key = $2::numeric";

constexpr char kIsRecordedBy[] =
    "SELECT EXISTS (SELECT 1 FROM schemad.migrations WHERE catalog = $1 AND "
    "version_key = $2::numeric AND ($3 = '' OR run_id::text = $3))";

constexpr char kUpdateChecksum[] =
    "UPDATE schemad.migrations SET checksum = $3 WHERE catalog = $1 AND version_key = $2::numeric";

}  // namespace

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
          revision.release = row[7].as<std::string>();
          applied.push_back(std::move(revision));
        }
        return applied;
      });
}

absl::StatusOr<bool> HistoryStore::IsRecorded(Connection& conn, const std::string& version,
                                              const std::string& run_id) const {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<bool> {
        return txn.exec_params1(kIsRecordedBy, catalog_, VersionKey(version), run_id)[0].as<bool>();
      });
}

void HistoryStore::Write(pqxx::transaction_base& txn, const HistoryWrite& write,
                         double duration_ms) const {
  const AppliedRevision& r = write.revision;
  if (write.insert && write.applied_at) {
    txn.exec_params(kInsertAdopted, catalog_, r.version, VersionKey(r.version), r.name, r.checksum,
                    r.applied_by, duration_ms, r.run_id, r.release,
                    absl::ToDoubleSeconds(*write.applied_at - absl::UnixEpoch()));
  } else if (write.insert) {
    txn.exec_params(kInsertApplied, catalog_, r.version, VersionKey(r.version), r.name, r.checksum,
                    r.applied_by, duration_ms, r.run_id, r.release);
  } else {
    txn.exec_params(kDeleteApplied, catalog_, VersionKey(r.version));
  }
  txn.exec_params(kNotifyVersion, catalog_);
}

absl::Status HistoryStore::UpdateChecksum(Connection& conn, const std::string& version,
                                          const std::string& checksum) const {
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    const pqxx::result updated =
        txn.exec_params(kUpdateChecksum, catalog_, VersionKey(version), checksum);
    if (updated.affected_rows() == 0) {
      return absl::NotFoundError(absl::StrCat("version ", version, " is not recorded"));
    }
    txn.exec_params(kNotifyVersion, catalog_);
    return absl::OkStatus();
  });
}

}  // namespace schemad::db
