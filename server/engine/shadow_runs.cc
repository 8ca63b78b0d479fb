// The engine's work in shadow databases: the expected schema for exact drift (the catalog
// replayed), rehearsals of a plan on a copy of the target's schema, and reversibility proofs;
// and the gates that use them (drift_gate, require_rehearsal).
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/refusal.h"
#include "server/common/sha256.h"
#include "server/common/status_macros.h"
#include "server/common/subprocess.h"
#include "server/db/bookkeeping_schema.h"
#include "server/db/introspection.h"
#include "server/db/server_admin.h"
#include "server/engine/engine.h"
#include "server/engine/executor.h"
#include "spdlog/spdlog.h"

namespace schemad::engine {

// A shadow database set up like a target: its Target (pool, journal, history) and the lock a
// run needs. Members go in reverse order: the lock and the pool before the database is
// dropped.
// One catalog's place in a shadow: a Target (pool, journal, history) and its lock.
struct Shadow {
  std::unique_ptr<ShadowServer::Database> database;
  InProcessLocks locks;
  std::vector<std::unique_ptr<Target>> targets;
  std::vector<std::unique_ptr<TargetLock>> held;
  std::string user;  // the target's role: its grants count as the owner's on both sides
};

namespace {

// Adds a catalog to the shadow, set up like `like`; returns its index.
absl::StatusOr<size_t> AddCatalog(Shadow& shadow, const Target& like, const std::string& catalog) {
  TargetConfig config = like.config;
  config.name = absl::StrCat(like.config.name, " (shadow)");
  config.dsn = shadow.database->dsn();
  config.environment = EnvironmentConfig{};
  config.environment.name = "shadow";
  auto target = std::make_unique<Target>(
      config, catalog, absl::StrCat("shadow ", shadow.database->name(), " ", catalog));
  target->pool = shadow.targets.empty() ? std::make_shared<db::ConnectionPool>(config.dsn, 2)
                                        : shadow.targets.front()->pool;
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<TargetLock> lock,
                           TargetLock::Acquire(shadow.locks, target->lock_key, *target->pool,
                                               target->journal, config.name, absl::Seconds(10)));
  SCHEMAD_RETURN_IF_ERROR(db::EnsureBookkeepingSchema(lock->session()));
  shadow.targets.push_back(std::move(target));
  shadow.held.push_back(std::move(lock));
  return shadow.targets.size() - 1;
}

// What a shadow for `target` must be like, read on `conn` (the target's database).
absl::StatusOr<ShadowServer::Like> LikeTarget(const Target& target, db::Connection& conn,
                                              std::string* user) {
  ShadowServer::Like like;
  like.target = target.config.name;
  like.version = conn.server_version();
  SCHEMAD_ASSIGN_OR_RETURN(like.roles, db::RoleNames(conn));
  SCHEMAD_ASSIGN_OR_RETURN(db::SessionIdentity identity, db::ReadSessionIdentity(conn));
  like.search_path = identity.search_path;
  *user = identity.user;
  return like;
}

absl::StatusOr<std::unique_ptr<Shadow>> OpenShadow(ShadowServer& server, const Target& target,
                                                   const ShadowServer::Like& like,
                                                   const std::string& user) {
  auto shadow = std::make_unique<Shadow>();
  shadow->user = user;
  SCHEMAD_ASSIGN_OR_RETURN(shadow->database, server.Create(like));
  SCHEMAD_RETURN_IF_ERROR(AddCatalog(*shadow, target, target.store.catalog()).status());
  return shadow;
}

// Runs `steps` in the shadow (for its catalog `index`) as one journaled run; returns the run
// with its outcome.
absl::StatusOr<db::RunRecord> RunInShadow(Shadow& shadow, const std::vector<PlanStep>& steps,
                                          const std::string& digest, const EventSink& sink,
                                          bool every_statement, size_t index = 0) {
  db::RunRecord run;
  Target& target = *shadow.targets[index];
  TargetLock& lock = *shadow.held[index];
  db::Connection& session = lock.session();
  run.principal = "schemad (shadow)";
  run.operation = !steps.empty() && steps.front().direction == Direction::kDown
                      ? db::Operation::kRollback
                      : db::Operation::kApply;
  run.backend_pid = session.backend_pid();
  SCHEMAD_ASSIGN_OR_RETURN(run.run_id, target.journal.Start(session, run));
  const CancelCheck never = [] { return false; };
  Executor executor(target, lock, sink, never, digest);
  if (every_statement) executor.ReportEveryStatement();
  run.state = db::RunState::kSucceeded;
  run.outcome =
      run.operation == db::Operation::kApply ? db::Outcome::kApplied : db::Outcome::kRolledBack;
  executor.Execute(steps, 0, /*resume=*/false, run);
  target.journal.Finish(session, run).IgnoreError();  // the database is scratch
  return run;
}

bool Succeeded(const db::RunRecord& run) {
  return run.outcome == db::Outcome::kApplied || run.outcome == db::Outcome::kRolledBack;
}

std::vector<DriftItem> ToDrift(const std::vector<db::SchemaDifference>& differences) {
  std::vector<DriftItem> items;
  for (const db::SchemaDifference& d : differences) {
    items.push_back({d.kind, d.object, d.expected, d.actual});
  }
  return items;
}

std::string DriftHash(const std::vector<DriftItem>& items) {
  std::string material = "schemad-drift-v1\n";
  for (const DriftItem& item : items) {
    for (const std::string* field : {&item.kind, &item.object, &item.expected, &item.actual}) {
      absl::StrAppend(&material, field->size(), ":", *field, "\n");
    }
  }
  return Sha256Hex(material);
}

absl::StatusOr<db::SchemaSnapshot> SnapshotOf(const Shadow& shadow) {
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn,
                           db::Connection::Open(shadow.database->dsn()));
  return db::ReadSchemaSnapshot(*conn, shadow.user);
}

