#include "server/common/refusal.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace schemad {
namespace {

constexpr absl::string_view kPayloadUrl = "type.googleapis.com/schemad.v1.Refusal";

// The payload: reason, version count, versions, then name/value pairs, separated by NUL bytes
// (no field holds one: CheckText refuses them in catalog text).
constexpr char kSeparator = '\0';

constexpr RefusalReason kAll[] = {
    RefusalReason::kFailedRun,
    RefusalReason::kChecksumDrift,
    RefusalReason::kStalePlan,
    RefusalReason::kOutOfOrder,
    RefusalReason::kIrreversible,
    RefusalReason::kLintPolicy,
    RefusalReason::kNotPromoted,
    RefusalReason::kNeedsApproval,
    RefusalReason::kNeedsPlanHash,
    RefusalReason::kLocked,
    RefusalReason::kMissingFromCatalog,
    RefusalReason::kRequestIdReused,
    RefusalReason::kNothingToResolve,
    RefusalReason::kFileChanged,
    RefusalReason::kNewerSchemad,
    RefusalReason::kLockLost,
    RefusalReason::kConflict,
    RefusalReason::kReleaseEdit,
    RefusalReason::kNeedsControl,
    RefusalReason::kShadowVersion,
    RefusalReason::kDrift,
    RefusalReason::kNeedsRehearsal,
};

}  // namespace

absl::string_view RefusalReasonName(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kFailedRun:
      return "FAILED_RUN";
    case RefusalReason::kChecksumDrift:
      return "CHECKSUM_DRIFT";
    case RefusalReason::kStalePlan:
      return "STALE_PLAN";
    case RefusalReason::kOutOfOrder:
      return "OUT_OF_ORDER";
    case RefusalReason::kIrreversible:
      return "IRREVERSIBLE";
    case RefusalReason::kLintPolicy:
      return "LINT_POLICY";
    case RefusalReason::kNotPromoted:
      return "NOT_PROMOTED";
    case RefusalReason::kNeedsApproval:
      return "NEEDS_APPROVAL";
    case RefusalReason::kNeedsPlanHash:
      return "NEEDS_PLAN_HASH";
    case RefusalReason::kLocked:
      return "LOCKED";
    case RefusalReason::kMissingFromCatalog:
      return "MISSING_FROM_CATALOG";
    case RefusalReason::kRequestIdReused:
      return "REQUEST_ID_REUSED";
    case RefusalReason::kNothingToResolve:
      return "NOTHING_TO_RESOLVE";
    case RefusalReason::kFileChanged:
      return "FILE_CHANGED";
    case RefusalReason::kNewerSchemad:
      return "NEWER_SCHEMAD";
    case RefusalReason::kLockLost:
      return "LOCK_LOST";
    case RefusalReason::kConflict:
      return "CONFLICT";
    case RefusalReason::kReleaseEdit:
      return "RELEASE_EDIT";
    case RefusalReason::kNeedsControl:
      return "NEEDS_CONTROL_DATABASE";
    case RefusalReason::kShadowVersion:
      return "SHADOW_VERSION";
    case RefusalReason::kDrift:
      return "DRIFT";
    case RefusalReason::kNeedsRehearsal:
      return "NEEDS_REHEARSAL";
  }
  return "UNKNOWN";
}

absl::Status Refuse(absl::StatusCode code, absl::string_view message, const Refusal& refusal) {
  std::string payload = absl::StrCat(RefusalReasonName(refusal.reason));
  absl::StrAppend(&payload, std::string(1, kSeparator), refusal.versions.size());
  for (const std::string& version : refusal.versions) {
    absl::StrAppend(&payload, std::string(1, kSeparator), version);
  }
  for (const auto& [name, value] : refusal.facts) {
    absl::StrAppend(&payload, std::string(1, kSeparator), name, std::string(1, kSeparator), value);
  }
  absl::Status status(code, message);
  status.SetPayload(kPayloadUrl, absl::Cord(payload));
  return status;
}

absl::Status FailedPrecondition(RefusalReason reason, absl::string_view message,
                                std::vector<std::string> versions,
                                std::vector<std::pair<std::string, std::string>> facts) {
  return Refuse(absl::StatusCode::kFailedPrecondition, message,
                Refusal{reason, std::move(versions), std::move(facts)});
}

absl::Status Aborted(RefusalReason reason, absl::string_view message,
                     std::vector<std::pair<std::string, std::string>> facts) {
  return Refuse(absl::StatusCode::kAborted, message, Refusal{reason, {}, std::move(facts)});
}

std::optional<Refusal> RefusalOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kPayloadUrl);
  if (!payload) return std::nullopt;
  const std::vector<std::string> parts =
      absl::StrSplit(std::string(*payload), absl::ByChar(kSeparator));
  Refusal refusal;
  bool known = false;
  for (RefusalReason reason : kAll) {
    if (RefusalReasonName(reason) == parts[0]) {
      refusal.reason = reason;
      known = true;
    }
  }
  size_t count = 0;
  if (!known || parts.size() < 2 || !absl::SimpleAtoi(parts[1], &count) ||
      parts.size() < 2 + count || (parts.size() - 2 - count) % 2 != 0) {
    return std::nullopt;
  }
  refusal.versions.assign(parts.begin() + 2, parts.begin() + 2 + count);
  for (size_t i = 2 + count; i + 1 < parts.size(); i += 2) {
    refusal.facts.emplace_back(parts[i], parts[i + 1]);
  }
  return refusal;
}

}  // namespace schemad
