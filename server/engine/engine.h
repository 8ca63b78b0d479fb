// The engine: status, plan, apply, rollback and resolve for every configured target. No gRPC
// here; callers pass a principal, an event sink and a cancellation check.
#pragma once

#include <atomic>
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
#include "server/catalog/catalog.h"
#include "server/config/config.h"
#include "server/db/connection.h"
#include "server/db/history_store.h"
#include "server/engine/analysis.h"
#include "server/engine/planner.h"

namespace schemad::engine {

// A configured target with its loaded catalog and connections.
struct Target {
  TargetConfig config;
  Catalog catalog;
  std::unique_ptr<db::ConnectionPool> pool;
  db::HistoryStore store;
  // In-process key of the (database, catalog) lock.
  std::string lock_key;
};

struct RevisionStatus {
  const Revision* revision = nullptr;  // null when missing from the catalog
  std::optional<db::AppliedRevision> applied;
  bool out_of_order = false;
  bool drift = false;
};

struct TargetStatus {
  bool initialized = false;
  std::string current_version;
  std::vector<RevisionStatus> revisions;  // catalog order, then ones missing from it
  int applied_count = 0;
  int pending_count = 0;
  std::optional<db::RunRecord> blocking_run;
  bool checksum_drift = false;
  bool out_of_order = false;
  // The live schema against the catalog's model at the current version.
  std::vector<DriftItem> schema_drift;
};

struct CoverageReport {
  std::vector<TableCoverage> tables;
  int required = 0;
  int covered = 0;  // covered by the catalog and, when checked, present live
  Statistics static_statistics;
  std::optional<Statistics> live_statistics;
  std::vector<Finding> findings;
};

struct VersionReport {
  std::string current_version;
  std::string current_name;
  std::optional<absl::Time> applied_at;
  int applied_count = 0;
  int pending_count = 0;
  std::string latest_version;
  bool blocked = false;
  bool checksum_drift = false;
};

// One progress event of a run, streamed to the caller.
struct RunEvent {
  enum class Kind {
    kRunStarted,
    kStepStarted,
    kStatementDone,
    kStepFinished,
    kNotice,
    kRunFinished
  };
  Kind kind = Kind::kNotice;
  std::string run_id;
  std::string version;
  std::string name;
  Direction direction = Direction::kUp;
  bool transactional = true;
  int statement_index = 0;  // 1-based
  int statement_count = 0;
  int step_count = 0;
  double duration_ms = 0;
  std::string message;
  std::string plan_hash;
  // kRunFinished:
  std::string outcome;  // APPLIED, NO_CHANGE, FAILED, INTERRUPTED, ROLLED_BACK
  int steps_done = 0;
  std::string sqlstate;
};

struct RunRequest {
  PlanRequest plan;
  std::string expected_plan_hash;
  std::string request_id;
  std::string principal;
  // Lets lint findings that the target's policy blocks through; recorded in the journal.
  std::string lint_override_reason;
  // 0: the target's configured lock_wait.
  absl::Duration lock_wait = absl::ZeroDuration();
};

using EventSink = std::function<void(const RunEvent&)>;
using CancelCheck = std::function<bool()>;

// A target's cached VersionInfo, kept fresh by LISTEN/NOTIFY. Thread-safe.
class VersionCache {
 public:
  // The cached report, if valid.
  std::optional<VersionReport> Get() const;
  // Stores `report` read when generation() was `generation`; ignored if a change came since.
  void Put(const VersionReport& report, uint64_t generation);
  // Drops the cached report and wakes waiters: the recorded state changed.
  void Invalidate();
  uint64_t generation() const;
  // Waits until generation() differs from `seen` or `timeout` passes. True on change.
  bool AwaitChange(uint64_t seen, absl::Duration timeout) const;
  // Whether a listener is connected; without one nothing is cached.
  void SetListening(bool listening);

 private:
  mutable absl::Mutex mu_;
  std::optional<VersionReport> report_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool listening_ ABSL_GUARDED_BY(mu_) = false;
};

class Engine {
 public:
  ~Engine();
  // Loads every target's catalog. Returns the first catalog error, naming the target.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const std::vector<TargetConfig>& targets,
                                                        std::string server_instance);

