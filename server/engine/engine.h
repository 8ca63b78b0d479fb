// The engine: status, plan, apply, rollback and resolve for every configured target. No gRPC
// here; callers pass a principal, an event sink and a cancellation check.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/catalog/catalog.h"
#include "server/config/config.h"
#include "server/db/audit_log.h"
#include "server/db/connection.h"
#include "server/db/control_store.h"
#include "server/db/fleet_store.h"
#include "server/db/foreign_history.h"
#include "server/db/history_store.h"
#include "server/db/run_journal.h"
#include "server/db/schema_snapshot.h"
#include "server/engine/analysis.h"
#include "server/engine/planner.h"
#include "server/engine/shadow.h"
#include "server/engine/target_lock.h"
#include "server/engine/version_hub.h"

namespace schemad::engine {

class Executor;
struct Shadow;

// A configured target with its catalog and connections.
struct Target {
  Target(TargetConfig config_in, const std::string& catalog_name, std::string lock_key_in)
      : config(std::move(config_in)),
        store(catalog_name),
        journal(catalog_name),
        audit(catalog_name),
        lock_key(std::move(lock_key_in)) {}

  TargetConfig config;
  // Shared by the targets on one database (same DSN), with its breaker.
  std::shared_ptr<db::ConnectionPool> pool;
  db::HistoryStore store;
  db::RunJournal journal;
  db::AuditLog audit;
  // In-process key of the (database, catalog) lock.
  std::string lock_key;

