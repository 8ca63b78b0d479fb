#include "server/engine/planner.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "server/common/sha256.h"
#include "server/common/status_macros.h"

namespace schemad::engine {
namespace {

std::string HashPlan(const std::string& target, const Catalog& catalog,
                     const std::vector<db::AppliedRevision>& applied,
                     const std::optional<db::RunRecord>& blocking_run, const Plan& plan) {
  std::string material = absl::StrCat(
      "schemad-plan-v1\ntarget=", target, "\ncatalog=", catalog.name, "\ndigest=", catalog.digest(),
      "\ndirection=", plan.direction == Direction::kUp ? "up" : "down", "\n");
  for (const db::AppliedRevision& revision : applied) {
    absl::StrAppend(&material, "applied ", revision.version, " ", revision.checksum, "\n");
  }
  if (blocking_run) absl::StrAppend(&material, "blocking ", blocking_run->run_id, "\n");
  for (const PlanStep& step : plan.steps) {
    if (step.direction == Direction::kUp && step.revision->verify) {
      absl::StrAppend(&material, "verify ", step.revision->verify->checksum, "\n");
    }
    absl::StrAppend(&material, "step ", step.revision->version, " ", step.file->checksum, " ",
                    step.mode == sql::TransactionMode::kTransactional ? "tx"
                    : step.mode == sql::TransactionMode::kChained     ? "chained"
                                                                      : "no-tx",
                    "\n");
  }
  return Sha256Hex(material);
}

}  // namespace

absl::StatusOr<PlanStep> MakeStep(const Revision& revision, Direction direction, bool with_checks) {
  PlanStep step;
  step.revision = &revision;
  step.direction = direction;
  step.file = direction == Direction::kUp ? &revision.up : &*revision.down;
  SCHEMAD_RETURN_IF_ERROR(step.file->Parsed().status());
  if (step.file->script().rolls_back) {
    return absl::InvalidArgumentError(absl::StrCat(
        step.file->path,
        ": the file is wrapped in BEGIN ... ROLLBACK, so it would undo itself and still be "
        "recorded (only a verify script may be)"));
  }
  step.mode = step.file->script().mode;
  step.transactional = step.mode == sql::TransactionMode::kTransactional;
  step.transaction_reason = step.file->script().mode_reason;
  if (with_checks && direction == Direction::kUp && revision.verify) {
    const absl::StatusOr<sql::Script>& verify = revision.verify->Parsed();
    SCHEMAD_RETURN_IF_ERROR(verify.status());
    // The checks run inside the up's transaction and are rolled back to a savepoint after:
    // an up outside a transaction, or a check that ends one, would leave their writes.
    if (step.mode != sql::TransactionMode::kTransactional) {
      return absl::FailedPreconditionError(absl::StrCat(
          revision.verify->path, ": a verify script needs a transactional up file, and ",
          revision.up.path, " runs outside a transaction (", step.file->script().mode_reason, ")"));
    }
    for (const sql::Statement& statement : verify->statements) {
      if (statement.transaction_control || statement.commit_and_chain ||
          !statement.needs_no_transaction.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            revision.verify->path, ": line ", statement.line,
            ": a verify check may not control the transaction or need to run outside one"));
      }
    }
  }
  return step;
}

std::vector<std::string> DriftedVersions(const Catalog& catalog,
                                         const std::vector<db::AppliedRevision>& applied) {
  std::vector<std::string> drifted;
  for (const db::AppliedRevision& revision : applied) {
    const int index = catalog.IndexOf(revision.version);
    if (index >= 0 && catalog.revisions[index].up.checksum != revision.checksum) {
      drifted.push_back(revision.version);
    }
  }
  return drifted;
}

