// Admission of a run: the pure decision whether a plan may run for a request (blocking run,
// drift, out of order, lint policy, plan hash), with the overrides it used.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/config.h"
#include "server/engine/planner.h"

namespace schemad::engine {

struct AdmissionRequest {
  std::string operation;  // "apply" / "rollback", for messages
  std::string expected_plan_hash;
  bool allow_out_of_order = false;
  bool accept_checksum_drift = false;
  std::string lint_override_reason;
  std::string override_promotion_reason;
  // Who applies, and the principals other than them whose approval of this plan hash is
  // recent enough (environment.approvals > 0); `approvals_note` says what did not count.
  std::string principal;
  std::vector<std::string> approvers;
  std::string approvals_note;
  // The target's environment: its name, lint policy, whether it needs a plan hash, where it
  // promotes from.
  EnvironmentConfig environment;
};

// Returns the overrides the run uses (for the journal), or FAILED_PRECONDITION saying why the
// plan may not run, in this order: the planner's refusal, no plan hash where the environment
// requires one, a plan hash that moved, revisions not promoted without an override reason,
// lint findings the policy blocks without an override reason.
absl::StatusOr<std::vector<std::string>> CheckRunAllowed(const Plan& plan,
                                                         const std::vector<sql::LintFinding>& lint,
                                                         const AdmissionRequest& request);

}  // namespace schemad::engine
