// ApplyGroup: a group's members applied as one fleet run, recorded in the control database.
#include <algorithm>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/common/refusal.h"
#include "server/common/status_macros.h"
#include "server/db/server_admin.h"
#include "server/engine/engine.h"
#include "spdlog/spdlog.h"

namespace schemad::engine {
namespace {

// How long a worker with nothing to claim waits before looking again (members still running
// elsewhere may end, or their replica may be gone).
constexpr absl::Duration kIdlePoll = absl::Milliseconds(100);
// Members one call applies at once, at most (threads and sessions of its own).
constexpr int kMaxParallel = 64;

// Runs `work(i)` for i in [0, count) on at most `threads` threads.
void ForEachParallel(int count, int threads, const std::function<void(int)>& work) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min(threads, count); ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < count; i = next++) work(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

}  // namespace

absl::Status ExpandDiscoveredGroups(Config* config) {
  for (GroupConfig& group : config->groups) {
    if (group.discovery_query.empty()) continue;
    const auto fail = [&](const absl::Status& why) {
      return absl::Status(why.code(),
                          absl::StrCat("group ", group.name, ": discovery query (",
                                       group.discovery_dsn_source, "): ", why.message()));
    };
    absl::StatusOr<std::unique_ptr<db::Connection>> conn =
        db::Connection::Open(group.discovery_dsn);
    if (!conn.ok()) return fail(conn.status());
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> tenants =
        db::ReadTenants(**conn, group.discovery_query);
    if (!tenants.ok()) return fail(tenants.status());
    std::set<std::string> seen;
    int row = 0;
    for (const auto& [tenant, dsn] : *tenants) {
      ++row;
      absl::StatusOr<TargetConfig> member = GroupMember(group, tenant, dsn);
      // Not echoed: with its columns swapped the query would give DSNs (and passwords).
      if (!member.ok()) {
        return fail(absl::InvalidArgumentError(
            absl::StrCat("row ", row, ": the tenant (first column) is not a plain name")));
      }
      if (!seen.insert(member->name).second) {
        return fail(
            absl::InvalidArgumentError(absl::StrCat("tenant ", tenant, " is listed twice")));
      }
      group.members.push_back(member->name);
      config->targets.push_back(*std::move(member));
    }
    if (tenants->empty()) {
      spdlog::warn("group {}: its discovery query gives no tenant: the group has no member",
                   group.name);
    } else {
      spdlog::info("group {}: {} member(s) from its discovery query", group.name, tenants->size());
    }
  }
  return absl::OkStatus();
}

std::vector<const Target*> Engine::GroupMembers(const std::string& group) const {
  std::vector<const Target*> members;
  if (group.empty()) return members;  // targets of their own are no group
  for (const auto& target : targets_) {
    if (target->config.group == group) members.push_back(target.get());
  }
  return members;
}

absl::StatusOr<std::vector<db::FleetRun>> Engine::ListFleetRuns(const std::string& group,
                                                                int limit) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return fleets_->List(group, limit);
}

absl::StatusOr<std::vector<db::FleetMember>> Engine::FleetMembers(const std::string& id) const {
  SCHEMAD_ASSIGN_OR_RETURN(db::FleetRun run, FindFleetRun(id));
  return fleets_->Members(run.id);
}

absl::StatusOr<db::FleetRun> Engine::FindFleetRun(const std::string& id) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  if (!db::IsFleetRunId(id)) {
    return absl::NotFoundError(absl::StrCat("no fleet run \"", id.substr(0, 40), "\""));
  }
  return fleets_->Find(id);
}

absl::StatusOr<db::FleetTally> Engine::FleetTally(const std::string& id) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return fleets_->Tally(id);
}

absl::StatusOr<std::map<std::string, db::FleetMember>> Engine::LastFleetStates(
    const std::string& group) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return fleets_->LastStates(group);
}

void Engine::LastFleetStatesLater(
    const std::string& group,
    std::function<void(const absl::StatusOr<std::map<std::string, db::FleetMember>>&)> done) const {
  auto shared = std::make_shared<decltype(done)>(std::move(done));
  if (!Later([this, group, shared] { (*shared)(LastFleetStates(group)); })) {
    (*shared)(absl::ResourceExhaustedError("too many background reads waiting"));
  }
}

