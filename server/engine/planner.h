// The planner: a pure function of (catalog, recorded history, request) -> ordered steps, the
// warnings that go with them, and a plan hash that pins all of it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/catalog/catalog.h"
#include "server/common/refusal.h"
#include "server/db/history_store.h"
#include "server/db/run_journal.h"
#include "server/sql/lint.h"

namespace schemad::engine {

enum class Direction { kUp, kDown };

struct PlanRequest {
  Direction direction = Direction::kUp;
  // Up: target version (empty: latest). Down: version to roll back to ("0": everything).
  std::string to_version;
  // Down: roll back this many applied revisions instead.
  int steps = 0;
  bool allow_out_of_order = false;
  bool accept_checksum_drift = false;
  // The release to plan (digest or label); empty: the newest (engine.h, CatalogFor).
  std::string release;
};

struct PlanStep {
  const Revision* revision = nullptr;
  Direction direction = Direction::kUp;
  const MigrationFile* file = nullptr;
  sql::TransactionMode mode = sql::TransactionMode::kTransactional;
  bool transactional = true;  // mode == kTransactional
  std::string transaction_reason;
  // The target's version once this step is done.
  std::string version_after;
  // Filled by the promotion gate (promotion.h): the evidence, or what is missing.
  std::string promotion;
  bool promoted = false;
};

struct Plan {
  // The catalog the plan is of (its steps point into it); set by the engine.
  std::shared_ptr<const Catalog> catalog;
  std::string target;
  Direction direction = Direction::kUp;
  std::string from_version;
  std::string to_version;
  std::vector<PlanStep> steps;
  std::vector<std::string> warnings;
  // Why Apply would refuse this plan (FAILED_PRECONDITION), empty when it may run, and the
  // refusal's typed reason.
  std::string refusal;
  Refusal why_refused;
  std::string plan_hash;
  // Filled by the engine: lint findings of the up steps, and the live tables' estimated rows.
  std::vector<sql::LintFinding> lint;
  std::map<std::string, double> table_rows;
  // Filled by the promotion gate: up steps the source environment has not promoted, and why.
  std::vector<std::string> not_promoted;
  std::vector<std::string> not_promoted_why;
};

// A step of a plan; its file is parsed here (the first time it is needed), so a syntax error
// refuses the plan, naming the file and line, before anything runs. `revision` must have a
// down file for kDown. `with_checks`: also the up's verify script (its rules checked).
absl::StatusOr<PlanStep> MakeStep(const Revision& revision, Direction direction,
                                  bool with_checks = true);

// The request's own checks (no catalog needed): steps not negative, to_version a version.
// Returns INVALID_ARGUMENT naming the field.
absl::Status CheckPlanRequest(const PlanRequest& request);

// Whether `text` has the shape of a plan hash: 64 lower-case hex digits.
bool IsPlanHash(absl::string_view text);

// Computes the plan. Writes nothing. Returns NOT_FOUND for a version not in the catalog,
// INVALID_ARGUMENT for contradictory fields, FAILED_PRECONDITION when rolling back across a
// revision without a down file or one missing from the catalog.
absl::StatusOr<Plan> MakePlan(const std::string& target, const Catalog& catalog,
                              const std::vector<db::AppliedRevision>& applied,
                              const std::optional<db::RunRecord>& blocking_run,
                              const PlanRequest& request);

// Applied revisions whose file changed since (version -> catalog checksum).
std::vector<std::string> DriftedVersions(const Catalog& catalog,
                                         const std::vector<db::AppliedRevision>& applied);

// Human summary of a blocking run, for refusals and warnings.
std::string DescribeBlockingRun(const db::RunRecord& run);

}  // namespace schemad::engine