  // The catalog as last read from its folder. A reload swaps it; a call keeps the one it
  // started with (thread-safe).
  std::shared_ptr<const Catalog> catalog() const {
    absl::MutexLock lock(&mu);
    return catalog_;
  }
  // Set by the engine (start-up, reload).
  mutable absl::Mutex mu;
  mutable std::shared_ptr<const Catalog> catalog_ ABSL_GUARDED_BY(mu);
  // Events in the catalog folder since it was last read (null: inotify unavailable, so
  // FolderFingerprint is compared instead).
  std::unique_ptr<FolderWatch> watch;
  // FolderFingerprint when catalog_ was read; and of a folder that did not load, with why.
  mutable std::string fingerprint ABSL_GUARDED_BY(mu);
  mutable std::string failed_fingerprint ABSL_GUARDED_BY(mu);
  mutable absl::Status failed ABSL_GUARDED_BY(mu);
  // Serialises reloads of this target's folder.
  mutable absl::Mutex reload_mu;
  // One shadow replay or rehearsal of this target at a time (they are heavy).
  mutable absl::Mutex shadow_mu;
  // The digest of the folder content last published as a release.
  mutable std::string published_digest ABSL_GUARDED_BY(reload_mu);
};

struct RevisionStatus {
  const Revision* revision = nullptr;  // null when missing from the catalog
  std::optional<db::AppliedRevision> applied;
  bool out_of_order = false;
  bool drift = false;
};

struct TargetStatus {
  // The catalog the status is of (revision pointers point into it).
  std::shared_ptr<const Catalog> catalog;
  bool initialized = false;
  std::string current_version;
  std::vector<RevisionStatus> revisions;  // catalog order, then ones missing from it
  int applied_count = 0;
  int pending_count = 0;
  std::optional<db::RunRecord> blocking_run;
  bool checksum_drift = false;
  bool out_of_order = false;
  // The live schema against the catalog at the current version (when asked for).
  std::vector<DriftItem> schema_drift;
  // Where the expected schema came from: the catalog replayed in a shadow database (exact),
  // or the static model read from the catalog's SQL; and what limited it.
  bool drift_exact = false;
  std::string drift_basis;
  std::vector<std::string> drift_notes;
  int drift_objects = 0;  // objects read from the live schema (exact drift)
};

// One statement of a rehearsal: how long it ran and the relation locks its transaction held
// once it was done (new ones since the statement before).
struct RehearsedStatement {
  int index = 0;  // 1-based
  double duration_ms = 0;
  std::vector<std::string> locks;
};

struct RehearsedStep {
  std::string version;
  std::string name;
  Direction direction = Direction::kUp;
  // "ok", "failed", "irreversible" (no down or an empty one), "down does not restore",
  // "second up differs".
  std::string outcome;
  std::string error;
  double duration_ms = 0;
  std::vector<RehearsedStatement> statements;
  // The schema after the down against the one before the up (or after the second up against
  // after the first).
  std::vector<DriftItem> difference;
};

// Baseline and Adopt: revisions recorded as applied without running them.
struct AdoptionRequest {
  // Baseline: every revision up to this version. Adopt: the tool whose history is read.
  std::string to_version;
  std::string tool;
  // Refuse unless the live schema is the catalog's at the revisions recorded (exact drift).
  bool verify = false;
  std::string reason;
  std::string principal;
};

struct AdoptionResult {
  db::RunRecord run;                  // its id; empty when nothing was recorded
  std::vector<std::string> recorded;  // versions
  std::vector<std::string> already;   // already recorded by schemad, left as they are
  // Adopt: what the other tool recorded that is not adopted, and why (failed, not in the
  // catalog, repeatable).
  std::vector<std::string> not_adopted;
  bool verified = false;
  std::string table;  // the other tool's table read (left untouched)
};

// A revision's verify script run against the live target (schemactl verify).
struct VerifyResult {
  std::string version;
  std::string name;
  bool ok = true;
  std::string error;  // "verify check N (<file> line L): …"
};

struct RehearsalRequest {
  PlanRequest plan;
  // Prove reversibility (up, down, up per pending revision, compared) in a replay of the
  // catalog, instead of running the plan on a copy of the target's schema.
  bool reversible = false;
  std::string principal;
};

struct Rehearsal {
  std::string plan_hash;
  std::string catalog_digest;
  std::string from_version;
  std::string to_version;
  bool reversible = false;
  bool ok = false;
  // The first problem in one line (empty when ok).
  std::string problem;
  std::string shadow;  // where it ran, and from what
  std::vector<RehearsedStep> steps;
  std::vector<std::string> notes;
  double duration_ms = 0;
  bool recorded = false;  // kept in the control database (require_rehearsal)
};

struct CoverageReport {
  std::vector<TableCoverage> tables;
  int required = 0;
  int covered = 0;  // covered by the catalog and, when checked, present live
  Statistics static_statistics;
  std::optional<Statistics> live_statistics;
  std::vector<Finding> findings;
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
  std::string version;  // kRunFinished: the version reached
  std::string name;
  Direction direction = Direction::kUp;
  sql::TransactionMode mode = sql::TransactionMode::kTransactional;
  int statement_index = 0;  // 1-based
  int statement_count = 0;
  int step_count = 0;
  double duration_ms = 0;
  std::string message;
  std::string plan_hash;
  // kRunFinished:
  db::Outcome outcome = db::Outcome::kNone;
  std::string from_version;
  int steps_done = 0;
  std::string sqlstate;
  // kRunFinished: the overrides and approvals the run used, as journaled.
  std::string overrides;
};

struct RunRequest {
  PlanRequest plan;
  std::string expected_plan_hash;
  std::string request_id;
  std::string principal;
  // Lets lint findings that the target's policy blocks through; recorded in the journal.
  std::string lint_override_reason;
  // Lets revisions the promotion gate refuses through (admin); recorded in the journal.
  std::string override_promotion_reason;
  // 0: the target's configured lock_wait.
  absl::Duration lock_wait = absl::ZeroDuration();
};

// What RepairChecksums changed: per version, the old and the new checksum.
struct RepairedChecksum {
  std::string version;
  std::string old_checksum;
  std::string new_checksum;
};

using EventSink = std::function<void(const RunEvent&)>;
using CancelCheck = std::function<bool()>;

// Runs each group's discovery query (config groups: … discovery:) and adds its members to
// config->targets. Start-up only: a tenant added later is a member after a restart. Returns
// the first error, naming the group.
absl::Status ExpandDiscoveredGroups(Config* config);

// ApplyGroup: one apply over every member of a group (config groups:), recorded in the
// control database as a fleet run.
struct FleetRequest {
  std::string group;
  std::string release;  // digest or label; empty: the newest (as Apply)
  std::string to_version;
  int parallel = 1;      // members applied at once by this replica
  int canary = 0;        // the first K members go first; one failing stops the fleet run
  int max_failures = 1;  // no new member starts once this many failed
  std::string request_id;
  std::string principal;
  // A fleet run's id: work that one (another replica's, or one that was stopped) instead.
  std::string resume;
};

struct FleetEvent {
  enum class Kind { kStarted, kMemberStarted, kMemberFinished, kFinished };
  Kind kind = Kind::kStarted;
  db::FleetRun run;
  bool attached = false;   // kStarted: a fleet run that existed (request id or resume)
  db::FleetMember member;  // kMemberStarted, kMemberFinished
  db::FleetTally tally;    // the fleet run's, as this event happened
  std::vector<db::FleetMember> members;  // kFinished: every member
};
using FleetSink = std::function<void(const FleetEvent&)>;

class Engine {
 public:
  ~Engine();
  // Loads every target's catalog. Returns the first catalog error, naming the target.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const std::vector<TargetConfig>& targets,
                                                        std::string server_instance,
                                                        const ControlConfig& control = {},
                                                        const ShadowConfig& shadow = {});