std::string DescribeBlockingRun(const db::RunRecord& run) {
  std::string state = run.orphaned ? "interrupted (its server stopped)" : RunStateName(run.state);
  std::string text = absl::StrCat(
      "run ", run.run_id, " (", db::OperationName(run.operation), " by ", run.principal,
      ", started ", absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", run.started_at, absl::UTCTimeZone()),
      ") is ", state);
  if (!run.current_version.empty()) {
    absl::StrAppend(&text, " at ", run.current_version);
    if (run.state == db::RunState::kRunning && !run.orphaned) {
      absl::StrAppend(&text, " (", run.completed, " statement(s) done)");
    } else if (run.failed_statement > 0) {
      absl::StrAppend(&text, " statement ", run.failed_statement);
    }
  }
  if (!run.error.empty()) absl::StrAppend(&text, ": ", run.error);
  if (run.partial) {
    absl::StrAppend(&text, "; ", run.completed, " statement(s) of ", run.current_version, " (",
                    db::FileModeName(run.current_mode),
                    ") are committed without its history row: resume with resolve --retry "
                    "(from statement ",
                    run.completed + 1, ") or record it with resolve --mark-done");
  }
  return text;
}

bool IsPlanHash(absl::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

absl::Status CheckPlanRequest(const PlanRequest& request) {
  if (request.steps < 0) return absl::InvalidArgumentError("steps must not be negative");
  // Versions are digits (underscores between them allowed): "latest" or "v5" must never be
  // read as 0 (everything) or 5.
  if (!request.to_version.empty() && !IsVersion(request.to_version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "to_version: \"", request.to_version.substr(0, 40),
        "\" is not a version (digits, underscores between them allowed, or Flyway's 1.2.10; 0 "
        "rolls back everything)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Plan> MakePlan(const std::string& target, const Catalog& catalog,
                              const std::vector<db::AppliedRevision>& applied,
                              const std::optional<db::RunRecord>& blocking_run,
                              const PlanRequest& request) {
  Plan plan;
  plan.target = target;
  plan.direction = request.direction;
  plan.from_version = applied.empty() ? "" : applied.back().version;
  std::set<std::string> applied_keys;
  for (const db::AppliedRevision& revision : applied)
    applied_keys.insert(VersionKey(revision.version));

  if (absl::Status checked = CheckPlanRequest(request); !checked.ok()) return checked;
  if (request.direction == Direction::kUp) {
    if (request.steps != 0) return absl::InvalidArgumentError("steps is for rollback only");
    int last = static_cast<int>(catalog.revisions.size()) - 1;
    if (!request.to_version.empty()) {
      last = catalog.IndexOf(request.to_version);
      if (last < 0) {
        return absl::NotFoundError(
            absl::StrCat("version ", request.to_version, " is not in catalog ", catalog.name));
      }
    }
    std::vector<std::string> out_of_order;
    for (int i = 0; i <= last; ++i) {
      const Revision& revision = catalog.revisions[i];
      if (applied_keys.count(VersionKey(revision.version)) != 0) continue;
      if (!plan.from_version.empty() && CompareVersions(revision.version, plan.from_version) < 0) {
        out_of_order.push_back(revision.version);
      }
      SCHEMAD_ASSIGN_OR_RETURN(PlanStep made, MakeStep(revision, Direction::kUp));
      plan.steps.push_back(std::move(made));
      PlanStep& step = plan.steps.back();
      const std::string& before = plan.steps.size() > 1
                                      ? plan.steps[plan.steps.size() - 2].version_after
                                      : plan.from_version;
      step.version_after = before.empty() || CompareVersions(revision.version, before) > 0
                               ? revision.version
                               : before;
    }
    plan.to_version = plan.steps.empty() ? plan.from_version : plan.steps.back().revision->version;
    if (!out_of_order.empty()) {
      const std::string text =
          absl::StrCat("out of order: pending ", absl::StrJoin(out_of_order, ", "),
                       " older than the newest applied revision ", plan.from_version);
      plan.warnings.push_back(text);
      if (!request.allow_out_of_order) {
        plan.refusal = absl::StrCat(text, " (allow it explicitly to apply)");
        plan.why_refused = {
            RefusalReason::kOutOfOrder, out_of_order, {{"newest_applied", plan.from_version}}};
      }
    }
  } else {
    if (!request.to_version.empty() && request.steps != 0) {
      return absl::InvalidArgumentError("give either to_version or steps for a rollback, not both");
    }
    if (request.to_version.empty() && request.steps == 0) {
      return absl::InvalidArgumentError(
          "a rollback needs to_version (\"0\" for everything) or steps");
    }
    if (!request.to_version.empty() && VersionKey(request.to_version) != "0" &&
        catalog.IndexOf(request.to_version) < 0 &&
        applied_keys.count(VersionKey(request.to_version)) == 0) {
      return absl::NotFoundError(
          absl::StrCat("version ", request.to_version, " is not in catalog ", catalog.name));
    }
    int taken = 0;
    for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
      if (request.steps != 0 && taken == request.steps) break;
      if (!request.to_version.empty() && CompareVersions(it->version, request.to_version) <= 0) {
        break;
      }
      const int index = catalog.IndexOf(it->version);
      if (index < 0) {
        return FailedPrecondition(RefusalReason::kMissingFromCatalog,
                                  absl::StrCat("cannot roll back ", it->version, "_", it->name,
                                               ": it is applied but no longer in the catalog"),
                                  {it->version});
      }
      const Revision& revision = catalog.revisions[index];
      if (!revision.down) {
        return FailedPrecondition(
            RefusalReason::kIrreversible,
            absl::StrCat("cannot roll back ", revision.Id(), ": it is irreversible (",
                         revision.irreversible_reason, ")"),
            {revision.version}, {{"irreversible_reason", revision.irreversible_reason}});
      }
      SCHEMAD_ASSIGN_OR_RETURN(PlanStep step, MakeStep(revision, Direction::kDown));
      plan.steps.push_back(std::move(step));
      ++taken;
      const size_t left = applied.size() - plan.steps.size();
      plan.steps.back().version_after = left == 0 ? "" : applied[left - 1].version;
    }
    const size_t remaining = applied.size() - plan.steps.size();
    plan.to_version = remaining == 0 ? "" : applied[remaining - 1].version;
  }

  const std::vector<std::string> drifted = DriftedVersions(catalog, applied);
  if (!drifted.empty()) {
    const std::string text = absl::StrCat("checksum drift: applied ", absl::StrJoin(drifted, ", "),
                                          " changed since applied");
    plan.warnings.push_back(text);
    if (request.direction == Direction::kUp && !request.accept_checksum_drift &&
        plan.refusal.empty()) {
      plan.refusal = absl::StrCat(text, " (accept the drift explicitly to go on)");
      plan.why_refused = {RefusalReason::kChecksumDrift, drifted, {}};
    }
  }
  if (blocking_run) {
    const std::string text =
        absl::StrCat(DescribeBlockingRun(*blocking_run), "; resolve it first (schemactl resolve)");
    plan.warnings.push_back(text);
    plan.refusal = text;
    plan.why_refused = {
        RefusalReason::kFailedRun,
        {blocking_run->current_version},
        {{"run_id", blocking_run->run_id}, {"state", db::RunStateName(blocking_run->state)}}};
  }
  for (const PlanStep& step : plan.steps) {
    if (step.direction == Direction::kUp && !step.revision->down) {
      plan.warnings.push_back(absl::StrCat(step.revision->Id(), " is irreversible (",
                                           step.revision->irreversible_reason, ")"));
    }
    if (step.mode == sql::TransactionMode::kNonTransactional) {
      plan.warnings.push_back(absl::StrCat(step.revision->Id(), " runs outside a transaction (",
                                           step.transaction_reason, ")"));
    } else if (step.mode == sql::TransactionMode::kChained) {
      plan.warnings.push_back(absl::StrCat(step.revision->Id(), " commits in segments (",
                                           step.transaction_reason, ")"));
    }
    if (step.direction == Direction::kDown && step.file->script().statements.empty()) {
      plan.warnings.push_back(absl::StrCat(step.revision->Id(), ": rolling back runs nothing (",
                                           "the up file declares -- ", sql::kDownIsNoopDirective,
                                           ")"));
    }
  }
  plan.plan_hash = HashPlan(target, catalog, applied, blocking_run, plan);
  return plan;
}

}  // namespace schemad::engine
