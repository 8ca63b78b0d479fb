#include "client/render.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace schemad::cli {
namespace {

std::string Or(const std::string& value, const std::string& fallback) {
  return value.empty() ? fallback : value;
}

std::string RunStateName(v1::RunState state) {
  switch (state) {
    case v1::RUN_STATE_RUNNING:
      return "running";
    case v1::RUN_STATE_SUCCEEDED:
      return "succeeded";
    case v1::RUN_STATE_FAILED:
      return "failed";
    case v1::RUN_STATE_INTERRUPTED:
      return "interrupted";
    case v1::RUN_STATE_RESOLVED:
      return "resolved";
    case v1::RUN_STATE_TIMED_OUT:
      return "timed out";
    default:
      return "unknown";
  }
}

std::string OutcomeName(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_APPLIED:
      return "APPLIED";
    case v1::OUTCOME_NO_CHANGE:
      return "NO_CHANGE";
    case v1::OUTCOME_FAILED:
      return "FAILED";
    case v1::OUTCOME_INTERRUPTED:
      return "INTERRUPTED";
    case v1::OUTCOME_ROLLED_BACK:
      return "ROLLED_BACK";
    case v1::OUTCOME_TIMED_OUT:
      return "TIMED_OUT";
    case v1::OUTCOME_REPAIRED:
      return "REPAIRED";
    default:
      return "UNKNOWN";
  }
}

std::string ModeName(v1::TransactionMode mode) {
  switch (mode) {
    case v1::TRANSACTION_MODE_NON_TRANSACTIONAL:
      return "no transaction";
    case v1::TRANSACTION_MODE_CHAINED:
      return "chained";
    default:
      return "transaction";
  }
}

std::string SeverityName(v1::Finding::Severity severity) {
  switch (severity) {
    case v1::Finding::SEVERITY_INFO:
      return "info";
    case v1::Finding::SEVERITY_WARNING:
      return "warning";
    case v1::Finding::SEVERITY_ERROR:
      return "error";
    default:
      return "?";
  }
}

std::string Millis(double ms) {
  return ms >= 1000 ? absl::StrFormat("%.2f s", ms / 1000) : absl::StrFormat("%.1f ms", ms);
}

}  // namespace

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(timestamp.seconds()),
                          absl::UTCTimeZone());
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    return out + "\n";
  };
  std::string out = line(header);
  std::vector<std::string> rule;
  for (size_t width : widths) rule.push_back(std::string(width, '-'));
  out += line(rule);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.always_print_enums_as_ints = false;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string RenderDatabase(const v1::DatabaseState& database) {
  if (database.breaker() == "open") {
    return absl::StrFormat("unreachable (breaker open, retry in %.1fs)",
                           database.retry_in_seconds());
  }
  if (database.breaker() == "half-open") return "unreachable (breaker half-open, probing)";
  if (database.listening()) return "ok";
  return database.failed_connects() > 0 ? "unreachable" : "connecting";
}

std::string RenderTargets(const v1::ListTargetsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Target& target : response.targets()) {
    rows.push_back({target.name(), target.environment_name(), target.catalog_name(),
                    std::to_string(target.revision_count()), Or(target.latest_version(), "-"),
                    RenderDatabase(target.database())});
  }
  return RenderTable({"TARGET", "ENV", "CATALOG", "REVISIONS", "LATEST", "DATABASE"}, rows);
}

bool IsBehind(const v1::TargetVersion& target) {
  return !target.known() || target.pending_count() > 0 || target.blocked();
}

std::string RenderTargetVersions(const v1::ListTargetVersionsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::TargetVersion& target : response.targets()) {
    std::string state = "up to date";
    if (!target.known()) {
      state = "unknown";
    } else if (target.blocked()) {
      state = "BLOCKED";
    } else if (target.pending_count() > 0) {
      state = "behind";
    }
    if (target.known() && target.checksum_drift()) state += ", DRIFT";
    rows.push_back({target.target(), target.environment_name(), target.catalog_name(),
                    target.known() ? Or(target.current_version(), "(none)") : "?",
                    Or(target.latest_version(), "-"),
                    target.known() ? std::to_string(target.pending_count()) : "?", state,
                    RenderDatabase(target.database())});
  }
  std::string out = RenderTable(
      {"TARGET", "ENV", "CATALOG", "CURRENT", "LATEST", "PENDING", "STATE", "DATABASE"}, rows);
  for (const v1::TargetVersion& target : response.targets()) {
    if (!target.known()) absl::StrAppend(&out, target.target(), ": ", target.error(), "\n");
  }
  return out;
}