  const std::vector<std::unique_ptr<Target>>& targets() const { return targets_; }

  // The central audit in the control database (its schema is created on first use). Without
  // one: FAILED_PRECONDITION "needs a control database (config key control)".
  bool has_control() const { return control_ != nullptr; }
  absl::Status Audit(db::AuditEntry entry) const;
  // The same on the background thread, for callers that must not wait; failures are logged.
  void AuditLater(db::AuditEntry entry) const;
  absl::StatusOr<std::vector<db::AuditEntry>> ReadAudit(const std::string& target, absl::Time since,
                                                        int limit) const;
  absl::StatusOr<db::AuditCheck> VerifyAudit() const;
  // Writes a denied call (UNAUTHENTICATED, PERMISSION_DENIED) to `target`'s audit log, if the
  // target already has one. Returns whether a row was written.
  absl::StatusOr<bool> RecordDenied(const Target& target, const db::EventRecord& event) const;
  // The same on a background thread, for callers that must not wait on a database (the
  // callback API): at most 1,000 writes wait; beyond that `done` gets RESOURCE_EXHAUSTED at
  // once. `done` runs on that thread (or at once).
  void RecordDeniedLater(const Target& target, db::EventRecord event,
                         std::function<void(const absl::StatusOr<bool>&)> done) const;
  // Parses every catalog file not parsed yet (Create only reads them); called in the background
  // once schemad serves, so syntax errors are reported right after start-up.
  struct ParseReport {
    std::string target;
    int files = 0;
    absl::Duration took;
    std::vector<absl::Status> errors;  // "<file>: line N: …", one per file that does not parse
  };
  // Stops between files once `stopping()` is true (shutdown must not wait for a large catalog).
  std::vector<ParseReport> ParseCatalogs(const std::function<bool()>& stopping) const;
  // Returns NOT_FOUND for an unknown target name.
  absl::StatusOr<const Target*> FindTarget(const std::string& name) const;

