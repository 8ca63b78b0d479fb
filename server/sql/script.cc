#include "absl/strings/string_view.h"
#include "server/sql/script.h"

#include <pg_query.h>

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pg_query.pb.h"

namespace schemad::sql {
namespace {

// Owns a PgQueryProtobufParseResult.
class ParseResultHolder {
 public:
  explicit ParseResultHolder(const std::string& text)
      : result_(pg_query_parse_protobuf(text.c_str())) {}
  ~ParseResultHolder() { pg_query_free_protobuf_parse_result(result_); }
  ParseResultHolder(const ParseResultHolder&) = delete;
  ParseResultHolder& operator=(const ParseResultHolder&) = delete;
  const PgQueryProtobufParseResult& get() const { return result_; }

 private:
  PgQueryProtobufParseResult result_;
};

int LineAt(absl::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

// Skips white space and comments from `pos`; returns the offset of the first token.
size_t SkipTrivia(absl::string_view text, size_t pos) {
  while (pos < text.size()) {
    if (absl::ascii_isspace(static_cast<unsigned char>(text[pos]))) {
      ++pos;
    } else if (text.substr(pos, 2) == "--") {
      const size_t end = text.find('\n', pos);
      pos = end == absl::string_view::npos ? text.size() : end + 1;
    } else if (text.substr(pos, 2) == "/*") {
      int depth = 0;
      do {
        if (text.substr(pos, 2) == "/*") {
          ++depth;
          pos += 2;
        } else if (text.substr(pos, 2) == "*/") {
          --depth;
          pos += 2;
        } else {
          ++pos;
        }
      } while (depth > 0 && pos < text.size());
    } else {
      break;
    }
  }
  return pos;
}

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
  ParseResultHolder holder(input);
  const PgQueryProtobufParseResult& result = holder.get();
  if (result.error != nullptr) {
    const size_t position = result.error->cursorpos > 0 ? result.error->cursorpos - 1 : 0;
    return absl::InvalidArgumentError(
        absl::StrCat("line ", LineAt(input, position), ": ", result.error->message));
  }
  pg_query::ParseResult tree;
  if (!tree.ParseFromArray(result.parse_tree.data, static_cast<int>(result.parse_tree.len))) {
    return absl::InternalError("cannot decode the parse tree");
  }

  Script script;
  std::vector<const pg_query::Node*> nodes;
  for (const pg_query::RawStmt& raw : tree.stmts()) {
    const size_t begin = SkipTrivia(input, raw.stmt_location());
    size_t end = raw.stmt_len() == 0 ? input.size() : raw.stmt_location() + raw.stmt_len();
    end = std::max(begin, std::min(end, input.size()));
    Statement statement;
    statement.text = std::string(absl::StripTrailingAsciiWhitespace(input.substr(begin, end - begin)));
    if (!statement.text.empty() && statement.text.back() == ';') statement.text.pop_back();
    statement.line = LineAt(input, begin);
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