// The up steps of exactly the `applied` revisions, in catalog order.
absl::StatusOr<std::vector<PlanStep>> ReplaySteps(const Catalog& catalog,
                                                  const std::vector<db::AppliedRevision>& applied,
                                                  std::vector<std::string>* notes) {
  std::set<std::string> wanted;
  for (const db::AppliedRevision& revision : applied) wanted.insert(VersionKey(revision.version));
  std::vector<PlanStep> steps;
  std::map<std::string, const Revision*> found;
  for (const Revision& revision : catalog.revisions) {
    if (wanted.count(VersionKey(revision.version)) == 0) continue;
    SCHEMAD_ASSIGN_OR_RETURN(PlanStep step, MakeStep(revision, Direction::kUp));
    step.version_after = revision.version;
    steps.push_back(step);
    found[VersionKey(revision.version)] = &revision;
  }
  for (const db::AppliedRevision& revision : applied) {
    auto in_catalog = found.find(VersionKey(revision.version));
    if (in_catalog == found.end()) {
      notes->push_back(absl::StrCat("revision ", revision.version, " of catalog ", catalog.name,
                                    " is applied but not in the catalog: the shadow cannot "
                                    "replay it, so what it made shows as unexpected"));
    } else if (!revision.checksum.empty() && in_catalog->second->up.checksum != revision.checksum) {
      notes->push_back(absl::StrCat("revision ", revision.version,
                                    "'s file changed since it was applied: the shadow replays "
                                    "the catalog's file as it is now"));
    }
  }
  return steps;
}

// Runs PostgreSQL tool `tool` (pg_dump, psql) with the DSN in its environment.
absl::StatusOr<std::string> RunTool(const std::string& bin_dir, const std::string& tool,
                                    std::vector<std::string> args, const std::string& dsn,
                                    const std::string& input, const std::string& what) {
  std::vector<std::string> argv = {absl::StrCat(bin_dir, "/", tool)};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions options;
  options.env = db::DsnEnvironment(dsn);
  options.env.push_back("PGAPPNAME=schemad rehearsal");
  options.stdin_data = input;
  SCHEMAD_ASSIGN_OR_RETURN(CommandResult result, RunCommand(argv, options));
  if (result.exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " failed (", tool, " exit ", result.exit_code, "): ", result.err));
  }
  return result.out;
}

}  // namespace

// A shadow is dropped off the caller's path (DROP DATABASE waits for a checkpoint).
void Engine::DropLater(std::unique_ptr<Shadow> shadow) const {
  std::shared_ptr<Shadow> done(std::move(shadow));
  if (!Later([done] {})) done.reset();
}