  // Applied and pending revisions, the blocking run, checksum drift and (unless not
  // `schema_drift`) schema drift: the live schema against the catalog replayed to the target's
  // revisions in a shadow database (cached by catalog digest and revisions), or the static
  // model when no shadow can be had, saying why.
  absl::StatusOr<TargetStatus> GetStatus(const Target& target, bool schema_drift = true) const;
  // Runs the plan of `request` in a shadow database built from the target's schema (and its
  // rehearsal_data), recording per statement its duration and locks; the result is kept with
  // the plan hash (require_rehearsal). With `reversible`: in a replay of the catalog at the
  // target's version, each pending revision up, down, up, compared.
  absl::StatusOr<Rehearsal> Rehearse(const Target& target, const RehearsalRequest& request) const;
  // Records every revision up to request.to_version as applied without running it (admin:
  // operation baseline in the journal, one run, an audit event). NOT_FOUND for a version not in
  // the catalog; FAILED_PRECONDITION (DRIFT) with verify when the live schema differs.
  absl::StatusOr<AdoptionResult> Baseline(const Target& target, const AdoptionRequest& request);
  // Records what another tool (request.tool) applied, read from its own table, keeping its
  // who and when; ids map to versions as themselves or by catalog.yaml adopt:. FAILED_PRECONDITION
  // while golang-migrate is dirty, naming the version.
  absl::StatusOr<AdoptionResult> Adopt(const Target& target, const AdoptionRequest& request);
  // Runs the verify script of every applied revision that has one, in a transaction that is
  // always rolled back (nothing is left), each check on its own: one failing does not hide
  // the others.
  absl::StatusOr<std::vector<VerifyResult>> VerifyApplied(const Target& target) const;
  // Accepts the target's present drift (drift_gate) with a reason. Returns its hash;
  // FAILED_PRECONDITION when there is no drift.
  absl::StatusOr<std::string> AcceptDrift(const Target& target, const std::string& principal,
                                          const std::string& reason) const;
  // The cheap subset of GetStatus, served from a cache that LISTEN/NOTIFY keeps fresh: no
  // database round trip in steady state. Blocks while the cache is cold.
  absl::StatusOr<VersionReport> GetVersion(const Target& target) const;
  // The same without blocking: `done` runs at once from the cache, or on the database's reading
  // thread once read (never on the caller's thread after it returned).
  void GetVersionAsync(const Target& target, VersionCallback done) const;
  // `subscriber` hears the target's version now and after every change, until unsubscribed.
  void SubscribeVersion(const Target& target, std::shared_ptr<VersionSubscriber> subscriber) const;
  void UnsubscribeVersion(const Target& target, const VersionSubscriber* subscriber) const;
  // Connects every target's listener and reads every version in the background; `observer`
  // hears each target start and stop serving (reachable, listening, not blocked).
  void StartWatching(VersionHub::HealthObserver observer) const;
  // Stops the listeners and reading threads: a cold GetVersion fails from then on. Call before
  // the observer's objects go.
  void StopWatching() const;
  // What is known of the target's database without a round trip: whether schemad hears its
  // NOTIFYs, and its breaker.
  struct TargetView {
    bool listening = false;
    db::Breaker::Snapshot breaker;
  };
  TargetView View(const Target& target) const;
  // The plan with its lint findings and the live tables' estimated sizes.
  absl::StatusOr<Plan> MakePlan(const Target& target, const PlanRequest& request) const;

  // Coverage of `requirements` (empty: the catalog's manifest), statistics and quality checks;
  // without `static_only` also against the live database.
  absl::StatusOr<CoverageReport> ValidateCoverage(
      const Target& target, const std::vector<CoverageRequirement>& requirements,
      bool static_only) const;

  // The target's lineage, analysed once and kept. Returns INVALID_ARGUMENT naming a file the
  // analysis cannot parse.
  // Releases (control database). Publishing checks the files as a catalog folder would be
  // checked, and refuses (RELEASE_EDIT) to change a revision an earlier release of the catalog
  // has unless `allow_edit_reason` is given. The same content gives the same digest.
  struct PublishRequest {
    std::string catalog;
    std::string label;
    std::string principal;
    std::vector<db::ReleaseFile> files;
    std::string allow_edit_reason;
    // Content already published becomes the newest release again.
    bool renew = true;
  };
  absl::StatusOr<db::ReleaseRecord> PublishRelease(const PublishRequest& request) const;
  absl::StatusOr<std::vector<db::ReleaseRecord>> ListReleases(const std::string& catalog,
                                                              int limit) const;
  // Approvals (control database): an Apply or Rollback on an environment with `approvals: n`
  // needs n approvals of its plan hash by others than who applies, within approval_ttl.
  absl::Status ApprovePlan(const Target& target, const std::string& plan_hash,
                           const std::string& principal, const std::string& comment) const;
  absl::StatusOr<std::vector<db::ApprovalRecord>> Approvals(const Target& target, int limit) const;
  // The catalog a plan of `target` uses: release `ref` (digest or label) of its catalog;
  // without `ref` the newest release (with a control database), else the folder's catalog.
  absl::StatusOr<std::shared_ptr<const Catalog>> CatalogFor(const Target& target,
                                                            const std::string& ref) const;

