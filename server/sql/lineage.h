// Schema lineage: what each statement of a migration creates, alters, renames and drops, read
// from the PostgreSQL parse tree. DO blocks and dynamic SQL cannot be read statically; they
// are listed as unanalysable instead of guessed at.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace schemad::sql {

struct ColumnInfo {
  std::string name;
  // Canonical type as PostgreSQL's format_type prints it: "integer", "character varying(255)",
  // "timestamp with time zone", "real[]", a user type's name.
  std::string type;
  bool not_null = false;
  bool has_default = false;  // DEFAULT, identity, serial or generated
  bool identity = false;
};

enum class ConstraintType { kPrimaryKey, kForeignKey, kUnique, kCheck, kExclusion };

struct ConstraintInfo {
  std::string name;  // as given, or PostgreSQL's default name
  ConstraintType type = ConstraintType::kCheck;
  std::vector<std::string> columns;
  std::string ref_table;  // foreign keys: "schema.table"
  std::vector<std::string> ref_columns;
  std::string on_delete;  // "NO ACTION", "CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT"
  bool not_valid = false;
};

struct IndexInfo {
  std::string name;
  std::vector<std::string> columns;  // expressions appear as "(expression)"
  bool unique = false;
  bool partial = false;
  bool concurrently = false;
};

enum class ChangeKind {
  kCreateTable,
  kDropTable,
  kRenameTable,
  kAddColumn,
  kDropColumn,
  kRenameColumn,
  kAlterColumnType,
  kSetNotNull,
  kDropNotNull,
  kSetDefault,
  kDropDefault,
  kAddConstraint,
  kDropConstraint,
  kValidateConstraint,
  kRenameConstraint,
  kCreateIndex,
  kDropIndex,
  kRenameIndex,
  kCreateView,
  kCreateMaterializedView,
  kDropView,
  kDropMaterializedView,
  kCreateFunction,
  kDropFunction,
  kCreateType,
  kDropType,
  kCreateExtension,
  kDropExtension,
  kComment,
  kTruncate,
  kVacuumFull,
  kCluster,
};

std::string ChangeKindName(ChangeKind kind);

struct Change {
  ChangeKind kind = ChangeKind::kComment;
  // The object changed, schema-qualified ("public.users"); for columns, constraints and indexes
  // the table they belong to.
  std::string object;
  std::string column;                       // column changes
  std::string name;                         // index / constraint / function / type / extension name
  std::string new_name;                     // renames
  std::string new_type;                     // kAlterColumnType
  std::vector<ColumnInfo> columns;          // kCreateTable, kAddColumn
  std::vector<ConstraintInfo> constraints;  // kCreateTable, kAddColumn, kAddConstraint
  IndexInfo index;                          // kCreateIndex; kDropIndex: concurrently
  std::string view_query_tables;            // (unused for now)
  bool if_not_exists = false;
  bool missing_ok = false;
  bool cascade = false;
  int statement = 0;  // 1-based
  int line = 0;
};

struct Lineage {
  std::vector<Change> changes;
  // "statement 3 (line 10): DO block" — effects not in `changes`.
  std::vector<std::string> unanalysable;
};

// One stable line for a change: "create table public.users (id uuid not null default, …)".
std::string DescribeChange(const Change& change);

// Analyses migration text. Returns INVALID_ARGUMENT "line N: ..." on a syntax error.
absl::StatusOr<Lineage> AnalyzeLineage(absl::string_view text);

// "public.users" for "users", unchanged when already qualified.
std::string QualifiedName(absl::string_view schema, absl::string_view name);

}  // namespace schemad::sql
