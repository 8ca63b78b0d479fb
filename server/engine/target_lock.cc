#include "server/engine/target_lock.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/refusal.h"
#include "server/engine/planner.h"

namespace schemad::engine {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

}  // namespace

bool InProcessLocks::TryTake(const std::string& key) {
  absl::MutexLock lock(&mu_);
  return held_.emplace(key, true).second;
}

void InProcessLocks::Drop(const std::string& key) {
  absl::MutexLock lock(&mu_);
  held_.erase(key);
}

absl::StatusOr<std::unique_ptr<TargetLock>> TargetLock::Acquire(
    InProcessLocks& locks, const std::string& key, db::ConnectionPool& pool,
    const db::RunJournal& journal, const std::string& name, absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  absl::Duration backoff = kFirstBackoff;
  while (!locks.TryTake(key)) {
    if (absl::Now() >= deadline) {
      return Aborted(RefusalReason::kLocked,
                     absl::StrCat("target ", name, " is locked by another run on this server"),
                     {{"holder", "another run on this server"}});
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  std::unique_ptr<TargetLock> lock(new TargetLock(locks, key));
  backoff = kFirstBackoff;
  while (true) {
    absl::StatusOr<db::ConnectionPool::Lease> session = pool.Acquire();
    if (!session.ok()) return session.status();
    absl::StatusOr<std::unique_ptr<db::AdvisoryLock>> advisory =
        db::AdvisoryLock::TryAcquire(*session, db::CatalogLockKey(journal.catalog()));
    if (!advisory.ok()) return advisory.status();
    if (*advisory != nullptr) {
      lock->advisory_ = *std::move(advisory);
      return lock;
    }
    if (absl::Now() >= deadline) {
      std::string who = "another schemad";
      absl::StatusOr<std::optional<db::RunRecord>> running = journal.ReadBlocking(**session);
      if (running.ok() && running->has_value()) who = DescribeBlockingRun(**running);
      std::vector<std::pair<std::string, std::string>> facts = {{"holder", who}};
      if (running.ok() && running->has_value()) facts.emplace_back("run_id", (*running)->run_id);
      return Aborted(RefusalReason::kLocked, absl::StrCat("target ", name, " is locked: ", who),
                     std::move(facts));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

absl::Status TargetLock::Release() {
  if (released_) return absl::OkStatus();
  released_ = true;
  absl::Status status = advisory_ != nullptr ? advisory_->Release() : absl::OkStatus();
  advisory_.reset();
  locks_.Drop(key_);
  return status;
}

TargetLock::~TargetLock() { Release().IgnoreError(); }

}  // namespace schemad::engine