  // Valid while the caller holds `catalog`.
  absl::StatusOr<const std::vector<RevisionLineage>*> Lineage(
      const std::shared_ptr<const Catalog>& catalog) const;

  // Re-reads the target's catalog folder when its listing changed (names, sizes, times), or
  // always with `force` (SIGHUP, the Reload RPC). Calls that started keep the catalog they
  // have. Returns the load error (naming the file) when the folder's new content does not load
  // (the previous catalog stays for version reads), INVALID_ARGUMENT when its catalog name
  // changed. `changed` says whether a new catalog is in use.
  absl::Status Refresh(const Target& target, bool force = false, bool* changed = nullptr) const;

  // Runs the plan for `request` under the target's lock, streaming events to `sink`. Returns
  // the final outcome event's status: OK when the run finished (even FAILED: the outcome says
  // so), ABORTED when the lock is held, FAILED_PRECONDITION when the plan is refused or stale.
  absl::Status Run(const Target& target, const RunRequest& request, const EventSink& sink,
                   const CancelCheck& cancelled);

  // The members of `group`, in config order (empty for an unknown group).
  std::vector<const Target*> GroupMembers(const std::string& group) const;
  // Plans every member (each plan's hash is kept: a member whose plan changed before its turn
  // is refused as stale), then applies them: the canaries first (up to `parallel` at once, none
  // starting after one failed), then the rest
  // with at most `parallel` at once on this replica; other replicas may work the same fleet
  // run (Resume). Stops starting members after max_failures failed, or after a canary failed.
  // Each member's apply is an ordinary Apply (its lock, policy, journal). Returns OK when the
  // fleet run ended or was stopped (the final event says how); FAILED_PRECONDITION without a
  // control database; NOT_FOUND for an unknown group or fleet run.
  // `cancelled` (the caller went): no member starts any more, the ones running finish;
  // `stopping` (the server stops): running members are interrupted and given back (pending).
  absl::Status ApplyGroup(const FleetRequest& request, const FleetSink& sink,
                          const CancelCheck& cancelled, const CancelCheck& stopping);
  absl::StatusOr<std::vector<db::FleetRun>> ListFleetRuns(const std::string& group,
                                                          int limit) const;
  absl::StatusOr<std::vector<db::FleetMember>> FleetMembers(const std::string& id) const;
  // NOT_FOUND for an unknown id (or one that is not a fleet run id).
  absl::StatusOr<db::FleetRun> FindFleetRun(const std::string& id) const;
  absl::StatusOr<db::FleetTally> FleetTally(const std::string& id) const;
  // Each member of `group` as the newest fleet run that reached it left it.
  absl::StatusOr<std::map<std::string, db::FleetMember>> LastFleetStates(
      const std::string& group) const;
  // The same on the background thread; `done` runs there (or at once, with an error).
  void LastFleetStatesLater(
      const std::string& group,
      std::function<void(const absl::StatusOr<std::map<std::string, db::FleetMember>>&)> done)
      const;

  // Resolves the run that blocks the target: retry its file from the first statement not
  // completed (FAILED_PRECONDITION when the completed statements changed in the file since),
  // or mark it done. Returns FAILED_PRECONDITION when the run blocks nothing.
  absl::StatusOr<db::RunRecord> Resolve(const Target& target, const std::string& run_id, bool retry,
                                        const std::string& principal, const EventSink& sink,
                                        const CancelCheck& cancelled);

