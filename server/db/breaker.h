// Breaker: whether a database is worth connecting to. A connect that failed slowly (a timeout:
// a host that drops packets, a socket that never answers) opens it: callers fail fast with
// UNAVAILABLE for a back-off that doubles per failure, then one caller probes. A connect refused
// at once (a restarting server) costs nothing to retry and does not open it.
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace schemad::db {

class Breaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  struct Snapshot {
    State state = State::kClosed;
    int failures = 0;        // consecutive failed connects (slow or not)
    absl::Time retry_at;     // kOpen: when the next probe may go
    std::string last_error;  // the last failed connect's message (no DSN)
  };

  explicit Breaker(absl::Duration first_backoff = absl::Seconds(1),
                   absl::Duration max_backoff = absl::Seconds(10),
                   absl::Duration slow = absl::Seconds(1))
      : first_backoff_(first_backoff), max_backoff_(max_backoff), slow_(slow) {}

  // OK when a connect may go ahead (closed, or this caller is the half-open probe). Returns
  // UNAVAILABLE with the last error and when the next attempt is while open or while another
  // caller probes. Every OK must be followed by Succeeded or Failed.
  absl::Status Allow(absl::Time now);
  void Succeeded();
  // A connect that started at `started` failed at `now`.
  void Failed(const absl::Status& why, absl::Time started, absl::Time now);
  Snapshot snapshot() const;

 private:
  const absl::Duration first_backoff_;
  const absl::Duration max_backoff_;
  const absl::Duration slow_;
  mutable absl::Mutex mu_;
  Snapshot state_ ABSL_GUARDED_BY(mu_);
};

// "closed", "open", "half-open".
std::string BreakerStateName(Breaker::State state);

}  // namespace schemad::db
