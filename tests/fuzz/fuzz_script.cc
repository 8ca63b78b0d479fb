// Script splitting and classification: any text (NUL bytes and invalid UTF-8 included) parses into
// statements that lie inside it, on lines that exist, or is refused with a message naming a line.
#include <algorithm>

#include "absl/strings/match.h"
#include "server/sql/script.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<schemad::sql::Script> script = schemad::sql::ParseScript(std::string(text));
  if (!script.ok()) {
    FUZZ_CHECK(absl::StrContains(script.status().message(), "line "));
    return 0;
  }
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const schemad::sql::Statement& statement : script->statements) {
    FUZZ_CHECK(statement.line >= 1 && statement.line <= lines);
    FUZZ_CHECK(!statement.kind.empty());
    FUZZ_CHECK(text.find(statement.text) != absl::string_view::npos);
    if (!statement.needs_no_transaction.empty()) {
      FUZZ_CHECK(script->mode != schemad::sql::TransactionMode::kTransactional);
    }
  }
  FUZZ_CHECK(!script->mode_reason.empty() ||
             script->mode == schemad::sql::TransactionMode::kTransactional);
  return 0;
}