absl::StatusOr<std::shared_ptr<const db::SchemaSnapshot>> Engine::ExpectedSchema(
    const Target& target, db::Connection& conn, const std::vector<Replay>& replays,
    std::vector<std::string>* notes, bool* cached) const {
  // The key: every catalog's content and the revisions replayed of it.
  std::string key;
  std::vector<std::vector<PlanStep>> steps;
  std::vector<std::string> replay_notes;
  for (const Replay& replay : replays) {
    SCHEMAD_ASSIGN_OR_RETURN(std::vector<PlanStep> these,
                             ReplaySteps(*replay.catalog, replay.applied, &replay_notes));
    absl::StrAppend(&key, replay.catalog->name, " ", replay.catalog->digest());
    for (const PlanStep& step : these) absl::StrAppend(&key, " ", step.revision->version);
    absl::StrAppend(&key, "\n");
    steps.push_back(std::move(these));
  }
  notes->insert(notes->end(), replay_notes.begin(), replay_notes.end());
  {
    absl::MutexLock lock(&shadow_mu_);
    if (auto it = expected_.find(key); it != expected_.end()) {
      *cached = true;
      notes->insert(notes->end(), it->second.notes.begin(), it->second.notes.end());
      return it->second.snapshot;
    }
  }
  std::vector<std::string> server_notes;
  std::string user;
  SCHEMAD_ASSIGN_OR_RETURN(ShadowServer::Like like, LikeTarget(target, conn, &user));
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<std::string> extensions, db::InstalledExtensions(conn));
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<std::string> lacking, shadow_->Lacking(extensions));
  if (!lacking.empty()) {
    server_notes.push_back(absl::StrCat("the shadow server lacks extension(s) ",
                                        absl::StrJoin(lacking, ", "),
                                        " that the target has: revisions that create them cannot "
                                        "be replayed there"));
  }
  absl::MutexLock replaying(&target.shadow_mu);
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<Shadow> shadow,
                           OpenShadow(*shadow_, target, like, user));
  for (size_t i = 0; i < replays.size(); ++i) {
    size_t index = 0;
    if (replays[i].catalog->name != target.store.catalog()) {
      SCHEMAD_ASSIGN_OR_RETURN(index, AddCatalog(*shadow, target, replays[i].catalog->name));
    }
    if (steps[i].empty()) continue;
    SCHEMAD_ASSIGN_OR_RETURN(db::RunRecord run, RunInShadow(
                                                    *shadow, steps[i], replays[i].catalog->digest(),
                                                    [](const RunEvent&) {},
                                                    /*every_statement=*/false, index));
    if (!Succeeded(run)) {
      return absl::FailedPreconditionError(
          absl::StrCat("replaying catalog ", replays[i].catalog->name,
                       " in a shadow database failed: ", run.error));
    }
  }
  SCHEMAD_ASSIGN_OR_RETURN(db::SchemaSnapshot snapshot, SnapshotOf(*shadow));
  DropLater(std::move(shadow));
  auto expected = std::make_shared<const db::SchemaSnapshot>(std::move(snapshot));
  notes->insert(notes->end(), server_notes.begin(), server_notes.end());
  absl::MutexLock lock(&shadow_mu_);
  if (expected_.size() >= 32) expected_.erase(expected_.begin());
  expected_[key] = Expected{expected, server_notes};
  return expected;
}

absl::StatusOr<std::vector<Engine::Replay>> Engine::ReplaysFor(
    const Target& target, db::Connection& conn, std::shared_ptr<const Catalog> catalog,
    std::vector<db::AppliedRevision> applied) const {
  // Other catalogs on the same database are replayed too (in config order), or their objects
  // would show as unexpected.
  std::vector<Replay> replays;
  std::set<std::string> seen = {target.store.catalog()};
  for (const auto& other : targets_) {
    if (other.get() == &target) {
      replays.push_back({std::move(catalog), std::move(applied)});
      continue;
    }
    if (other->pool != target.pool || !seen.insert(other->store.catalog()).second) continue;
    Replay replay;
    SCHEMAD_ASSIGN_OR_RETURN(replay.catalog, CatalogFor(*other, ""));
    SCHEMAD_ASSIGN_OR_RETURN(replay.applied, other->store.ReadApplied(conn));
    replays.push_back(std::move(replay));
  }
  return replays;
}

