// Why schemad refuses: a machine-readable reason for every FAILED_PRECONDITION and ABORTED,
// carried as a payload of the absl::Status from the layer that refuses to the API, which sends
// it in the gRPC status details as a schemad.v1.Refusal.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace schemad {

// The names match schemad.v1.Refusal.Reason (without the enum prefix).
enum class RefusalReason {
  kFailedRun,           // a failed or interrupted run blocks the target (resolve it)
  kChecksumDrift,       // an applied revision's file changed since it was applied
  kStalePlan,           // expected_plan_hash no longer matches the plan
  kOutOfOrder,          // a pending revision is older than the newest applied one
  kIrreversible,        // a rollback crosses a revision without a down file
  kLintPolicy,          // lint findings the environment's policy blocks
  kNotPromoted,         // the source environment has not applied (and soaked) the revisions
  kNeedsApproval,       // the environment needs an approval of this plan hash
  kNeedsPlanHash,       // the environment needs expected_plan_hash
  kLocked,              // another run holds the target's lock
  kMissingFromCatalog,  // an applied revision is no longer in the catalog
  kRequestIdReused,     // the request id was used for a different request
  kNothingToResolve,    // the run blocks nothing
  kFileChanged,         // resolve --retry: the file changed since the run
  kNewerSchemad,        // the bookkeeping schema was written by a newer schemad
  kLockLost,            // the run lost its lock to another run
  kConflict,            // the database aborted the transaction (serialization, deadlock)
  kReleaseEdit,         // a release would change a revision an earlier release has
  kNeedsControl,        // the call needs a control database, and there is none
  kShadowVersion,       // the shadow server's major version is not the target's
  kDrift,               // the schema drifted from the catalog (drift_gate) and it is not accepted
  kNeedsRehearsal,      // the environment needs a successful rehearsal of this plan hash
};

struct Refusal {
  RefusalReason reason = RefusalReason::kFailedRun;
  // The revisions it concerns, in order.
  std::vector<std::string> versions;
  // Facts that explain it, by name ("run_id", "expected_plan_hash", "environment", …).
  std::vector<std::pair<std::string, std::string>> facts;
};

// "FAILED_RUN", "CHECKSUM_DRIFT", …
absl::string_view RefusalReasonName(RefusalReason reason);

// A status of `code` with `message` that carries `refusal`.
absl::Status Refuse(absl::StatusCode code, absl::string_view message, const Refusal& refusal);

// Shorthands for the two codes refusals come with.
absl::Status FailedPrecondition(RefusalReason reason, absl::string_view message,
                                std::vector<std::string> versions = {},
                                std::vector<std::pair<std::string, std::string>> facts = {});
absl::Status Aborted(RefusalReason reason, absl::string_view message,
                     std::vector<std::pair<std::string, std::string>> facts = {});

// The refusal `status` carries, if any.
std::optional<Refusal> RefusalOf(const absl::Status& status);

}  // namespace schemad
