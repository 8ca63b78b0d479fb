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

// A session that blocks another (pg_blocking_pids), as a progress notice names it.
struct BlockingSession {
  int pid = 0;
  std::string application_name;
  std::string user;
  std::string state;
  double seconds = 0;  // since its transaction (or query) started
  std::string query;   // the start of its query
};

// The sessions that block backend `pid` now; empty when none.
absl::StatusOr<std::vector<BlockingSession>> BlockingSessions(Connection& conn, int pid);

// Ends backend `pid` (one of ours whose connection broke) and waits up to 5 s for it to exit,
// so it cannot commit anything after we read what it did. DEADLINE_EXCEEDED when it is still
// there.
absl::Status TerminateBackend(Connection& conn, int pid);

// Indexes left INVALID (e.g. by a failed CREATE INDEX CONCURRENTLY), as schema.name.
absl::StatusOr<std::vector<std::string>> InvalidIndexes(Connection& conn);

}  // namespace schemad::db
