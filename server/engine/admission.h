// Admission of a run: the pure decision whether a plan may run for a request (blocking run,
// drift, out of order, lint policy, plan hash), with the overrides it used.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/engine/planner.h"

namespace schemad::engine {

struct AdmissionRequest {
  std::string operation;  // "apply" / "rollback", for messages
  std::string expected_plan_hash;
  bool allow_out_of_order = false;
  bool accept_checksum_drift = false;
  std::string lint_override_reason;
  // Findings at or above this severity block (0: none block), and the environment's name.
  int lint_block_severity = 0;
  std::string environment;
};

// Returns the overrides the run uses (for the journal), or FAILED_PRECONDITION saying why the
// plan may not run: the planner's refusal, lint findings the policy blocks without an override
// reason, or a plan hash that moved.
absl::StatusOr<std::vector<std::string>> CheckRunAllowed(const Plan& plan,
                                                         const std::vector<sql::LintFinding>& lint,
                                                         const AdmissionRequest& request);

}  // namespace schemad::engine
