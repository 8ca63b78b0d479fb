// A migration file as the PostgreSQL parser sees it: its statements, where each starts, and
// whether the file can run inside one transaction.
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace schemad::sql {

struct Statement {
  std::string text;  // as written in the file, without the trailing ';'
  int line = 1;      // 1-based line of its first token
  std::string kind;  // the statement's node type, e.g. "IndexStmt"
  // Why this statement can never run in a transaction block ("CREATE INDEX CONCURRENTLY"),
  // empty when it can.
  std::string needs_no_transaction;
  // BEGIN / COMMIT / ROLLBACK / SAVEPOINT … written in the file itself.
  bool transaction_control = false;
};

enum class TransactionMode { kTransactional, kNonTransactional };

struct Script {
  std::vector<Statement> statements;
  TransactionMode mode = TransactionMode::kTransactional;
  // Why the mode was chosen, for the plan ("statement 2: CREATE INDEX CONCURRENTLY").
  std::string mode_reason;
};

// The directive that forces a file to run outside a transaction, as a leading comment.
inline constexpr char kNoTransactionDirective[] = "schemad:no-transaction";

// Parses a migration file with the PostgreSQL 15 grammar. Empty and comment-only text gives no
// statements. A file wrapped in its own BEGIN ... COMMIT runs as one transaction without them;
// other transaction control makes it non-transactional. Thread-safe.
// Returns INVALID_ARGUMENT "line N: <parser message>" on a syntax error.
absl::StatusOr<Script> ParseScript(absl::string_view text);

}  // namespace schemad::sql
