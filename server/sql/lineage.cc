#include "server/sql/lineage.h"

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pg_query.pb.h"
#include "server/common/status_macros.h"
#include "server/sql/parse_tree.h"

namespace schemad::sql {
namespace {

using pg_query::Node;

std::string StringOf(const Node& node) {
  if (node.has_string()) return node.string().sval();
  return "";
}

// Joins a list of String nodes: ["public", "users"] -> last element, schema separately.
std::vector<std::string> Names(const google::protobuf::RepeatedPtrField<Node>& nodes) {
  std::vector<std::string> names;
  for (const Node& node : nodes) names.push_back(StringOf(node));
  return names;
}

std::string Qualified(const pg_query::RangeVar& range) {
  return QualifiedName(range.schemaname().empty() ? "public" : range.schemaname(), range.relname());
}

std::string QualifiedList(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  if (names.size() == 1) return QualifiedName("public", names[0]);
  return QualifiedName(names[names.size() - 2], names.back());
}

int IntOf(const Node& node) {
  if (node.has_a_const() && node.a_const().has_ival()) return node.a_const().ival().ival();
  if (node.has_integer()) return node.integer().ival();
  return 0;
}

// The name PostgreSQL's format_type gives a type written this way.
std::string CanonicalType(const pg_query::TypeName& type) {
  std::vector<std::string> names = Names(type.names());
  std::string base = names.empty() ? "" : names.back();
  const bool catalog = names.size() == 2 && names[0] == "pg_catalog";
  static const std::map<std::string, std::string> kBuiltins = {
      {"int2", "smallint"},
      {"int4", "integer"},
      {"int8", "bigint"},
      {"float4", "real"},
      {"float8", "double precision"},
      {"bool", "boolean"},
      {"varchar", "character varying"},
      {"bpchar", "character"},
      {"timestamptz", "timestamp with time zone"},
      {"timestamp", "timestamp without time zone"},
      {"timetz", "time with time zone"},
      {"time", "time without time zone"},
      {"serial", "integer"},
      {"bigserial", "bigint"},
      {"smallserial", "smallint"},
      {"serial4", "integer"},
      {"serial8", "bigint"},
      {"serial2", "smallint"},
      {"decimal", "numeric"},
      {"int", "integer"},
      {"integer", "integer"},
  };
  if (auto it = kBuiltins.find(base); it != kBuiltins.end() && (catalog || names.size() == 1)) {
    base = it->second;
  }
  std::string out = base;
  if (!catalog && names.size() == 2 && names[0] != "public")
    out = absl::StrCat(names[0], ".", base);
  if (!type.typmods().empty() && base != "timestamp with time zone" &&
      base != "timestamp without time zone") {
    std::vector<std::string> mods;
    for (const Node& mod : type.typmods()) mods.push_back(std::to_string(IntOf(mod)));
    absl::StrAppend(&out, "(", absl::StrJoin(mods, ","), ")");
  }
  for (int i = 0; i < type.array_bounds_size(); ++i) out += "[]";
  return out;
}

bool IsSerial(const pg_query::TypeName& type) {
  std::vector<std::string> names = Names(type.names());
  const std::string base = names.empty() ? "" : names.back();
  return base == "serial" || base == "bigserial" || base == "smallserial" || base == "serial4" ||
         base == "serial8" || base == "serial2";
}

std::string OnDelete(const std::string& action) {
  if (action == "c") return "CASCADE";
  if (action == "n") return "SET NULL";
  if (action == "d") return "SET DEFAULT";
  if (action == "r") return "RESTRICT";
  return "NO ACTION";
}

std::string DefaultConstraintName(const std::string& table, const std::vector<std::string>& columns,
                                  const std::string& label) {
  std::string name = table.substr(table.find('.') + 1);
  if (!columns.empty()) name += "_" + absl::StrJoin(columns, "_");
  // PostgreSQL truncates the name part so that the whole fits in 63 bytes.
  const size_t max_base = 63 - label.size() - 1;
  if (name.size() > max_base) name.resize(max_base);
  return name + "_" + label;
}

// Converts a table or column constraint. `column` is set for column constraints.
std::optional<ConstraintInfo> ConvertConstraint(const pg_query::Constraint& c,
                                                const std::string& table,
                                                const std::string& column) {
  ConstraintInfo info;
  info.name = c.conname();
  info.not_valid = c.skip_validation();
  switch (c.contype()) {
    case pg_query::CONSTR_PRIMARY:
      info.type = ConstraintType::kPrimaryKey;
      break;
    case pg_query::CONSTR_UNIQUE:
      info.type = ConstraintType::kUnique;
      break;
    case pg_query::CONSTR_FOREIGN:
      info.type = ConstraintType::kForeignKey;
      info.ref_table = Qualified(c.pktable());
      for (const Node& n : c.pk_attrs()) info.ref_columns.push_back(StringOf(n));
      info.on_delete = OnDelete(c.fk_del_action());
      break;
    case pg_query::CONSTR_CHECK:
      info.type = ConstraintType::kCheck;
      break;
    case pg_query::CONSTR_EXCLUSION:
      info.type = ConstraintType::kExclusion;
      break;
    default:
      return std::nullopt;
  }
  if (!column.empty()) {
    info.columns = {column};
  } else if (info.type == ConstraintType::kForeignKey) {
    for (const Node& n : c.fk_attrs()) info.columns.push_back(StringOf(n));
  } else {
    for (const Node& n : c.keys()) info.columns.push_back(StringOf(n));
  }
  if (info.name.empty()) {
    const char* label = info.type == ConstraintType::kPrimaryKey   ? "pkey"
                        : info.type == ConstraintType::kForeignKey ? "fkey"
                        : info.type == ConstraintType::kUnique     ? "key"
                        : info.type == ConstraintType::kExclusion  ? "excl"
                                                                   : "check";
    info.name = DefaultConstraintName(
        table, info.type == ConstraintType::kPrimaryKey ? std::vector<std::string>() : info.columns,
        label);
  }
  return info;
}

// A column definition and the constraints written on it.
void ConvertColumn(const pg_query::ColumnDef& def, const std::string& table, ColumnInfo* column,
                   std::vector<ConstraintInfo>* constraints) {
  column->name = def.colname();
  column->type = CanonicalType(def.type_name());
  column->not_null = def.is_not_null();
  column->has_default = def.has_raw_default() || IsSerial(def.type_name());
  if (IsSerial(def.type_name())) column->not_null = true;
  for (const Node& node : def.constraints()) {
    if (!node.has_constraint()) continue;
    const pg_query::Constraint& c = node.constraint();
    switch (c.contype()) {
      case pg_query::CONSTR_NOTNULL:
        column->not_null = true;
        break;
      case pg_query::CONSTR_DEFAULT:
        column->has_default = true;
        break;
      case pg_query::CONSTR_IDENTITY:
      case pg_query::CONSTR_GENERATED:
        column->has_default = true;
        column->identity = c.contype() == pg_query::CONSTR_IDENTITY;
        column->not_null |= column->identity;
        break;
      case pg_query::CONSTR_PRIMARY:
        column->not_null = true;
        [[fallthrough]];
      default:
        if (auto info = ConvertConstraint(c, table, column->name)) constraints->push_back(*info);
    }
  }
}

class Analyzer {
 public:
  explicit Analyzer(Lineage* lineage) : lineage_(lineage) {}

