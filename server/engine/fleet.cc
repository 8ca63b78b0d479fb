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
    for (const auto& [tenant, dsn] : *tenants) {
      absl::StatusOr<TargetConfig> member = GroupMember(group, tenant, dsn);
      if (!member.ok()) return fail(member.status());
      if (!seen.insert(member->name).second) {
        return fail(
            absl::InvalidArgumentError(absl::StrCat("tenant ", tenant, " is listed twice")));
      }
      group.members.push_back(member->name);
      config->targets.push_back(*std::move(member));
    }
    spdlog::info("group {}: {} member(s) from its discovery query", group.name, tenants->size());
  }
  return absl::OkStatus();
}

std::vector<const Target*> Engine::GroupMembers(const std::string& group) const {
  std::vector<const Target*> members;
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
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return fleets_->Members(id);
}

absl::StatusOr<db::FleetRun> Engine::FindFleetRun(const std::string& id) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return fleets_->Find(id);
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
                                const CancelCheck& cancelled) {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  if (request.parallel < 1 || request.canary < 0 || request.max_failures < 1) {
    return absl::InvalidArgumentError(
        "parallel and max_failures must be at least 1, canary at least 0");
  }
  std::vector<const Target*> members = GroupMembers(request.group);
  if (members.empty()) {
    return absl::NotFoundError(absl::StrCat("no group \"", request.group, "\""));
  }
  std::map<std::string, const Target*> by_name;
  for (const Target* member : members) by_name[member->config.name] = member;

  db::FleetRun run;
  bool created = false;
  if (!request.resume.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(run, fleets_->Find(request.resume));
    if (run.group != request.group) {
      return absl::InvalidArgumentError(
          absl::StrCat("fleet run ", run.id, " is of group ", run.group, ", not ", request.group));
    }
  } else {
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
    SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<db::FleetStore::Worker> worker,
                             fleets_->Join(run.id, server_instance_));
    absl::Status failed;
    absl::Mutex failed_mu;
    ForEachParallel(run.parallel, run.parallel, [&](int) {
      while (!cancelled()) {
        absl::StatusOr<std::optional<db::FleetMember>> claimed =
            fleets_->Claim(run.id, *worker, run.max_failures);
        if (!claimed.ok()) {
          absl::MutexLock lock(&failed_mu);
          failed = claimed.status();
          return;
        }
        if (!claimed->has_value()) {
          // Nothing to start now: done when nothing runs anywhere (or what runs belongs to a
          // replica that is gone: its members come back).
          absl::StatusOr<int> reclaimed = fleets_->ReclaimOrphans(run.id);
          if (reclaimed.ok() && *reclaimed > 0) continue;
          absl::StatusOr<db::FleetTally> tally = fleets_->Tally(run.id);
          if (!tally.ok() || tally->running == 0) return;
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
            // Not planned at the start (unreachable then), or taken over from a replica that
            // died part-way through it: planned now, for the same release and version.
            absl::StatusOr<Plan> plan = MakePlan(*target->second, apply.plan);
            if (plan.ok()) member.plan_hash = plan->plan_hash;
          }
          apply.expected_plan_hash = member.plan_hash;
          apply.principal = absl::StrCat(run.principal, " (fleet run ", run.id, ")");
          db::Outcome outcome = db::Outcome::kNone;
          std::string message;
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
              cancelled);
          member.state = !status.ok()                        ? "failed"
                         : outcome == db::Outcome::kApplied  ? "applied"
                         : outcome == db::Outcome::kNoChange ? "no_change"
                                                             : "failed";
          member.error = !status.ok() ? std::string(status.message())
                         : member.state == "failed"
                             ? absl::StrCat(db::OutcomeName(outcome), ": ", message)
                             : "";
        }
        if (absl::Status finished = fleets_->Finish(run.id, member); !finished.ok()) {
          absl::MutexLock lock(&failed_mu);
          failed = finished;
          return;
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
  // A stopped caller leaves the fleet run as it is (resume it); otherwise it ends here, once
  // nothing runs anywhere.
  if (!cancelled()) {
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