absl::Status Engine::ApplyGroup(const FleetRequest& request, const FleetSink& sink,
                                const CancelCheck& cancelled, const CancelCheck& stopping) {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  if (request.group.empty()) return absl::InvalidArgumentError("group: required");
  if (request.parallel < 1 || request.parallel > kMaxParallel || request.canary < 0 ||
      request.max_failures < 1) {
    return absl::InvalidArgumentError(absl::StrCat("parallel must be 1 to ", kMaxParallel,
                                                   ", max_failures at least 1, canary at least 0"));
  }
  PlanRequest checked;
  checked.to_version = request.to_version;
  SCHEMAD_RETURN_IF_ERROR(CheckPlanRequest(checked));
  std::vector<const Target*> members = GroupMembers(request.group);
  if (members.empty()) {
    return absl::NotFoundError(absl::StrCat("no group \"", request.group, "\""));
  }
  std::map<std::string, const Target*> by_name;
  for (const Target* member : members) by_name[member->config.name] = member;

  db::FleetRun run;
  bool created = false;
  bool found = false;
  if (!request.resume.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(run, FindFleetRun(request.resume));
    if (run.group != request.group) {
      return absl::InvalidArgumentError(
          absl::StrCat("fleet run ", run.id, " is of group ", run.group, ", not ", request.group));
    }
    found = true;
  } else if (!request.request_id.empty()) {
    // A retry attaches before anything is planned again.
    SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::FleetRun> earlier, fleets_->List(request.group, 1000));
    for (const db::FleetRun& one : earlier) {
      if (one.request_id == request.request_id) {
        run = one;
        found = true;
        break;
      }
    }
  }
  if (!found) {
    // One release for every member: the newest is resolved now, so a release published while
    // the fleet run goes does not split it.
    SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const Catalog> catalog,
                             CatalogFor(*members.front(), request.release));
    run.group = request.group;
    run.request_id = request.request_id;
    run.release = catalog->digest();
    run.to_version = request.to_version;
    run.principal = request.principal;
    run.parallel = request.parallel;
    run.canary = std::min<int>(request.canary, static_cast<int>(members.size()));
    run.max_failures = request.max_failures;
    // Every member is planned first; its plan hash guards its turn (a member whose state
    // changed since is refused as stale, not applied from a plan nobody saw).
    std::vector<db::FleetMember> planned(members.size());
    ForEachParallel(static_cast<int>(members.size()), request.parallel, [&](int i) {
      PlanRequest plan;
      plan.release = run.release;
      plan.to_version = request.to_version;
      absl::StatusOr<Plan> made = MakePlan(*members[i], plan);
      planned[i].member = members[i]->config.name;
      planned[i].position = i;
      planned[i].canary = i < run.canary;
      if (made.ok()) planned[i].plan_hash = made->plan_hash;
    });
    // A caller gone while members were planned starts nothing.
    if (cancelled()) return absl::CancelledError("the caller stopped before the fleet run began");
    SCHEMAD_ASSIGN_OR_RETURN(run, fleets_->Start(run, planned, &created));
  }
  {
    FleetEvent started;
    started.kind = FleetEvent::Kind::kStarted;
    started.run = run;
    started.attached = !created;
    SCHEMAD_ASSIGN_OR_RETURN(started.tally, fleets_->Tally(run.id));
    sink(started);
  }

  absl::Mutex sink_mu;  // events come from every worker thread
  const auto emit = [&](FleetEvent event) {
    absl::StatusOr<db::FleetTally> tally = fleets_->Tally(run.id);
    if (tally.ok()) event.tally = *tally;
    event.run = run;
    absl::MutexLock lock(&sink_mu);
    sink(event);
  };
  if (run.state == "running") {
    // A name of this call's own: two calls on one replica never wait on each other's lock.
    static std::atomic<uint64_t> calls{0};
    SCHEMAD_ASSIGN_OR_RETURN(
        std::unique_ptr<db::FleetStore::Worker> worker,
        fleets_->Join(run.id, absl::StrCat(server_instance_, ":", absl::ToUnixMicros(absl::Now()),
                                           ":", ++calls)));
    absl::Status failed;
    absl::Mutex failed_mu;
    const auto fail = [&](absl::Status why) {
      absl::MutexLock lock(&failed_mu);
      failed = std::move(why);
    };
    // This call's own parallelism (a resume may ask for more or less than the start did).
    const int threads = std::min(request.parallel, static_cast<int>(members.size()));
    ForEachParallel(threads, threads, [&](int) {
      while (!cancelled() && !stopping()) {
        if (!worker->Alive()) {
          return fail(absl::UnavailableError(
              "this replica's session to the control database was lost: another replica may "
              "take its members over (resume-fleet)"));
        }
        absl::StatusOr<std::optional<db::FleetMember>> claimed =
            fleets_->Claim(run.id, *worker, run.max_failures);
        if (!claimed.ok()) return fail(claimed.status());
        if (!claimed->has_value()) {
          // Nothing to start now: done when nothing runs anywhere and nothing pending may still
          // start (what runs for a replica that is gone comes back to pending first).
          absl::StatusOr<int> reclaimed = fleets_->ReclaimOrphans(run.id);
          if (reclaimed.ok() && *reclaimed > 0) continue;
          absl::StatusOr<db::FleetTally> tally = fleets_->Tally(run.id);
          if (!tally.ok()) return fail(tally.status());
          const bool blocked = tally->failed >= run.max_failures || tally->canary_failed > 0;
          if (tally->running == 0 && (tally->pending == 0 || blocked)) return;
          absl::SleepFor(kIdlePoll);
          continue;
        }
        db::FleetMember member = **claimed;
        auto target = by_name.find(member.member);
        FleetEvent event;
        event.kind = FleetEvent::Kind::kMemberStarted;
        event.member = member;
        emit(event);
        if (target == by_name.end()) {
          member.state = "failed";
          member.error = "not a member of the group on this replica's config";
        } else {
          RunRequest apply;
          apply.plan.release = run.release;
          apply.plan.to_version = run.to_version;
          if (member.plan_hash.empty()) {
            // Not planned at the start (unreachable then), taken over from a replica that died
            // part-way through it, or interrupted: planned now, for the same release and version.
            absl::StatusOr<Plan> plan = MakePlan(*target->second, apply.plan);
            if (plan.ok()) member.plan_hash = plan->plan_hash;
          }
          apply.expected_plan_hash = member.plan_hash;
          apply.principal = absl::StrCat(run.principal, " (fleet run ", run.id, ")");
          db::Outcome outcome = db::Outcome::kNone;
          std::string message;
          // A caller who goes stops new starts only: what runs finishes. The server stopping
          // interrupts it (it is given back, and runs again on resume).
          absl::Status status = Run(
              *target->second, apply,
              [&](const RunEvent& step) {
                if (step.kind == RunEvent::Kind::kRunStarted) member.run_id = step.run_id;
                if (step.kind == RunEvent::Kind::kRunFinished) {
                  outcome = step.outcome;
                  member.run_id = step.run_id;
                  member.version = step.version;
                  message = step.message;
                }
              },
              stopping);
          if (outcome == db::Outcome::kInterrupted || absl::IsCancelled(status)) {
            fleets_->Release(run.id, *worker, member.member).IgnoreError();
            member.state = "pending";
            member.error = "interrupted (the server stopped): resume-fleet runs it again";
            event.kind = FleetEvent::Kind::kMemberFinished;
            event.member = member;
            emit(event);
            continue;
          }
          member.state = !status.ok()                        ? "failed"
                         : outcome == db::Outcome::kApplied  ? "applied"
                         : outcome == db::Outcome::kNoChange ? "no_change"
                                                             : "failed";
          member.error = !status.ok() ? std::string(status.message())
                         : member.state == "failed"
                             ? absl::StrCat(db::OutcomeName(outcome), ": ", message)
                             : "";
        }
        if (absl::Status finished = fleets_->Finish(run.id, *worker, member); !finished.ok()) {
          return fail(finished);
        }
        if (member.state == "failed") {
          spdlog::error("fleet run {} group={} member={} failed: {}", run.id, run.group,
                        member.member, member.error);
        }
        event.kind = FleetEvent::Kind::kMemberFinished;
        event.member = member;
        emit(event);
      }
    });
    SCHEMAD_RETURN_IF_ERROR(failed);
  }
  FleetEvent finished;
  finished.kind = FleetEvent::Kind::kFinished;
  // A stopped call leaves the fleet run open (resume it); otherwise it ends here once nothing
  // runs anywhere and nothing more may start (Close decides, under the run's lock).
  if (!cancelled() && !stopping()) {
    SCHEMAD_ASSIGN_OR_RETURN(run, fleets_->Close(run.id));
  } else {
    SCHEMAD_ASSIGN_OR_RETURN(run, fleets_->Find(run.id));
  }
  SCHEMAD_ASSIGN_OR_RETURN(finished.members, fleets_->Members(run.id));
  SCHEMAD_ASSIGN_OR_RETURN(finished.tally, fleets_->Tally(run.id));
  finished.run = run;
  spdlog::info(
      "fleet run {} group={} principal={} state={} applied={} no_change={} failed={} "
      "skipped={}",
      run.id, run.group, request.principal, run.state, finished.tally.applied,
      finished.tally.no_change, finished.tally.failed, finished.tally.skipped);
  absl::MutexLock lock(&sink_mu);
  sink(finished);
  return absl::OkStatus();
}

}  // namespace schemad::engine
