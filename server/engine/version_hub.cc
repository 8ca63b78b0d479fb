#include "server/engine/version_hub.h"

#include <algorithm>
#include <utility>

#include "server/db/listener.h"

namespace schemad::engine {
namespace {

absl::Status StoppedError() { return absl::UnavailableError("schemad is shutting down"); }

// How long a change nobody waits for may go unread (it only feeds health and the next cold
// GetVersion, which reads at once anyway).
constexpr absl::Duration kDeferredRead = absl::Seconds(1);

}  // namespace

void VersionHub::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (auto& [dsn, database] : databases_) {
    if (database->listener.joinable()) database->listener.join();
    if (database->reader.joinable()) database->reader.join();
  }
  std::vector<VersionCallback> waiters;
  {
    absl::MutexLock lock(&mu_);
    observer_ = nullptr;
    for (auto& [target, state] : states_) {
      for (auto& [generation, done] : state->waiters) waiters.push_back(std::move(done));
      state->waiters.clear();
    }
  }
  for (VersionCallback& done : waiters) done(StoppedError());
}

void VersionHub::Add(const Target* target, const std::string& database, const std::string& catalog,
                     bool eager) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Database>& db = databases_[database];
  if (db == nullptr) {
    db = std::make_unique<Database>();
    db->dsn = database;
  }
  auto state = std::make_unique<TargetState>();
  state->target = target;
  state->database = db.get();
  state->catalog = catalog;
  state->eager = eager;
  db->targets.push_back(state.get());
  states_[target] = std::move(state);
}

void VersionHub::StartAll(HealthObserver observer) {
  absl::MutexLock lock(&mu_);
  observer_ = std::move(observer);
  // Every target's health is reported afresh, also one read before there was an observer.
  for (auto& [target, state] : states_) {
    if (!state->eager) continue;
    state->serving = false;
    ScheduleLocked(*state);
  }
}

VersionHub::TargetState& VersionHub::StateOf(const Target& target) const {
  // Registered before use and never removed: the map is read-only once serving.
  return *states_.at(&target);
}

void VersionHub::StartLocked(Database& database) {
  if (database.started || stop_) return;
  database.started = true;
  // The members of database-per-tenant groups share one database entry without a listener:
  // read when asked (no cache), by one thread, holding no connection.
  if (!database.dsn.empty())
    database.listener = std::thread([this, db = &database] { Listen(db); });
  database.reader = std::thread([this, db = &database] { Read(db); });
}

void VersionHub::ScheduleLocked(TargetState& state, bool soon) {
  StartLocked(*state.database);
  const absl::Time when = soon ? absl::Now() : absl::Now() + kDeferredRead;
  if (state.queued) {
    if (when >= state.not_before) return;
  } else {
    state.queued = true;
    state.database->queue.push_back(&state);
  }
  state.not_before = when;
  ++state.database->queue_changes;
}

void VersionHub::ChangedLocked(TargetState& state) {
  state.report.reset();
  ++state.generation;
  // A database nobody asked about yet keeps no threads or connections for it (an engine that
  // only runs migrations, in tests or tools).
  if (!state.database->started) return;
  ScheduleLocked(state, !state.subscribers.empty() || !state.waiters.empty());
}

void VersionHub::Get(const Target& target, VersionCallback done) {
  std::optional<VersionReport> cached;
  {
    absl::MutexLock lock(&mu_);
    TargetState& state = StateOf(target);
    if (stop_) {
      // Answered below, outside the lock.
    } else if (state.database->listening && state.report) {
      cached = state.report;
    } else {
      state.waiters.emplace_back(state.generation, std::move(done));
      ScheduleLocked(state);
      return;
    }
  }
  if (cached) {
    done(*cached);
  } else {
    done(StoppedError());
  }
}

void VersionHub::Subscribe(const Target& target, std::shared_ptr<VersionSubscriber> subscriber) {
  absl::StatusOr<VersionReport> now = StoppedError();
  uint64_t generation = 0;
  VersionSubscriber* raw = subscriber.get();
  {
    absl::MutexLock lock(&mu_);
    TargetState& state = StateOf(target);
    if (!stop_) {
      state.subscribers[raw] = std::move(subscriber);
      if (!state.database->listening || !state.report) {
        ScheduleLocked(state);  // it hears the read's result
        return;
      }
      now = *state.report;
      generation = state.generation;
    }
  }
  raw->OnVersion(now, generation);
}

void VersionHub::Unsubscribe(const Target& target, const VersionSubscriber* subscriber) {
  absl::MutexLock lock(&mu_);
  StateOf(target).subscribers.erase(subscriber);
}

