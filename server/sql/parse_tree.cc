#include "server/sql/parse_tree.h"

#include <pg_query.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

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

}  // namespace

int LineAt(absl::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

int LineCounter::LineAt(size_t offset) {
  offset = std::min(offset, text_.size());
  if (offset < offset_) return schemad::sql::LineAt(text_, offset);
  line_ += static_cast<int>(std::count(text_.begin() + offset_, text_.begin() + offset, '\n'));
  offset_ = offset;
  return line_;
}

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

absl::StatusOr<pg_query::ParseResult> ParseTree(const std::string& text) {
  ParseResultHolder holder(text);
  const PgQueryProtobufParseResult& result = holder.get();
  if (result.error != nullptr) {
    // The parser's cursor counts characters, not bytes (unlike statement locations).
    const size_t chars = result.error->cursorpos > 0 ? result.error->cursorpos - 1 : 0;
    size_t position = 0;
    for (size_t seen = 0; position < text.size() && seen < chars; ++seen) {
      ++position;
      while (position < text.size() &&
             (static_cast<unsigned char>(text[position]) & 0xC0) == 0x80) {
        ++position;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("line ", LineAt(text, position), ": ", result.error->message));
  }
  pg_query::ParseResult tree;
  if (!tree.ParseFromArray(result.parse_tree.data, static_cast<int>(result.parse_tree.len))) {
    return absl::InternalError("cannot decode the parse tree");
  }
  return tree;
}

absl::Status ForEachStatementTree(
    const std::string& text, const std::function<void()>& restart,
    const std::function<void(const pg_query::ParseResult&, size_t base, size_t end)>& each) {
  constexpr size_t kPieceBytes = 1 << 20;
  if (text.size() > kPieceBytes) {
    std::vector<std::pair<size_t, size_t>> cuts;  // (offset, length) of each statement
    PgQuerySplitResult split = pg_query_split_with_scanner(text.c_str());
    if (split.error == nullptr) {
      cuts.reserve(split.n_stmts);
      for (int i = 0; i < split.n_stmts; ++i) {
        cuts.emplace_back(split.stmts[i]->stmt_location, split.stmts[i]->stmt_len);
      }
    }
    pg_query_free_split_result(split);
    bool pieces_ok = !cuts.empty();
    for (size_t first = 0; first < cuts.size() && pieces_ok;) {
      size_t last = first;
      while (last + 1 < cuts.size() &&
             cuts[last + 1].first + cuts[last + 1].second - cuts[first].first <= kPieceBytes) {
        ++last;
      }
      // The first piece starts at 0: text the scanner put before its first statement is parsed.
      const size_t base = first == 0 ? 0 : cuts[first].first;
      const size_t end = last + 1 < cuts.size() ? cuts[last + 1].first : text.size();
      absl::StatusOr<pg_query::ParseResult> tree = ParseTree(text.substr(base, end - base));
      if (!tree.ok()) {
        pieces_ok = false;
        break;
      }
      each(*tree, base, end);
      first = last + 1;
    }
    if (pieces_ok) return absl::OkStatus();
    restart();
  }
  absl::StatusOr<pg_query::ParseResult> tree = ParseTree(text);
  if (!tree.ok()) return tree.status();
  each(*tree, 0, text.size());
  return absl::OkStatus();
}

}  // namespace schemad::sql
