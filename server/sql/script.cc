#include "server/sql/script.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pg_query.pb.h"
#include "server/common/status_macros.h"
#include "server/common/text.h"
#include "server/sql/parse_tree.h"

namespace schemad::sql {
namespace {

// The node's type name, owned by the generated descriptor pool (lives as long as the program).
absl::string_view KindName(const pg_query::Node& node) {
  const auto* field = pg_query::Node::descriptor()->FindFieldByNumber(node.node_case());
  return field == nullptr ? absl::string_view("Unknown") : field->message_type()->name();
}

// `name` as a quoted SQL identifier (the parser gives names as PostgreSQL stores them).
std::string QuoteIdent(const std::string& name) {
  return absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
}

// A boolean DefElem option: no argument means true; "false", "off", "0" mean false.
bool DefElemBool(const pg_query::DefElem& def) {
  if (!def.has_arg()) return true;
  const pg_query::Node& arg = def.arg();
  std::string value;
  if (arg.has_string()) value = arg.string().sval();
  if (arg.has_boolean()) return arg.boolean().boolval();
  if (arg.has_integer()) return arg.integer().ival() != 0;
  value = absl::AsciiStrToLower(value);
  return !(value == "false" || value == "off" || value == "0" || value == "no");
}

// Why `node` can never run inside a transaction block, or "" when it can (a static string).
absl::string_view NeedsNoTransaction(const pg_query::Node& node) {
  switch (node.node_case()) {
    case pg_query::Node::kIndexStmt:
      return node.index_stmt().concurrent() ? "CREATE INDEX CONCURRENTLY" : "";
    case pg_query::Node::kDropStmt:
      return node.drop_stmt().concurrent() ? "DROP INDEX CONCURRENTLY" : "";
    case pg_query::Node::kReindexStmt:
      for (const pg_query::Node& param : node.reindex_stmt().params()) {
        if (param.has_def_elem() && param.def_elem().defname() == "concurrently" &&
            DefElemBool(param.def_elem())) {
          return "REINDEX CONCURRENTLY";
        }
      }
      switch (node.reindex_stmt().kind()) {
        case pg_query::REINDEX_OBJECT_SCHEMA:
          return "REINDEX SCHEMA";
        case pg_query::REINDEX_OBJECT_SYSTEM:
          return "REINDEX SYSTEM";
        case pg_query::REINDEX_OBJECT_DATABASE:
          return "REINDEX DATABASE";
        default:
          return "";
      }
    case pg_query::Node::kAlterTableStmt:
      for (const pg_query::Node& cmd : node.alter_table_stmt().cmds()) {
        if (!cmd.has_alter_table_cmd()) continue;
        const pg_query::AlterTableCmd& at = cmd.alter_table_cmd();
        if (at.subtype() == pg_query::AT_DetachPartition && at.def().has_partition_cmd() &&
            at.def().partition_cmd().concurrent()) {
          return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY";
        }
      }
      return "";
    case pg_query::Node::kDiscardStmt:
      return node.discard_stmt().target() == pg_query::DISCARD_ALL ? "DISCARD ALL" : "";
    case pg_query::Node::kAlterDatabaseStmt:
      for (const pg_query::Node& option : node.alter_database_stmt().options()) {
        if (option.has_def_elem() && option.def_elem().defname() == "tablespace") {
          return "ALTER DATABASE ... SET TABLESPACE";
        }
      }
      return "";
    case pg_query::Node::kCreateSubscriptionStmt: {
      // create_slot defaults to connect, which defaults to true.
      bool create_slot = true;
      for (const pg_query::Node& option : node.create_subscription_stmt().options()) {
        if (!option.has_def_elem()) continue;
        const pg_query::DefElem& def = option.def_elem();
        const bool value = DefElemBool(def);
        if (def.defname() == "connect" && !value) create_slot = false;
        if (def.defname() == "create_slot") {
          create_slot = value;
          break;
        }
      }
      return create_slot ? "CREATE SUBSCRIPTION ... WITH (create_slot = true)" : "";
    }
    case pg_query::Node::kAlterSubscriptionStmt: {
      const pg_query::AlterSubscriptionStmt& alter = node.alter_subscription_stmt();
      if (alter.kind() == pg_query::ALTER_SUBSCRIPTION_REFRESH) {
        return "ALTER SUBSCRIPTION ... REFRESH PUBLICATION";
      }
      if (alter.kind() != pg_query::ALTER_SUBSCRIPTION_SET_PUBLICATION &&
          alter.kind() != pg_query::ALTER_SUBSCRIPTION_ADD_PUBLICATION &&
          alter.kind() != pg_query::ALTER_SUBSCRIPTION_DROP_PUBLICATION) {
        return "";
      }
      for (const pg_query::Node& option : alter.options()) {
        if (option.has_def_elem() && option.def_elem().defname() == "refresh" &&
            !DefElemBool(option.def_elem())) {
          return "";
        }
      }
      return "ALTER SUBSCRIPTION ... PUBLICATION with refresh";
    }
    case pg_query::Node::kDropSubscriptionStmt:
      // Refused in a transaction when the subscription has a replication slot, which only the
      // server knows: assume it has one.
      return "DROP SUBSCRIPTION";
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

// What the file-level checks need of a statement's parse tree, kept so the tree can go.
struct TransactionFacts {
  int kind = -1;         // pg_query::TransactionStmtKind of a transaction statement
  bool options = false;  // BEGIN ISOLATION LEVEL …, READ ONLY …
  bool chain = false;    // COMMIT / ROLLBACK AND CHAIN
};

bool IsKind(const Statement& statement, pg_query::TransactionStmtKind kind,
            const TransactionFacts& facts) {
  return statement.transaction_control && facts.kind == kind;
}

// Appends the statements of `tree`, parsed from input[base, …), with their facts.
void AppendStatements(const pg_query::ParseResult& tree, const std::string& input, size_t base,
                      size_t piece_end, LineCounter* lines, std::vector<Statement>* statements,
                      std::vector<TransactionFacts>* facts) {
  for (const pg_query::RawStmt& raw : tree.stmts()) {
    const size_t begin = SkipTrivia(input, base + raw.stmt_location());
    size_t end = raw.stmt_len() == 0 ? piece_end : base + raw.stmt_location() + raw.stmt_len();
    end = std::max(begin, std::min(end, piece_end));
    Statement statement;
    statement.text =
        absl::StripTrailingAsciiWhitespace(absl::string_view(input).substr(begin, end - begin));
    if (!statement.text.empty() && statement.text.back() == ';') statement.text.remove_suffix(1);
    statement.line = lines->LineAt(begin);
    statement.kind = KindName(raw.stmt());
    statement.needs_no_transaction = NeedsNoTransaction(raw.stmt());
    TransactionFacts fact;
    if (raw.stmt().has_transaction_stmt()) {
      const pg_query::TransactionStmt& txn = raw.stmt().transaction_stmt();
      const bool savepoint = txn.kind() == pg_query::TRANS_STMT_SAVEPOINT ||
                             txn.kind() == pg_query::TRANS_STMT_RELEASE ||
                             txn.kind() == pg_query::TRANS_STMT_ROLLBACK_TO;
      const bool chain = txn.chain() && (txn.kind() == pg_query::TRANS_STMT_COMMIT ||
                                         txn.kind() == pg_query::TRANS_STMT_ROLLBACK);
      statement.transaction_control = !savepoint && !chain;
      statement.commit_and_chain = chain && txn.kind() == pg_query::TRANS_STMT_COMMIT;
      fact = {txn.kind(), !txn.options().empty(), chain};
    }
    if (raw.stmt().has_index_stmt() && raw.stmt().index_stmt().concurrent() &&
        !raw.stmt().index_stmt().idxname().empty()) {
      const pg_query::IndexStmt& index = raw.stmt().index_stmt();
      statement.concurrent_index = index.relation().schemaname().empty()
                                       ? QuoteIdent(index.idxname())
                                       : absl::StrCat(QuoteIdent(index.relation().schemaname()),
                                                      ".", QuoteIdent(index.idxname()));
    }
    statements->push_back(std::move(statement));
    facts->push_back(fact);
  }
}

// Splits and classifies every statement of `input`. pg_query_parse_protobuf gives each
// statement's location, so one pass both splits and classifies (large files piece by piece).
absl::Status ReadStatements(const std::string& input, std::vector<Statement>* statements,
                            std::vector<TransactionFacts>* facts) {
  // At most one statement per ';' (and one without): reserved once, the vectors never grow by
  // copying (for a large data file that copy would double their peak).
  const size_t most = std::count(input.begin(), input.end(), ';') + 1;
  statements->reserve(most);
  facts->reserve(most);
  auto lines = std::make_unique<LineCounter>(input);
  return ForEachStatementTree(
      input,
      [&] {
        statements->clear();
        facts->clear();
        lines = std::make_unique<LineCounter>(input);
      },
      [&](const pg_query::ParseResult& tree, size_t base, size_t end) {
        AppendStatements(tree, input, base, end, lines.get(), statements, facts);
      });
}

}  // namespace

absl::StatusOr<Directives> ReadDirectives(absl::string_view text) {
  Directives directives;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (!absl::StartsWith(line, "--")) break;
    absl::string_view comment = absl::StripAsciiWhitespace(line.substr(2));
    if (!absl::StartsWith(comment, "schemad:")) continue;
    // A directive is one word, maybe followed by its value: a misspelt one is an error, never
    // a comment that silently changes nothing.
    const absl::string_view name = comment.substr(0, comment.find_first_of(" \t"));
    if (name == kNoTransactionDirective) {
      directives.no_transaction = true;
    } else if (name == kDownIsNoopDirective) {
      directives.down_is_noop = true;
    } else if (name == kLintIgnoreDirective) {
      continue;  // the linter's
    } else if (name == kTimeoutDirective) {
      absl::string_view value =
          absl::StripAsciiWhitespace(comment.substr(std::strlen(kTimeoutDirective)));
      absl::Duration timeout;
      if (!absl::ParseDuration(value, &timeout) || timeout <= absl::ZeroDuration()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_number, ": bad directive -- ", kTimeoutDirective, " \"",
                         value, "\" (want a positive duration such as 30s, 5m or 1h)"));
      }
      directives.timeout = timeout;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number, ": unknown directive -- ", name.substr(0, 64), " (known: -- ",
          kNoTransactionDirective, ", -- ", kTimeoutDirective, " <duration>, -- ",
          kDownIsNoopDirective, ", -- ", kLintIgnoreDirective, " <rule> <reason>)"));
    }
  }
  return directives;
}