absl::Status Engine::FillDrift(const Target& target, db::Connection& conn,
                               const std::vector<db::AppliedRevision>& applied,
                               TargetStatus& status) const {
  const Catalog& catalog = *status.catalog;
  bool cached = false;
  absl::StatusOr<std::vector<Replay>> replays = ReplaysFor(target, conn, status.catalog, applied);
  absl::StatusOr<std::shared_ptr<const db::SchemaSnapshot>> expected =
      replays.ok() ? ExpectedSchema(target, conn, *replays, &status.drift_notes, &cached)
                   : absl::StatusOr<std::shared_ptr<const db::SchemaSnapshot>>(replays.status());
  if (replays.ok() && replays->size() > 1) {
    status.drift_notes.push_back(
        absl::StrCat("the database also holds the catalog(s) of other "
                     "targets: all ",
                     replays->size(), " catalogs were replayed"));
  }
  if (expected.ok()) {
    SCHEMAD_ASSIGN_OR_RETURN(db::SessionIdentity identity, db::ReadSessionIdentity(conn));
    SCHEMAD_ASSIGN_OR_RETURN(db::SchemaSnapshot live, db::ReadSchemaSnapshot(conn, identity.user));
    status.drift_objects = static_cast<int>(live.size());
    status.schema_drift = ToDrift(db::DiffSnapshots(**expected, live));
    status.drift_exact = true;
    status.drift_basis =
        absl::StrCat("the catalog (", catalog.digest(), ") replayed to ", status.applied_count,
                     " applied revision(s) in a shadow "
                     "database on the ",
                     shadow_->Describe(), cached ? " (cached)" : "");
    return absl::OkStatus();
  }
  // A shadow of another major version is a configuration error, not a reason to guess.
  if (std::optional<Refusal> refusal = RefusalOf(expected.status());
      refusal && refusal->reason == RefusalReason::kShadowVersion) {
    return expected.status();
  }
  spdlog::warn("target {}: exact drift unavailable ({}); using the static model",
               target.config.name, std::string(expected.status().message()));
  status.drift_notes.push_back(absl::StrCat(
      "no shadow database (", expected.status().message(),
      "): drift is against the static model read from the catalog's SQL, which does not see "
      "triggers, function and view bodies, defaults, sequences, enum values, grants, policies "
      "or what dynamic SQL makes"));
  status.drift_basis = "the static model of the catalog's SQL";
  SCHEMAD_ASSIGN_OR_RETURN(const std::vector<RevisionLineage>* lineage, Lineage(status.catalog));
  std::set<std::string> keys;
  for (const db::AppliedRevision& revision : applied) keys.insert(VersionKey(revision.version));
  size_t count = 0;
  for (size_t i = 0; i < catalog.revisions.size(); ++i) {
    if (keys.count(VersionKey(catalog.revisions[i].version)) != 0) count = i + 1;
  }
  SCHEMAD_RETURN_IF_ERROR(FirstLineageError(*lineage, count));
  const SchemaModel model = BuildModel(*lineage, count);
  SCHEMAD_ASSIGN_OR_RETURN(db::LiveSchema live, db::IntrospectSchema(conn, model.schemas));
  status.schema_drift = Drift(model, live);
  return absl::OkStatus();
}

