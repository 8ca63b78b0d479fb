// VersionHub: every target's version, cached and kept fresh by LISTEN/NOTIFY, read off the
// callers' threads and fanned out to subscribers. Targets on one database share one listener
// connection and one reading thread; each change is read once, however many wait for it.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace schemad::engine {

struct Target;

struct VersionReport {
  std::string current_version;
  std::string current_name;
  std::optional<absl::Time> applied_at;
  int applied_count = 0;
  int pending_count = 0;
  std::string latest_version;
  bool blocked = false;  // a failed or interrupted run blocks further applies
  bool running = false;  // a run is in progress (it blocks nothing by itself)
  bool checksum_drift = false;
};

// Hears a target's version: its state when it subscribes, then every change (and errors: a
// read that failed). Called on a hub thread, or inline in Subscribe; must not block.
// `generation` orders the reports: one older than a report already heard is stale (the inline
// one of Subscribe can come after a newer one from the reading thread).
class VersionSubscriber {
 public:
  virtual ~VersionSubscriber() = default;
  virtual void OnVersion(const absl::StatusOr<VersionReport>& report, uint64_t generation) = 0;
};

using VersionCallback = std::function<void(const absl::StatusOr<VersionReport>&)>;

class VersionHub {
 public:
  // Reads a target's version from its database; runs on the hub's reading threads.
  using Reader = std::function<absl::StatusOr<VersionReport>(const Target&)>;
  // Told when a target starts or stops serving (database reachable, listener up, not blocked).
  using HealthObserver = std::function<void(const Target&, bool serving)>;

  explicit VersionHub(Reader reader) : reader_(std::move(reader)) {}
  ~VersionHub() { Stop(); }
  // Stops and joins the threads (a read in progress finishes first); no observer or subscriber
  // is called after it returns. Idempotent.
  void Stop();
  VersionHub(const VersionHub&) = delete;
  VersionHub& operator=(const VersionHub&) = delete;

  // Registers a target before any other call. Targets with the same `database` (a DSN) share a
  // listener and a reading thread; NOTIFYs with payload `catalog` invalidate it. A target that
  // is not `eager` (a group member: there may be thousands) is left to first use by StartAll.
  // With `database` empty: one shared reading thread and no listener (nothing cached).
  void Add(const Target* target, const std::string& database, const std::string& catalog,
           bool eager = true);
  // Starts every eager target's database threads and reads it once; without it, a database's
  // threads start on first use. `observer` (may be empty) is called from the hub's threads.
  void StartAll(HealthObserver observer);

  // Calls `done` with the cached report at once, or from a reading thread once read.
  void Get(const Target& target, VersionCallback done);
  // `subscriber` hears the current state, then every change, until Unsubscribe.
  void Subscribe(const Target& target, std::shared_ptr<VersionSubscriber> subscriber);
  // The hub lets go of `subscriber`; a delivery already under way may still reach it (the
  // hub keeps it alive until then).
  void Unsubscribe(const Target& target, const VersionSubscriber* subscriber);
  // This replica changed the target's recorded state: drop the cache and read again.
  void Invalidate(const Target& target);

  // Whether the hub hears the NOTIFYs of the target's database (its cache is live).
  bool Listening(const Target& target) const;

 private:
  struct Database;
  struct TargetState {
    const Target* target = nullptr;
    Database* database = nullptr;
    std::string catalog;
    std::optional<VersionReport> report;  // valid only while the listener is up
    uint64_t generation = 0;              // bumped on every change
    bool queued = false;                  // a read is queued or running
    absl::Time not_before;                // a queued read waits until then
    bool serving = false;
    bool eager = true;  // read by StartAll (not a group member)
    // One-shot (Get), each with the generation it asked at: answered by a read that started
    // at that generation or later (never by one that began before a change it must see).
    std::vector<std::pair<uint64_t, VersionCallback>> waiters;
    std::map<const VersionSubscriber*, std::shared_ptr<VersionSubscriber>> subscribers;
  };
  struct Database {
    std::string dsn;
    std::vector<TargetState*> targets;
    std::deque<TargetState*> queue;
    uint64_t queue_changes = 0;  // wakes the reading thread
    bool started = false;
    bool listening = false;
    std::thread listener;
    std::thread reader;
  };

  TargetState& StateOf(const Target& target) const;
  void StartLocked(Database& database) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a read of the target: at once, or (`soon` false) after kDeferredRead, so that the
  // changes of a run nobody waits for cost one read a second, not one per step.
  void ScheduleLocked(TargetState& state, bool soon = true) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A change: the cached report is dropped and read again (at once if anyone waits for it).
  void ChangedLocked(TargetState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Listen(Database* database);
  void Read(Database* database);

  const Reader reader_;
  HealthObserver observer_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::map<const Target*, std::unique_ptr<TargetState>> states_;
  std::map<std::string, std::unique_ptr<Database>> databases_;
};

}  // namespace schemad::engine
