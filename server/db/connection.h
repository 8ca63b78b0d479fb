// Connections to a target database: a small pool of leases, and statement execution that turns
// libpqxx exceptions into absl::Status with SQLSTATE.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/db/breaker.h"

namespace pqxx {
class connection_base;
}

namespace schemad::db {

// A failed statement, with what PostgreSQL said.
struct SqlFailure {
  std::string sqlstate;  // empty when the connection broke
  std::string message;
};

// Maps a libpqxx/std exception to a Status: broken connection -> UNAVAILABLE, serialization
// failure -> ABORTED, in-doubt -> UNKNOWN, other SQL errors -> INTERNAL with SQLSTATE.
absl::Status StatusFromException(const std::exception& e);

// "host:port/dbname" of a DSN, with libpq's defaults filled in, to tell whether two DSNs name
// the same database. Empty when the DSN does not parse.
std::string DatabaseIdentity(const std::string& dsn);

// The DSN (either form) in keyword form, naming `database` instead of its own.
std::string WithDatabase(const std::string& dsn, const std::string& database);
// The DSN (either form) in keyword form, with search_path = `schema` (a plain lower-case name)
// as a startup option, kept through RESET ALL.
std::string WithSearchPath(const std::string& dsn, const std::string& schema);
// The DSN as libpq environment variables (PGHOST=…, PGPASSWORD=…), for PostgreSQL's tools: a
// password in an environment variable is not on their command line for everyone to see.
std::vector<std::string> DsnEnvironment(const std::string& dsn);

// One open connection, owned by one thread at a time.
class Connection {
 public:
  // Opens a connection. Returns UNAVAILABLE (without the DSN) when it cannot.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& dsn);
  ~Connection();

  pqxx::connection_base& raw();
  int backend_pid() const;
  // server_version_num, e.g. 150018.
  int server_version();
  bool is_open() const;
  // False when the server closed the connection (restart, terminated backend, dropped
  // database). One round trip.
  bool IsAlive();
  // Asks the server to cancel the statement running on this connection, if one is armed
  // (ArmCancel): callable from any thread. Bookkeeping statements are never cancelled.
  void Cancel();
  void ArmCancel(bool armed) { cancel_armed_ = armed; }
  // Server NOTICE messages received since the last call.
  std::vector<std::string> TakeNotices();
  // Sets a session setting when this server knows it (ignored otherwise).
  void SetIfExists(const std::string& name, const std::string& value);
  // Whether the session is inside a transaction block (aborted or not). Two round trips.
  bool InTransactionBlock();
  // Rolls back a transaction block the session is in, if any (one round trip).
  void RollbackOpenTransaction();
  // Marks the session as changed by migration SQL (settings, search_path, temp objects…), so
  // the pool resets it before lending it again.
  void MarkDirty() { dirty_ = true; }
  bool dirty() const { return dirty_; }
  // Ends any transaction and runs DISCARD ALL: no settings, prepared statements, temp tables,
  // advisory locks or LISTENs survive. Closes the connection when that fails.
  void ResetSession();

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  bool dirty_ = false;
  std::atomic<bool> cancel_armed_{true};
};

// Lends connections to one database; takes them back clean (a session that ran migration SQL
// is reset) and drops broken ones.
// Thread-safe.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease();
    Connection& operator*() { return *conn_; }
    Connection* operator->() { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  ConnectionPool(std::string dsn, int max_idle) : dsn_(std::move(dsn)), max_idle_(max_idle) {}
  // Returns an idle connection or opens one. Returns UNAVAILABLE if the database is unreachable,
  // at once while the breaker is open (a failed connect opens it for a back-off).
  absl::StatusOr<Lease> Acquire();
  // Opens a connection of its own (not pooled) through the same breaker.
  absl::StatusOr<std::unique_ptr<Connection>> OpenConnection();
  const Breaker& breaker() const { return breaker_; }

 private:
  void Release(std::unique_ptr<Connection> conn);
  const std::string dsn_;
  const int max_idle_;
  Breaker breaker_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace schemad::db
