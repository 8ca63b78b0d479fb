// Helpers shared by the db/ stores (not a public header of the layer): running a body in a
// libpqxx transaction with exceptions mapped to Status, and time conversions.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "server/db/connection.h"

namespace schemad::db {

// Runs `body` in a transaction of type Txn (read_transaction, work, nontransaction) on `conn`,
// commits it, and maps libpqxx exceptions to Status (StatusFromException).
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

inline absl::Time FromEpoch(double seconds) {
  return absl::FromUnixMicros(static_cast<int64_t>(seconds * 1e6));
}

// Tells every replica's version cache that this catalog's recorded state changed; delivered on
// commit, so listeners never see a state older than the notification.
inline constexpr char kNotifyVersion[] = "SELECT pg_notify('schemad_version', $1)";

}  // namespace schemad::db
