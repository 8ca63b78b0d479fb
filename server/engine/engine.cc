#include "server/engine/engine.h"

#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "server/common/status_macros.h"
#include "server/db/introspection.h"
#include "server/db/listener.h"

namespace schemad::engine {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

std::string StepLabel(const PlanStep& step) {
  return absl::StrCat(step.direction == Direction::kUp ? "apply " : "rollback ",
                      step.revision->Id());
}

RunEvent Event(RunEvent::Kind kind) {
  RunEvent event;
  event.kind = kind;
  return event;
}

}  // namespace

// A target's version cache and the thread that listens for changes.
struct Engine::VersionWatch {
  VersionCache cache;
  std::atomic<bool> stop{false};
  std::thread listener;
};

std::optional<VersionReport> VersionCache::Get() const {
  absl::MutexLock lock(&mu_);
  return listening_ ? report_ : std::nullopt;
}

void VersionCache::Put(const VersionReport& report, uint64_t generation) {
  absl::MutexLock lock(&mu_);
  if (listening_ && generation == generation_) report_ = report;
}

void VersionCache::Invalidate() {
  absl::MutexLock lock(&mu_);
  report_.reset();
  ++generation_;
}

uint64_t VersionCache::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

bool VersionCache::AwaitChange(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return generation_ != seen; };
  return mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
}

void VersionCache::SetListening(bool listening) {
  absl::MutexLock lock(&mu_);
  listening_ = listening;
  report_.reset();
  ++generation_;
}

Engine::~Engine() {
  absl::MutexLock lock(&watch_mu_);
  for (auto& [target, watch] : watches_) {
    watch->stop = true;
    if (watch->listener.joinable()) watch->listener.join();
  }
}

Engine::VersionWatch& Engine::WatchOf(const Target& target) const {
  absl::MutexLock lock(&watch_mu_);
  std::unique_ptr<VersionWatch>& watch = watches_[&target];
  if (watch != nullptr) return *watch;
  watch = std::make_unique<VersionWatch>();
  VersionWatch* raw = watch.get();
  // Started on first use, so engines that never answer GetVersion hold no extra connection.
  raw->listener = std::thread([raw, dsn = target.config.dsn] {
    absl::Duration retry = absl::Milliseconds(100);
    while (!raw->stop) {
      absl::StatusOr<std::unique_ptr<db::NotificationListener>> listener =
          db::NotificationListener::Open(dsn, db::kVersionChannel);
      if (!listener.ok()) {
        absl::SleepFor(retry);
        retry = std::min(retry * 2, absl::Seconds(5));
        continue;
      }
      retry = absl::Milliseconds(100);
      raw->cache.SetListening(true);
      while (!raw->stop) {
        absl::StatusOr<int> received = (*listener)->Wait(absl::Milliseconds(200));
        if (!received.ok()) break;
        if (*received > 0) raw->cache.Invalidate();
      }
      raw->cache.SetListening(false);
    }
  });
  return *raw;
}

// Holds the target's in-process lock and, on the journal connection, its advisory lock.
class Engine::InProcessLock {
 public:
  InProcessLock(Engine* engine, const Target* target, db::Connection* journal)
      : engine_(engine), target_(target), journal_(journal) {}
  // Also releases the advisory lock held on `journal` when this object goes.
  void AttachAdvisory(db::Connection* journal) { journal_ = journal; }
  ~InProcessLock() {
    if (journal_ != nullptr) target_->store.AdvisoryUnlock(*journal_).IgnoreError();
    absl::MutexLock lock(&engine_->locks_mu_);
    engine_->held_locks_.erase(target_->lock_key);
  }

 private:
  Engine* engine_;
  const Target* target_;
  db::Connection* journal_;
};

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const std::vector<TargetConfig>& targets,
                                                       std::string server_instance) {
  std::unique_ptr<Engine> engine(new Engine());
  engine->server_instance_ = std::move(server_instance);
  for (const TargetConfig& config : targets) {
    absl::StatusOr<Catalog> catalog = LoadCatalog(config.catalog_path);
    if (!catalog.ok()) return Annotate(catalog.status(), absl::StrCat("target ", config.name));
    const std::string catalog_name = catalog->name;
    auto target = std::make_unique<Target>(
        Target{config, *std::move(catalog), std::make_unique<db::ConnectionPool>(config.dsn, 4),
               db::HistoryStore(catalog_name), absl::StrCat(config.dsn, "\n", catalog_name)});
    engine->targets_.push_back(std::move(target));
  }
  return engine;
}

