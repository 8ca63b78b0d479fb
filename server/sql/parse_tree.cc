#include "server/sql/parse_tree.h"

#include <pg_query.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "server/sql/script.h"

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

namespace {

// The byte offset of character `chars` (0-based) of UTF-8 `text`: the parser's and the
// scanner's error positions count characters.
size_t ByteOffsetOfChar(absl::string_view text, size_t chars) {
  size_t position = 0;
  for (size_t seen = 0; position < text.size() && seen < chars; ++seen) {
    ++position;
    while (position < text.size() && (static_cast<unsigned char>(text[position]) & 0xC0) == 0x80) {
      ++position;
    }
  }
  return position;
}

// PostgreSQL nests `+ + + 1` or `a || b || c` one level per operator; protobuf's default limit
// of 100 levels refused such statements.
constexpr int kMaxTreeDepth = 10000;

bool DecodeTree(const PgQueryProtobuf& bytes, pg_query::ParseResult* tree) {
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data),
                                               static_cast<int>(bytes.len));
  input.SetRecursionLimit(kMaxTreeDepth);
  return tree->ParseFromCodedStream(&input);
}

// The line of the first statement of `text` whose tree nests deeper than kMaxTreeDepth.
int LineOfDeepStatement(const std::string& text) {
  PgQuerySplitResult split = pg_query_split_with_scanner(text.c_str());
  size_t offset = 0;
  for (int i = 0; split.error == nullptr && i < split.n_stmts; ++i) {
    const PgQuerySplitStmt& statement = *split.stmts[i];
    ParseResultHolder holder(text.substr(
        statement.stmt_location, statement.stmt_len > 0 ? statement.stmt_len : std::string::npos));
    pg_query::ParseResult tree;
    if (holder.get().error == nullptr && !DecodeTree(holder.get().parse_tree, &tree)) {
      offset = SkipTrivia(text, statement.stmt_location);
      break;
    }
  }
  pg_query_free_split_result(split);
  return LineAt(text, offset);
}

}  // namespace

absl::StatusOr<pg_query::ParseResult> ParseTree(const std::string& text) {
  ParseResultHolder holder(text);
  const PgQueryProtobufParseResult& result = holder.get();
  if (result.error != nullptr) {
    // The parser's cursor counts characters, not bytes (unlike statement locations).
    const size_t position =
        ByteOffsetOfChar(text, result.error->cursorpos > 0 ? result.error->cursorpos - 1 : 0);
    return absl::InvalidArgumentError(
        absl::StrCat("line ", LineAt(text, position), ": ", result.error->message));
  }
  pg_query::ParseResult tree;
  if (!DecodeTree(result.parse_tree, &tree)) {
    return absl::InvalidArgumentError(absl::StrCat("line ", LineOfDeepStatement(text),
                                                   ": the statement nests deeper than ",
                                                   kMaxTreeDepth, " levels"));
  }
  return tree;
}

// Each window starts at a statement and ends at a line end (where statements of large files
// end); its last statement may be cut short, so the next window starts there. A window that
// ends inside a literal or a comment ends before it; one that holds less than two statements
// is doubled.
std::vector<size_t> StatementStarts(const std::string& text, size_t window_bytes) {
  const size_t kWindowBytes = std::max<size_t>(window_bytes, 1);
  std::vector<size_t> starts;
  size_t pos = 0;
  size_t window = kWindowBytes;
  size_t end = 0;
  while (pos < text.size()) {
    if (end <= pos) {
      end = std::min(text.size(), pos + window);
      if (end < text.size()) {
        const size_t line_end = text.rfind('\n', end - 1);
        if (line_end != std::string::npos && line_end > pos) end = line_end + 1;
      }
    }
    const bool last_window = end == text.size();
    const std::string chunk = text.substr(pos, end - pos);
    PgQuerySplitResult split = pg_query_split_with_scanner(chunk.c_str());
    if (split.error != nullptr && last_window) {
      pg_query_free_split_result(split);
      return {};
    }
    if (split.error != nullptr) {
      // The window ends inside a literal, a dollar quote or a comment: end it right before
      // that token (the scanner names where it starts), or take a larger window.
      const size_t cut =
          split.error->cursorpos > 0 ? ByteOffsetOfChar(chunk, split.error->cursorpos - 1) : 0;
      pg_query_free_split_result(split);
      if (cut > 0 && pos + cut < end) {
        end = pos + cut;
      } else {
        window *= 2;
        end = 0;
      }
      continue;
    }
    if (!last_window && split.n_stmts < 2) {  // one statement longer than the window
      pg_query_free_split_result(split);
      window *= 2;
      end = 0;
      continue;
    }
    const int keep = last_window ? split.n_stmts : split.n_stmts - 1;
    for (int i = 0; i < keep; ++i) starts.push_back(pos + split.stmts[i]->stmt_location);
    const size_t next = last_window ? text.size() : pos + split.stmts[keep]->stmt_location;
    pg_query_free_split_result(split);
    pos = next;
    window = kWindowBytes;
    end = 0;
  }
  return starts;
}

absl::Status ForEachStatementTree(
    const std::string& text, const std::function<void()>& restart,
    const std::function<void(const pg_query::ParseResult&, size_t base, size_t end)>& each) {
  constexpr size_t kPieceBytes = 1 << 20;
  if (text.size() > kPieceBytes) {
    const std::vector<size_t> starts = StatementStarts(text);
    bool pieces_ok = !starts.empty();
    for (size_t first = 0; first < starts.size() && pieces_ok;) {
      // Statements first..next-1: as many as fit in a piece, at least one.
      size_t next = first + 1;
      while (next < starts.size() && starts[next] - starts[first] <= kPieceBytes) ++next;
      if (next < starts.size() && next > first + 1) --next;
      // The first piece starts at 0: text the scanner put before its first statement is parsed.
      const size_t base = first == 0 ? 0 : starts[first];
      const size_t end = next < starts.size() ? starts[next] : text.size();
      absl::StatusOr<pg_query::ParseResult> tree = ParseTree(text.substr(base, end - base));
      if (!tree.ok()) {
        pieces_ok = false;
        break;
      }
      each(*tree, base, end);
      first = next;
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
