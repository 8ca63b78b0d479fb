// Internal to server/sql: runs libpg_query and decodes its protobuf parse tree.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pg_query.pb.h"

namespace schemad::sql {

// Parses `text` with the PostgreSQL 15 grammar. Returns INVALID_ARGUMENT "line N: message" on
// a syntax error.
absl::StatusOr<pg_query::ParseResult> ParseTree(const std::string& text);

// Parses `text` and calls `each(tree, base, end)` for the parse tree of text[base, end), its
// statement locations relative to `base`; pieces come in order and cover the whole text.
// Files up to 1 MiB are one piece. Larger ones are cut where the scanner sees statements end,
// about 1 MiB a piece, so the tree of a 50 MB data file never exists at once. The scanner can
// cut inside a statement the grammar reads as one (BEGIN ATOMIC … END bodies): when a piece does
// not parse on its own, `restart()` is called and the whole text is parsed as one piece, which
// gives the true answer or error. Returns INVALID_ARGUMENT "line N: message" on a syntax error.
absl::Status ForEachStatementTree(
    const std::string& text, const std::function<void()>& restart,
    const std::function<void(const pg_query::ParseResult&, size_t base, size_t end)>& each);

// 1-based line of byte `offset` in `text`.
int LineAt(absl::string_view text, size_t offset);

// Line numbers of increasing offsets in one text, in linear total time.
class LineCounter {
 public:
  explicit LineCounter(absl::string_view text) : text_(text) {}
  // 1-based line of byte `offset`; offsets must not decrease between calls.
  int LineAt(size_t offset);

 private:
  absl::string_view text_;
  size_t offset_ = 0;
  int line_ = 1;
};

// Offset of the first token at or after `pos` (skips white space and comments).
size_t SkipTrivia(absl::string_view text, size_t pos);

}  // namespace schemad::sql