absl::StatusOr<Rehearsal> Engine::Rehearse(const Target& target,
                                           const RehearsalRequest& request) const {
  if (request.plan.direction != Direction::kUp) {
    return absl::InvalidArgumentError("rehearse: only plans that apply can be rehearsed");
  }
  const absl::Time start = absl::Now();
  SCHEMAD_ASSIGN_OR_RETURN(Plan plan, MakePlan(target, request.plan));
  Rehearsal rehearsal;
  rehearsal.plan_hash = plan.plan_hash;
  rehearsal.catalog_digest = plan.catalog->digest();
  rehearsal.from_version = plan.from_version;
  rehearsal.to_version = plan.to_version;
  rehearsal.reversible = request.reversible;
  if (!plan.refusal.empty()) rehearsal.notes.push_back("apply would refuse: " + plan.refusal);
  std::vector<db::AppliedRevision> applied;
  ShadowServer::Like like;
  std::string user;
  {
    // Not held through the rehearsal: the target's pool is small.
    SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
    SCHEMAD_ASSIGN_OR_RETURN(applied, target.store.ReadApplied(*conn));
    SCHEMAD_ASSIGN_OR_RETURN(like, LikeTarget(target, *conn, &user));
  }

  // What the steps did, from the executor's events.
  std::unique_ptr<db::Connection> watcher_conn;
  std::optional<db::LockWatcher> watcher;
  std::string run_error;
  const EventSink sink = [&](const RunEvent& event) {
    switch (event.kind) {
      case RunEvent::Kind::kStepStarted: {
        RehearsedStep& step = rehearsal.steps.emplace_back();
        step.version = event.version;
        step.name = event.name;
        step.direction = event.direction;
        step.outcome = "failed";
        if (watcher) watcher->Forget();
        break;
      }
      case RunEvent::Kind::kStatementDone: {
        if (rehearsal.steps.empty()) break;
        RehearsedStatement& statement = rehearsal.steps.back().statements.emplace_back();
        statement.index = event.statement_index;
        statement.duration_ms = event.duration_ms;
        if (!watcher) break;
        absl::StatusOr<std::vector<std::string>> locks = watcher->NewLocks();
        if (locks.ok()) statement.locks = *std::move(locks);
        break;
      }
      case RunEvent::Kind::kStepFinished:
        if (!rehearsal.steps.empty()) {
          rehearsal.steps.back().outcome = "ok";
          rehearsal.steps.back().duration_ms = event.duration_ms;
        }
        break;
      case RunEvent::Kind::kRunFinished:
        run_error = event.message;
        break;
      default:
        break;
    }
  };
  const auto fail_last = [&](const std::string& error) {
    if (!rehearsal.steps.empty() && rehearsal.steps.back().outcome == "failed") {
      rehearsal.steps.back().error = error;
    }
    if (rehearsal.problem.empty()) rehearsal.problem = error;
  };

  absl::MutexLock replaying(&target.shadow_mu);
  const absl::Time t0 = absl::Now();
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<Shadow> shadow,
                           OpenShadow(*shadow_, target, like, user));
  const absl::Time t1 = absl::Now();
  absl::Time t2 = t1;
  const std::string digest = plan.catalog->digest();
  if (!request.reversible) {
    // The target's schema as it is (its bookkeeping left out), then the sample rows.
    // The custom format and pg_restore: no SQL text of the target's goes through psql.
    const std::string bin_dir = shadow_->tools_dir(like.version / 10000);
    SCHEMAD_ASSIGN_OR_RETURN(
        std::string dump,
        RunTool(bin_dir, "pg_dump",
                {"--schema-only", "--format=custom", "--no-owner", "--no-privileges",
                 "--exclude-schema=schemad", "--exclude-schema=schemad_control",
                 absl::StrCat("--lock-wait-timeout=",
                              absl::ToInt64Milliseconds(target.config.lock_timeout))},
                target.config.dsn, "", "copying the target's schema (pg_dump --schema-only)"));
    SCHEMAD_RETURN_IF_ERROR(RunTool(bin_dir, "pg_restore",
                                    {"--exit-on-error", "--single-transaction", "--no-owner",
                                     "--no-privileges", "--dbname", shadow->database->name()},
                                    shadow->database->dsn(), dump,
                                    "restoring the target's schema in the shadow (pg_restore)")
                                .status());
    if (!target.config.rehearsal_data.empty()) {
      SCHEMAD_RETURN_IF_ERROR(
          RunTool(bin_dir, "psql",
                  {"-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f",
                   target.config.rehearsal_data},
                  shadow->database->dsn(), "",
                  absl::StrCat("loading rehearsal_data ", target.config.rehearsal_data))
              .status());
    }
    rehearsal.shadow =
        absl::StrCat("a copy of ", target.config.name, "'s schema",
                     target.config.rehearsal_data.empty() ? "" : " with its rehearsal_data",
                     " on the ", shadow_->Describe());
    t2 = absl::Now();
    SCHEMAD_ASSIGN_OR_RETURN(watcher_conn, db::Connection::Open(shadow->database->dsn()));
    watcher.emplace(*watcher_conn, shadow->held[0]->session().backend_pid());
    if (!plan.steps.empty()) {
      SCHEMAD_ASSIGN_OR_RETURN(db::RunRecord run,
                               RunInShadow(*shadow, plan.steps, digest, sink, true));
      if (!Succeeded(run)) fail_last(run.error);
    }
  } else {
    rehearsal.shadow = absl::StrCat("a replay of the catalog to ", target.config.name,
                                    "'s revisions on the ", shadow_->Describe());
    SCHEMAD_ASSIGN_OR_RETURN(std::vector<PlanStep> replay,
                             ReplaySteps(*plan.catalog, applied, &rehearsal.notes));
    if (!replay.empty()) {
      SCHEMAD_ASSIGN_OR_RETURN(db::RunRecord run,
                               RunInShadow(
                                   *shadow, replay, digest, [](const RunEvent&) {}, false));
      if (!Succeeded(run)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "replaying the catalog to the target's revisions in a shadow failed: ", run.error));
      }
    }
    const Shadow& replayed = *shadow;
    for (const PlanStep& up : plan.steps) {
      const Revision& revision = *up.revision;
      SCHEMAD_ASSIGN_OR_RETURN(db::SchemaSnapshot before, SnapshotOf(replayed));
      SCHEMAD_ASSIGN_OR_RETURN(db::RunRecord first,
                               RunInShadow(*shadow, {up}, digest, sink, false));
      if (!Succeeded(first)) {
        fail_last(first.error);
        break;
      }
      RehearsedStep& step = rehearsal.steps.back();
      SCHEMAD_ASSIGN_OR_RETURN(db::SchemaSnapshot after, SnapshotOf(replayed));
      if (!revision.down || revision.down->script().statements.empty()) {
        step.outcome = "irreversible";
        step.error = revision.down ? "its down file is empty" : "it has no down file";
        continue;
      }
      SCHEMAD_ASSIGN_OR_RETURN(PlanStep down, MakeStep(revision, Direction::kDown));
      SCHEMAD_ASSIGN_OR_RETURN(db::RunRecord back,
                               RunInShadow(
                                   *shadow, {down}, digest, [](const RunEvent&) {}, false));
      if (!Succeeded(back)) {
        step.outcome = "failed";
        step.error = absl::StrCat("its down failed: ", back.error);
        rehearsal.problem = absl::StrCat(revision.Id(), ": ", step.error);
        break;
      }
      SCHEMAD_ASSIGN_OR_RETURN(db::SchemaSnapshot restored, SnapshotOf(replayed));
      step.difference = ToDrift(db::DiffSnapshots(before, restored));
      if (!step.difference.empty()) {
        step.outcome = "down does not restore";
        rehearsal.problem =
            absl::StrCat(revision.Id(), ": its down does not restore the schema before its up (",
                         step.difference.size(), " difference(s), first: ", step.difference[0].kind,
                         " ", step.difference[0].object, ")");
        break;
      }
      SCHEMAD_ASSIGN_OR_RETURN(db::RunRecord again,
                               RunInShadow(
                                   *shadow, {up}, digest, [](const RunEvent&) {}, false));
      if (!Succeeded(again)) {
        step.outcome = "second up differs";
        step.error = absl::StrCat("its up failed after its down: ", again.error);
        rehearsal.problem = absl::StrCat(revision.Id(), ": ", step.error);
        break;
      }
      SCHEMAD_ASSIGN_OR_RETURN(db::SchemaSnapshot twice, SnapshotOf(replayed));
      step.difference = ToDrift(db::DiffSnapshots(after, twice));
      if (!step.difference.empty()) {
        step.outcome = "second up differs";
        rehearsal.problem =
            absl::StrCat(revision.Id(), ": its up after its down makes a different schema (",
                         step.difference.size(), " difference(s))");
        break;
      }
    }
  }
  spdlog::debug("rehearse {}: plan {:.0f} ms, shadow {:.0f} ms, copy {:.0f} ms, run {:.0f} ms",
                target.config.name, absl::ToDoubleMilliseconds(t0 - start),
                absl::ToDoubleMilliseconds(t1 - t0), absl::ToDoubleMilliseconds(t2 - t1),
                absl::ToDoubleMilliseconds(absl::Now() - t2));
  watcher.reset();
  DropLater(std::move(shadow));
  if (rehearsal.problem.empty() && !run_error.empty() && !request.reversible) {
    rehearsal.problem = run_error;
  }
  rehearsal.ok = rehearsal.problem.empty();
  rehearsal.duration_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (!request.reversible && control_ != nullptr) {
    db::RehearsalRecord record;
    record.target = target.config.name;
    record.plan_hash = plan.plan_hash;
    record.ok = rehearsal.ok;
    record.principal = request.principal;
    record.summary =
        rehearsal.ok ? absl::StrCat(plan.steps.size(), " step(s) ran clean") : rehearsal.problem;
    absl::Status stored = NeedsControl();
    if (stored.ok()) stored = control_->RecordRehearsal(record);
    if (!stored.ok()) {
      rehearsal.notes.push_back(absl::StrCat("the rehearsal was not recorded: ", stored.message()));
    }
    rehearsal.recorded = stored.ok();
  }
  return rehearsal;
}

