#include "server/db/server_admin.h"

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

absl::StatusOr<SessionIdentity> ReadSessionIdentity(Connection& conn) {
  try {
    pqxx::nontransaction txn(conn.raw());
    const pqxx::row row = txn.exec1(
        "SELECT current_user, regexp_replace(current_setting('search_path'), '\"?\\$user\"?', "
        "quote_ident(current_user), 'g')");
    return SessionIdentity{row[0].as<std::string>(), row[1].as<std::string>()};
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadTenants(
    Connection& conn, const std::string& query) {
  try {
    pqxx::read_transaction txn(conn.raw());
    std::vector<std::pair<std::string, std::string>> tenants;
    txn.exec("SET LOCAL statement_timeout = '30s'");
    const pqxx::result rows = txn.exec(query);
    if (rows.columns() < 1 || rows.columns() > 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the query gives ", rows.columns(), " column(s): expected (tenant) or (tenant, dsn)"));
    }
    for (const pqxx::row& row : rows) {
      if (row[0].is_null()) return absl::InvalidArgumentError("the query gives a NULL tenant");
      tenants.emplace_back(row[0].as<std::string>(), rows.columns() == 2 && !row[1].is_null()
                                                         ? row[1].as<std::string>()
                                                         : "");
    }
    return tenants;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::Status CreateSchemaIfMissing(Connection& conn, const std::string& schema) {
  try {
    pqxx::work txn(conn.raw());
    // Only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when it
    // exists (a role that owns pre-made tenant schemas may not have it).
    if (txn.exec_params1("SELECT to_regnamespace($1) IS NULL", txn.quote_name(schema))[0]
            .as<bool>()) {
      txn.exec(absl::StrCat("CREATE SCHEMA ", txn.quote_name(schema)));
    }
    txn.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::Status SetDatabaseSearchPath(Connection& conn, const std::string& name,
                                   const std::string& search_path) {
  try {
    pqxx::work txn(conn.raw());
    // The value goes in as a parameter, then FROM CURRENT: no text of it is spliced into SQL.
    txn.exec_params("SELECT set_config('search_path', $1, true)", search_path);
    txn.exec(
        absl::StrCat("ALTER DATABASE ", txn.quote_name(name), " SET search_path FROM CURRENT"));
    txn.commit();
    return absl::OkStatus();
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

absl::StatusOr<std::vector<CheckResult>> RunRolledBack(Connection& conn,
                                                       const std::vector<Check>& checks,
                                                       int64_t lock_timeout_ms,
                                                       int64_t statement_timeout_ms) {
  std::vector<CheckResult> results;
  try {
    pqxx::work txn(conn.raw());
    txn.exec(absl::StrCat("SET LOCAL lock_timeout = ", lock_timeout_ms,
                          "; SET LOCAL statement_timeout = ", statement_timeout_ms));
    for (const Check& check : checks) {
      CheckResult& result = results.emplace_back();
      result.id = check.id;
      pqxx::subtransaction savepoint(txn, "schemad_check");
      for (size_t i = 0; i < check.statements.size() && result.ok; ++i) {
        try {
          savepoint.exec(check.statements[i]);
        } catch (const pqxx::sql_error& e) {
          result.ok = false;
          result.failed_statement = static_cast<int>(i) + 1;
          result.error =
              absl::StrCat(std::string(e.what()).substr(0, 500), " (SQLSTATE ", e.sqlstate(), ")");
          while (!result.error.empty() && result.error.back() == '\n') result.error.pop_back();
        }
      }
      savepoint.abort();  // rolled back to before the check, passed or not
    }
    txn.abort();  // always: the checks leave nothing
    return results;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::vector<std::string>> LockWatcher::NewLocks() {
  try {
    pqxx::nontransaction txn(conn_.raw());
    std::vector<std::pair<int64_t, std::string>> taken;
    std::vector<std::string> unknown;
    // Prepared once on this (dedicated) session: it runs after every statement watched.
    if (!prepared_) {
      conn_.raw().prepare("schemad_locks_of",
                          "SELECT relation::int8, mode FROM pg_locks WHERE pid = $1 AND granted "
                          "AND locktype = 'relation' AND database = (SELECT oid FROM pg_database "
                          "WHERE datname = current_database())");
      prepared_ = true;
    }
    for (const pqxx::row& row : txn.exec_prepared("schemad_locks_of", pid_)) {
      std::pair<int64_t, std::string> lock{row[0].as<int64_t>(), row[1].as<std::string>()};
      if (held_.insert(lock).second) {
        taken.push_back(lock);
        if (names_.count(lock.first) == 0) unknown.push_back(std::to_string(lock.first));
      }
    }
    if (!unknown.empty()) {
      for (const pqxx::row& row : txn.exec_params(
               "SELECT c.oid::int8, n.nspname || '.' || c.relname FROM pg_class c JOIN "
               "pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY "
               "(string_to_array($1, ',')::oid[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
               "AND n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'schemad')",
               absl::StrJoin(unknown, ","))) {
        names_[row[0].as<int64_t>()] = row[1].as<std::string>();
      }
    }
    std::vector<std::string> locks;
    for (const auto& [oid, mode] : taken) {
      // A table created by the transaction being watched is not visible here yet.
      auto name = names_.find(oid);
      if (name != names_.end()) locks.push_back(absl::StrCat(name->second, " ", mode));
    }
    std::sort(locks.begin(), locks.end());
    return locks;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace schemad::db