  void Statement(const Node& node, int statement, int line) {
    statement_ = statement;
    line_ = line;
    switch (node.node_case()) {
      case Node::kCreateStmt:
        CreateTable(node.create_stmt());
        break;
      case Node::kAlterTableStmt:
        AlterTable(node.alter_table_stmt());
        break;
      case Node::kIndexStmt:
        CreateIndex(node.index_stmt());
        break;
      case Node::kDropStmt:
        Drop(node.drop_stmt());
        break;
      case Node::kRenameStmt:
        Rename(node.rename_stmt());
        break;
      case Node::kViewStmt: {
        Change change = Make(ChangeKind::kCreateView, Qualified(node.view_stmt().view()));
        Add(change);
        break;
      }
      case Node::kCreateTableAsStmt: {
        const auto& stmt = node.create_table_as_stmt();
        const bool matview = stmt.objtype() == pg_query::OBJECT_MATVIEW;
        Change change =
            Make(matview ? ChangeKind::kCreateMaterializedView : ChangeKind::kCreateTable,
                 Qualified(stmt.into().rel()));
        change.if_not_exists = stmt.if_not_exists();
        Add(change);
        break;
      }
      case Node::kCreateFunctionStmt: {
        Change change = Make(ChangeKind::kCreateFunction,
                             QualifiedList(Names(node.create_function_stmt().funcname())));
        change.name = change.object;
        Add(change);
        break;
      }
      case Node::kCreateEnumStmt:
        AddType(QualifiedList(Names(node.create_enum_stmt().type_name())));
        break;
      case Node::kCompositeTypeStmt:
        AddType(Qualified(node.composite_type_stmt().typevar()));
        break;
      case Node::kCreateDomainStmt:
        AddType(QualifiedList(Names(node.create_domain_stmt().domainname())));
        break;
      case Node::kCreateExtensionStmt: {
        Change change = Make(ChangeKind::kCreateExtension, node.create_extension_stmt().extname());
        change.name = change.object;
        change.if_not_exists = node.create_extension_stmt().if_not_exists();
        Add(change);
        break;
      }
      case Node::kCommentStmt:
        Add(Make(ChangeKind::kComment, ""));
        break;
      case Node::kTruncateStmt:
        for (const Node& relation : node.truncate_stmt().relations()) {
          Change change = Make(ChangeKind::kTruncate, Qualified(relation.range_var()));
          change.cascade = node.truncate_stmt().behavior() == pg_query::DROP_CASCADE;
          Add(change);
        }
        break;
      case Node::kVacuumStmt:
        for (const Node& option : node.vacuum_stmt().options()) {
          if (option.has_def_elem() && option.def_elem().defname() == "full") {
            Change change = Make(ChangeKind::kVacuumFull, "");
            for (const Node& rel : node.vacuum_stmt().rels()) {
              if (rel.has_vacuum_relation())
                change.object = Qualified(rel.vacuum_relation().relation());
            }
            Add(change);
          }
        }
        break;
      case Node::kClusterStmt:
        Add(Make(ChangeKind::kCluster, node.cluster_stmt().has_relation()
                                           ? Qualified(node.cluster_stmt().relation())
                                           : ""));
        break;
      case Node::kDoStmt:
        Unanalysable("DO block");
        break;
      case Node::kCallStmt:
        Unanalysable("CALL of a procedure");
        break;
      default:
        break;
    }
  }

