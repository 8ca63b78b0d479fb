#include "server/engine/admission.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace schemad::engine {

absl::StatusOr<std::vector<std::string>> CheckRunAllowed(const Plan& plan,
                                                         const std::vector<sql::LintFinding>& lint,
                                                         const AdmissionRequest& request) {
  const std::string& operation = request.operation;
  if (!plan.refusal.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(operation, " refused: ", plan.refusal));
  }
  std::vector<std::string> overrides;
  if (request.allow_out_of_order) overrides.push_back("allow_out_of_order");
  if (request.accept_checksum_drift) overrides.push_back("accept_checksum_drift");
  if (request.lint_block_severity > 0) {
    std::vector<std::string> blocking;
    for (const sql::LintFinding& finding : lint) {
      if (finding.suppressed || static_cast<int>(finding.severity) < request.lint_block_severity) {
        continue;
      }
      blocking.push_back(absl::StrCat(finding.rule, " at ", finding.file, ":", finding.line, " (",
                                      finding.message, ")"));
    }
    if (!blocking.empty()) {
      if (request.lint_override_reason.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            operation, " refused: lint policy of ", request.environment, " blocks ",
            blocking.size(), " finding(s): ", absl::StrJoin(blocking, "; "),
            " (fix them, suppress with -- schemad:lint-ignore RULE reason, or give an override "
            "reason)"));
      }
      overrides.push_back(absl::StrCat("lint override (", blocking.size(),
                                       " finding(s)): ", request.lint_override_reason));
    }
  }
  if (!request.expected_plan_hash.empty() && request.expected_plan_hash != plan.plan_hash) {
    return absl::FailedPreconditionError(absl::StrCat(
        operation, " refused: the state moved since the plan was made (expected plan hash ",
        request.expected_plan_hash, ", now ", plan.plan_hash, "); plan again"));
  }
  return overrides;
}

}  // namespace schemad::engine
