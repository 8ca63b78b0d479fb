#include "server/sql/lint.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/sql/script.h"

namespace schemad::sql {
namespace {

const LintRule& Rule(const std::string& id) {
  for (const LintRule& rule : LintRules()) {
    if (rule.id == id) return rule;
  }
  static const LintRule kUnknown{"unknown", Severity::kInfo, "", "", ""};
  return kUnknown;
}

struct Suppression {
  std::string reason;
  int line = 0;
};

// Reads `-- schemad:lint-ignore RULE reason` comments.
std::map<std::string, Suppression> ReadSuppressions(absl::string_view text,
                                                    std::vector<LintFinding>* problems,
                                                    const std::string& file) {
  std::map<std::string, Suppression> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const size_t at = line.find(kLintIgnoreDirective);
    if (at == absl::string_view::npos || line.find("--") > at) continue;
    std::vector<std::string> words =
        absl::StrSplit(absl::StripAsciiWhitespace(line.substr(at)), ' ', absl::SkipEmpty());
    if (words.size() < 3) {
      LintFinding finding;
      finding.rule = "lint-ignore-without-reason";
      finding.severity = Severity::kWarning;
      finding.file = file;
      finding.line = line_number;
      finding.message = "a lint-ignore needs a rule and a reason: -- schemad:lint-ignore RULE why";
      finding.alternative = "say why the hazard is acceptable here";
      problems->push_back(finding);
      continue;
    }
    std::string reason;
    for (size_t i = 2; i < words.size(); ++i) absl::StrAppend(&reason, i > 2 ? " " : "", words[i]);
    out[words[1]] = Suppression{reason, line_number};
  }
  return out;
}

bool IsIntegerType(const std::string& type) { return type == "integer" || type == "smallint"; }

}  // namespace

std::string SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "?";
}

const std::vector<LintRule>& LintRules() {
  static const auto* rules = new std::vector<LintRule>{
      {"drop-table", Severity::kError, "DROP TABLE destroys data and breaks code still reading it",
       "stop using the table first; drop it in a later release, after a backup",
       "ACCESS EXCLUSIVE"},
      {"drop-column", Severity::kError,
       "DROP COLUMN destroys data and breaks code still selecting it",
       "stop reading the column in a release before, then drop it", "ACCESS EXCLUSIVE"},
      {"alter-column-type", Severity::kError,
       "changing a column's type rewrites the table and its indexes under an exclusive lock",
       "add a new column, backfill in batches, switch readers, drop the old one",
       "ACCESS EXCLUSIVE"},
      {"set-not-null", Severity::kWarning,
       "SET NOT NULL scans the whole table while holding an exclusive lock",
       "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL",
       "ACCESS EXCLUSIVE"},
      {"add-column-not-null-no-default", Severity::kError,
       "ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows",
       "add it with a DEFAULT (free since PostgreSQL 11), or nullable and backfill",
       "ACCESS EXCLUSIVE"},
      {"create-index-not-concurrently", Severity::kWarning,
       "CREATE INDEX blocks every write to the table until the index is built",
       "CREATE INDEX CONCURRENTLY (the file then runs outside a transaction)", "SHARE"},
      {"drop-index-not-concurrently", Severity::kWarning,
       "DROP INDEX takes an exclusive lock on the table", "DROP INDEX CONCURRENTLY",
       "ACCESS EXCLUSIVE"},
      {"add-foreign-key-validated", Severity::kWarning,
       "adding a FOREIGN KEY scans the table and blocks writes to both tables",
       "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later step",
       "SHARE ROW EXCLUSIVE"},
      {"add-check-validated", Severity::kWarning,
       "adding a CHECK constraint scans the table under an exclusive lock",
       "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later step",
       "ACCESS EXCLUSIVE"},
      {"add-unique-constraint", Severity::kWarning,
       "adding a UNIQUE constraint builds its index while blocking writes",
       "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX",
       "SHARE ROW EXCLUSIVE"},
      {"rename-table", Severity::kWarning, "renaming a table breaks code that uses the old name",
       "create a view with the old name during the transition, or expand/contract",
       "ACCESS EXCLUSIVE"},
      {"rename-column", Severity::kWarning, "renaming a column breaks code that uses the old name",
       "add the new column, write both, migrate readers, then drop the old one",
       "ACCESS EXCLUSIVE"},
      {"truncate-cascade", Severity::kError,
       "TRUNCATE ... CASCADE empties every table that references this one",
       "delete the rows you mean, table by table", "ACCESS EXCLUSIVE"},
      {"vacuum-full", Severity::kError, "VACUUM FULL rewrites the table under an exclusive lock",
       "plain VACUUM, or pg_repack", "ACCESS EXCLUSIVE"},
      {"cluster", Severity::kError, "CLUSTER rewrites the table under an exclusive lock",
       "pg_repack, outside migrations", "ACCESS EXCLUSIVE"},
      {"prefer-text", Severity::kInfo,
       "varchar(n) only adds a length check that is costly to change later",
       "text, with a CHECK (length(col) <= n) if the limit matters", ""},
      {"timestamp-without-time-zone", Severity::kWarning,
       "timestamp without time zone stores wall-clock time and loses the instant", "timestamptz",
       ""},
      {"int-primary-key", Severity::kWarning,
       "an integer primary key runs out at 2^31 and widening it rewrites the table",
       "bigint (or bigint GENERATED ... AS IDENTITY, or uuid)", ""},
      {"prefer-jsonb", Severity::kWarning, "json keeps text: no indexing, no equality, slow access",
       "jsonb", ""},
  };
  return *rules;
}

