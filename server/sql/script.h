// A migration file as the PostgreSQL parser sees it: its statements, where each starts, and
// whether the file can run inside one transaction.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace schemad::sql {

// One statement of a Script. Small (a 50 MB data file has half a million of them): its text is
// a view into the Script's source, its kind and reason are static strings.
struct Statement {
  absl::string_view text;  // as written in the file, without the trailing ';'
  int line = 1;            // 1-based line of its first token
  absl::string_view kind;  // the statement's node type, e.g. "IndexStmt"
  // Why this statement can never run in a transaction block ("CREATE INDEX CONCURRENTLY"),
  // empty when it can.
  absl::string_view needs_no_transaction;
  // BEGIN / COMMIT / ROLLBACK … written in the file itself. The SAVEPOINT family and
  // COMMIT/ROLLBACK AND CHAIN are not: they work inside the transaction the runner opens.
  bool transaction_control = false;
  // COMMIT AND CHAIN: ends a durable segment of a chained file.
  bool commit_and_chain = false;
  // CREATE INDEX CONCURRENTLY: the index it builds, quoted ("s"."name" or "name"), when named.
  std::string concurrent_index;
};

// kTransactional: the whole file in one transaction with its history row. kNonTransactional:
// statement by statement. kChained: inside one transaction that the runner opens, each
// COMMIT AND CHAIN a durable checkpoint, the history row in the last segment.
enum class TransactionMode { kTransactional, kNonTransactional, kChained };

struct Script {
  // The text the statements' views point into, shared (copies of a Script stay valid).
  std::shared_ptr<const std::string> source;
  std::vector<Statement> statements;
  TransactionMode mode = TransactionMode::kTransactional;
  // Why the mode was chosen and what will happen, for the plan.
  std::string mode_reason;
  // The file was wrapped in its own BEGIN ... ROLLBACK (dropped): it means to leave nothing.
  bool rolls_back = false;
  // Directives (leading comments): -- schemad:timeout 30s, -- schemad:down-is-noop.
  std::optional<absl::Duration> timeout;
  bool down_is_noop = false;
};

// Directives, written as leading SQL comments of a file (`-- schemad:no-transaction`). Any
// other `-- schemad:` word there is an error (a misspelt directive must not be ignored).
inline constexpr char kNoTransactionDirective[] = "schemad:no-transaction";
inline constexpr char kTimeoutDirective[] = "schemad:timeout";
inline constexpr char kDownIsNoopDirective[] = "schemad:down-is-noop";
// Read by the linter (sql/lint.h), anywhere in a file: -- schemad:lint-ignore RULE reason.
inline constexpr char kLintIgnoreDirective[] = "schemad:lint-ignore";

// A file's directives, read from its leading comment lines (no parsing of SQL).
struct Directives {
  bool no_transaction = false;
  std::optional<absl::Duration> timeout;
  bool down_is_noop = false;
};
// INVALID_ARGUMENT "line N: …" for an unknown `-- schemad:` word or a bad value.
absl::StatusOr<Directives> ReadDirectives(absl::string_view text);

// Whether `text` holds no statement: only whitespace, comments and semicolons. Cheap (no
// parser), for deciding at load whether a down file undoes anything.
bool IsEmptyScript(absl::string_view text);

// Parses a migration file with the PostgreSQL 15 grammar. Empty and comment-only text gives no
// statements. A file wrapped in its own BEGIN ... COMMIT runs as one transaction without them;
// other transaction control makes it non-transactional. Thread-safe.
// Returns INVALID_ARGUMENT "line N: <parser message>" on a syntax error or a bad directive.
// The Script shares `text` (no copy of it).
absl::StatusOr<Script> ParseScript(std::shared_ptr<const std::string> text);
absl::StatusOr<Script> ParseScript(std::string text);

// Where the statements of `text` start, as the scanner splits it, scanning `window_bytes` at a
// time (its memory grows with the text it scans: a 50 MB file scanned at once takes four times
// that); the same as one scan of the whole text. Empty when the scanner fails (an unterminated
// literal or comment).
std::vector<size_t> StatementStarts(const std::string& text, size_t window_bytes = 2 << 20);

// Every statement node kind of the grammar ("IndexStmt", "VacuumStmt", …): the parse-tree node
// types whose names end in "Stmt". For tests that prove the classifier covers them all.
std::vector<std::string> StatementKinds();

}  // namespace schemad::sql
