#include "server/db/advisory_lock.h"

#include "absl/strings/str_format.h"
#include "server/common/sha256.h"
#include "server/db/transaction.h"

namespace schemad::db {
namespace {

// pg_try_advisory_lock(bigint) shows in pg_locks as classid = high half, objid = low half,
// objsubid = 1.
constexpr char kLockMatch[] =
    "l.locktype = 'advisory' AND l.granted AND l.classid::int8 = %d AND l.objid::int8 = %d AND "
    "l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = "
    "current_database())";

}  // namespace

int64_t CatalogLockKey(const std::string& catalog) {
  const std::string digest = Sha256Hex("schemad/catalog/" + catalog);
  return static_cast<int64_t>(std::stoull(digest.substr(0, 15), nullptr, 16));
}

std::string LockHeldBySelfSql(int64_t key) {
  return absl::StrFormat("schemad.holds_lock(%d)", key);
}

std::string LockHeldByAnyoneSql(int64_t key) {
  return absl::StrFormat("EXISTS (SELECT 1 FROM pg_locks l WHERE %s)",
                         absl::StrFormat(kLockMatch, key >> 32, key & 0xffffffff));
}

absl::StatusOr<std::unique_ptr<AdvisoryLock>> AdvisoryLock::TryAcquire(
    ConnectionPool::Lease& session, int64_t key) {
  absl::StatusOr<bool> taken = InTransaction<pqxx::nontransaction>(
      *session, [&](pqxx::nontransaction& txn) -> absl::StatusOr<bool> {
        return txn.exec_params1("SELECT pg_try_advisory_lock($1)", key)[0].as<bool>();
      });
  if (!taken.ok()) return taken.status();
  if (!*taken) return std::unique_ptr<AdvisoryLock>();
  return std::unique_ptr<AdvisoryLock>(new AdvisoryLock(std::move(session), key));
}

AdvisoryLock::~AdvisoryLock() { Release().IgnoreError(); }

absl::Status AdvisoryLock::Release() {
  if (released_) return absl::OkStatus();
  released_ = true;
  // A run that failed inside a transaction may have left it open: end it first, or the unlock
  // itself would fail.
  session_->RollbackOpenTransaction();
  absl::StatusOr<bool> unlocked = InTransaction<pqxx::nontransaction>(
      *session_, [&](pqxx::nontransaction& txn) -> absl::StatusOr<bool> {
        return txn.exec_params1("SELECT pg_advisory_unlock($1)", key_)[0].as<bool>();
      });
  session_->ResetSession();
  if (!unlocked.ok()) return unlocked.status();
  if (!*unlocked) return absl::DataLossError("the advisory lock was lost before release");
  return absl::OkStatus();
}

}  // namespace schemad::db
