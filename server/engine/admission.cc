#include "server/engine/admission.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/refusal.h"

namespace schemad::engine {

absl::StatusOr<std::vector<std::string>> CheckRunAllowed(const Plan& plan,
                                                         const std::vector<sql::LintFinding>& lint,
                                                         const AdmissionRequest& request) {
  const std::string& operation = request.operation;
  const EnvironmentConfig& environment = request.environment;
  if (!plan.refusal.empty()) {
    return Refuse(absl::StatusCode::kFailedPrecondition,
                  absl::StrCat(operation, " refused: ", plan.refusal), plan.why_refused);
  }
  if (environment.require_plan_hash && request.expected_plan_hash.empty()) {
    return FailedPrecondition(
        RefusalReason::kNeedsPlanHash,
        absl::StrCat(operation, " refused: environment ", environment.name,
                     " requires a plan hash; plan first: schemactl plan --target ", plan.target,
                     ", then pass its plan hash (", operation, " --plan-hash ", plan.plan_hash,
                     ")"),
        {}, {{"environment", environment.name}, {"plan_hash", plan.plan_hash}});
  }
  if (!request.expected_plan_hash.empty() && request.expected_plan_hash != plan.plan_hash) {
    return FailedPrecondition(
        RefusalReason::kStalePlan,
        absl::StrCat(operation,
                     " refused: the state moved since the plan was made (expected plan hash ",
                     request.expected_plan_hash, ", now ", plan.plan_hash, "); plan again"),
        {}, {{"expected_plan_hash", request.expected_plan_hash}, {"plan_hash", plan.plan_hash}});
  }
  std::vector<std::string> overrides;
  if (environment.approvals > 0) {
    const int have = static_cast<int>(request.approvers.size());
    if (have < environment.approvals) {
      return FailedPrecondition(
          RefusalReason::kNeedsApproval,
          absl::StrCat(operation, " refused: environment ", environment.name, " needs ",
                       environment.approvals, " approval(s) of plan ", plan.plan_hash,
                       " by someone other than ", request.principal, " within ",
                       absl::FormatDuration(environment.approval_ttl), "; it has ", have,
                       request.approvals_note, " (schemactl approve --target ", plan.target,
                       " --plan-hash ", plan.plan_hash, " --comment …)"),
          {},
          {{"plan_hash", plan.plan_hash},
           {"needed", absl::StrCat(environment.approvals)},
           {"have", absl::StrCat(have)}});
    }
    overrides.push_back(absl::StrCat("approved by ", absl::StrJoin(request.approvers, ", ")));
  }
  if (request.allow_out_of_order) overrides.push_back("allow_out_of_order");
  if (request.accept_checksum_drift) overrides.push_back("accept_checksum_drift");
  if (!plan.not_promoted.empty()) {
    if (request.override_promotion_reason.empty()) {
      return FailedPrecondition(
          RefusalReason::kNotPromoted,
          absl::StrCat(operation, " refused: not promoted from ", environment.promote_from, ": ",
                       absl::StrJoin(plan.not_promoted_why, "; "), " (apply them in ",
                       environment.promote_from,
                       " first; in an emergency an admin may override with a reason)"),
          plan.not_promoted,
          {{"environment", environment.name},
           {"promote_from", environment.promote_from},
           {"missing", absl::StrJoin(plan.not_promoted_why, "; ")}});
    }
    overrides.push_back(absl::StrCat("promotion override (", absl::StrJoin(plan.not_promoted, ", "),
                                     " not promoted from ", environment.promote_from,
                                     "): ", request.override_promotion_reason));
  }
  if (environment.lint_block_severity > 0) {
    std::vector<std::string> blocking;
    for (const sql::LintFinding& finding : lint) {
      if (finding.suppressed ||
          static_cast<int>(finding.severity) < environment.lint_block_severity) {
        continue;
      }
      blocking.push_back(absl::StrCat(finding.rule, " at ", finding.file, ":", finding.line, " (",
                                      finding.message, ")"));
    }
    if (!blocking.empty()) {
      if (request.lint_override_reason.empty()) {
        return FailedPrecondition(
            RefusalReason::kLintPolicy,
            absl::StrCat(operation, " refused: lint policy of ", environment.name, " blocks ",
                         blocking.size(), " finding(s): ", absl::StrJoin(blocking, "; "),
                         " (fix them, suppress with -- schemad:lint-ignore RULE reason, or give "
                         "an override reason)"),
            {}, {{"environment", environment.name}, {"findings", absl::StrCat(blocking.size())}});
      }
      overrides.push_back(absl::StrCat("lint override (", blocking.size(),
                                       " finding(s)): ", request.lint_override_reason));
    }
  }
  return overrides;
}

}  // namespace schemad::engine