void VersionHub::Invalidate(const Target& target) {
  absl::MutexLock lock(&mu_);
  ChangedLocked(StateOf(target));
}

bool VersionHub::Listening(const Target& target) const {
  absl::MutexLock lock(&mu_);
  return StateOf(target).database->listening;
}

void VersionHub::Listen(Database* database) {
  absl::Duration retry = absl::Milliseconds(100);
  auto stopping = [this] {
    absl::MutexLock lock(&mu_);
    return stop_;
  };
  auto set_listening = [this, database](bool listening) {
    absl::MutexLock lock(&mu_);
    database->listening = listening;
    // Whatever was cached may have changed while nobody listened: read every target again, at
    // once (health follows the listener); group members only when someone waits on them.
    for (TargetState* state : database->targets) {
      ChangedLocked(*state);
      if (state->eager || !state->subscribers.empty() || !state->waiters.empty()) {
        ScheduleLocked(*state);
      }
    }
  };
  while (!stopping()) {
    absl::StatusOr<std::unique_ptr<db::NotificationListener>> listener =
        db::NotificationListener::Open(database->dsn, db::kVersionChannel);
    if (!listener.ok()) {
      mu_.LockWhenWithTimeout(absl::Condition(&stop_), retry);
      // No NOTIFY to wait for: those who follow the targets get a read per retry instead.
      for (TargetState* state : database->targets) {
        if (!state->subscribers.empty()) ScheduleLocked(*state);
      }
      mu_.Unlock();
      retry = std::min(retry * 2, absl::Seconds(5));
      continue;
    }
    retry = absl::Milliseconds(100);
    set_listening(true);
    while (!stopping()) {
      absl::StatusOr<std::vector<std::string>> received =
          (*listener)->Wait(absl::Milliseconds(200));
      if (!received.ok()) break;
      if (received->empty()) continue;
      absl::MutexLock lock(&mu_);
      for (TargetState* state : database->targets) {
        const bool named = std::any_of(received->begin(), received->end(), [&](const auto& p) {
          return p.empty() || p == state->catalog;
        });
        if (named) ChangedLocked(*state);
      }
    }
    set_listening(false);
  }
}

void VersionHub::Read(Database* database) {
  while (true) {
    TargetState* state = nullptr;
    uint64_t generation = 0;
    {
      absl::MutexLock lock(&mu_);
      while (state == nullptr) {
        if (stop_) return;
        const absl::Time now = absl::Now();
        absl::Time next = absl::InfiniteFuture();
        for (auto it = database->queue.begin(); it != database->queue.end(); ++it) {
          if ((*it)->not_before <= now) {
            state = *it;
            database->queue.erase(it);
            break;
          }
          next = std::min(next, (*it)->not_before);
        }
        if (state != nullptr) break;
        const uint64_t seen = database->queue_changes;
        auto woken = [this, database, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return stop_ || database->queue_changes != seen;
        };
        mu_.AwaitWithDeadline(absl::Condition(&woken), next);
      }
      generation = state->generation;
    }
    const absl::StatusOr<VersionReport> result = reader_(*state->target);
    std::vector<VersionCallback> waiters;
    std::vector<std::shared_ptr<VersionSubscriber>> subscribers;
    HealthObserver observer;
    bool serving = false;
    bool health_changed = false;
    {
      absl::MutexLock lock(&mu_);
      state->queued = false;
      if (result.ok() && database->listening && generation == state->generation) {
        state->report = *result;
      } else if (!result.ok()) {
        state->report.reset();
      }
      // Changed while it was read: what was read may be stale for those who follow changes.
      if (generation != state->generation) ScheduleLocked(*state, !state->subscribers.empty());
      // Waiters that asked after a change this read may have missed wait for the next read.
      auto answered = std::stable_partition(
          state->waiters.begin(), state->waiters.end(),
          [generation](const auto& waiter) { return waiter.first <= generation; });
      for (auto it = state->waiters.begin(); it != answered; ++it) {
        waiters.push_back(std::move(it->second));
      }
      state->waiters.erase(state->waiters.begin(), answered);
      if (!state->waiters.empty()) ScheduleLocked(*state);
      subscribers.reserve(state->subscribers.size());
      for (const auto& [raw, subscriber] : state->subscribers) subscribers.push_back(subscriber);
      serving = database->listening && result.ok() && !result->blocked;
      health_changed = serving != state->serving;
      state->serving = serving;
      observer = observer_;
    }
    for (VersionCallback& done : waiters) done(result);
    for (const auto& subscriber : subscribers) subscriber->OnVersion(result, generation);
    if (health_changed && observer) observer(*state->target, serving);
  }
}

}  // namespace schemad::engine
