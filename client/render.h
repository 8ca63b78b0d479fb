// How schemactl shows results: aligned text tables for people, JSON for machines.
#pragma once

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "schemad/v1/schemad.pb.h"

namespace schemad::cli {

// A text table: header row, then rows; columns padded to their widest cell.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// One JSON object with proto field names (snake_case), every field present.
std::string ToJson(const google::protobuf::Message& message);

std::string RenderTargets(const v1::ListTargetsResponse& response);
// "ok", "connecting", "unreachable (breaker open, retry in 2.0s)", …
std::string RenderDatabase(const v1::DatabaseState& database);
std::string RenderTargetVersions(const v1::ListTargetVersionsResponse& response);
// Not known, pending revisions, or blocked by a run.
bool IsBehind(const v1::TargetVersion& target);
std::string RenderVersion(const v1::VersionInfo& version);
std::string RenderStatus(const v1::GetStatusResponse& status);
// With `with_sql`, each step's SQL follows it.
std::string RenderPlan(const v1::PlanResponse& plan, bool with_sql);
// One line for a progress event; empty for events that print nothing.
std::string RenderEvent(const v1::RunEvent& event);
std::string RenderHistory(const v1::GetHistoryResponse& history);
std::string RenderAudit(const v1::GetAuditResponse& audit);
std::string RenderReleases(const v1::ListReleasesResponse& releases);
std::string RenderApprovals(const v1::ListApprovalsResponse& approvals);
// Per target: "reloaded"/"unchanged", its revisions, latest version and digest, or the error.
std::string RenderReload(const v1::ReloadCatalogsResponse& reload);
std::string RenderRun(const v1::Run& run);
std::string RenderCoverage(const v1::ValidateCoverageResponse& coverage);
std::string RenderDrift(const v1::GetStatusResponse& status);
std::string RenderRehearsal(const v1::Rehearsal& rehearsal);
std::string RenderAdoption(const v1::AdoptionResponse& adoption);
std::string RenderVerify(const v1::RunVerifyScriptsResponse& verify);
// A group's members summarised: how many at each version, which are blocked, which failed in
// the newest fleet run that reached them; then the members' table.
std::string RenderGroupVersions(const std::string& group,
                                const v1::ListTargetVersionsResponse& response);
// "done 12 / failed 1 / running 4 / left 83" of a fleet run's tally.
std::string RenderFleetTally(const v1::FleetTally& tally);
// One line per member start and end of ApplyGroup (without the tally).
std::string RenderFleetEvent(const v1::FleetEvent& event);
// The end of a fleet run: its state and a table of its members.
std::string RenderFleetRun(const v1::FleetRun& run);
std::string RenderFleetRuns(const v1::ListFleetRunsResponse& runs);
// One line per finding: "file:line: severity rule: message [lock, rows] -> alternative".
std::string RenderFinding(const v1::Finding& finding);

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp);

}  // namespace schemad::cli