 private:
  Change Make(ChangeKind kind, std::string object) {
    Change change;
    change.kind = kind;
    change.object = std::move(object);
    change.statement = statement_;
    change.line = line_;
    return change;
  }
  void Add(Change change) { lineage_->changes.push_back(std::move(change)); }
  void Unanalysable(const std::string& what) {
    lineage_->unanalysable.push_back(
        absl::StrCat("statement ", statement_, " (line ", line_, "): ", what));
  }
  void AddType(std::string name) {
    Change change = Make(ChangeKind::kCreateType, name);
    change.name = name;
    Add(change);
  }

  void CreateTable(const pg_query::CreateStmt& stmt) {
    Change change = Make(ChangeKind::kCreateTable, Qualified(stmt.relation()));
    change.if_not_exists = stmt.if_not_exists();
    for (const Node& element : stmt.table_elts()) {
      if (element.has_column_def()) {
        ColumnInfo column;
        ConvertColumn(element.column_def(), change.object, &column, &change.constraints);
        change.columns.push_back(column);
      } else if (element.has_constraint()) {
        if (auto info = ConvertConstraint(element.constraint(), change.object, "")) {
          change.constraints.push_back(*info);
        }
      }
    }
    for (ConstraintInfo& constraint : change.constraints) {
      if (constraint.type != ConstraintType::kPrimaryKey) continue;
      for (ColumnInfo& column : change.columns) {
        for (const std::string& key : constraint.columns) {
          if (column.name == key) column.not_null = true;
        }
      }
    }
    Add(change);
  }

