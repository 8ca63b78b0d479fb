#include "server/sql/script.h"

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "pg_query.pb.h"
#include "server/sql/parse_tree.h"

namespace schemad::sql {
namespace {

bool HasNoTransactionDirective(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (!absl::StartsWith(line, "--")) return false;
    if (absl::StrContains(line, kNoTransactionDirective)) return true;
  }
  return false;
}

std::string KindName(const pg_query::Node& node) {
  const auto* field = pg_query::Node::descriptor()->FindFieldByNumber(node.node_case());
  return field == nullptr ? "Unknown" : field->message_type()->name();
}

// Why `node` can never run inside a transaction block, or "" when it can.
std::string NeedsNoTransaction(const pg_query::Node& node) {
  switch (node.node_case()) {
    case pg_query::Node::kIndexStmt:
      return node.index_stmt().concurrent() ? "CREATE INDEX CONCURRENTLY" : "";
    case pg_query::Node::kDropStmt:
      return node.drop_stmt().concurrent() ? "DROP INDEX CONCURRENTLY" : "";
    case pg_query::Node::kReindexStmt:
      for (const pg_query::Node& param : node.reindex_stmt().params()) {
        if (param.has_def_elem() && param.def_elem().defname() == "concurrently") {
          return "REINDEX CONCURRENTLY";
        }
      }
      return "";
    case pg_query::Node::kVacuumStmt:
      return node.vacuum_stmt().is_vacuumcmd() ? "VACUUM" : "";
    case pg_query::Node::kCreatedbStmt:
      return "CREATE DATABASE";
    case pg_query::Node::kDropdbStmt:
      return "DROP DATABASE";
    case pg_query::Node::kCreateTableSpaceStmt:
      return "CREATE TABLESPACE";
    case pg_query::Node::kDropTableSpaceStmt:
      return "DROP TABLESPACE";
    case pg_query::Node::kAlterSystemStmt:
      return "ALTER SYSTEM";
    case pg_query::Node::kClusterStmt:
      return node.cluster_stmt().has_relation() ? "" : "CLUSTER without a table";
    default:
      return "";
  }
}

bool IsKind(const Statement& statement, pg_query::TransactionStmtKind kind,
            const pg_query::Node& node) {
  return statement.transaction_control && node.transaction_stmt().kind() == kind;
}

}  // namespace

absl::StatusOr<Script> ParseScript(absl::string_view text) {
  const std::string input(text);
  // pg_query_parse_protobuf runs the same raw parser as pg_query_split_with_parser and gives
  // each statement's location too, so one pass both splits and classifies.
  absl::StatusOr<pg_query::ParseResult> parsed = ParseTree(input);
  if (!parsed.ok()) return parsed.status();
  const pg_query::ParseResult& tree = *parsed;

  Script script;
  std::vector<const pg_query::Node*> nodes;
  LineCounter lines(input);
  for (const pg_query::RawStmt& raw : tree.stmts()) {
    const size_t begin = SkipTrivia(input, raw.stmt_location());
    size_t end = raw.stmt_len() == 0 ? input.size() : raw.stmt_location() + raw.stmt_len();
    end = std::max(begin, std::min(end, input.size()));
    Statement statement;
    statement.text =
        std::string(absl::StripTrailingAsciiWhitespace(input.substr(begin, end - begin)));
    if (!statement.text.empty() && statement.text.back() == ';') statement.text.pop_back();
    statement.line = lines.LineAt(begin);
    statement.kind = KindName(raw.stmt());
    statement.needs_no_transaction = NeedsNoTransaction(raw.stmt());
    statement.transaction_control = raw.stmt().has_transaction_stmt();
    script.statements.push_back(std::move(statement));
    nodes.push_back(&raw.stmt());
  }

  std::vector<Statement>& statements = script.statements;
  const size_t n = statements.size();
  // A file wrapped in its own BEGIN ... COMMIT: the author meant one transaction, which is what
  // we run anyway; drop the wrapper so its COMMIT cannot end our transaction early.
  if (n >= 2 &&
      (IsKind(statements[0], pg_query::TRANS_STMT_BEGIN, *nodes[0]) ||
       IsKind(statements[0], pg_query::TRANS_STMT_START, *nodes[0])) &&
      IsKind(statements[n - 1], pg_query::TRANS_STMT_COMMIT, *nodes[n - 1]) &&
      !nodes[n - 1]->transaction_stmt().chain()) {
    bool inner_control = false;
    for (size_t i = 1; i + 1 < n; ++i) inner_control |= statements[i].transaction_control;
    if (!inner_control) {
      statements.pop_back();
      statements.erase(statements.begin());
      script.mode_reason = "the file's own BEGIN ... COMMIT: run as one transaction";
    }
  }

  if (HasNoTransactionDirective(input)) {
    script.mode = TransactionMode::kNonTransactional;
    script.mode_reason = absl::StrCat("directive -- ", kNoTransactionDirective);
    return script;
  }
  for (size_t i = 0; i < statements.size(); ++i) {
    if (statements[i].transaction_control) {
      script.mode = TransactionMode::kNonTransactional;
      script.mode_reason =
          absl::StrCat("statement ", i + 1, " (line ", statements[i].line,
                       ") is its own transaction control: run statement by statement as written");
      return script;
    }
  }
  for (size_t i = 0; i < statements.size(); ++i) {
    if (!statements[i].needs_no_transaction.empty()) {
      script.mode = TransactionMode::kNonTransactional;
      script.mode_reason = absl::StrCat("statement ", i + 1, " (line ", statements[i].line,
                                        "): ", statements[i].needs_no_transaction);
      return script;
    }
  }
  return script;
}

}  // namespace schemad::sql