std::string RenderVersion(const v1::VersionInfo& version) {
  std::string out =
      absl::StrCat(version.target(), ": ",
                   version.current_version().empty()
                       ? "nothing applied yet"
                       : absl::StrCat(version.current_version(), "_", version.current_name(),
                                      " (applied ", FormatTimestamp(version.applied_at()), " UTC)"),
                   "\n");
  absl::StrAppend(&out, "applied ", version.applied_count(), ", pending ", version.pending_count(),
                  ", latest ", Or(version.latest_version(), "-"), "\n");
  if (version.blocked())
    absl::StrAppend(&out, "BLOCKED: a failed or interrupted run must be resolved\n");
  if (version.running()) absl::StrAppend(&out, "RUNNING: a run is in progress\n");
  if (version.checksum_drift())
    absl::StrAppend(&out, "DRIFT: an applied revision's file changed\n");
  return out;
}

std::string RenderRun(const v1::Run& run) {
  std::string out = absl::StrCat("run ", run.run_id(), " ", run.operation(), " by ",
                                 run.principal(), ", ", RunStateName(run.state()), ", started ",
                                 FormatTimestamp(run.started_at()), " UTC");
  if (!run.current_version().empty()) {
    absl::StrAppend(&out, ", at ", run.current_version());
    if (run.statement_index() > 0) absl::StrAppend(&out, " statement ", run.statement_index());
  }
  if (!run.error().empty()) absl::StrAppend(&out, "\n  error: ", run.error());
  if (run.partial()) {
    absl::StrAppend(&out, "\n  committed: ", run.completed(), " statement(s) of ",
                    run.current_version(), " without its history row; schemactl resolve --run ",
                    run.run_id(), " --retry resumes at statement ", run.completed() + 1,
                    ", --mark-done records it as done by hand");
  }
  if (!run.failing_statement().empty()) {
    absl::StrAppend(&out, "\n  statement: ", run.failing_statement().substr(0, 300));
  }
  return out + "\n";
}

std::string RenderStatus(const v1::GetStatusResponse& status) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::RevisionStatus& revision : status.revisions()) {
    std::string state;
    switch (revision.state()) {
      case v1::REVISION_STATE_APPLIED:
        state = "applied";
        break;
      case v1::REVISION_STATE_PENDING:
        state = revision.out_of_order() ? "pending (out of order)" : "pending";
        break;
      case v1::REVISION_STATE_CHECKSUM_DRIFT:
        state = "applied, CHANGED since";
        break;
      case v1::REVISION_STATE_MISSING_FROM_CATALOG:
        state = "applied, not in catalog";
        break;
      default:
        state = "?";
    }
    rows.push_back({revision.version(), revision.name(), state,
                    FormatTimestamp(revision.applied_at()), revision.applied_by()});
  }
  std::string out = RenderTable({"VERSION", "NAME", "STATE", "APPLIED AT (UTC)", "BY"}, rows);
  absl::StrAppend(
      &out, "\n", status.target(), ": ",
      status.current_version().empty() ? "nothing applied yet" : "at " + status.current_version(),
      "; ", status.applied_count(), " applied, ", status.pending_count(), " pending\n");
  if (!status.release().empty()) absl::StrAppend(&out, "release: ", status.release(), "\n");
  if (status.checksum_drift()) out += "WARNING: checksum drift on applied revisions\n";
  if (status.out_of_order()) out += "WARNING: pending revisions older than the current version\n";
  if (status.has_blocking_run()) out += "BLOCKED by " + RenderRun(status.blocking_run());
  return out;
}

