// Internal to server/sql: runs libpg_query and decodes its protobuf parse tree.
#pragma once

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

// Where the scanner sees statements end: (offset, length) of each, for cutting a large file
// into pieces the parser can take one at a time. Cheap (no parse tree). The scanner can cut
// inside a statement the grammar reads as one (BEGIN ATOMIC … END bodies): a piece that then
// does not parse must be re-read with the whole file.
std::vector<std::pair<size_t, size_t>> ScannerStatements(const std::string& text);

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