absl::Status Engine::CheckRehearsed(const Target& target, const std::string& plan_hash) const {
  const EnvironmentConfig& environment = target.config.environment;
  if (environment.require_rehearsal <= absl::ZeroDuration()) return absl::OkStatus();
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::RehearsalRecord> rehearsals,
                           control_->Rehearsals(target.config.name, plan_hash, 50));
  // The newest rehearsal of the plan decides: a failure after a success (other sample rows,
  // say) is not outweighed by the success.
  const absl::Time since = absl::Now() - environment.require_rehearsal;
  if (!rehearsals.empty() && rehearsals.front().ok && rehearsals.front().rehearsed_at >= since) {
    return absl::OkStatus();
  }
  std::string last = "none";
  if (!rehearsals.empty()) {
    const db::RehearsalRecord& newest = rehearsals.front();
    last = absl::StrCat(
        newest.ok ? "succeeded" : "failed", " at ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", newest.rehearsed_at, absl::UTCTimeZone()),
        newest.ok ? " (too old)" : absl::StrCat(": ", newest.summary));
  }
  return FailedPrecondition(
      RefusalReason::kNeedsRehearsal,
      absl::StrCat("apply refused: environment ", environment.name,
                   " needs a successful rehearsal of plan ", plan_hash, " within ",
                   absl::FormatDuration(environment.require_rehearsal), " (last rehearsal: ", last,
                   "); rehearse it: schemactl rehearse --target ", target.config.name),
      {},
      {{"plan_hash", plan_hash},
       {"within", absl::FormatDuration(environment.require_rehearsal)},
       {"last_rehearsal", last}});
}