std::string RenderPlan(const v1::PlanResponse& plan, bool with_sql) {
  const bool up = plan.direction() == v1::DIRECTION_UP;
  std::string out = absl::StrCat(up ? "Apply" : "Roll back", " plan for ", plan.target(), ": ",
                                 Or(plan.from_version(), "(empty)"), " -> ",
                                 Or(plan.to_version(), "(empty)"), "\n\n");
  if (plan.steps().empty()) {
    out += "Nothing to do.\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    int index = 0;
    for (const v1::PlanStep& step : plan.steps()) {
      rows.push_back({std::to_string(++index), step.direction() == v1::DIRECTION_UP ? "up" : "down",
                      step.version(), step.name(), std::to_string(step.statement_count()),
                      ModeName(step.transaction_mode())});
    }
    out += RenderTable({"#", "DIR", "VERSION", "NAME", "STATEMENTS", "MODE"}, rows);
    if (with_sql) {
      for (const v1::PlanStep& step : plan.steps()) {
        if (step.sql_omitted()) {
          absl::StrAppend(
              &out, "\n-- ", step.file(), " (", step.checksum(), "): ", step.sql_bytes(),
              " bytes not shown (a plan carries at most 32 MiB of SQL); read the file\n");
        } else {
          absl::StrAppend(&out, "\n-- ", step.file(), " (", step.checksum(), ")\n", step.sql());
        }
      }
    }
  }
  if (!plan.lint().empty()) {
    out += "\nlint:\n";
    for (const v1::Finding& finding : plan.lint()) out += "  " + RenderFinding(finding);
  }
  for (const v1::PlanStep& step : plan.steps()) {
    if (!step.promotion().empty())
      absl::StrAppend(&out, "\n", step.version(), " ", step.promotion());
  }
  for (const std::string& warning : plan.warnings()) absl::StrAppend(&out, "\nwarning: ", warning);
  if (!plan.warnings().empty()) out += "\n";
  if (!plan.catalog_digest().empty()) absl::StrAppend(&out, "\ncatalog: ", plan.catalog_digest());
  absl::StrAppend(&out, "\nplan hash: ", plan.plan_hash(), "\n");
  return out;
}

std::string RenderEvent(const v1::RunEvent& event) {
  switch (event.event_case()) {
    case v1::RunEvent::kRunStarted:
      return absl::StrCat("run ", event.run_started().run_id(), ": ",
                          event.run_started().step_count(), " step(s)\n");
    case v1::RunEvent::kStepStarted: {
      const auto& step = event.step_started();
      return absl::StrCat(step.direction() == v1::DIRECTION_UP ? "  up   " : "  down ",
                          step.version(), "_", step.name(),
                          step.transaction_mode() == v1::TRANSACTION_MODE_TRANSACTIONAL
                              ? ""
                              : absl::StrCat(" (", ModeName(step.transaction_mode()), ")"),
                          " ...\n");
    }
    case v1::RunEvent::kStatementDone: {
      const auto& done = event.statement_done();
      return absl::StrCat("         statement ", done.statement_index(), "/",
                          done.statement_count(), " done (", Millis(done.duration_ms()), ")\n");
    }
    case v1::RunEvent::kStepFinished:
      return absl::StrCat("         done in ", Millis(event.step_finished().duration_ms()), "\n");
    case v1::RunEvent::kNotice:
      return absl::StrCat("         notice: ", event.notice().message(), "\n");
    case v1::RunEvent::kRunFinished: {
      const auto& finished = event.run_finished();
      std::string out = absl::StrCat(
          OutcomeName(finished.outcome()), ": ", finished.steps_done(), " step(s) in ",
          Millis(finished.duration_ms()), ", now at ", Or(finished.version(), "(empty)"),
          finished.version() == finished.from_version()
              ? ""
              : absl::StrCat(" (from ", Or(finished.from_version(), "(empty)"), ")"),
          "\n");
      if (!finished.error().empty()) absl::StrAppend(&out, "error: ", finished.error(), "\n");
      return out;
    }
    default:
      return "";
  }
}

std::string RenderFinding(const v1::Finding& finding) {
  std::string out;
  if (!finding.file().empty()) absl::StrAppend(&out, finding.file(), ":", finding.line(), ": ");
  absl::StrAppend(&out, SeverityName(finding.severity()), " ", finding.rule(), ": ",
                  finding.message());
  if (!finding.lock().empty()) {
    absl::StrAppend(&out, " [", finding.lock(), " lock");
    if (finding.estimated_rows() > 0) {
      absl::StrAppend(&out, ", ~", static_cast<int64_t>(finding.estimated_rows()), " rows");
    }
    out += "]";
  }
  if (!finding.alternative().empty()) absl::StrAppend(&out, "; instead: ", finding.alternative());
  if (finding.suppressed())
    absl::StrAppend(&out, " (suppressed: ", finding.suppression_reason(), ")");
  return out + "\n";
}

