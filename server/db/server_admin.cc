#include "server/db/server_admin.h"

#include <pqxx/pqxx>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"

namespace schemad::db {
namespace {

absl::StatusOr<std::vector<std::string>> Column(Connection& conn, const std::string& sql,
                                                const std::string& param = "") {
  try {
    pqxx::nontransaction txn(conn.raw());
    std::vector<std::string> values;
    const pqxx::result rows = param.empty() ? txn.exec(sql) : txn.exec_params(sql, param);
    for (const pqxx::row& row : rows) values.push_back(row[0].as<std::string>());
    return values;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace

absl::Status CreateDatabase(Connection& conn, const std::string& name) {
  try {
    pqxx::nontransaction txn(conn.raw());
    txn.exec(absl::StrCat("CREATE DATABASE ", txn.quote_name(name), " TEMPLATE template0"));
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::Status DropDatabase(Connection& conn, const std::string& name, bool force) {
  try {
    pqxx::nontransaction txn(conn.raw());
    txn.exec(absl::StrCat("DROP DATABASE IF EXISTS ", txn.quote_name(name),
                          force ? " WITH (FORCE)" : ""));
    return absl::OkStatus();
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "55006") {
      return absl::FailedPreconditionError(absl::StrCat("database ", name, " is in use"));
    }
    return StatusFromException(e);
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::vector<std::string>> DatabasesNamed(Connection& conn,
                                                        const std::string& prefix) {
  return Column(conn,
                "SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1 "
                "ORDER BY 1",
                prefix);
}

absl::StatusOr<std::vector<std::string>> RoleNames(Connection& conn) {
  return Column(conn, "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1");
}

absl::StatusOr<std::vector<std::string>> CreateMissingRoles(Connection& conn,
                                                            const std::vector<std::string>& roles) {
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<std::string> existing, RoleNames(conn));
  std::vector<std::string> created;
  try {
    pqxx::nontransaction txn(conn.raw());
    for (const std::string& role : roles) {
      if (std::find(existing.begin(), existing.end(), role) != existing.end()) continue;
      txn.exec(absl::StrCat("CREATE ROLE ", txn.quote_name(role), " NOLOGIN"));
      created.push_back(role);
    }
    return created;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::vector<std::string>> InstalledExtensions(Connection& conn) {
  return Column(conn, "SELECT extname FROM pg_extension ORDER BY 1");
}

absl::StatusOr<std::vector<std::string>> AvailableExtensions(Connection& conn) {
  return Column(conn, "SELECT name FROM pg_available_extensions ORDER BY 1");
}

absl::StatusOr<std::vector<std::string>> RelationLocksOf(Connection& conn, int pid) {
  return Column(conn,
                "SELECT DISTINCT n.nspname || '.' || c.relname || ' ' || l.mode FROM pg_locks l "
                "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON "
                "n.oid = c.relnamespace WHERE l.pid = $1::int AND l.granted "
                "AND l.locktype = 'relation' AND n.nspname NOT IN ('pg_catalog', "
                "'information_schema', 'schemad') ORDER BY 1",
                std::to_string(pid));
}

}  // namespace schemad::db