absl::StatusOr<const Target*> Engine::FindTarget(const std::string& name) const {
  if (name.empty()) return absl::InvalidArgumentError("target: required");
  for (const auto& target : targets_) {
    if (target->config.name == name) return target.get();
  }
  return absl::NotFoundError(absl::StrCat("unknown target \"", name, "\""));
}

absl::StatusOr<TargetStatus> Engine::GetStatus(const Target& target) const {
  return ReadStatus(target, /*with_schema_drift=*/true);
}

absl::StatusOr<TargetStatus> Engine::ReadStatus(const Target& target,
                                                bool with_schema_drift) const {
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  TargetStatus status;
  SCHEMAD_ASSIGN_OR_RETURN(status.initialized, target.store.IsInitialized(*conn));
  std::vector<db::AppliedRevision> applied;
  if (status.initialized) {
    SCHEMAD_ASSIGN_OR_RETURN(applied, target.store.ReadApplied(*conn));
    SCHEMAD_ASSIGN_OR_RETURN(status.blocking_run, target.store.ReadBlockingRun(*conn));
  }
  const Catalog& catalog = target.catalog;
  std::map<std::string, const db::AppliedRevision*> by_key;
  for (const db::AppliedRevision& revision : applied)
    by_key[VersionKey(revision.version)] = &revision;
  status.current_version = applied.empty() ? "" : applied.back().version;
  std::set<std::string> seen;
  for (const Revision& revision : catalog.revisions) {
    RevisionStatus item;
    item.revision = &revision;
    const std::string key = VersionKey(revision.version);
    seen.insert(key);
    if (auto it = by_key.find(key); it != by_key.end()) {
      item.applied = *it->second;
      item.drift = it->second->checksum != revision.up.checksum;
      status.checksum_drift |= item.drift;
      ++status.applied_count;
    } else {
      item.out_of_order = !status.current_version.empty() &&
                          CompareVersions(revision.version, status.current_version) < 0;
      status.out_of_order |= item.out_of_order;
      ++status.pending_count;
    }
    status.revisions.push_back(std::move(item));
  }
  for (const db::AppliedRevision& revision : applied) {
    if (seen.count(VersionKey(revision.version)) != 0) continue;
    RevisionStatus item;
    item.applied = revision;
    status.revisions.push_back(std::move(item));
  }
  if (status.initialized && with_schema_drift) {
    SCHEMAD_ASSIGN_OR_RETURN(const std::vector<RevisionLineage>* lineage, Lineage(target));
    size_t count = 0;
    for (size_t i = 0; i < catalog.revisions.size(); ++i) {
      if (by_key.count(VersionKey(catalog.revisions[i].version)) != 0) count = i + 1;
    }
    const SchemaModel model = BuildModel(*lineage, count);
    SCHEMAD_ASSIGN_OR_RETURN(db::LiveSchema live, db::IntrospectSchema(*conn, model.schemas));
    status.schema_drift = Drift(model, live);
  }
  return status;
}

absl::StatusOr<const std::vector<RevisionLineage>*> Engine::Lineage(const Target& target) const {
  absl::MutexLock lock(&lineage_mu_);
  auto it = lineage_.find(&target);
  if (it != lineage_.end()) return &it->second;
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<RevisionLineage> lineage, AnalyzeCatalog(target.catalog));
  return &(lineage_[&target] = std::move(lineage));
}

absl::StatusOr<CoverageReport> Engine::ValidateCoverage(
    const Target& target, const std::vector<CoverageRequirement>& requirements,
    bool static_only) const {
  SCHEMAD_ASSIGN_OR_RETURN(const std::vector<RevisionLineage>* lineage, Lineage(target));
  const std::vector<CoverageRequirement>& wanted =
      requirements.empty() ? target.catalog.coverage : requirements;
  const std::string& schema = target.catalog.coverage_schema;
  CoverageReport report;
  const SchemaModel model = BuildModel(*lineage, lineage->size());
  report.static_statistics = ModelStatistics(model, schema);
  report.findings = QualityChecks(*lineage);
  std::optional<db::LiveSchema> live;
  if (!static_only) {
    SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
    std::set<std::string> schemas = model.schemas;
    schemas.insert(schema);
    SCHEMAD_ASSIGN_OR_RETURN(live, db::IntrospectSchema(*conn, schemas));
    report.live_statistics = LiveStatistics(*live, schema);
  }
  report.tables = Coverage(*lineage, wanted, schema, live ? &*live : nullptr);
  report.required = static_cast<int>(report.tables.size());
  for (const TableCoverage& table : report.tables) {
    report.covered += table.covered && table.live_present.value_or(true) &&
                      table.missing_columns.empty() && table.missing_indexes.empty();
  }
  return report;
}

