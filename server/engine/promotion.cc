#include "server/engine/promotion.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/catalog/catalog.h"

namespace schemad::engine {
namespace {

std::string Utc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

}  // namespace

void CheckPromotion(const EnvironmentConfig& environment, const std::string& catalog,
                    const std::vector<PromotionSource>& sources, absl::Time now, Plan* plan) {
  if (environment.promote_from.empty() || plan->direction != Direction::kUp) return;
  for (PlanStep& step : plan->steps) {
    const std::string& version = step.revision->version;
    std::vector<std::string> missing;
    for (const PromotionSource& source : sources) {
      if (!source.error.empty()) {
        missing.push_back(absl::StrCat(source.target, " could not be read (", source.error, ")"));
        continue;
      }
      const db::AppliedRevision* applied = nullptr;
      for (const db::AppliedRevision& revision : source.applied) {
        if (VersionKey(revision.version) == VersionKey(version)) applied = &revision;
      }
      if (applied == nullptr) {
        missing.push_back(absl::StrCat(source.target, " has not applied it"));
      } else if (applied->checksum != step.file->checksum) {
        missing.push_back(absl::StrCat(source.target, " applied another file (checksum ",
                                       applied->checksum, ", this one ", step.file->checksum, ")"));
      } else if (now - applied->applied_at < environment.soak) {
        missing.push_back(absl::StrCat(source.target, " applied it at ", Utc(applied->applied_at),
                                       ", soaking until ",
                                       Utc(applied->applied_at + environment.soak), " (soak ",
                                       absl::FormatDuration(environment.soak), ")"));
      } else {
        step.promoted = true;
        step.promotion = absl::StrCat("promoted: ", source.target, " applied ", version, " at ",
                                      Utc(applied->applied_at), " by ", applied->applied_by,
                                      ", run ", applied->run_id);
        break;
      }
    }
    if (step.promoted) continue;
    if (sources.empty()) {
      missing.push_back(absl::StrCat("no target of catalog ", catalog, " is in environment ",
                                     environment.promote_from));
    }
    step.promotion = absl::StrCat("not promoted: ", absl::StrJoin(missing, "; "));
    plan->not_promoted.push_back(version);
    plan->not_promoted_why.push_back(absl::StrCat(version, ": ", absl::StrJoin(missing, "; ")));
  }
}

}  // namespace schemad::engine