  void AlterTable(const pg_query::AlterTableStmt& stmt) {
    const std::string table = Qualified(stmt.relation());
    const bool is_index = stmt.objtype() == pg_query::OBJECT_INDEX;
    for (const Node& node : stmt.cmds()) {
      if (!node.has_alter_table_cmd() || is_index) continue;
      const pg_query::AlterTableCmd& cmd = node.alter_table_cmd();
      switch (cmd.subtype()) {
        case pg_query::AT_AddColumn: {
          Change change = Make(ChangeKind::kAddColumn, table);
          ColumnInfo column;
          ConvertColumn(cmd.def().column_def(), table, &column, &change.constraints);
          change.column = column.name;
          change.columns.push_back(column);
          change.if_not_exists = cmd.missing_ok();
          Add(change);
          break;
        }
        case pg_query::AT_DropColumn: {
          Change change = Make(ChangeKind::kDropColumn, table);
          change.column = cmd.name();
          change.missing_ok = cmd.missing_ok();
          change.cascade = cmd.behavior() == pg_query::DROP_CASCADE;
          Add(change);
          break;
        }
        case pg_query::AT_AlterColumnType: {
          Change change = Make(ChangeKind::kAlterColumnType, table);
          change.column = cmd.name();
          if (cmd.def().has_column_def()) {
            change.new_type = CanonicalType(cmd.def().column_def().type_name());
          }
          Add(change);
          break;
        }
        case pg_query::AT_SetNotNull:
        case pg_query::AT_DropNotNull: {
          Change change = Make(cmd.subtype() == pg_query::AT_SetNotNull ? ChangeKind::kSetNotNull
                                                                        : ChangeKind::kDropNotNull,
                               table);
          change.column = cmd.name();
          Add(change);
          break;
        }
        case pg_query::AT_ColumnDefault: {
          Change change =
              Make(cmd.has_def() ? ChangeKind::kSetDefault : ChangeKind::kDropDefault, table);
          change.column = cmd.name();
          Add(change);
          break;
        }
        case pg_query::AT_AddConstraint: {
          if (!cmd.def().has_constraint()) break;
          if (auto info = ConvertConstraint(cmd.def().constraint(), table, "")) {
            Change change = Make(ChangeKind::kAddConstraint, table);
            change.name = info->name;
            change.constraints.push_back(*info);
            Add(change);
          }
          break;
        }
        case pg_query::AT_DropConstraint: {
          Change change = Make(ChangeKind::kDropConstraint, table);
          change.name = cmd.name();
          change.missing_ok = cmd.missing_ok();
          Add(change);
          break;
        }
        case pg_query::AT_ValidateConstraint: {
          Change change = Make(ChangeKind::kValidateConstraint, table);
          change.name = cmd.name();
          Add(change);
          break;
        }
        default:
          break;
      }
    }
  }

  void CreateIndex(const pg_query::IndexStmt& stmt) {
    Change change = Make(ChangeKind::kCreateIndex, Qualified(stmt.relation()));
    IndexInfo& index = change.index;
    for (const Node& param : stmt.index_params()) {
      if (!param.has_index_elem()) continue;
      index.columns.push_back(param.index_elem().name().empty() ? "(expression)"
                                                                : param.index_elem().name());
    }
    index.unique = stmt.unique();
    index.partial = stmt.has_where_clause();
    index.concurrently = stmt.concurrent();
    index.name = stmt.idxname();
    if (index.name.empty()) {
      std::vector<std::string> named;
      for (const std::string& column : index.columns) {
        if (column != "(expression)") named.push_back(column);
      }
      index.name = DefaultConstraintName(
          change.object, named.empty() ? std::vector<std::string>{"expr"} : named, "idx");
    }
    const size_t dot = change.object.find('.');
    change.name = QualifiedName(change.object.substr(0, dot), index.name);
    change.if_not_exists = stmt.if_not_exists();
    Add(change);
  }

  void Drop(const pg_query::DropStmt& stmt) {
    ChangeKind kind;
    switch (stmt.remove_type()) {
      case pg_query::OBJECT_TABLE:
        kind = ChangeKind::kDropTable;
        break;
      case pg_query::OBJECT_INDEX:
        kind = ChangeKind::kDropIndex;
        break;
      case pg_query::OBJECT_VIEW:
        kind = ChangeKind::kDropView;
        break;
      case pg_query::OBJECT_MATVIEW:
        kind = ChangeKind::kDropMaterializedView;
        break;
      case pg_query::OBJECT_FUNCTION:
      case pg_query::OBJECT_PROCEDURE:
        kind = ChangeKind::kDropFunction;
        break;
      case pg_query::OBJECT_TYPE:
      case pg_query::OBJECT_DOMAIN:
        kind = ChangeKind::kDropType;
        break;
      case pg_query::OBJECT_EXTENSION:
        kind = ChangeKind::kDropExtension;
        break;
      default:
        return;
    }
    for (const Node& object : stmt.objects()) {
      std::string name;
      if (object.has_list()) {
        name = QualifiedList(Names(object.list().items()));
      } else if (object.has_object_with_args()) {
        name = QualifiedList(Names(object.object_with_args().objname()));
      } else if (object.has_type_name()) {
        name = QualifiedList(Names(object.type_name().names()));
      } else if (object.has_string()) {
        name = kind == ChangeKind::kDropExtension ? object.string().sval()
                                                  : QualifiedName("public", object.string().sval());
      }
      Change change = Make(kind, name);
      change.name = name;
      change.missing_ok = stmt.missing_ok();
      change.cascade = stmt.behavior() == pg_query::DROP_CASCADE;
      change.index.concurrently = stmt.concurrent();
      Add(change);
    }
  }

