// One model of a live schema, read from pg_catalog, and the difference of two such models.
// Drift compares a target with the catalog replayed into a shadow database: both sides are
// built by PostgreSQL, so generated names, normalised expressions and bodies compare exactly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/db/connection.h"

namespace schemad::db {

// A schema object: its kind ("table", "column", "index", "function", …), its identity
// ("public.users.email"; functions with their argument types), the identity of the table it
// belongs to (empty for top-level objects), and its attributes as PostgreSQL prints them
// (definition, type, default, grants, comment, …). Attributes that do not apply are absent.
struct SchemaObject {
  std::string kind;
  std::string identity;
  std::string parent;  // "table public.users" for a column of that table
  std::map<std::string, std::string> attributes;
  // The attribute that names the object's shape in one line (a column's type), or "".
  std::string summary;
};

struct SchemaSnapshot {
  // By "kind identity".
  std::map<std::string, SchemaObject> objects;
  size_t size() const { return objects.size(); }
};

// Schemas never read: PostgreSQL's own, schemad's bookkeeping and control schemas, and
// Sqitch's registry.
bool IsExcludedSchema(const std::string& schema);
// Other migration tools' history tables ("schema.table"), left out like schemad's own:
// alembic_version, flyway_schema_history, schema_migrations (golang-migrate, dbmate),
// goose_db_version, gorp_migrations (sql-migrate).
bool IsForeignHistoryTable(const std::string& identity);

// Reads every object of every schema that is not excluded: schemas, tables (partitioning,
// persistence, row-level security), columns (type, not null, default, generated, identity,
// collation), constraints, indexes (definition, validity), views and materialized views
// (bodies), functions and procedures (bodies), triggers, sequences, types (enum values in
// order, domains, composites, ranges), extensions, policies, grants (the owner's own
// privileges left out, so owners may differ) and comments. Objects that belong to an
// extension are left out. `as_owner`: a role whose grants count as the owner's too (the
// target's own role, when a shadow replay runs as another). UNAVAILABLE / INTERNAL on database
// errors.
absl::StatusOr<SchemaSnapshot> ReadSchemaSnapshot(Connection& conn,
                                                  const std::string& as_owner = "");

// A difference between what was expected and what is live.
struct SchemaDifference {
  std::string kind;  // "unexpected table", "missing index", "column default", "enum values", …
  std::string object;
  std::string expected;
  std::string actual;
};

// `live` against `expected`. An object missing from one side is one item; its children (a
// table's columns, indexes, constraints, triggers, policies) are not listed again. A changed
// attribute is one item named "<kind> <attribute>". Sorted by object, then kind.
std::vector<SchemaDifference> DiffSnapshots(const SchemaSnapshot& expected,
                                            const SchemaSnapshot& live);

}  // namespace schemad::db