  // Re-records the catalog's checksum of every applied revision whose file changed (or only
  // `version`), journaled with the old and new checksums and `reason` (required). Returns
  // NOT_FOUND for a version that is not applied, INVALID_ARGUMENT without a reason.
  absl::StatusOr<std::vector<RepairedChecksum>> RepairChecksums(const Target& target,
                                                                const std::string& version,
                                                                const std::string& reason,
                                                                const std::string& principal);

  absl::StatusOr<std::vector<db::RunRecord>> ReadRuns(const Target& target, int limit,
                                                      int offset) const;
  absl::StatusOr<std::vector<db::EventRecord>> ReadEvents(const Target& target, int limit,
                                                          int offset) const;

 private:
  Engine() = default;
  // The status against catalog `of`.
  absl::StatusOr<TargetStatus> ReadStatus(const Target& target, std::shared_ptr<const Catalog> of,
                                          bool with_schema_drift) const;
  // Reads what the targets of the source environment applied and fills the plan's promotion
  // evidence (promotion.h); nothing without promote_from.
  // UNAVAILABLE when no target of the source environment can be read.
  absl::Status AddPromotionEvidence(const Target& target, Plan* plan) const;
  // The target's lock for a run, resolve or repair, with the bookkeeping schema ensured and
  // dead servers' runs marked interrupted. ABORTED when another run holds it past `wait`.
  absl::StatusOr<std::unique_ptr<TargetLock>> LockForChange(const Target& target,
                                                            absl::Duration wait);
  absl::Status RunLocked(const Target& target, const RunRequest& request, TargetLock& lock,
                         const EventSink& sink, const CancelCheck& cancelled);
  // The schema drift of `status` (filled by ReadStatus) against the catalog replayed in a
  // shadow database, or against the static model with a note on why.
  absl::Status FillDrift(const Target& target, db::Connection& conn,
                         const std::vector<db::AppliedRevision>& applied,
                         TargetStatus& status) const;
  // A catalog and the revisions of it to replay.
  struct Replay {
    std::shared_ptr<const Catalog> catalog;
    std::vector<db::AppliedRevision> applied;
  };
  // What to replay for `target` at `applied` of `catalog`: its own catalog, and the catalogs
  // of other targets on the same database at what they applied (read on `conn`).
  absl::StatusOr<std::vector<Replay>> ReplaysFor(const Target& target, db::Connection& conn,
                                                 std::shared_ptr<const Catalog> catalog,
                                                 std::vector<db::AppliedRevision> applied) const;
  // The schema with exactly those revisions replayed in a shadow database (cached), like
  // `target` (its role, search_path, server version).
  absl::StatusOr<std::shared_ptr<const db::SchemaSnapshot>> ExpectedSchema(
      const Target& target, db::Connection& conn, const std::vector<Replay>& replays,
      std::vector<std::string>* notes, bool* cached) const;
  // Records `revisions` as applied (with when they ran, if known) in one journaled run of
  // `operation`, after checking the live schema when `verify`.
  absl::StatusOr<AdoptionResult> RecordApplied(
      const Target& target, TargetLock& lock, const std::shared_ptr<const Catalog>& catalog,
      const std::vector<db::AppliedRevision>& applied,
      std::vector<std::pair<const Revision*, db::ForeignEntry>> revisions, db::Operation operation,
      const AdoptionRequest& request, AdoptionResult result);
  // drift_check: every target's drift on its interval; what appeared or disappeared since the
  // last check is logged and audited. Runs until StopWatching.
  void WatchDrift() const;
  void StopDriftWatch() const;
  void DropLater(std::unique_ptr<Shadow> shadow) const;
  // drift_gate: refuses (DRIFT) while the target has drift nobody accepted.
  absl::Status CheckDriftGate(const Target& target) const;
  // require_rehearsal: refuses (NEEDS_REHEARSAL) without a recent successful rehearsal.
  absl::Status CheckRehearsed(const Target& target, const std::string& plan_hash) const;
  // Journals the run's end and its audit event, then streams RunFinished.
  void FinishRun(const Target& target, TargetLock& lock, db::RunRecord& run, Executor& executor);

