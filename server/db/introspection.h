// Live schema introspection from pg_catalog: tables, columns, constraints, indexes, views and
// types of the given schemas, skipping objects that belong to extensions.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/db/connection.h"

namespace schemad::db {

struct LiveColumn {
  std::string name;
  std::string type;  // format_type()
  bool not_null = false;
};

struct LiveConstraint {
  std::string name;
  char type = 'c';  // p, f, u, c, x
  std::vector<std::string> columns;
  std::string ref_table;  // schema.table for foreign keys
};

struct LiveTable {
  std::vector<LiveColumn> columns;
  std::vector<LiveConstraint> constraints;
  // Indexes that do not back a constraint: name -> leading columns.
  std::map<std::string, std::vector<std::string>> indexes;
  // All indexes including those of constraints: index column lists, for FK coverage.
  std::vector<std::vector<std::string>> all_index_columns;
  double estimated_rows = 0;
  char kind = 'r';  // r table, p partitioned, v view, m materialized view
};

struct LiveSchema {
  std::map<std::string, LiveTable> relations;  // "schema.name"
  std::set<std::string> types;                 // enum, domain and composite types
};

// Reads the objects of `schemas`. Returns UNAVAILABLE / INTERNAL on database errors.
absl::StatusOr<LiveSchema> IntrospectSchema(Connection& conn, const std::set<std::string>& schemas);

// pg_class.reltuples of each existing table among `tables` ("schema.name").
absl::StatusOr<std::map<std::string, double>> EstimatedRows(Connection& conn,
                                                            const std::set<std::string>& tables);

}  // namespace schemad::db
