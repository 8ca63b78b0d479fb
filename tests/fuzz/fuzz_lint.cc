// Lineage and lint over any text the loader accepts: no crash, no hang, findings on real lines.
#include <algorithm>

#include "server/sql/lineage.h"
#include "server/sql/lint.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  if (!schemad::fuzz::IsLoaderText(text)) return 0;
  absl::StatusOr<schemad::sql::Lineage> lineage = schemad::sql::AnalyzeLineage(text);
  if (!lineage.ok()) return 0;
  schemad::sql::Linter linter;
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const schemad::sql::LintFinding& finding : linter.LintFile("fuzz.up.sql", text, *lineage)) {
    FUZZ_CHECK(!finding.rule.empty());
    FUZZ_CHECK(finding.line >= 0 && finding.line <= lines);
  }
  return 0;
}