absl::StatusOr<VersionReport> Engine::GetVersion(const Target& target) const {
  VersionWatch& watch = WatchOf(target);
  if (std::optional<VersionReport> cached = watch.cache.Get()) return *cached;
  const uint64_t generation = watch.cache.generation();
  SCHEMAD_ASSIGN_OR_RETURN(VersionReport report, ReadVersion(target));
  watch.cache.Put(report, generation);
  return report;
}

void Engine::InvalidateVersion(const Target& target) const {
  // Only a cache that exists needs it: creating one would start a listener for nothing.
  absl::MutexLock lock(&watch_mu_);
  auto it = watches_.find(&target);
  if (it != watches_.end()) it->second->cache.Invalidate();
}

uint64_t Engine::VersionGeneration(const Target& target) const {
  return WatchOf(target).cache.generation();
}

bool Engine::AwaitVersionChange(const Target& target, uint64_t seen, absl::Duration timeout) const {
  return WatchOf(target).cache.AwaitChange(seen, timeout);
}

absl::StatusOr<VersionReport> Engine::ReadVersion(const Target& target) const {
  SCHEMAD_ASSIGN_OR_RETURN(TargetStatus status, ReadStatus(target, /*with_schema_drift=*/false));
  VersionReport report;
  report.current_version = status.current_version;
  for (const RevisionStatus& item : status.revisions) {
    if (item.applied && item.applied->version == status.current_version) {
      report.current_name = item.applied->name;
      report.applied_at = item.applied->applied_at;
    }
  }
  report.applied_count = status.applied_count;
  report.pending_count = status.pending_count;
  report.latest_version = target.catalog.LatestVersion();
  report.blocked = status.blocking_run.has_value();
  report.checksum_drift = status.checksum_drift;
  return report;
}

absl::StatusOr<Plan> Engine::MakePlan(const Target& target, const PlanRequest& request) const {
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied,
                           target.store.ReadApplied(*conn));
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> blocking,
                           target.store.ReadBlockingRun(*conn));
  SCHEMAD_ASSIGN_OR_RETURN(
      Plan plan, engine::MakePlan(target.config.name, target.catalog, applied, blocking, request));
  SCHEMAD_ASSIGN_OR_RETURN(const std::vector<RevisionLineage>* lineage, Lineage(target));
  plan.lint = LintPlan(plan, target.catalog, *lineage);
  std::set<std::string> tables;
  for (const sql::LintFinding& finding : plan.lint) {
    if (!finding.table.empty()) tables.insert(finding.table);
  }
  SCHEMAD_ASSIGN_OR_RETURN(plan.table_rows, db::EstimatedRows(*conn, tables));
  return plan;
}

