#include "server/engine/analysis.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"

namespace schemad::engine {
namespace {

using sql::Change;
using sql::ChangeKind;
using sql::ConstraintInfo;
using sql::ConstraintType;

std::string SchemaOf(const std::string& qualified) {
  return qualified.substr(0, qualified.find('.'));
}

bool Contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// True when `index` starts with exactly `columns` (in any order of the leading ones).
bool Covers(const std::vector<std::string>& index, const std::vector<std::string>& columns) {
  if (index.size() < columns.size() || columns.empty()) return false;
  std::vector<std::string> leading(index.begin(), index.begin() + columns.size());
  std::vector<std::string> wanted = columns;
  std::sort(leading.begin(), leading.end());
  std::sort(wanted.begin(), wanted.end());
  return leading == wanted;
}

char ConstraintLetter(ConstraintType type) {
  switch (type) {
    case ConstraintType::kPrimaryKey:
      return 'p';
    case ConstraintType::kForeignKey:
      return 'f';
    case ConstraintType::kUnique:
      return 'u';
    case ConstraintType::kCheck:
      return 'c';
    case ConstraintType::kExclusion:
      return 'x';
  }
  return '?';
}

std::string Signature(char type, const std::string& name, const std::vector<std::string>& columns,
                      const std::string& ref_table) {
  // Checks are compared by name; keys by what they constrain (their default names vary).
  if (type == 'c') return absl::StrCat("check ", name);
  const char* label = type == 'p'   ? "primary key"
                      : type == 'f' ? "foreign key"
                      : type == 'u' ? "unique"
                                    : "exclusion";
  return absl::StrCat(label, " (", absl::StrJoin(columns, ", "), ")",
                      ref_table.empty() ? "" : absl::StrCat(" references ", ref_table));
}

void ApplyChange(const Change& change, const std::string& version, SchemaModel* model) {
  auto table_it = model->tables.find(change.object);
  TableModel* table = table_it == model->tables.end() ? nullptr : &table_it->second;
  auto find_column = [&](const std::string& name) -> sql::ColumnInfo* {
    if (table == nullptr) return nullptr;
    for (sql::ColumnInfo& column : table->columns) {
      if (column.name == name) return &column;
    }
    return nullptr;
  };
  switch (change.kind) {
    case ChangeKind::kCreateTable:
    case ChangeKind::kCreateMaterializedView: {
      if (table != nullptr) break;  // IF NOT EXISTS, or a second CREATE that would fail anyway
      TableModel created;
      created.materialized_view = change.kind == ChangeKind::kCreateMaterializedView;
      created.columns = change.columns;
      created.constraints = change.constraints;
      created.created_by = version;
      model->tables[change.object] = std::move(created);
      break;
    }
    case ChangeKind::kDropTable:
    case ChangeKind::kDropMaterializedView:
      model->tables.erase(change.object);
      if (change.cascade) {
        for (auto& [name, other] : model->tables) {
          auto& constraints = other.constraints;
          constraints.erase(
              std::remove_if(constraints.begin(), constraints.end(),
                             [&](const ConstraintInfo& c) { return c.ref_table == change.object; }),
              constraints.end());
        }
      }
      break;
    case ChangeKind::kRenameTable: {
      const std::string renamed = sql::QualifiedName(SchemaOf(change.object), change.new_name);
      if (model->views.erase(change.object) != 0) {
        model->views.insert(renamed);
        break;
      }
      if (table == nullptr) break;
      model->tables[renamed] = std::move(*table);
      model->tables.erase(change.object);
      for (auto& [name, other] : model->tables) {
        for (ConstraintInfo& c : other.constraints) {
          if (c.ref_table == change.object) c.ref_table = renamed;
        }
      }
      break;
    }
    case ChangeKind::kAddColumn:
      if (table == nullptr || find_column(change.column) != nullptr) break;
      table->columns.insert(table->columns.end(), change.columns.begin(), change.columns.end());
      table->constraints.insert(table->constraints.end(), change.constraints.begin(),
                                change.constraints.end());
      break;
    case ChangeKind::kDropColumn: {
      if (table == nullptr) break;
      auto& columns = table->columns;
      columns.erase(
          std::remove_if(columns.begin(), columns.end(),
                         [&](const sql::ColumnInfo& c) { return c.name == change.column; }),
          columns.end());
      auto& constraints = table->constraints;
      constraints.erase(std::remove_if(constraints.begin(), constraints.end(),
                                       [&](const ConstraintInfo& c) {
                                         return Contains(c.columns, change.column);
                                       }),
                        constraints.end());
      for (auto it = table->indexes.begin(); it != table->indexes.end();) {
        it = Contains(it->second.columns, change.column) ? table->indexes.erase(it) : std::next(it);
      }
      break;
    }
    case ChangeKind::kRenameColumn:
      if (sql::ColumnInfo* column = find_column(change.column)) {
        column->name = change.new_name;
        for (ConstraintInfo& c : table->constraints) {
          std::replace(c.columns.begin(), c.columns.end(), change.column, change.new_name);
        }
        for (auto& [name, index] : table->indexes) {
          std::replace(index.columns.begin(), index.columns.end(), change.column, change.new_name);
        }
      }
      break;
    case ChangeKind::kAlterColumnType:
      if (sql::ColumnInfo* column = find_column(change.column)) column->type = change.new_type;
      break;
    case ChangeKind::kSetNotNull:
    case ChangeKind::kDropNotNull:
      if (sql::ColumnInfo* column = find_column(change.column)) {
        column->not_null = change.kind == ChangeKind::kSetNotNull;
      }
      break;
    case ChangeKind::kSetDefault:
    case ChangeKind::kDropDefault:
      if (sql::ColumnInfo* column = find_column(change.column)) {
        column->has_default = change.kind == ChangeKind::kSetDefault;
      }
      break;
    case ChangeKind::kAddConstraint:
      if (table == nullptr) break;
      for (const ConstraintInfo& c : change.constraints) {
        table->constraints.push_back(c);
        if (c.type != ConstraintType::kPrimaryKey) continue;
        for (const std::string& key : c.columns) {
          if (sql::ColumnInfo* column = find_column(key)) column->not_null = true;
        }
      }
      break;
    case ChangeKind::kDropConstraint:
      if (table == nullptr) break;
      table->constraints.erase(
          std::remove_if(table->constraints.begin(), table->constraints.end(),
                         [&](const ConstraintInfo& c) { return c.name == change.name; }),
          table->constraints.end());
      break;
    case ChangeKind::kValidateConstraint:
      if (table == nullptr) break;
      for (ConstraintInfo& c : table->constraints) {
        if (c.name == change.name) c.not_valid = false;
      }
      break;
    case ChangeKind::kRenameConstraint:
      if (table == nullptr) break;
      for (ConstraintInfo& c : table->constraints) {
        if (c.name == change.name) c.name = change.new_name;
      }
      break;
    case ChangeKind::kCreateIndex:
      if (table == nullptr || table->indexes.count(change.name) != 0) break;
      table->indexes[change.name] = change.index;
      break;
    case ChangeKind::kDropIndex:
      for (auto& [name, other] : model->tables) {
        if (other.indexes.erase(change.name) != 0) break;
      }
      break;
    case ChangeKind::kRenameIndex:
      for (auto& [name, other] : model->tables) {
        auto it = other.indexes.find(change.name);
        if (it == other.indexes.end()) continue;
        sql::IndexInfo index = it->second;
        index.name = change.new_name;
        other.indexes.erase(it);
        other.indexes[sql::QualifiedName(SchemaOf(change.name), change.new_name)] = index;
        break;
      }
      break;
    case ChangeKind::kCreateView:
      model->views.insert(change.object);
      break;
    case ChangeKind::kDropView:
      model->views.erase(change.object);
      break;
    case ChangeKind::kCreateFunction:
      model->functions.insert(change.object);
      break;
    case ChangeKind::kDropFunction:
      model->functions.erase(change.object);
      break;
    case ChangeKind::kCreateType:
      model->types.insert(change.object);
      break;
    case ChangeKind::kDropType:
      model->types.erase(change.object);
      break;
    case ChangeKind::kCreateExtension:
      model->extensions.insert(change.object);
      break;
    case ChangeKind::kDropExtension:
      model->extensions.erase(change.object);
      break;
    default:
      break;
  }
}

}  // namespace

std::vector<RevisionLineage> AnalyzeCatalog(const Catalog& catalog) {
  std::vector<RevisionLineage> out;
  out.reserve(catalog.revisions.size());
  for (const Revision& revision : catalog.revisions) {
    absl::StatusOr<sql::Lineage> lineage = sql::AnalyzeLineage(revision.up.text());
    if (lineage.ok()) {
      out.push_back({&revision, *std::move(lineage), absl::OkStatus()});
    } else {
      out.push_back({&revision, sql::Lineage(), Annotate(lineage.status(), revision.up.path)});
    }
  }
  return out;
}

absl::Status FirstLineageError(const std::vector<RevisionLineage>& lineage, size_t count) {
  for (size_t i = 0; i < std::min(count, lineage.size()); ++i) {
    if (!lineage[i].error.ok()) return lineage[i].error;
  }
  return absl::OkStatus();
}

SchemaModel BuildModel(const std::vector<RevisionLineage>& lineage, size_t count) {
  SchemaModel model;
  for (size_t i = 0; i < lineage.size(); ++i) {
    for (const Change& change : lineage[i].up.changes) {
      if (change.kind != ChangeKind::kCreateExtension && !change.object.empty() &&
          change.kind != ChangeKind::kComment) {
        model.schemas.insert(SchemaOf(change.object));
      }
      if (i < count) ApplyChange(change, lineage[i].revision->version, &model);
    }
  }
  model.schemas.erase("schemad");
  return model;
}

Statistics ModelStatistics(const SchemaModel& model, const std::string& schema) {
  Statistics stats;
  for (const auto& [name, table] : model.tables) {
    if (SchemaOf(name) != schema) continue;
    stats.tables += table.materialized_view ? 0 : 1;
    stats.indexes += static_cast<int>(table.indexes.size());
    for (const ConstraintInfo& c : table.constraints) {
      stats.indexes += c.type == ConstraintType::kPrimaryKey || c.type == ConstraintType::kUnique ||
                       c.type == ConstraintType::kExclusion;
      stats.foreign_keys += c.type == ConstraintType::kForeignKey;
      stats.unique_constraints += c.type == ConstraintType::kUnique;
    }
  }
  return stats;
}

Statistics LiveStatistics(const db::LiveSchema& live, const std::string& schema) {
  Statistics stats;
  for (const auto& [name, table] : live.relations) {
    if (SchemaOf(name) != schema) continue;
    stats.tables += table.kind == 'r' || table.kind == 'p';
    stats.indexes += static_cast<int>(table.indexes.size());
    for (const db::LiveConstraint& c : table.constraints) {
      stats.indexes += c.type == 'p' || c.type == 'u' || c.type == 'x';
      stats.foreign_keys += c.type == 'f';
      stats.unique_constraints += c.type == 'u';
    }
  }
  return stats;
}

std::vector<Finding> QualityChecks(const std::vector<RevisionLineage>& lineage) {
  std::vector<Finding> findings;
  const SchemaModel model = BuildModel(lineage, lineage.size());
  for (const auto& [name, table] : model.tables) {
    if (table.materialized_view) continue;
    bool has_primary_key = false;
    std::vector<std::vector<std::string>> covering;
    for (const auto& [index_name, index] : table.indexes) {
      if (!index.partial) covering.push_back(index.columns);
    }
    for (const ConstraintInfo& c : table.constraints) {
      has_primary_key |= c.type == ConstraintType::kPrimaryKey;
      if (c.type == ConstraintType::kPrimaryKey || c.type == ConstraintType::kUnique) {
        covering.push_back(c.columns);
      }
    }
    for (const ConstraintInfo& c : table.constraints) {
      if (c.type != ConstraintType::kForeignKey) continue;
      const bool covered = std::any_of(covering.begin(), covering.end(),
                                       [&](const auto& index) { return Covers(index, c.columns); });
      if (!covered) {
        findings.push_back(
            {"fk-without-index", sql::Severity::kWarning, absl::StrCat(name, ".", c.name),
             table.created_by,
             absl::StrCat("foreign key ", c.name, " (", absl::StrJoin(c.columns, ", "),
                          ") has no index starting with its columns: deletes on ", c.ref_table,
                          " scan ", name)});
      }
    }
    if (!has_primary_key) {
      findings.push_back({"table-without-primary-key", sql::Severity::kError, name,
                          table.created_by, absl::StrCat("table ", name, " has no primary key")});
    }
    for (const sql::ColumnInfo& column : table.columns) {
      if ((column.name == "created_at" || column.name == "updated_at") &&
          absl::StartsWith(column.type, "timestamp") && !column.has_default) {
        findings.push_back({"timestamp-without-default", sql::Severity::kWarning,
                            absl::StrCat(name, ".", column.name), table.created_by,
                            absl::StrCat(name, ".", column.name, " has no server default")});
      }
    }
  }
  for (const RevisionLineage& revision : lineage) {
    if (!revision.revision->down) {
      const bool empty = revision.revision->irreversible_reason != "no .down.sql";
      findings.push_back({empty ? "empty-down" : "revision-without-down", sql::Severity::kWarning,
                          revision.revision->Id(), revision.revision->version,
                          empty ? absl::StrCat(revision.revision->Id(), ": ",
                                               revision.revision->irreversible_reason,
                                               ": it cannot be rolled back")
                                : absl::StrCat(revision.revision->Id(),
                                               " has no .down.sql: it cannot be rolled back")});
    }
    for (const std::string& what : revision.up.unanalysable) {
      findings.push_back({"not-statically-analysable", sql::Severity::kInfo,
                          revision.revision->Id(), revision.revision->version,
                          absl::StrCat(what, ": its effects are not in the lineage")});
    }
  }
  return findings;
}

std::vector<TableCoverage> Coverage(const std::vector<RevisionLineage>& lineage,
                                    const std::vector<CoverageRequirement>& requirements,
                                    const std::string& schema, const db::LiveSchema* live) {
  const SchemaModel model = BuildModel(lineage, lineage.size());
  std::vector<TableCoverage> out;
  for (const CoverageRequirement& requirement : requirements) {
    const std::string qualified = absl::StrContains(requirement.table, '.')
                                      ? requirement.table
                                      : sql::QualifiedName(schema, requirement.table);
    TableCoverage coverage;
    coverage.table = requirement.table;
    for (const RevisionLineage& revision : lineage) {
      for (const Change& change : revision.up.changes) {
        if (change.kind == ChangeKind::kCreateTable && change.object == qualified) {
          if (coverage.created_by_version.empty() || !coverage.dropped_by_version.empty()) {
            coverage.created_by_version = revision.revision->version;
            coverage.created_by_file = revision.revision->up.path;
            coverage.dropped_by_version.clear();
          }
        } else if ((change.kind == ChangeKind::kDropTable ||
                    change.kind == ChangeKind::kRenameTable) &&
                   change.object == qualified && !coverage.created_by_version.empty()) {
          coverage.dropped_by_version = revision.revision->version;
        }
      }
    }
    auto model_table = model.tables.find(qualified);
    coverage.covered = model_table != model.tables.end() && !model_table->second.materialized_view;
    if (live != nullptr) {
      auto live_table = live->relations.find(qualified);
      coverage.live_present = live_table != live->relations.end() &&
                              (live_table->second.kind == 'r' || live_table->second.kind == 'p');
      for (const std::string& column : requirement.columns) {
        const bool present =
            *coverage.live_present &&
            std::any_of(live_table->second.columns.begin(), live_table->second.columns.end(),
                        [&](const db::LiveColumn& c) { return c.name == column; });
        if (!present) coverage.missing_columns.push_back(column);
      }
      for (const std::string& index : requirement.indexes) {
        bool present = false;
        if (*coverage.live_present) {
          present = live_table->second.indexes.count(sql::QualifiedName(schema, index)) != 0;
          for (const db::LiveConstraint& c : live_table->second.constraints)
            present |= c.name == index;
        }
        if (!present) coverage.missing_indexes.push_back(index);
      }
    } else if (coverage.covered) {
      const TableModel& table = model_table->second;
      for (const std::string& column : requirement.columns) {
        if (std::none_of(table.columns.begin(), table.columns.end(),
                         [&](const sql::ColumnInfo& c) { return c.name == column; })) {
          coverage.missing_columns.push_back(column);
        }
      }
      for (const std::string& index : requirement.indexes) {
        bool present = table.indexes.count(sql::QualifiedName(schema, index)) != 0;
        for (const ConstraintInfo& c : table.constraints) present |= c.name == index;
        if (!present) coverage.missing_indexes.push_back(index);
      }
    } else {
      coverage.missing_columns = requirement.columns;
      coverage.missing_indexes = requirement.indexes;
    }
    out.push_back(std::move(coverage));
  }
  return out;
}

std::vector<sql::LintFinding> LintPlan(const Plan& plan, const Catalog& catalog,
                                       const std::vector<RevisionLineage>& lineage) {
  std::vector<sql::LintFinding> findings;
  if (plan.direction != Direction::kUp) return findings;
  sql::Linter linter;
  for (const PlanStep& step : plan.steps) {
    const size_t index = step.revision - catalog.revisions.data();
    std::vector<sql::LintFinding> file =
        linter.LintFile(step.file->path, step.file->text(), lineage[index].up);
    for (sql::LintFinding& finding : file) findings.push_back(std::move(finding));
  }
  return findings;
}

std::vector<DriftItem> Drift(const SchemaModel& model, const db::LiveSchema& live) {
  std::vector<DriftItem> items;
  auto in_scope = [&](const std::string& name) { return model.schemas.count(SchemaOf(name)) != 0; };
  for (const auto& [name, table] : model.tables) {
    const char* what = table.materialized_view ? "materialized view" : "table";
    auto it = live.relations.find(name);
    if (it == live.relations.end()) {
      items.push_back({absl::StrCat("missing ", what), name, "present", "absent"});
      continue;
    }
    const db::LiveTable& actual = it->second;
    for (const sql::ColumnInfo& column : table.columns) {
      auto found = std::find_if(actual.columns.begin(), actual.columns.end(),
                                [&](const db::LiveColumn& c) { return c.name == column.name; });
      const std::string object = absl::StrCat(name, ".", column.name);
      if (found == actual.columns.end()) {
        items.push_back({"missing column", object, column.type, "absent"});
        continue;
      }
      if (!table.materialized_view && found->type != column.type) {
        items.push_back({"column type", object, column.type, found->type});
      }
      if (!table.materialized_view && found->not_null != column.not_null) {
        items.push_back({"nullability", object, column.not_null ? "NOT NULL" : "NULL",
                         found->not_null ? "NOT NULL" : "NULL"});
      }
    }
    if (!table.materialized_view) {
      for (const db::LiveColumn& column : actual.columns) {
        if (std::none_of(table.columns.begin(), table.columns.end(),
                         [&](const sql::ColumnInfo& c) { return c.name == column.name; })) {
          items.push_back(
              {"unexpected column", absl::StrCat(name, ".", column.name), "absent", column.type});
        }
      }
    }
    std::set<std::string> expected_constraints, actual_constraints;
    for (const ConstraintInfo& c : table.constraints) {
      expected_constraints.insert(
          Signature(ConstraintLetter(c.type), c.name, c.columns, c.ref_table));
    }
    for (const db::LiveConstraint& c : actual.constraints) {
      actual_constraints.insert(Signature(c.type, c.name, c.columns, c.ref_table));
    }
    for (const std::string& c : expected_constraints) {
      if (actual_constraints.count(c) == 0)
        items.push_back({"missing constraint", name, c, "absent"});
    }
    for (const std::string& c : actual_constraints) {
      if (expected_constraints.count(c) == 0)
        items.push_back({"unexpected constraint", name, "absent", c});
    }
    for (const auto& [index_name, index] : table.indexes) {
      if (actual.indexes.count(index_name) == 0) {
        items.push_back({"missing index", index_name, absl::StrCat("on ", name), "absent"});
      }
    }
    for (const auto& [index_name, columns] : actual.indexes) {
      if (table.indexes.count(index_name) == 0) {
        items.push_back({"unexpected index", index_name, "absent",
                         absl::StrCat("on ", name, " (", absl::StrJoin(columns, ", "), ")")});
      }
    }
  }
  for (const std::string& view : model.views) {
    if (live.relations.count(view) == 0)
      items.push_back({"missing view", view, "present", "absent"});
  }
  for (const auto& [name, relation] : live.relations) {
    if (!in_scope(name) || model.tables.count(name) != 0 || model.views.count(name) != 0) continue;
    const char* what = relation.kind == 'v'   ? "unexpected view"
                       : relation.kind == 'm' ? "unexpected materialized view"
                                              : "unexpected table";
    items.push_back({what, name, "absent", "present"});
  }
  for (const std::string& type : model.types) {
    if (live.types.count(type) == 0) items.push_back({"missing type", type, "present", "absent"});
  }
  for (const std::string& type : live.types) {
    if (in_scope(type) && model.types.count(type) == 0) {
      items.push_back({"unexpected type", type, "absent", "present"});
    }
  }
  return items;
}

}  // namespace schemad::engine