std::vector<LintFinding> Linter::LintFile(const std::string& file, absl::string_view text,
                                          const Lineage& lineage) {
  std::vector<LintFinding> findings;
  const std::map<std::string, Suppression> suppressions = ReadSuppressions(text, &findings, file);
  auto add = [&](const std::string& rule_id, const Change& change, const std::string& object,
                 const std::string& message) {
    const LintRule& rule = Rule(rule_id);
    LintFinding finding;
    finding.rule = rule.id;
    finding.severity = rule.severity;
    finding.file = file;
    finding.line = change.line;
    finding.table = change.object;
    finding.object = object;
    finding.message = message;
    finding.alternative = rule.alternative;
    finding.lock = rule.lock;
    if (auto it = suppressions.find(rule.id); it != suppressions.end()) {
      finding.suppressed = true;
      finding.suppression_reason = it->second.reason;
    }
    findings.push_back(std::move(finding));
  };
  auto column_type_rules = [&](const Change& change, const ColumnInfo& column) {
    const std::string object = absl::StrCat(change.object, ".", column.name);
    if (absl::StartsWith(column.type, "character varying")) {
      add("prefer-text", change, object, absl::StrCat(object, " is ", column.type));
    }
    if (absl::StartsWith(column.type, "timestamp without time zone")) {
      add("timestamp-without-time-zone", change, object,
          absl::StrCat(object, " is timestamp without time zone"));
    }
    if (column.type == "json" || column.type == "json[]") {
      add("prefer-jsonb", change, object, absl::StrCat(object, " is json"));
    }
  };

  for (const Change& change : lineage.changes) {
    const bool existing = created_in_plan_.count(change.object) == 0;
    switch (change.kind) {
      case ChangeKind::kCreateTable:
        created_in_plan_.insert(change.object);
        for (const ColumnInfo& column : change.columns) column_type_rules(change, column);
        for (const ConstraintInfo& constraint : change.constraints) {
          if (constraint.type != ConstraintType::kPrimaryKey || constraint.columns.size() != 1)
            continue;
          for (const ColumnInfo& column : change.columns) {
            if (column.name == constraint.columns[0] && IsIntegerType(column.type)) {
              add("int-primary-key", change, absl::StrCat(change.object, ".", column.name),
                  absl::StrCat("primary key ", change.object, ".", column.name, " is ",
                               column.type));
            }
          }
        }
        break;
      case ChangeKind::kDropTable:
        if (existing)
          add("drop-table", change, change.object, absl::StrCat("drops table ", change.object));
        created_in_plan_.erase(change.object);
        break;
      case ChangeKind::kDropColumn:
        if (existing) {
          add("drop-column", change, absl::StrCat(change.object, ".", change.column),
              absl::StrCat("drops column ", change.object, ".", change.column));
        }
        break;
      case ChangeKind::kAlterColumnType:
        if (existing && change.new_type != "text") {
          add("alter-column-type", change, absl::StrCat(change.object, ".", change.column),
              absl::StrCat("changes ", change.object, ".", change.column, " to ", change.new_type));
        }
        break;
      case ChangeKind::kSetNotNull:
        if (existing) {
          add("set-not-null", change, absl::StrCat(change.object, ".", change.column),
              absl::StrCat("sets ", change.object, ".", change.column, " NOT NULL"));
        }
        break;
      case ChangeKind::kAddColumn:
        for (const ColumnInfo& column : change.columns) {
          column_type_rules(change, column);
          if (existing && column.not_null && !column.has_default) {
            add("add-column-not-null-no-default", change,
                absl::StrCat(change.object, ".", column.name),
                absl::StrCat("adds ", change.object, ".", column.name,
                             " NOT NULL without a default"));
          }
        }
        if (!existing) break;
        for (const ConstraintInfo& constraint : change.constraints) {
          if (constraint.type == ConstraintType::kUnique ||
              constraint.type == ConstraintType::kPrimaryKey) {
            add("add-unique-constraint", change, constraint.name,
                absl::StrCat("adds ", constraint.name, " on ", change.object));
          }
        }
        break;
      case ChangeKind::kAddConstraint: {
        if (!existing) break;
        const ConstraintInfo& constraint = change.constraints.front();
        if (constraint.type == ConstraintType::kForeignKey && !constraint.not_valid) {
          add("add-foreign-key-validated", change, constraint.name,
              absl::StrCat("adds foreign key ", constraint.name, " on ", change.object,
                           " without NOT VALID"));
        } else if (constraint.type == ConstraintType::kCheck && !constraint.not_valid) {
          add("add-check-validated", change, constraint.name,
              absl::StrCat("adds check ", constraint.name, " on ", change.object,
                           " without NOT VALID"));
        } else if (constraint.type == ConstraintType::kUnique ||
                   constraint.type == ConstraintType::kPrimaryKey) {
          add("add-unique-constraint", change, constraint.name,
              absl::StrCat("adds ", constraint.name, " on ", change.object));
        }
        break;
      }
      case ChangeKind::kCreateIndex:
        if (existing && !change.index.concurrently) {
          add("create-index-not-concurrently", change, change.name,
              absl::StrCat("builds index ", change.name, " on ", change.object,
                           " without CONCURRENTLY"));
        }
        break;
      case ChangeKind::kDropIndex:
        // DROP INDEX names the index, not its table: context cannot clear it.
        if (change.index.concurrently) break;
        add("drop-index-not-concurrently", change, change.name,
            absl::StrCat("drops index ", change.name, " without CONCURRENTLY"));
        break;
      case ChangeKind::kRenameTable:
        if (existing) {
          add("rename-table", change, change.object,
              absl::StrCat("renames ", change.object, " to ", change.new_name));
        }
        created_in_plan_.insert(
            QualifiedName(change.object.substr(0, change.object.find('.')), change.new_name));
        break;
      case ChangeKind::kRenameColumn:
        if (existing) {
          add("rename-column", change, absl::StrCat(change.object, ".", change.column),
              absl::StrCat("renames ", change.object, ".", change.column, " to ", change.new_name));
        }
        break;
      case ChangeKind::kTruncate:
        if (change.cascade)
          add("truncate-cascade", change, change.object,
              absl::StrCat("truncates ", change.object, " CASCADE"));
        break;
      case ChangeKind::kVacuumFull:
        add("vacuum-full", change, change.object, absl::StrCat("VACUUM FULL ", change.object));
        break;
      case ChangeKind::kCluster:
        add("cluster", change, change.object, absl::StrCat("CLUSTER ", change.object));
        break;
      default:
        break;
    }
  }
  return findings;
}

}  // namespace schemad::sql
