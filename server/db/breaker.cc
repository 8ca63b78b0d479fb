#include "server/db/breaker.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace schemad::db {

absl::Status Breaker::Allow(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (state_.state == State::kClosed) return absl::OkStatus();
  if (state_.state == State::kOpen && now >= state_.retry_at) {
    state_.state = State::kHalfOpen;
    return absl::OkStatus();
  }
  const absl::Duration wait = std::max(state_.retry_at - now, absl::ZeroDuration());
  return absl::UnavailableError(
      absl::StrCat("database unreachable (", state_.failures,
                   state_.failures == 1 ? " failed connect" : " failed connects",
                   state_.state == State::kHalfOpen
                       ? ", another call is probing it now"
                       : absl::StrFormat(", next attempt in %.1f s", absl::ToDoubleSeconds(wait)),
                   "): ", state_.last_error));
}

void Breaker::Succeeded() {
  absl::MutexLock lock(&mu_);
  state_ = Snapshot{};
}

void Breaker::Failed(const absl::Status& why, absl::Time started, absl::Time now) {
  absl::MutexLock lock(&mu_);
  ++state_.failures;
  state_.last_error = std::string(why.message());
  if (now - started < slow_) {
    // Refused at once: the next caller may simply try again (unless another caller's slow
    // failure opened the breaker meanwhile).
    if (state_.state == State::kHalfOpen) state_.state = State::kClosed;
    return;
  }
  const double factor = std::pow(2.0, std::min(state_.failures - 1, 16));
  state_.retry_at = now + std::min(first_backoff_ * factor, max_backoff_);
  state_.state = State::kOpen;
}

Breaker::Snapshot Breaker::snapshot() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

std::string BreakerStateName(Breaker::State state) {
  switch (state) {
    case Breaker::State::kClosed:
      return "closed";
    case Breaker::State::kOpen:
      return "open";
    case Breaker::State::kHalfOpen:
      return "half-open";
  }
  return "closed";
}

}  // namespace schemad::db