absl::StatusOr<std::unique_ptr<Engine::InProcessLock>> Engine::LockTarget(const Target& target,
                                                                          absl::Duration wait,
                                                                          db::Connection& journal) {
  const absl::Time deadline = absl::Now() + wait;
  absl::Duration backoff = kFirstBackoff;
  // In-process first, so two calls on this replica never race for the advisory lock.
  while (true) {
    {
      absl::MutexLock lock(&locks_mu_);
      if (held_locks_.count(target.lock_key) == 0) {
        held_locks_[target.lock_key] = "this server";
        break;
      }
    }
    if (absl::Now() >= deadline) {
      return absl::AbortedError(
          absl::StrCat("target ", target.config.name, " is locked by another run on this server"));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  auto holder = std::make_unique<InProcessLock>(this, &target, nullptr);
  // Then across replicas: polled on a connection that holds no transaction, so a waiter never
  // holds a snapshot that a CREATE INDEX CONCURRENTLY of the holder would wait for.
  backoff = kFirstBackoff;
  while (true) {
    SCHEMAD_ASSIGN_OR_RETURN(bool taken, target.store.TryAdvisoryLock(journal));
    if (taken) break;
    if (absl::Now() >= deadline) {
      std::string who = "another schemad";
      absl::StatusOr<std::optional<db::RunRecord>> running = target.store.ReadBlockingRun(journal);
      if (running.ok() && running->has_value()) who = DescribeBlockingRun(**running);
      return absl::AbortedError(absl::StrCat("target ", target.config.name, " is locked: ", who));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  holder->AttachAdvisory(&journal);
  return holder;
}

absl::Status Engine::Run(const Target& target, const RunRequest& request, const EventSink& sink,
                         const CancelCheck& cancelled) {
  SCHEMAD_ASSIGN_OR_RETURN(db::ConnectionPool::Lease journal, target.pool->Acquire());
  const absl::Duration wait =
      request.lock_wait > absl::ZeroDuration() ? request.lock_wait : target.config.lock_wait;
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<InProcessLock> lock, LockTarget(target, wait, *journal));
  absl::Status status = RunLocked(target, request, *journal, sink, cancelled);
  // This replica's own reads see the new state at once, not after its NOTIFY comes back.
  InvalidateVersion(target);
  if (!status.ok() && status.code() != absl::StatusCode::kUnavailable) {
    // Refusals are mutating calls too: the audit log keeps them.
    db::EventRecord refused;
    refused.principal = request.principal;
    refused.action = request.plan.direction == Direction::kUp ? "apply" : "rollback";
    refused.outcome = "REFUSED";
    refused.detail = std::string(status.message());
    target.store.AppendEvent(*journal, refused).IgnoreError();
  }
  return status;
}

absl::Status Engine::RunLocked(const Target& target, const RunRequest& request,
                               db::Connection& journal, const EventSink& sink,
                               const CancelCheck& cancelled) {
  const db::HistoryStore& store = target.store;
  SCHEMAD_RETURN_IF_ERROR(store.EnsureSchema(journal));
  SCHEMAD_RETURN_IF_ERROR(store.MarkOrphanedInterrupted(journal));
  const std::string operation = request.plan.direction == Direction::kUp ? "apply" : "rollback";

  if (!request.request_id.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> previous,
                             store.ReadRunByRequestId(journal, request.request_id));
    if (previous) {
      RunEvent started = Event(RunEvent::Kind::kRunStarted);
      started.run_id = previous->run_id;
      started.plan_hash = previous->plan_hash;
      started.message = "request_id seen before: returning the outcome of its run";
      sink(started);
      RunEvent finished = Event(RunEvent::Kind::kRunFinished);
      finished.run_id = previous->run_id;
      finished.outcome =
          previous->outcome.empty() ? RunStateName(previous->state) : previous->outcome;
      finished.version = previous->current_version;
      finished.message = previous->error;
      finished.sqlstate = previous->sqlstate;
      finished.statement_index = previous->statement_index;
      sink(finished);
      return absl::OkStatus();
    }
  }

  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied, store.ReadApplied(journal));
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> blocking, store.ReadBlockingRun(journal));
  SCHEMAD_ASSIGN_OR_RETURN(Plan plan, engine::MakePlan(target.config.name, target.catalog, applied,
                                                       blocking, request.plan));
  if (!plan.refusal.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(operation, " refused: ", plan.refusal));
  }
  std::vector<std::string> overrides;
  if (request.plan.allow_out_of_order) overrides.push_back("allow_out_of_order");
  if (request.plan.accept_checksum_drift) overrides.push_back("accept_checksum_drift");
  if (target.config.lint_block_severity > 0) {
    SCHEMAD_ASSIGN_OR_RETURN(const std::vector<RevisionLineage>* lineage, Lineage(target));
    std::vector<std::string> blocking_findings;
    for (const sql::LintFinding& finding : LintPlan(plan, target.catalog, *lineage)) {
      if (finding.suppressed ||
          static_cast<int>(finding.severity) < target.config.lint_block_severity) {
        continue;
      }
      blocking_findings.push_back(absl::StrCat(finding.rule, " at ", finding.file, ":",
                                               finding.line, " (", finding.message, ")"));
    }
    if (!blocking_findings.empty()) {
      if (request.lint_override_reason.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            operation, " refused: lint policy of ", EnvironmentName(target.config.environment),
            " blocks ", blocking_findings.size(),
            " finding(s): ", absl::StrJoin(blocking_findings, "; "),
            " (fix them, suppress with -- schemad:lint-ignore RULE reason, or give an override "
            "reason)"));
      }
      overrides.push_back(absl::StrCat("lint override (", blocking_findings.size(),
                                       " finding(s)): ", request.lint_override_reason));
    }
  }
  if (!request.expected_plan_hash.empty() && request.expected_plan_hash != plan.plan_hash) {
    return absl::FailedPreconditionError(absl::StrCat(
        operation, " refused: the state moved since the plan was made (expected plan hash ",
        request.expected_plan_hash, ", now ", plan.plan_hash, "); plan again"));
  }

  db::RunRecord run;
  run.request_id = request.request_id;
  run.principal = request.principal;
  run.operation = operation;
  run.target_version = plan.to_version;
  run.plan_hash = plan.plan_hash;
  run.server_instance = server_instance_;
  run.backend_pid = journal.backend_pid();
  run.overrides = absl::StrJoin(overrides, "; ");
  // Everything that can fail before the first statement happens before the run is journaled,
  // so a journaled run always records its end.
  std::optional<db::ConnectionPool::Lease> work;
  if (!plan.steps.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(work, target.pool->Acquire());
    store.PrepareWorkSession(**work);
  }
  SCHEMAD_ASSIGN_OR_RETURN(run.run_id, store.StartRun(journal, run));
  RunEvent started = Event(RunEvent::Kind::kRunStarted);
  started.run_id = run.run_id;
  started.step_count = static_cast<int>(plan.steps.size());
  started.plan_hash = plan.plan_hash;
  sink(started);

  const absl::Time run_start = absl::Now();
  RunEvent finished = Event(RunEvent::Kind::kRunFinished);
  finished.run_id = run.run_id;
  run.state = db::RunState::kSucceeded;
  run.outcome = plan.steps.empty()
                    ? "NO_CHANGE"
                    : (request.plan.direction == Direction::kUp ? "APPLIED" : "ROLLED_BACK");

  for (const PlanStep& step : plan.steps) {
    absl::StatusOr<std::optional<db::HistoryStore::ScriptFailure>> failure =
        RunStep(target, step, run.run_id, request.principal, 0, journal, **work, sink, cancelled);
    run.current_version = step.revision->version;
    run.current_transactional = step.transactional;
    if (!failure.ok() || failure->has_value()) {
      run.state = db::RunState::kFailed;
      run.outcome = "FAILED";
      if (!failure.ok()) {
        run.error = absl::StrCat(StepLabel(step), ": ", failure.status().message());
      } else {
        const db::HistoryStore::ScriptFailure& f = **failure;
        const auto& statements = step.file->script.statements;
        run.statement_index = f.statement_index + 1;
        run.sqlstate = f.sqlstate;
        run.error =
            absl::StrCat(StepLabel(step), ": statement ", run.statement_index, " (line ",
                         f.statement_index < static_cast<int>(statements.size())
                             ? statements[f.statement_index].line
                             : 0,
                         "): ", f.message,
                         f.sqlstate.empty() ? "" : absl::StrCat(" (SQLSTATE ", f.sqlstate, ")"));
        if (f.statement_index < static_cast<int>(statements.size())) {
          run.failing_statement = statements[f.statement_index].text;
        }
        if (f.sqlstate == "57014" && cancelled()) {
          run.state = db::RunState::kInterrupted;
          run.outcome = "INTERRUPTED";
        }
        if (!step.transactional) {
          absl::StatusOr<std::vector<std::string>> invalid = store.InvalidIndexes(journal);
          if (invalid.ok() && !invalid->empty()) {
            absl::StrAppend(&run.error, "; indexes left INVALID: ", absl::StrJoin(*invalid, ", "));
          }
        }
      }
      break;
    }
    ++finished.steps_done;
  }
  SCHEMAD_RETURN_IF_ERROR(store.FinishRun(journal, run));
  db::EventRecord audit;
  audit.principal = request.principal;
  audit.action = operation;
  audit.run_id = run.run_id;
  audit.outcome = run.outcome;
  audit.detail = run.error.empty()
                     ? absl::StrCat("to ", plan.to_version.empty() ? "0" : plan.to_version)
                     : run.error;
  if (!run.overrides.empty()) absl::StrAppend(&audit.detail, "; overrides: ", run.overrides);
  store.AppendEvent(journal, audit).IgnoreError();

  finished.outcome = run.outcome;
  finished.version = plan.to_version;
  finished.duration_ms = absl::ToDoubleMilliseconds(absl::Now() - run_start);
  finished.message = run.error;
  finished.sqlstate = run.sqlstate;
  finished.statement_index = run.statement_index;
  sink(finished);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<db::HistoryStore::ScriptFailure>> Engine::RunStep(
    const Target& target, const PlanStep& step, const std::string& run_id,
    const std::string& principal, int first_statement, db::Connection& journal,
    db::Connection& work, const EventSink& sink, const CancelCheck& cancelled) {
  const db::HistoryStore& store = target.store;
  const auto& statements = step.file->script.statements;
  std::vector<std::string> texts;
  texts.reserve(statements.size());
  for (const sql::Statement& statement : statements) texts.push_back(statement.text);

  RunEvent started = Event(RunEvent::Kind::kStepStarted);
  started.version = step.revision->version;
  started.name = step.revision->name;
  started.direction = step.direction;
  started.transactional = step.transactional;
  started.statement_count = static_cast<int>(statements.size());
  sink(started);
  SCHEMAD_RETURN_IF_ERROR(store.UpdateProgress(journal, run_id, step.revision->version,
                                               step.transactional, first_statement,
                                               work.backend_pid()));

  db::HistoryStore::HistoryWrite history;
  history.insert = step.direction == Direction::kUp;
  history.revision.version = step.revision->version;
  history.revision.name = step.revision->name;
  history.revision.checksum = step.revision->up.checksum;
  history.revision.applied_by = principal;
  history.revision.run_id = run_id;

  // Cancels the running statement when the caller goes away, so a long statement does not
  // outlive the call.
  absl::Notification step_done;
  std::thread watcher([&] {
    while (!step_done.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      if (cancelled()) {
        work.Cancel();
        return;
      }
    }
  });
  const auto forward_notices = [&] {
    for (std::string& notice : work.TakeNotices()) {
      RunEvent event = Event(RunEvent::Kind::kNotice);
      event.version = step.revision->version;
      event.message = std::move(notice);
      sink(event);
    }
  };

  const absl::Time start = absl::Now();
  absl::Duration backoff = absl::Milliseconds(200);
  int from = first_statement;
  int completed = first_statement;  // statements of a non-transactional file done so far
  absl::StatusOr<std::optional<db::HistoryStore::ScriptFailure>> result;
  for (int attempt = 0;; ++attempt) {
    result = store.RunScript(work, texts, step.transactional, from, target.config.lock_timeout,
                             history, cancelled, [&](int index, double duration_ms) {
                               forward_notices();
                               if (step.transactional) return;
                               completed = index + 1;
                               store
                                   .UpdateProgress(journal, run_id, step.revision->version, false,
                                                   index + 1, work.backend_pid())
                                   .IgnoreError();
                               RunEvent done = Event(RunEvent::Kind::kStatementDone);
                               done.version = step.revision->version;
                               done.statement_index = index + 1;
                               done.statement_count = static_cast<int>(texts.size());
                               done.duration_ms = duration_ms;
                               sink(done);
                             });
    forward_notices();
    if (!result.ok() || !result->has_value() || !(*result)->lock_timeout ||
        attempt >= target.config.lock_retries || cancelled()) {
      break;
    }
    const db::HistoryStore::ScriptFailure& f = **result;
    RunEvent retry = Event(RunEvent::Kind::kNotice);
    retry.version = step.revision->version;
    retry.message = absl::StrCat("lock_timeout at statement ", f.statement_index + 1, ": ",
                                 f.message, "; retry ", attempt + 1, " of ",
                                 target.config.lock_retries, " in ", absl::FormatDuration(backoff));
    sink(retry);
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(10));
    if (!step.transactional) from = f.statement_index;
  }
  step_done.Notify();
  watcher.join();
  if (!result.ok()) {
    // E.g. the history write after the last statement failed: keep the progress, so that a
    // retry resumes after the statements that ran instead of running them again.
    db::HistoryStore::ScriptFailure failure;
    failure.statement_index = step.transactional ? 0 : completed;
    failure.message = std::string(result.status().message());
    failure.connection_lost = result.status().code() == absl::StatusCode::kUnavailable;
    return std::optional<db::HistoryStore::ScriptFailure>(failure);
  }
  if (result->has_value()) return result;

  RunEvent finished = Event(RunEvent::Kind::kStepFinished);
  finished.version = step.revision->version;
  finished.duration_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  sink(finished);
  return result;
}