absl::StatusOr<std::string> Engine::AcceptDrift(const Target& target, const std::string& principal,
                                                const std::string& reason) const {
  if (reason.empty()) return absl::InvalidArgumentError("reason: required to accept drift");
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  SCHEMAD_ASSIGN_OR_RETURN(TargetStatus status, GetStatus(target, /*schema_drift=*/true));
  if (!status.drift_exact) {
    return absl::UnavailableError(absl::StrCat(
        "drift can be accepted only when it is exact, and no shadow database can be had (",
        absl::StrJoin(status.drift_notes, "; "), ")"));
  }
  if (status.schema_drift.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("target ", target.config.name, " has no drift to accept"));
  }
  const std::string hash = DriftHash(status.schema_drift);
  SCHEMAD_RETURN_IF_ERROR(control_->AcceptDrift({target.config.name, hash, principal, reason, {}}));
  db::AuditEntry entry;
  entry.principal = principal;
  entry.method = "AcceptDrift";
  entry.target = target.config.name;
  entry.outcome = "ACCEPTED";
  entry.reason = absl::StrCat(reason, " (", status.schema_drift.size(), " difference(s), drift ",
                              hash.substr(0, 12), ")");
  SCHEMAD_RETURN_IF_ERROR(Audit(std::move(entry)));
  return hash;
}

