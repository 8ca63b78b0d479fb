#include "server/db/introspection.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace schemad::db {
namespace {

// Objects created by CREATE EXTENSION are not the catalog's.
constexpr char kNotExtensionMember[] =
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
    "AND d.objid = c.oid AND d.deptype = 'e')";

std::vector<std::string> SplitColumns(const std::string& text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, ',');
}

}  // namespace

absl::StatusOr<LiveSchema> IntrospectSchema(Connection& conn,
                                            const std::set<std::string>& schemas) {
  const std::string schema_list = absl::StrJoin(schemas, ",");
  try {
    pqxx::read_transaction txn(conn.raw());
    LiveSchema live;
    for (const pqxx::row& row : txn.exec_params(
             std::string("SELECT n.nspname || '.' || c.relname, c.relkind, c.reltuples::float8 "
                         "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE n.nspname = ANY(string_to_array($1, ',')) "
                         "AND c.relkind IN ('r', 'p', 'v', 'm') AND ") +
                 kNotExtensionMember,
             schema_list)) {
      LiveTable& table = live.relations[row[0].as<std::string>()];
      table.kind = row[1].as<std::string>()[0];
      table.estimated_rows = row[2].as<double>();
    }
    for (const pqxx::row& row :
         txn.exec_params("SELECT n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, "
                         "a.atttypmod), "
                         "a.attnotnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                         "JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE n.nspname = ANY(string_to_array($1, ',')) AND c.relkind IN ('r', "
                         "'p', 'v', 'm') "
                         "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, a.attnum",
                         schema_list)) {
      auto it = live.relations.find(row[0].as<std::string>());
      if (it == live.relations.end()) continue;
      it->second.columns.push_back(
          {row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<bool>()});
    }
    for (const pqxx::row& row : txn.exec_params(
             "SELECT n.nspname || '.' || c.relname, con.conname, con.contype, "
             "coalesce((SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(con.conkey) "
             "  WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = con.conrelid "
             "  AND a.attnum = k.attnum), ''), "
             "coalesce((SELECT rn.nspname || '.' || rc.relname FROM pg_class rc JOIN pg_namespace "
             "rn "
             "  ON rn.oid = rc.relnamespace WHERE rc.oid = con.confrelid), '') "
             "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
             "JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE n.nspname = ANY(string_to_array($1, ',')) AND con.contype IN "
             "('p','f','u','c','x') "
             "ORDER BY 1, 2",
             schema_list)) {
      auto it = live.relations.find(row[0].as<std::string>());
      if (it == live.relations.end()) continue;
      it->second.constraints.push_back({row[1].as<std::string>(), row[2].as<std::string>()[0],
                                        SplitColumns(row[3].as<std::string>()),
                                        row[4].as<std::string>()});
    }
    for (const pqxx::row& row : txn.exec_params(
             "SELECT n.nspname || '.' || t.relname, n.nspname || '.' || ic.relname, "
             "coalesce((SELECT string_agg(coalesce(a.attname, '(expression)'), ',' ORDER BY k.ord) "
             "  FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
             "  LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
             "  WHERE k.ord <= i.indnkeyatts), ''), "
             "EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid "
             "  AND con.contype IN ('p', 'u', 'x')), i.indpred IS NOT NULL "
             "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
             "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
             "WHERE n.nspname = ANY(string_to_array($1, ',')) ORDER BY 1, 2",
             schema_list)) {
      auto it = live.relations.find(row[0].as<std::string>());
      if (it == live.relations.end()) continue;
      std::vector<std::string> columns = SplitColumns(row[2].as<std::string>());
      if (!row[4].as<bool>()) it->second.all_index_columns.push_back(columns);
      if (!row[3].as<bool>()) it->second.indexes[row[1].as<std::string>()] = columns;
    }
    for (const pqxx::row& row : txn.exec_params(
             "SELECT n.nspname || '.' || t.typname FROM pg_type t "
             "JOIN pg_namespace n ON n.oid = t.typnamespace "
             "WHERE n.nspname = ANY(string_to_array($1, ',')) AND (t.typtype IN ('e', 'd') OR "
             "(t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid "
             "AND c.relkind = 'c'))) AND NOT EXISTS (SELECT 1 FROM pg_depend d "
             "WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')",
             schema_list)) {
      live.types.insert(row[0].as<std::string>());
    }
    txn.commit();
    return live;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::map<std::string, double>> EstimatedRows(Connection& conn,
                                                            const std::set<std::string>& tables) {
  std::map<std::string, double> rows;
  if (tables.empty()) return rows;
  try {
    pqxx::read_transaction txn(conn.raw());
    for (const pqxx::row& row :
         txn.exec_params("SELECT n.nspname || '.' || c.relname, greatest(c.reltuples, 0)::float8 "
                         "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE n.nspname || '.' || c.relname = ANY(string_to_array($1, ','))",
                         absl::StrJoin(tables, ","))) {
      rows[row[0].as<std::string>()] = row[1].as<double>();
    }
    return rows;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::vector<BlockingSession>> BlockingSessions(Connection& conn, int pid) {
  try {
    pqxx::read_transaction txn(conn.raw());
    std::vector<BlockingSession> blockers;
    for (const pqxx::row& row : txn.exec_params(
             "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), "
             "coalesce(a.state, ''), coalesce(extract(epoch FROM now() - coalesce(a.xact_start, "
             "a.query_start))::float8, 0), left(coalesce(a.query, ''), 60) "
             "FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) ORDER BY a.pid",
             pid)) {
      BlockingSession blocker;
      blocker.pid = row[0].as<int>();
      blocker.application_name = row[1].as<std::string>();
      blocker.user = row[2].as<std::string>();
      blocker.state = row[3].as<std::string>();
      blocker.seconds = row[4].as<double>();
      blocker.query = row[5].as<std::string>();
      blockers.push_back(std::move(blocker));
    }
    txn.commit();
    return blockers;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::Status TerminateBackend(Connection& conn, int pid) {
  try {
    pqxx::nontransaction txn(conn.raw());
    const pqxx::result ended = txn.exec_params(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE pid = $1", pid);
    if (!ended.empty() && !ended[0][0].as<bool>()) {
      return absl::DeadlineExceededError(
          absl::StrCat("backend ", pid, " did not exit within 5 s of being terminated"));
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::vector<std::string>> InvalidIndexes(Connection& conn) {
  try {
    pqxx::read_transaction txn(conn.raw());
    std::vector<std::string> names;
    for (const pqxx::row& row : txn.exec("SELECT n.nspname || '.' || c.relname FROM pg_index i "
                                         "JOIN pg_class c ON c.oid = i.indexrelid "
                                         "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                         "WHERE NOT i.indisvalid ORDER BY 1")) {
      names.push_back(row[0].as<std::string>());
    }
    txn.commit();
    return names;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace schemad::db