absl::StatusOr<db::RunRecord> Engine::Resolve(const Target& target, const std::string& run_id,
                                              bool retry, const std::string& principal,
                                              const EventSink& sink, const CancelCheck& cancelled) {
  if (run_id.empty()) return absl::InvalidArgumentError("run_id: required");
  SCHEMAD_ASSIGN_OR_RETURN(db::ConnectionPool::Lease journal, target.pool->Acquire());
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<InProcessLock> lock,
                           LockTarget(target, target.config.lock_wait, *journal));
  const db::HistoryStore& store = target.store;
  SCHEMAD_RETURN_IF_ERROR(store.MarkOrphanedInterrupted(*journal));
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> found, store.ReadRun(*journal, run_id));
  if (!found)
    return absl::NotFoundError(absl::StrCat("no run ", run_id, " on target ", target.config.name));
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> blocking, store.ReadBlockingRun(*journal));
  if (!blocking || blocking->run_id != found->run_id) {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id, " is ",
                                                      RunStateName(found->state),
                                                      " and blocks nothing: nothing to resolve"));
  }
  db::RunRecord run = *found;
  const int index = target.catalog.IndexOf(run.current_version);
  if (index < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "run ", run_id, " stopped at ", run.current_version, ", which is not in the catalog"));
  }
  const Revision& revision = target.catalog.revisions[index];
  const Direction direction = run.operation == "rollback" ? Direction::kDown : Direction::kUp;
  if (direction == Direction::kDown && !revision.down) {
    return absl::FailedPreconditionError(absl::StrCat(revision.Id(), " has no down file"));
  }
  PlanStep step;
  step.revision = &revision;
  step.direction = direction;
  step.file = direction == Direction::kUp ? &revision.up : &*revision.down;
  step.transactional = step.file->script.mode == sql::TransactionMode::kTransactional;

  db::EventRecord audit;
  audit.principal = principal;
  audit.run_id = run.run_id;
  if (retry) {
    // A transactional file left nothing behind: run it whole. A non-transactional one resumes
    // at the statement that failed.
    const int first = step.transactional ? 0 : std::max(0, run.statement_index - 1);
    SCHEMAD_ASSIGN_OR_RETURN(db::ConnectionPool::Lease work, target.pool->Acquire());
    store.PrepareWorkSession(*work);
    SCHEMAD_ASSIGN_OR_RETURN(auto failure, RunStep(target, step, run.run_id, principal, first,
                                                   *journal, *work, sink, cancelled));
    audit.action = "resolve-retry";
    if (failure) {
      run.state = db::RunState::kFailed;
      run.statement_index = failure->statement_index + 1;
      run.sqlstate = failure->sqlstate;
      run.error = absl::StrCat(StepLabel(step), ": statement ", run.statement_index, ": ",
                               failure->message);
      run.outcome = "FAILED";
    } else {
      run.state = db::RunState::kResolved;
      run.outcome = "RESOLVED_RETRY";
    }
  } else {
    if (direction == Direction::kUp) {
      db::AppliedRevision applied;
      applied.version = revision.version;
      applied.name = revision.name;
      applied.checksum = revision.up.checksum;
      applied.applied_by = principal;
      applied.run_id = run.run_id;
      SCHEMAD_RETURN_IF_ERROR(store.RecordApplied(*journal, applied));
    } else {
      SCHEMAD_RETURN_IF_ERROR(store.RemoveApplied(*journal, revision.version));
    }
    audit.action = "resolve-mark-done";
    run.state = db::RunState::kResolved;
    run.outcome = "RESOLVED_MARK_DONE";
  }
  SCHEMAD_RETURN_IF_ERROR(store.FinishRun(*journal, run));
  InvalidateVersion(target);
  audit.outcome = run.outcome;
  audit.detail = absl::StrCat(revision.Id(), run.error.empty() ? "" : ": ", run.error);
  store.AppendEvent(*journal, audit).IgnoreError();
  return run;
}

absl::StatusOr<std::vector<db::RunRecord>> Engine::ReadRuns(const Target& target, int limit,
                                                            int offset) const {
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  return target.store.ReadRuns(*conn, limit, offset);
}

absl::StatusOr<std::vector<db::EventRecord>> Engine::ReadEvents(const Target& target, int limit,
                                                                int offset) const {
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  return target.store.ReadEvents(*conn, limit, offset);
}

}  // namespace schemad::engine