void Engine::WatchDrift() const {
  struct Watched {
    absl::Time due;
    // Unknown until the first check, which is the baseline (a restart audits nothing), and
    // again when the basis changes (exact / static).
    std::optional<std::set<std::string>> last;
    bool exact = false;
  };
  std::map<const Target*, Watched> watched;
  for (const auto& target : targets_) {
    if (target->config.environment.drift_check > absl::ZeroDuration()) {
      watched[target.get()] = Watched{absl::Now(), std::nullopt};
    }
  }
  const auto line = [](const DriftItem& item) {
    return absl::StrCat(item.kind, " ", item.object, " (expected ", item.expected.substr(0, 80),
                        ", actual ", item.actual.substr(0, 80), ")");
  };
  while (true) {
    {
      absl::MutexLock lock(&drift_mu_);
      const auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(drift_mu_) { return drift_stop_; };
      if (drift_mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Seconds(1))) return;
    }
    for (auto& [target, state] : watched) {
      if (absl::Now() < state.due) continue;
      state.due = absl::Now() + target->config.environment.drift_check;
      absl::StatusOr<TargetStatus> status = GetStatus(*target, /*schema_drift=*/true);
      if (!status.ok()) {
        spdlog::warn("target {}: drift check failed: {}", target->config.name,
                     std::string(status.status().message()));
        continue;
      }
      // A run in progress changes the schema on its way: look again at the next interval.
      if (status->blocking_run && status->blocking_run->state == db::RunState::kRunning) {
        continue;
      }
      std::set<std::string> now;
      for (const DriftItem& item : status->schema_drift) now.insert(line(item));
      if (!state.last || state.exact != status->drift_exact) {
        state.last = now;
        state.exact = status->drift_exact;
        spdlog::info("target {}: drift check: {} difference(s) at the first look ({})",
                     target->config.name, now.size(), status->drift_exact ? "exact" : "static");
        continue;
      }
      const std::set<std::string> before = *state.last;
      std::vector<std::string> appeared, disappeared;
      for (const std::string& item : now) {
        if (before.count(item) == 0) appeared.push_back(item);
      }
      for (const std::string& item : before) {
        if (now.count(item) == 0) disappeared.push_back(item);
      }
      state.last = now;
      for (const auto& [outcome, items] :
           {std::pair{"DRIFT_APPEARED", appeared}, std::pair{"DRIFT_DISAPPEARED", disappeared}}) {
        if (items.empty()) continue;
        spdlog::warn("target {}: drift check: {}: {}", target->config.name, outcome,
                     absl::StrJoin(items, "; "));
        if (control_ == nullptr) continue;
        db::AuditEntry entry;
        entry.principal = "schemad (drift check)";
        entry.method = "DriftCheck";
        entry.target = target->config.name;
        entry.outcome = outcome;
        entry.reason = absl::StrJoin(items, "; ").substr(0, 4000);
        if (absl::Status audited = Audit(std::move(entry)); !audited.ok()) {
          spdlog::warn("target {}: drift check not audited: {}", target->config.name,
                       std::string(audited.message()));
        }
      }
    }
  }
}

absl::Status Engine::CheckDriftGate(const Target& target) const {
  if (!target.config.environment.drift_gate) return absl::OkStatus();
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  SCHEMAD_ASSIGN_OR_RETURN(TargetStatus status, GetStatus(target, /*schema_drift=*/true));
  if (!status.drift_exact) {
    // The static model sees too little to let anything through, or to refuse on.
    return absl::UnavailableError(absl::StrCat(
        "apply refused: environment ", target.config.environment.name,
        " has drift_gate, which needs exact drift, and no shadow database can be had (",
        absl::StrJoin(status.drift_notes, "; "), ")"));
  }
  if (status.schema_drift.empty()) return absl::OkStatus();
  const std::string hash = DriftHash(status.schema_drift);
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::DriftAcceptance> accepted,
                           control_->FindDriftAcceptance(target.config.name, hash));
  if (accepted) return absl::OkStatus();
  const DriftItem& first = status.schema_drift.front();
  return FailedPrecondition(
      RefusalReason::kDrift,
      absl::StrCat("apply refused: target ", target.config.name,
                   "'s schema drifted from the catalog (", status.schema_drift.size(),
                   " difference(s), first: ", first.kind, " ", first.object,
                   "); repair it, or accept it: schemactl drift --target ", target.config.name,
                   " --accept --reason R"),
      {}, {{"drift_hash", hash}, {"differences", absl::StrCat(status.schema_drift.size())}});
}

}  // namespace schemad::engine