bool IsEmptyScript(absl::string_view text) {
  // Also a file that only opens and commits a transaction ("BEGIN; COMMIT;"): the parser drops
  // such a wrapper, leaving no statement.
  static const auto* const kWrapperWords =
      new std::set<std::string>{"begin", "start", "transaction", "work", "commit", "end"};
  for (size_t pos = SkipTrivia(text, 0); pos < text.size(); pos = SkipTrivia(text, pos)) {
    if (text[pos] == ';') {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[end]))) ++end;
    if (end == pos ||
        kWrapperWords->count(absl::AsciiStrToLower(text.substr(pos, end - pos))) == 0) {
      return false;
    }
    pos = end;
  }
  return true;
}

absl::StatusOr<Script> ParseScript(std::string text) {
  return ParseScript(std::make_shared<const std::string>(std::move(text)));
}

absl::StatusOr<Script> ParseScript(std::shared_ptr<const std::string> text) {
  const std::string& input = *text;
  // The parser reads a C string and its tree holds proto3 strings: NUL bytes and invalid UTF-8
  // would silently cut or break what the plan shows.
  if (absl::Status checked = CheckText(input); !checked.ok()) return checked;
  absl::StatusOr<Directives> directives = ReadDirectives(input);
  if (!directives.ok()) return directives.status();
  Script script;
  script.source = std::move(text);
  script.timeout = directives->timeout;
  script.down_is_noop = directives->down_is_noop;
  std::vector<TransactionFacts> facts;
  SCHEMAD_RETURN_IF_ERROR(ReadStatements(input, &script.statements, &facts));
  bool chained = false;
  for (const TransactionFacts& fact : facts) chained |= fact.chain;
  std::vector<Statement>& statements = script.statements;
  const size_t n = statements.size();
  // A file wrapped in its own BEGIN ... COMMIT: the author meant one transaction, which is what
  // we run anyway; drop the wrapper so its COMMIT cannot end our transaction early. BEGIN ...
  // ROLLBACK is how Sqitch writes verify scripts: dropped too, and the script says so (an up or
  // down file that undoes itself is refused by the planner).
  // A BEGIN with options (ISOLATION LEVEL, READ ONLY) is kept: the file runs as written.
  // A file whose last statement is ROLLBACK means to leave nothing, wrapper or not.
  const bool rolls_back = n >= 1 &&
                          IsKind(statements[n - 1], pg_query::TRANS_STMT_ROLLBACK, facts[n - 1]) &&
                          !facts[n - 1].chain;
  script.rolls_back = rolls_back;
  if (n >= 2 &&
      (IsKind(statements[0], pg_query::TRANS_STMT_BEGIN, facts[0]) ||
       IsKind(statements[0], pg_query::TRANS_STMT_START, facts[0])) &&
      !facts[0].options &&
      (IsKind(statements[n - 1], pg_query::TRANS_STMT_COMMIT, facts[n - 1]) || rolls_back) &&
      !facts[n - 1].chain) {
    bool inner_control = false;
    for (size_t i = 1; i + 1 < n; ++i) inner_control |= statements[i].transaction_control;
    if (!inner_control) {
      statements.pop_back();
      statements.erase(statements.begin());
      facts.pop_back();
      facts.erase(facts.begin());
      script.mode_reason = "the file's own BEGIN ... COMMIT: run as one transaction";
      if (rolls_back) script.mode_reason = "the file's own BEGIN ... ROLLBACK: checks, rolled back";
    }
  }

  int no_transaction_at = -1;
  int control_at = -1;
  for (size_t i = 0; i < statements.size(); ++i) {
    if (no_transaction_at < 0 && !statements[i].needs_no_transaction.empty()) no_transaction_at = i;
    if (control_at < 0 && statements[i].transaction_control) control_at = i;
  }
  const auto where = [&](int i) {
    return absl::StrCat("statement ", i + 1, " (line ", statements[i].line, ")");
  };
  if (directives->no_transaction) {
    script.mode = TransactionMode::kNonTransactional;
    script.mode_reason = absl::StrCat("directive -- ", kNoTransactionDirective,
                                      ": statement by statement, each committed with its progress");
  } else if (control_at >= 0) {
    script.mode = TransactionMode::kNonTransactional;
    script.mode_reason =
        absl::StrCat(where(control_at),
                     " is its own transaction control: statement by statement as written, the "
                     "file's own transactions deciding what commits");
  } else if (no_transaction_at >= 0) {
    script.mode = TransactionMode::kNonTransactional;
    script.mode_reason = absl::StrCat(where(no_transaction_at), ": ",
                                      statements[no_transaction_at].needs_no_transaction,
                                      " cannot run in a transaction: statement by statement");
  } else if (chained) {
    script.mode = TransactionMode::kChained;
    script.mode_reason =
        "COMMIT AND CHAIN: one transaction opened by schemad, each COMMIT AND CHAIN a durable "
        "checkpoint, the history row in the last segment";
  }
  if (chained && script.mode == TransactionMode::kNonTransactional) {
    for (size_t i = 0; i < statements.size(); ++i) {
      if (facts[i].chain && no_transaction_at >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where(i), ": AND CHAIN needs a transaction, but ", where(no_transaction_at), " (",
            statements[no_transaction_at].needs_no_transaction,
            ") cannot run in one: split the file"));
      }
    }
  }
  return script;
}

std::vector<std::string> StatementKinds() {
  std::vector<std::string> kinds;
  const auto* node = pg_query::Node::descriptor();
  for (int i = 0; i < node->field_count(); ++i) {
    const auto* type = node->field(i)->message_type();
    if (type != nullptr && absl::EndsWith(type->name(), "Stmt")) kinds.push_back(type->name());
  }
  return kinds;
}

}  // namespace schemad::sql
