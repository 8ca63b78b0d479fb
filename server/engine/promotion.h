// The promotion gate: a target whose environment promotes from another accepts only revisions
// that a target of the same catalog there has applied with the same checksum, at least `soak`
// ago, and still has (a rollback there withdraws the evidence).
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/config/config.h"
#include "server/db/history_store.h"
#include "server/engine/planner.h"

namespace schemad::engine {

// What one target of the source environment has applied, or why it could not be read.
struct PromotionSource {
  std::string target;
  std::vector<db::AppliedRevision> applied;
  std::string error;
};

// Fills each up step's promotion evidence (the first source that has it, soaked) or what is
// missing, and plan->not_promoted. Nothing for down steps or without promote_from.
void CheckPromotion(const EnvironmentConfig& environment, const std::string& catalog,
                    const std::vector<PromotionSource>& sources, absl::Time now, Plan* plan);

}  // namespace schemad::engine