  void Rename(const pg_query::RenameStmt& stmt) {
    switch (stmt.rename_type()) {
      case pg_query::OBJECT_TABLE:
      case pg_query::OBJECT_VIEW:
      case pg_query::OBJECT_MATVIEW: {
        Change change = Make(ChangeKind::kRenameTable, Qualified(stmt.relation()));
        change.new_name = stmt.newname();
        Add(change);
        break;
      }
      case pg_query::OBJECT_COLUMN: {
        Change change = Make(ChangeKind::kRenameColumn, Qualified(stmt.relation()));
        change.column = stmt.subname();
        change.new_name = stmt.newname();
        Add(change);
        break;
      }
      case pg_query::OBJECT_INDEX: {
        Change change = Make(ChangeKind::kRenameIndex, Qualified(stmt.relation()));
        change.name = change.object;
        change.new_name = stmt.newname();
        Add(change);
        break;
      }
      case pg_query::OBJECT_TABCONSTRAINT: {
        Change change = Make(ChangeKind::kRenameConstraint, Qualified(stmt.relation()));
        change.name = stmt.subname();
        change.new_name = stmt.newname();
        Add(change);
        break;
      }
      default:
        break;
    }
  }

  Lineage* lineage_;
  int statement_ = 0;
  int line_ = 0;
};

}  // namespace

std::string QualifiedName(absl::string_view schema, absl::string_view name) {
  return absl::StrCat(schema, ".", name);
}

std::string ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kCreateTable:
      return "create table";
    case ChangeKind::kDropTable:
      return "drop table";
    case ChangeKind::kRenameTable:
      return "rename table";
    case ChangeKind::kAddColumn:
      return "add column";
    case ChangeKind::kDropColumn:
      return "drop column";
    case ChangeKind::kRenameColumn:
      return "rename column";
    case ChangeKind::kAlterColumnType:
      return "alter column type";
    case ChangeKind::kSetNotNull:
      return "set not null";
    case ChangeKind::kDropNotNull:
      return "drop not null";
    case ChangeKind::kSetDefault:
      return "set default";
    case ChangeKind::kDropDefault:
      return "drop default";
    case ChangeKind::kAddConstraint:
      return "add constraint";
    case ChangeKind::kDropConstraint:
      return "drop constraint";
    case ChangeKind::kValidateConstraint:
      return "validate constraint";
    case ChangeKind::kRenameConstraint:
      return "rename constraint";
    case ChangeKind::kCreateIndex:
      return "create index";
    case ChangeKind::kDropIndex:
      return "drop index";
    case ChangeKind::kRenameIndex:
      return "rename index";
    case ChangeKind::kCreateView:
      return "create view";
    case ChangeKind::kCreateMaterializedView:
      return "create materialized view";
    case ChangeKind::kDropView:
      return "drop view";
    case ChangeKind::kDropMaterializedView:
      return "drop materialized view";
    case ChangeKind::kCreateFunction:
      return "create function";
    case ChangeKind::kDropFunction:
      return "drop function";
    case ChangeKind::kCreateType:
      return "create type";
    case ChangeKind::kDropType:
      return "drop type";
    case ChangeKind::kCreateExtension:
      return "create extension";
    case ChangeKind::kDropExtension:
      return "drop extension";
    case ChangeKind::kComment:
      return "comment";
    case ChangeKind::kTruncate:
      return "truncate";
    case ChangeKind::kVacuumFull:
      return "vacuum full";
    case ChangeKind::kCluster:
      return "cluster";
  }
  return "?";
}

