// Server-level work for shadow databases: creating and dropping databases, the roles and
// extensions a server has, and the locks a session holds.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/db/connection.h"

namespace schemad::db {

// CREATE DATABASE `name` from template0 (`name` must be a plain identifier).
absl::Status CreateDatabase(Connection& conn, const std::string& name);
// DROP DATABASE IF EXISTS; with `force` its sessions are ended first. Without it, a database
// someone is connected to stays (FAILED_PRECONDITION).
absl::Status DropDatabase(Connection& conn, const std::string& name, bool force);
// The databases whose names start with `prefix`.
absl::StatusOr<std::vector<std::string>> DatabasesNamed(Connection& conn,
                                                        const std::string& prefix);

// Login and group roles other than PostgreSQL's own (pg_*).
absl::StatusOr<std::vector<std::string>> RoleNames(Connection& conn);
// Creates each of `roles` that does not exist yet, as NOLOGIN. Returns the ones created.
absl::StatusOr<std::vector<std::string>> CreateMissingRoles(Connection& conn,
                                                            const std::vector<std::string>& roles);

// The rows of a group's discovery query (read-only transaction): (tenant, dsn or "").
// INVALID_ARGUMENT for another shape or a NULL tenant.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadTenants(
    Connection& conn, const std::string& query);

// CREATE SCHEMA IF NOT EXISTS `schema` (owned by the session's user).
absl::Status CreateSchemaIfMissing(Connection& conn, const std::string& schema);

// Who a session is: its role and its search_path with "$user" resolved to that role.
struct SessionIdentity {
  std::string user;
  std::string search_path;
};
absl::StatusOr<SessionIdentity> ReadSessionIdentity(Connection& conn);
// ALTER DATABASE `name` SET search_path to `search_path` (a setting's text, passed as a value).
absl::Status SetDatabaseSearchPath(Connection& conn, const std::string& name,
                                   const std::string& search_path);

// Installed extensions (pg_extension) and the ones the server could install.
absl::StatusOr<std::vector<std::string>> InstalledExtensions(Connection& conn);
absl::StatusOr<std::vector<std::string>> AvailableExtensions(Connection& conn);

// Checks run in one transaction that is always rolled back: each check in its own savepoint,
// so one failing does not stop the others. Nothing they write is left.
struct Check {
  std::string id;
  std::vector<std::string> statements;
};
struct CheckResult {
  std::string id;
  bool ok = true;
  int failed_statement = 0;  // 1-based
  std::string error;
};
// `lock_timeout_ms` and `statement_timeout_ms` (0: none) bound each statement.
absl::StatusOr<std::vector<CheckResult>> RunRolledBack(Connection& conn,
                                                       const std::vector<Check>& checks,
                                                       int64_t lock_timeout_ms,
                                                       int64_t statement_timeout_ms);

// Watches the relation locks backend `pid` holds, from another session on its database.
class LockWatcher {
 public:
  LockWatcher(Connection& conn, int pid) : conn_(conn), pid_(pid) {}
  // The locks taken since the last call (or since Forget), as "schema.table MODE", for tables,
  // views and materialized views this session can see (not PostgreSQL's own; not those the
  // watched transaction created, until it commits).
  absl::StatusOr<std::vector<std::string>> NewLocks();
  // A new transaction: what it holds is new again.
  void Forget() { held_.clear(); }

 private:
  Connection& conn_;
  int pid_;
  std::set<std::pair<int64_t, std::string>> held_;
  std::map<int64_t, std::string> names_;  // of the relations reported
  bool prepared_ = false;
};

}  // namespace schemad::db