  std::vector<std::unique_ptr<Target>> targets_;
  std::unique_ptr<db::FleetStore> fleets_;  // with a control database
  // Per folder, the catalog (the object, as read) this replica last published as a release: a
  // group's thousand members share one, published once.
  mutable absl::Mutex published_mu_;
  mutable std::map<std::string, std::shared_ptr<const Catalog>> published_
      ABSL_GUARDED_BY(published_mu_);
  std::string server_instance_;
  InProcessLocks locks_;
  // Drops this replica's cached version of `target` and reads it again.
  void InvalidateVersion(const Target& target) const;
  absl::StatusOr<VersionReport> ReadVersion(const Target& target) const;

  // Runs `work` on the background thread; false when 1,000 wait already.
  bool Later(std::function<void()> work) const;
  absl::Status NeedsControl() const;
  // The principals other than `principal` whose approval of `hash` on `target` is younger
  // than its environment's TTL; `note` says what did not count.
  absl::Status GatherApprovals(const Target& target, const std::string& hash,
                               const std::string& principal, std::vector<std::string>* approvers,
                               std::string* note) const;
  // The edit check and the store of PublishRelease, for a catalog already loaded and checked.
  absl::StatusOr<db::ReleaseRecord> StoreRelease(const Catalog& catalog,
                                                 const PublishRequest& request) const;
  // Publishes the folder's catalog as a release once per content (with a control database).
  void PublishFolder(const Target& target) const;
  // A release's files as a catalog (kept by digest: releases never change).
  absl::StatusOr<std::shared_ptr<const Catalog>> MaterializeRelease(
      const std::string& catalog, const std::string& digest,
      const std::vector<db::ReleaseFile>& files) const;
  mutable absl::Mutex releases_mu_;
  mutable std::map<std::string, std::shared_ptr<const Catalog>> releases_
      ABSL_GUARDED_BY(releases_mu_);
  std::unique_ptr<db::ControlStore> control_;
  std::unique_ptr<ShadowServer> shadow_;
  // One replay or rehearsal at a time (they are heavy); the expected schemas by catalog digest
  // and revisions.
  mutable absl::Mutex drift_mu_;
  mutable bool drift_stop_ ABSL_GUARDED_BY(drift_mu_) = false;
  mutable std::thread drift_thread_;
  mutable absl::Mutex shadow_mu_;
  struct Expected {
    std::shared_ptr<const db::SchemaSnapshot> snapshot;
    std::vector<std::string> notes;  // what limited it (extensions the shadow lacks)
  };
  mutable std::map<std::string, Expected> expected_ ABSL_GUARDED_BY(shadow_mu_);
  mutable absl::Mutex control_mu_;
  mutable bool control_ready_ ABSL_GUARDED_BY(control_mu_) = false;

  // After targets_: destroyed first, as its threads read them.
  std::unique_ptr<VersionHub> versions_;
  // RecordDeniedLater's queue and thread (started on first use).
  mutable absl::Mutex later_mu_;
  mutable std::deque<std::function<void()>> later_ ABSL_GUARDED_BY(later_mu_);
  mutable bool later_stop_ ABSL_GUARDED_BY(later_mu_) = false;
  mutable std::thread later_thread_;
  mutable absl::Mutex lineage_mu_;
  // By catalog; an entry goes once nobody else holds its catalog.
  mutable std::map<const Catalog*,
                   std::pair<std::shared_ptr<const Catalog>, std::vector<RevisionLineage>>>
      lineage_ ABSL_GUARDED_BY(lineage_mu_);
};

}  // namespace schemad::engine