namespace {

std::string DescribeConstraint(const ConstraintInfo& c) {
  std::string out = c.name + " ";
  switch (c.type) {
    case ConstraintType::kPrimaryKey:
      out += "primary key";
      break;
    case ConstraintType::kForeignKey:
      out += "foreign key";
      break;
    case ConstraintType::kUnique:
      out += "unique";
      break;
    case ConstraintType::kCheck:
      out += "check";
      break;
    case ConstraintType::kExclusion:
      out += "exclusion";
      break;
  }
  if (!c.columns.empty()) absl::StrAppend(&out, " (", absl::StrJoin(c.columns, ", "), ")");
  if (c.type == ConstraintType::kForeignKey) {
    absl::StrAppend(&out, " references ", c.ref_table);
    if (!c.ref_columns.empty())
      absl::StrAppend(&out, " (", absl::StrJoin(c.ref_columns, ", "), ")");
    absl::StrAppend(&out, " on delete ", c.on_delete);
  }
  if (c.not_valid) out += " not valid";
  return out;
}

std::string DescribeColumn(const ColumnInfo& column) {
  return absl::StrCat(column.name, " ", column.type, column.not_null ? " not null" : "",
                      column.has_default ? " default" : "");
}

}  // namespace

std::string DescribeChange(const Change& change) {
  std::string out = ChangeKindName(change.kind);
  switch (change.kind) {
    case ChangeKind::kCreateTable:
    case ChangeKind::kAddColumn: {
      absl::StrAppend(&out, " ", change.object);
      std::vector<std::string> parts;
      for (const ColumnInfo& column : change.columns) parts.push_back(DescribeColumn(column));
      for (const ConstraintInfo& c : change.constraints) parts.push_back(DescribeConstraint(c));
      if (!parts.empty()) absl::StrAppend(&out, " (", absl::StrJoin(parts, ", "), ")");
      break;
    }
    case ChangeKind::kAddConstraint:
      absl::StrAppend(&out, " ", change.object, " ",
                      DescribeConstraint(change.constraints.front()));
      break;
    case ChangeKind::kCreateIndex:
      absl::StrAppend(&out, " ", change.name, " on ", change.object, " (",
                      absl::StrJoin(change.index.columns, ", "), ")",
                      change.index.unique ? " unique" : "", change.index.partial ? " partial" : "",
                      change.index.concurrently ? " concurrently" : "");
      break;
    case ChangeKind::kDropColumn:
    case ChangeKind::kSetNotNull:
    case ChangeKind::kDropNotNull:
    case ChangeKind::kSetDefault:
    case ChangeKind::kDropDefault:
      absl::StrAppend(&out, " ", change.object, ".", change.column);
      break;
    case ChangeKind::kAlterColumnType:
      absl::StrAppend(&out, " ", change.object, ".", change.column, " ", change.new_type);
      break;
    case ChangeKind::kRenameColumn:
      absl::StrAppend(&out, " ", change.object, ".", change.column, " to ", change.new_name);
      break;
    case ChangeKind::kRenameTable:
    case ChangeKind::kRenameIndex:
      absl::StrAppend(&out, " ", change.object, " to ", change.new_name);
      break;
    case ChangeKind::kDropConstraint:
    case ChangeKind::kValidateConstraint:
      absl::StrAppend(&out, " ", change.object, " ", change.name);
      break;
    case ChangeKind::kRenameConstraint:
      absl::StrAppend(&out, " ", change.object, " ", change.name, " to ", change.new_name);
      break;
    default:
      if (!change.object.empty()) absl::StrAppend(&out, " ", change.object);
  }
  if (change.if_not_exists) out += " if not exists";
  if (change.missing_ok) out += " if exists";
  if (change.cascade) out += " cascade";
  if (change.kind == ChangeKind::kDropIndex && change.index.concurrently) out += " concurrently";
  return out;
}

absl::StatusOr<Lineage> AnalyzeLineage(absl::string_view text) {
  const std::string input(text);
  Lineage lineage;
  std::optional<Analyzer> analyzer;
  std::optional<LineCounter> lines;
  int statement = 0;
  const auto start = [&] {
    lineage = Lineage();
    analyzer.emplace(&lineage);
    lines.emplace(input);
    statement = 0;
  };
  start();
  SCHEMAD_RETURN_IF_ERROR(ForEachStatementTree(
      input, start, [&](const pg_query::ParseResult& tree, size_t base, size_t) {
        for (const pg_query::RawStmt& raw : tree.stmts()) {
          analyzer->Statement(raw.stmt(), ++statement,
                              lines->LineAt(SkipTrivia(input, base + raw.stmt_location())));
        }
      }));
  return lineage;
}

}  // namespace schemad::sql
