// What the catalog says the schema is, and how that compares with a live database: the schema
// model at a version, coverage of the required tables, catalog statistics, quality checks and
// drift. Pure functions of lineage (and of a live schema read by db/).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/catalog/catalog.h"
#include "server/db/introspection.h"
#include "server/engine/planner.h"
#include "server/sql/lineage.h"
#include "server/sql/lint.h"

namespace schemad::engine {

struct RevisionLineage {
  const Revision* revision = nullptr;
  sql::Lineage up;
  absl::Status error;  // the up file does not parse: INVALID_ARGUMENT naming it (`up` empty)
};

// Lineage of every up file, in catalog order. A file that does not parse gets its error and
// no changes: one broken file must not stop plans of the revisions before it.
std::vector<RevisionLineage> AnalyzeCatalog(const Catalog& catalog);

// The first error among the first `count` revisions (what a schema model of them needs).
absl::Status FirstLineageError(const std::vector<RevisionLineage>& lineage, size_t count);

struct TableModel {
  bool materialized_view = false;
  std::vector<sql::ColumnInfo> columns;
  std::vector<sql::ConstraintInfo> constraints;
  std::map<std::string, sql::IndexInfo> indexes;  // "schema.index" -> index
  std::string created_by;                         // version
};

struct SchemaModel {
  std::map<std::string, TableModel> tables;  // tables and materialized views, "schema.name"
  std::set<std::string> views;
  std::set<std::string> types;
  std::set<std::string> functions;
  std::set<std::string> extensions;
  // Schemas whose objects the catalog manages.
  std::set<std::string> schemas;
};

// The schema after applying revisions [0, count) of `lineage`.
SchemaModel BuildModel(const std::vector<RevisionLineage>& lineage, size_t count);

struct Statistics {
  int tables = 0;
  int indexes = 0;  // including those of primary keys and unique constraints, like pg_indexes
  int foreign_keys = 0;
  int unique_constraints = 0;
};
Statistics ModelStatistics(const SchemaModel& model, const std::string& schema);
Statistics LiveStatistics(const db::LiveSchema& live, const std::string& schema);

struct Finding {
  std::string rule;
  sql::Severity severity = sql::Severity::kWarning;
  std::string object;
  std::string version;
  std::string message;
};

// Quality checks of the seed: foreign key without a covering index, table without a primary
// key, revision without a down file, creation/update timestamp without a default, and
// statements that cannot be analysed statically.
std::vector<Finding> QualityChecks(const std::vector<RevisionLineage>& lineage);

struct TableCoverage {
  std::string table;  // as required (unqualified names are in the manifest's schema)
  bool covered = false;
  std::string created_by_version;
  std::string created_by_file;
  std::string dropped_by_version;
  std::optional<bool> live_present;
  std::vector<std::string> missing_columns;
  std::vector<std::string> missing_indexes;
};

std::vector<TableCoverage> Coverage(const std::vector<RevisionLineage>& lineage,
                                    const std::vector<CoverageRequirement>& requirements,
                                    const std::string& schema, const db::LiveSchema* live);

struct DriftItem {
  std::string kind;  // "unexpected table", "missing column", "column type", …
  std::string object;
  std::string expected;
  std::string actual;
};

// Lint findings of the plan's up steps, in order, with the plan as context (a table created by
// an earlier step is new). `lineage` is AnalyzeCatalog(catalog).
std::vector<sql::LintFinding> LintPlan(const Plan& plan, const Catalog& catalog,
                                       const std::vector<RevisionLineage>& lineage);

// The live schema against the model, in the model's schemas. An unexpected or missing table
// is one item (its columns, indexes and constraints are not listed again).
std::vector<DriftItem> Drift(const SchemaModel& model, const db::LiveSchema& live);

}  // namespace schemad::engine