std::string RenderCoverage(const v1::ValidateCoverageResponse& coverage) {
  std::string out = absl::StrCat("Coverage of catalog ", coverage.catalog(), "\n\n");
  std::vector<std::vector<std::string>> rows;
  int index = 0;
  for (const v1::TableCoverage& table : coverage.tables()) {
    std::string status;
    if (!table.covered()) {
      status = table.dropped_by_version().empty() ? "MISSING"
                                                  : "DROPPED by " + table.dropped_by_version();
    } else if (coverage.live_checked() && !table.live_present()) {
      status = "NOT LIVE";
    } else {
      status = coverage.live_checked() ? "created, live" : "created";
    }
    if (!table.missing_columns().empty()) {
      absl::StrAppend(&status, "; missing columns: ", absl::StrJoin(table.missing_columns(), ", "));
    }
    if (!table.missing_indexes().empty()) {
      absl::StrAppend(&status, "; missing indexes: ", absl::StrJoin(table.missing_indexes(), ", "));
    }
    std::string created_by = table.created_by_version();
    if (!table.created_by_file().empty()) {
      const std::string& file = table.created_by_file();
      created_by = file.substr(file.rfind('/') + 1);
    }
    rows.push_back({std::to_string(++index), table.table(), status, Or(created_by, "-")});
  }
  out += RenderTable({"#", "TABLE", "STATUS", "CREATED BY"}, rows);
  const int percent = coverage.required_count() == 0
                          ? 100
                          : coverage.covered_count() * 100 / coverage.required_count();
  absl::StrAppend(&out, "\nCoverage: ", coverage.covered_count(), "/", coverage.required_count(),
                  " (", percent, "%)\n\n");
  const auto& s = coverage.static_statistics();
  const auto& l = coverage.live_statistics();
  const bool live = coverage.live_checked();
  out += RenderTable(
      {"METRIC", "CATALOG", live ? "LIVE" : ""},
      {{"Tables", std::to_string(s.tables()), live ? std::to_string(l.tables()) : ""},
       {"Indexes", std::to_string(s.indexes()), live ? std::to_string(l.indexes()) : ""},
       {"Foreign keys", std::to_string(s.foreign_keys()),
        live ? std::to_string(l.foreign_keys()) : ""},
       {"Unique constraints", std::to_string(s.unique_constraints()),
        live ? std::to_string(l.unique_constraints()) : ""}});
  if (!coverage.findings().empty()) {
    out += "\nQuality checks:\n";
    for (const v1::Finding& finding : coverage.findings()) {
      absl::StrAppend(&out, "  ", SeverityName(finding.severity()), " ", finding.rule(), " (",
                      finding.version(), "): ", finding.message(), "\n");
    }
  } else {
    out += "\nQuality checks: all passed\n";
  }
  return out;
}

// A definition on one line, cut at `width` (the JSON output has it whole).
std::string OneLine(const std::string& text, size_t width = 60) {
  std::string line;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (line.empty() || line.back() == ' ')) continue;
    line += space ? ' ' : c;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (line.size() > width) line = line.substr(0, width - 3) + "...";
  return line;
}

std::string Differences(const google::protobuf::RepeatedPtrField<v1::DriftItem>& items) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::DriftItem& item : items) {
    rows.push_back({item.kind(), item.object(), OneLine(item.expected()), OneLine(item.actual())});
  }
  return RenderTable({"DRIFT", "OBJECT", "EXPECTED", "ACTUAL"}, rows);
}

std::string RenderDrift(const v1::GetStatusResponse& status) {
  std::string notes;
  for (const std::string& note : status.drift_notes())
    absl::StrAppend(&notes, "note: ", note, "\n");
  if (!status.drift_basis().empty())
    absl::StrAppend(&notes, "expected: ", status.drift_basis(), "\n");
  if (status.schema_drift().empty()) {
    return absl::StrCat(status.target(), ": no drift: the live schema matches the catalog at ",
                        Or(status.current_version(), "(empty)"), "\n", notes);
  }
  return absl::StrCat(Differences(status.schema_drift()), "\n", status.schema_drift_size(),
                      " difference(s) from the catalog at ",
                      Or(status.current_version(), "(empty)"), "\n", notes);
}