  const std::vector<std::unique_ptr<Target>>& targets() const { return targets_; }
  // Returns NOT_FOUND for an unknown target name.
  absl::StatusOr<const Target*> FindTarget(const std::string& name) const;

  // Applied and pending revisions, the blocking run, checksum drift and schema drift.
  absl::StatusOr<TargetStatus> GetStatus(const Target& target) const;
  // The cheap subset of GetStatus, served from a cache that LISTEN/NOTIFY keeps fresh: no
  // database round trip in steady state.
  absl::StatusOr<VersionReport> GetVersion(const Target& target) const;
  // Waits up to `timeout` for the target's recorded state to change after `seen` (a value of
  // VersionGeneration). True on change.
  bool AwaitVersionChange(const Target& target, uint64_t seen, absl::Duration timeout) const;
  uint64_t VersionGeneration(const Target& target) const;
  // The plan with its lint findings and the live tables' estimated sizes.
  absl::StatusOr<Plan> MakePlan(const Target& target, const PlanRequest& request) const;

  // Coverage of `requirements` (empty: the catalog's manifest), statistics and quality checks;
  // without `static_only` also against the live database.
  absl::StatusOr<CoverageReport> ValidateCoverage(
      const Target& target, const std::vector<CoverageRequirement>& requirements,
      bool static_only) const;

  // The target's lineage, analysed once and kept. Returns INVALID_ARGUMENT naming a file the
  // analysis cannot parse.
  absl::StatusOr<const std::vector<RevisionLineage>*> Lineage(const Target& target) const;

  // Runs the plan for `request` under the target's lock, streaming events to `sink`. Returns
  // the final outcome event's status: OK when the run finished (even FAILED: the outcome says
  // so), ABORTED when the lock is held, FAILED_PRECONDITION when the plan is refused or stale.
  absl::Status Run(const Target& target, const RunRequest& request, const EventSink& sink,
                   const CancelCheck& cancelled);

  // Resolves a failed run: retry its file from the failed statement, or mark it done.
  absl::StatusOr<db::RunRecord> Resolve(const Target& target, const std::string& run_id, bool retry,
                                        const std::string& principal, const EventSink& sink,
                                        const CancelCheck& cancelled);

  absl::StatusOr<std::vector<db::RunRecord>> ReadRuns(const Target& target, int limit,
                                                      int offset) const;
  absl::StatusOr<std::vector<db::EventRecord>> ReadEvents(const Target& target, int limit,
                                                          int offset) const;

 private:
  class InProcessLock;
  Engine() = default;
  absl::StatusOr<TargetStatus> ReadStatus(const Target& target, bool with_schema_drift) const;
  absl::Status RunLocked(const Target& target, const RunRequest& request, db::Connection& journal,
                         const EventSink& sink, const CancelCheck& cancelled);
  // Runs one step (with lock-timeout retries). Returns the failure if the step failed.
  absl::StatusOr<std::optional<db::HistoryStore::ScriptFailure>> RunStep(
      const Target& target, const PlanStep& step, const std::string& run_id,
      const std::string& principal, int first_statement, db::Connection& journal,
      db::Connection& work, const EventSink& sink, const CancelCheck& cancelled);
  absl::StatusOr<std::unique_ptr<InProcessLock>> LockTarget(const Target& target,
                                                            absl::Duration wait,
                                                            db::Connection& journal);

  std::vector<std::unique_ptr<Target>> targets_;
  std::string server_instance_;
  absl::Mutex locks_mu_;
  std::map<std::string, std::string> held_locks_ ABSL_GUARDED_BY(locks_mu_);  // key -> holder
  struct VersionWatch;
  VersionWatch& WatchOf(const Target& target) const;
  // Drops this replica's cached version of `target`, if it has one.
  void InvalidateVersion(const Target& target) const;
  absl::StatusOr<VersionReport> ReadVersion(const Target& target) const;

  mutable absl::Mutex watch_mu_;
  mutable std::map<const Target*, std::unique_ptr<VersionWatch>> watches_
      ABSL_GUARDED_BY(watch_mu_);
  mutable absl::Mutex lineage_mu_;
  mutable std::map<const Target*, std::vector<RevisionLineage>> lineage_
      ABSL_GUARDED_BY(lineage_mu_);
};

}  // namespace schemad::engine
