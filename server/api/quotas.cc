#include "server/api/quotas.h"

#include "absl/strings/str_cat.h"

namespace schemad::api {

Quotas::Ticket& Quotas::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    quotas_ = other.quotas_;
    caller_ = std::move(other.caller_);
    kind_ = other.kind_;
    other.quotas_ = nullptr;
  }
  return *this;
}

void Quotas::Ticket::Release() {
  if (quotas_ != nullptr) quotas_->Give(caller_, kind_);
  quotas_ = nullptr;
}

absl::StatusOr<Quotas::Ticket> Quotas::Take(const std::string& caller, Kind kind) {
  absl::MutexLock lock(&mu_);
  if (kind == Kind::kChange || kind == Kind::kPlan) return Ticket(this, caller, kind);
  if (kind == Kind::kSyncRead && sync_reads_ >= sync_reads_max_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server has ", sync_reads_, " reads in flight, the most it takes (max_threads ",
        "less limits.reserved_for_changes, which stay free for Apply and Rollback)"));
  }
  Usage& usage = by_caller_[caller];
  // A refusal keeps no entry for a caller that holds nothing.
  auto refuse = [&](absl::Status why) {
    if (usage.watches == 0 && usage.calls == 0) by_caller_.erase(caller);
    return why;
  };
  switch (kind) {
    case Kind::kWatch:
      if (usage.watches >= limits_.watches_per_caller) {
        return refuse(absl::ResourceExhaustedError(absl::StrCat(
            caller, " holds ", usage.watches, " open WatchVersion streams, the most one caller ",
            "may hold (limits.watches_per_caller)")));
      }
      ++usage.watches;
      break;
    case Kind::kSyncRead:
    case Kind::kCall:
      if (usage.calls >= limits_.calls_per_caller) {
        return refuse(absl::ResourceExhaustedError(
            absl::StrCat(caller, " has ", usage.calls, " calls in flight, the most one caller ",
                         "may have (limits.calls_per_caller)")));
      }
      ++usage.calls;
      if (kind == Kind::kSyncRead) ++sync_reads_;
      break;
    case Kind::kChange:
    case Kind::kPlan:
      break;
  }
  return Ticket(this, caller, kind);
}

void Quotas::Give(const std::string& caller, Kind kind) {
  absl::MutexLock lock(&mu_);
  auto it = by_caller_.find(caller);
  if (it == by_caller_.end()) return;
  Usage& usage = it->second;
  if (kind == Kind::kWatch) --usage.watches;
  if (kind == Kind::kCall || kind == Kind::kSyncRead) --usage.calls;
  if (kind == Kind::kSyncRead) --sync_reads_;
  if (usage.watches == 0 && usage.calls == 0) by_caller_.erase(it);
}

Quotas::Usage Quotas::UsageOf(const std::string& caller) const {
  absl::MutexLock lock(&mu_);
  auto it = by_caller_.find(caller);
  return it == by_caller_.end() ? Usage{} : it->second;
}

}  // namespace schemad::api