std::string RenderVerify(const v1::RunVerifyScriptsResponse& verify) {
  if (verify.revisions().empty()) {
    return absl::StrCat(verify.target(), ": no applied revision has a verify script\n");
  }
  std::vector<std::vector<std::string>> rows;
  int failed = 0;
  for (const v1::VerifiedRevision& revision : verify.revisions()) {
    rows.push_back({revision.version(), revision.name(), revision.ok() ? "ok" : "FAILED",
                    OneLine(revision.error(), 100)});
    failed += !revision.ok();
  }
  return absl::StrCat(RenderTable({"VERSION", "NAME", "VERIFY", "ERROR"}, rows), "\n",
                      verify.revisions_size() - failed, " of ", verify.revisions_size(),
                      " verified (in a transaction that was rolled back: nothing is left)\n");
}

std::string RenderAdoption(const v1::AdoptionResponse& adoption) {
  std::string out;
  if (!adoption.table().empty())
    absl::StrAppend(&out, "read ", adoption.table(), " (left as it is)\n");
  if (adoption.recorded().empty()) {
    absl::StrAppend(&out, adoption.target(), ": nothing new to record\n");
  } else {
    absl::StrAppend(&out, adoption.target(), ": recorded ", adoption.recorded_size(),
                    " revision(s) as applied without running them (run ", adoption.run_id(),
                    "): ", absl::StrJoin(adoption.recorded(), ", "), "\n");
  }
  if (!adoption.already().empty()) {
    absl::StrAppend(&out, "already recorded: ", absl::StrJoin(adoption.already(), ", "), "\n");
  }
  for (const std::string& line : adoption.not_adopted()) {
    absl::StrAppend(&out, "not adopted: ", line, "\n");
  }
  absl::StrAppend(&out, adoption.verified()
                            ? "verified: the live schema is the catalog's at these revisions\n"
                            : "NOT VERIFIED: nothing was checked against the live schema (use "
                              "--verify, or see schemactl drift)\n");
  return out;
}

std::string RenderRehearsal(const v1::Rehearsal& rehearsal) {
  std::string out =
      absl::StrCat(rehearsal.reversible() ? "Reversibility proof" : "Rehearsal", " of ",
                   rehearsal.target(), ": ", Or(rehearsal.from_version(), "(empty)"), " -> ",
                   Or(rehearsal.to_version(), "(empty)"), "\nplan hash: ", rehearsal.plan_hash(),
                   "\ncatalog: ", rehearsal.catalog_digest(), "\nin: ", rehearsal.shadow(), "\n\n");
  std::vector<std::vector<std::string>> rows;
  // PostgreSQL's table lock modes, weakest first.
  static const std::vector<std::string> kModes = {
      "AccessShareLock", "RowShareLock",          "RowExclusiveLock", "ShareUpdateExclusiveLock",
      "ShareLock",       "ShareRowExclusiveLock", "ExclusiveLock",    "AccessExclusiveLock"};
  const auto strength = [](const std::string& mode) {
    return std::find(kModes.begin(), kModes.end(), mode) - kModes.begin();
  };
  for (const v1::RehearsedStep& step : rehearsal.steps()) {
    // Per table its strongest lock and the statement that took it, strongest first (the JSON
    // output has every lock of every statement).
    std::map<std::string, std::pair<std::string, int>> strongest;
    for (const v1::RehearsedStatement& statement : step.statements()) {
      for (const std::string& lock : statement.locks()) {
        const size_t space = lock.rfind(' ');
        const std::string table = lock.substr(0, space), mode = lock.substr(space + 1);
        auto it = strongest.find(table);
        if (it == strongest.end() || strength(mode) > strength(it->second.first)) {
          strongest[table] = {mode, statement.index()};
        }
      }
    }
    std::vector<std::tuple<long, std::string, std::string, int>> order;
    for (const auto& [table, lock] : strongest) {
      order.emplace_back(-strength(lock.first), table, lock.first, lock.second);
    }
    std::sort(order.begin(), order.end());
    std::string detail = OneLine(step.error(), 70);
    for (size_t i = 0; i < order.size() && i < 2; ++i) {
      absl::StrAppend(&detail, detail.empty() ? "" : "; ", std::get<1>(order[i]), " ",
                      std::get<2>(order[i]), " (stmt ", std::get<3>(order[i]), ")");
    }
    if (order.size() > 2) absl::StrAppend(&detail, "; +", order.size() - 2, " more");
    rows.push_back({step.version(), step.name(), step.outcome(),
                    absl::StrFormat("%.1f ms", step.duration_ms()), detail});
  }
  if (!rows.empty()) {
    absl::StrAppend(&out, RenderTable({"VERSION", "NAME", "OUTCOME", "TIME", "DETAIL"}, rows));
  } else {
    absl::StrAppend(&out, "nothing to rehearse: no pending revision\n");
  }
  for (const v1::RehearsedStep& step : rehearsal.steps()) {
    if (step.difference().empty()) continue;
    absl::StrAppend(&out, "\n", step.version(), "_", step.name(), " (", step.outcome(), "):\n",
                    Differences(step.difference()));
  }
  for (const std::string& note : rehearsal.notes()) absl::StrAppend(&out, "\nnote: ", note);
  absl::StrAppend(&out, "\n", rehearsal.ok() ? "OK" : absl::StrCat("FAILED: ", rehearsal.problem()),
                  absl::StrFormat(" (%.0f ms)", rehearsal.duration_ms()),
                  rehearsal.recorded() ? ", recorded for require_rehearsal" : "", "\n");
  return out;
}

