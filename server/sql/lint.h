// Lint: PostgreSQL migration hazards, told apart by context. A table created earlier in the
// same plan is empty and unseen by the application, so lock and rewrite rules do not fire on it.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/sql/lineage.h"

namespace schemad::sql {

enum class Severity { kInfo = 1, kWarning = 2, kError = 3 };
std::string SeverityName(Severity severity);

struct LintRule {
  std::string id;
  Severity severity;
  std::string explanation;  // one line: why it hurts
  std::string alternative;  // the safe way
  std::string lock;         // the lock it takes, "" when none matters
};

// Every rule, in a stable order.
const std::vector<LintRule>& LintRules();

struct LintFinding {
  std::string rule;
  Severity severity = Severity::kWarning;
  std::string file;
  int line = 0;
  std::string table;   // schema-qualified, when the finding is about a table
  std::string object;  // what it is about: "public.users.email", an index name…
  std::string message;
  std::string alternative;
  std::string lock;
  bool suppressed = false;
  std::string suppression_reason;
};

// Lints files in plan order, remembering what the plan has created so far. Not thread-safe.
class Linter {
 public:
  // Tables that exist but are new to this plan (e.g. created by an earlier step) may be passed
  // as `created_in_plan`.
  explicit Linter(std::set<std::string> created_in_plan = {})
      : created_in_plan_(std::move(created_in_plan)) {}

  // Findings for one file. `text` is scanned for `-- schemad:lint-ignore RULE reason`.
  std::vector<LintFinding> LintFile(const std::string& file, absl::string_view text,
                                    const Lineage& lineage);

 private:
  std::set<std::string> created_in_plan_;
};

}  // namespace schemad::sql
