// Fleet runs in the control database: one ApplyGroup over a group's members, with each
// member's state, so several replicas can work one fleet run together (members are claimed
// with FOR UPDATE SKIP LOCKED) and another replica can finish it when the one driving it dies.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/db/connection.h"

namespace schemad::db {

struct FleetRun {
  std::string id;  // uuid
  std::string group;
  std::string request_id;  // empty: none
  std::string release;     // as asked (digest or label; empty: the newest)
  std::string to_version;  // empty: latest
  std::string principal;
  int parallel = 1;
  int canary = 0;
  int max_failures = 1;
  // "running", "succeeded" (every member applied or had nothing to do), "failed" (a member
  // failed; the rest may be skipped).
  std::string state;
  absl::Time created_at;
  std::optional<absl::Time> finished_at;
};

struct FleetMember {
  std::string member;  // target name
  int position = 0;
  bool canary = false;
  // "pending", "running", "applied", "no_change", "failed", "skipped".
  std::string state;
  std::string plan_hash;  // planned when the fleet run started
  std::string run_id;     // the member's own run
  std::string version;    // where it ended
  std::string error;
  std::string claimed_by;  // the worker (replica and call) working it
  std::optional<absl::Time> started_at;
  std::optional<absl::Time> finished_at;
  std::string fleet_run_id;
};

struct FleetTally {
  int pending = 0, running = 0, applied = 0, no_change = 0, failed = 0, skipped = 0;
  int canary_failed = 0;  // failed members that were canaries
  // Counts `n` members in `state`.
  void Add(const std::string& state, int n = 1) {
    int* slot = state == "pending"     ? &pending
                : state == "running"   ? &running
                : state == "applied"   ? &applied
                : state == "no_change" ? &no_change
                : state == "failed"    ? &failed
                                       : &skipped;
    *slot += n;
  }
};

// Whether `text` is a fleet run id as the store makes them (a uuid in lower-case hex).
bool IsFleetRunId(const std::string& text);

// Thread-safe. The tables are created by ControlStore::EnsureSchema (version 4). Ids are
// checked with IsFleetRunId by the callers.
class FleetStore {
 public:
  explicit FleetStore(std::string dsn) : dsn_(dsn), pool_(std::move(dsn), 4) {}

  // Creates the fleet run with its members (canary: the first run.canary of them). With a
  // request id already used for this group, returns that fleet run instead (`created` false).
  absl::StatusOr<FleetRun> Start(const FleetRun& run, const std::vector<FleetMember>& members,
                                 bool* created);
  // NOT_FOUND for an unknown id.
  absl::StatusOr<FleetRun> Find(const std::string& id);
  // Newest first; `group` empty: every group's.
  absl::StatusOr<std::vector<FleetRun>> List(const std::string& group, int limit);
  absl::StatusOr<std::vector<FleetMember>> Members(const std::string& id);
  absl::StatusOr<FleetTally> Tally(const std::string& id);

  // A replica working a fleet run holds this for as long as it works: a session of its own
  // with an advisory lock, so the others can tell it is alive (its claims are kept) or gone.
  class Worker {
   public:
    ~Worker();
    const std::string& name() const { return name_; }
    // False once its session (and so its lock) is gone: its claims may be handed out again,
    // so it must claim no more.
    bool Alive();

   private:
    friend class FleetStore;
    Worker(std::unique_ptr<Connection> session, std::string name)
        : session_(std::move(session)), name_(std::move(name)) {}
    absl::Mutex mu_;  // the call's worker threads share the session
    std::unique_ptr<Connection> session_ ABSL_GUARDED_BY(mu_);
    std::string name_;
  };
  // `name` must be unique to the call (the replica and a random part).
  absl::StatusOr<std::unique_ptr<Worker>> Join(const std::string& id, const std::string& name);

  // Members claimed by a worker that is gone (its session ended) go back to pending, without
  // their plan hash (they may be part-way: planned again when claimed). Returns how many.
  absl::StatusOr<int> ReclaimOrphans(const std::string& id);
  // The next member `worker` may start, marked running: canaries first (none once a canary
  // failed); the others once every canary succeeded; none once max_failures members failed, or
  // once the fleet run ended. nullopt: none may start now.
  absl::StatusOr<std::optional<FleetMember>> Claim(const std::string& id, const Worker& worker,
                                                   int max_failures);
  // Records the end of a member `worker` claimed (state, run_id, version, error). FAILED_
  // PRECONDITION when the claim is no longer the worker's (it was handed out again).
  absl::Status Finish(const std::string& id, const Worker& worker, const FleetMember& member);
  // Gives a claimed member back (its run was interrupted): pending again, planned anew when
  // claimed.
  absl::Status Release(const std::string& id, const Worker& worker, const std::string& member);
  // When nothing runs and nothing more may start (nothing pending, or max_failures reached, or a
  // canary failed): the pending members left are skipped and the fleet run gets its final state.
  // Otherwise the run stays open. Returns the run as it is now.
  absl::StatusOr<FleetRun> Close(const std::string& id);
  // The state of every member in the newest fleet run of `group` that reached it.
  absl::StatusOr<std::map<std::string, FleetMember>> LastStates(const std::string& group);

 private:
  const std::string dsn_;
  ConnectionPool pool_;
};

}  // namespace schemad::db