std::string RenderHistory(const v1::GetHistoryResponse& history) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Run& run : history.runs()) {
    rows.push_back({FormatTimestamp(run.started_at()), run.run_id(), run.operation(),
                    run.principal(), RunStateName(run.state()), Or(run.target_version(), "-"),
                    run.error().substr(0, 80)});
  }
  std::string out =
      RenderTable({"STARTED (UTC)", "RUN", "OPERATION", "BY", "STATE", "TO", "ERROR"}, rows);
  if (!history.events().empty()) {
    std::vector<std::vector<std::string>> events;
    for (const v1::Event& event : history.events()) {
      events.push_back({FormatTimestamp(event.at()), event.action(), event.principal(),
                        event.outcome(), event.detail().substr(0, 80)});
    }
    out += "\n" + RenderTable({"AT (UTC)", "ACTION", "BY", "OUTCOME", "DETAIL"}, events);
  }
  if (!history.next_page_token().empty()) {
    absl::StrAppend(&out, "\nmore: --page-token ", history.next_page_token(), "\n");
  }
  return out;
}

std::string RenderAudit(const v1::GetAuditResponse& audit) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::AuditEntry& entry : audit.entries()) {
    rows.push_back({std::to_string(entry.seq()), FormatTimestamp(entry.at()), entry.principal(),
                    entry.method(), Or(entry.target(), "-"), entry.outcome(),
                    entry.reason().substr(0, 80)});
  }
  return RenderTable({"SEQ", "AT (UTC)", "BY", "METHOD", "TARGET", "OUTCOME", "REASON"}, rows);
}

std::string RenderReload(const v1::ReloadCatalogsResponse& reload) {
  std::string out;
  for (const v1::CatalogReload& target : reload.targets()) {
    if (!target.error().empty()) {
      absl::StrAppend(&out, target.target(), ": ", target.error(), "\n");
    } else {
      absl::StrAppend(&out, target.target(), ": ", target.changed() ? "reloaded" : "unchanged",
                      ", ", target.revision_count(), " revision(s), latest ",
                      Or(target.latest_version(), "-"), " (", target.catalog_digest(), ")\n");
    }
  }
  return out;
}

std::string RenderReleases(const v1::ListReleasesResponse& releases) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Release& release : releases.releases()) {
    rows.push_back({release.digest(), Or(release.label(), "-"),
                    FormatTimestamp(release.published_at()), release.published_by(),
                    std::to_string(release.revision_count()), Or(release.latest_version(), "-")});
  }
  return RenderTable({"DIGEST", "LABEL", "PUBLISHED (UTC)", "BY", "REVISIONS", "LATEST"}, rows);
}

std::string RenderApprovals(const v1::ListApprovalsResponse& approvals) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Approval& approval : approvals.approvals()) {
    rows.push_back({approval.plan_hash().substr(0, 16), approval.principal(),
                    FormatTimestamp(approval.approved_at()), approval.live() ? "live" : "expired",
                    approval.comment().substr(0, 60)});
  }
  return RenderTable({"PLAN HASH", "BY", "AT (UTC)", "STATE", "COMMENT"}, rows);
}

