// Quotas: what one caller may hold at once (open watch streams, calls in flight), and the sync
// threads kept for mutating calls, so that a flood of reads never refuses an Apply.
#pragma once

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/config/config.h"

namespace schemad::api {

// Thread-safe.
class Quotas {
 public:
  enum class Kind {
    kWatch,     // an open WatchVersion stream (callback API: no thread)
    kCall,      // a read the caller's own quota bounds, not the read threads (GetVersion)
    kSyncRead,  // a read on a sync thread (GetStatus, Plan, ListTargets, …)
    kChange,    // Apply, Rollback, ResolveRun, RepairChecksums: never refused by a quota
    kPlan,      // resolved by the caller: kCall for those who may apply, else kSyncRead
  };

  // Releases what it holds when destroyed.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Quotas* quotas, std::string caller, Kind kind)
        : quotas_(quotas), caller_(std::move(caller)), kind_(kind) {}
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket() { Release(); }
    void Release();

   private:
    Quotas* quotas_ = nullptr;
    std::string caller_;
    Kind kind_ = Kind::kCall;
  };

  // `max_threads` of the sync server; reads may use all but `limits.reserved_for_changes`.
  Quotas(const Config::Limits& limits, int max_threads)
      : limits_(limits), sync_reads_max_(max_threads - limits.reserved_for_changes) {}

  // Takes one unit for `caller`. Returns RESOURCE_EXHAUSTED naming the limit and the config
  // key that raises it.
  absl::StatusOr<Ticket> Take(const std::string& caller, Kind kind);

  struct Usage {
    int watches = 0;
    int calls = 0;
  };
  Usage UsageOf(const std::string& caller) const;

 private:
  void Give(const std::string& caller, Kind kind);
  const Config::Limits limits_;
  const int sync_reads_max_;
  mutable absl::Mutex mu_;
  std::map<std::string, Usage> by_caller_ ABSL_GUARDED_BY(mu_);
  int sync_reads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace schemad::api