std::string RenderGroupVersions(const std::string& group,
                                const v1::ListTargetVersionsResponse& response) {
  std::map<std::string, int> at_version;
  std::vector<std::string> blocked, unknown, failed;
  std::string fleet_run;
  for (const v1::TargetVersion& target : response.targets()) {
    if (!target.known()) {
      unknown.push_back(target.target());
      continue;
    }
    ++at_version[Or(target.current_version(), "(none)")];
    if (target.blocked()) blocked.push_back(target.target());
    if (target.fleet_state() == "failed") {
      failed.push_back(absl::StrCat(target.target(), ": ", target.fleet_error()));
    }
  }
  std::string out = absl::StrCat("group ", group, ": ", response.targets_size(), " member(s)\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& [version, count] : at_version) rows.push_back({version, std::to_string(count)});
  absl::StrAppend(&out, RenderTable({"VERSION", "MEMBERS"}, rows));
  if (!blocked.empty()) {
    absl::StrAppend(&out, "blocked (", blocked.size(), "): ", absl::StrJoin(blocked, ", "), "\n");
  }
  if (!unknown.empty()) {
    absl::StrAppend(&out, "unknown (", unknown.size(), "): ", absl::StrJoin(unknown, ", "), "\n");
  }
  if (!failed.empty()) {
    absl::StrAppend(&out, "failed in their last fleet run (", failed.size(), "):\n");
    for (const std::string& line : failed) absl::StrAppend(&out, "  ", line, "\n");
  }
  return out;
}

std::string RenderFleetTally(const v1::FleetTally& tally) {
  return absl::StrCat("done ", tally.applied() + tally.no_change(), " / failed ", tally.failed(),
                      " / running ", tally.running(), " / left ", tally.pending(),
                      tally.skipped() > 0 ? absl::StrCat(" / skipped ", tally.skipped()) : "");
}

std::string RenderFleetEvent(const v1::FleetEvent& event) {
  const v1::FleetMember& member = event.member();
  switch (event.type()) {
    case v1::FleetEvent::TYPE_STARTED:
      return absl::StrCat(event.attached() ? "attached to fleet run " : "fleet run ",
                          event.run().fleet_run_id(), " of group ", event.run().group(), ": ",
                          event.tally().pending() + event.tally().running() +
                              event.tally().applied() + event.tally().no_change() +
                              event.tally().failed() + event.tally().skipped(),
                          " member(s), release ", event.run().release(), "\n");
    case v1::FleetEvent::TYPE_MEMBER_STARTED:
      return absl::StrCat("  start  ", member.member(), member.canary() ? " (canary)" : "", "\n");
    case v1::FleetEvent::TYPE_MEMBER_FINISHED:
      return absl::StrCat("  ", member.state() == "failed" ? "FAILED " : "done   ", member.member(),
                          ": ", member.state(),
                          member.version().empty() ? "" : absl::StrCat(" at ", member.version()),
                          member.error().empty() ? "" : absl::StrCat(": ", member.error()), "\n");
    default:
      return "";
  }
}

std::string RenderFleetRun(const v1::FleetRun& run) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::FleetMember& member : run.members()) {
    rows.push_back({member.member(), member.canary() ? "canary" : "", member.state(),
                    Or(member.version(), "-"), Or(member.run_id(), "-"),
                    member.error().substr(0, 120)});
  }
  std::string out = RenderTable({"MEMBER", "", "STATE", "VERSION", "RUN", "ERROR"}, rows);
  absl::StrAppend(&out, "\nfleet run ", run.fleet_run_id(), " ", absl::AsciiStrToUpper(run.state()),
                  ": ", RenderFleetTally(run.tally()), "\n");
  if (run.state() == "running") {
    absl::StrAppend(&out, "not finished: schemactl resume-fleet ", run.fleet_run_id(),
                    " works what is left\n");
  }
  return out;
}

std::string RenderFleetRuns(const v1::ListFleetRunsResponse& runs) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::FleetRun& run : runs.runs()) {
    rows.push_back({run.fleet_run_id(), run.group(), run.state(), FormatTimestamp(run.created_at()),
                    run.principal(), RenderFleetTally(run.tally())});
  }
  std::string out =
      RenderTable({"FLEET RUN", "GROUP", "STATE", "STARTED (UTC)", "BY", "MEMBERS"}, rows);
  if (runs.runs_size() == 1 && runs.runs(0).members_size() > 0) {
    absl::StrAppend(&out, "\n", RenderFleetRun(runs.runs(0)));
  }
  return out;
}

}  // namespace schemad::cli
