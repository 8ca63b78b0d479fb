// SchemaService: converts proto to domain types, calls one engine method, converts back.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "schemad/v1/schemad.grpc.pb.h"
#include "server/api/auth.h"
#include "server/api/quotas.h"
#include "server/engine/engine.h"

namespace schemad::api {

// GetVersion, WatchVersion, ListTargetVersions and ListTargets, the calls other services make
// at start-up and in loops, use the callback API: answered from memory and the version caches,
// or once the database's reading thread has read it, they hold no thread while they wait. The
// rest is the sync API on a bounded thread pool, part of it kept for mutating calls (Quotas).
class SchemaService final
    : public v1::SchemaService::WithCallbackMethod_GetVersion<
          v1::SchemaService::WithCallbackMethod_WatchVersion<
              v1::SchemaService::WithCallbackMethod_ListTargetVersions<
                  v1::SchemaService::WithCallbackMethod_ListTargets<v1::SchemaService::Service>>>> {
 public:
  SchemaService(engine::Engine* engine, Authorizer authorizer, const Config& config)
      : engine_(engine),
        authorizer_(std::move(authorizer)),
        quotas_(config.limits, config.max_threads) {}

  // The server's shutdown grace is over: every run still going is cancelled between
  // statements, also one whose caller was dropped. Thread-safe.
  void StopRuns() { stopping_ = true; }

  grpc::ServerUnaryReactor* ListTargets(grpc::CallbackServerContext* context,
                                        const v1::ListTargetsRequest* request,
                                        v1::ListTargetsResponse* response) override;
  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* context,
                                       const v1::GetVersionRequest* request,
                                       v1::VersionInfo* response) override;
  grpc::ServerWriteReactor<v1::VersionInfo>* WatchVersion(
      grpc::CallbackServerContext* context, const v1::WatchVersionRequest* request) override;
  grpc::ServerUnaryReactor* ListTargetVersions(grpc::CallbackServerContext* context,
                                               const v1::ListTargetVersionsRequest* request,
                                               v1::ListTargetVersionsResponse* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::GetStatusResponse* response) override;
  grpc::Status Plan(grpc::ServerContext* context, const v1::PlanRequest* request,
                    v1::PlanResponse* response) override;
  grpc::Status Apply(grpc::ServerContext* context, const v1::ApplyRequest* request,
                     grpc::ServerWriter<v1::RunEvent>* writer) override;
  grpc::Status Rollback(grpc::ServerContext* context, const v1::RollbackRequest* request,
                        grpc::ServerWriter<v1::RunEvent>* writer) override;
  grpc::Status ResolveRun(grpc::ServerContext* context, const v1::ResolveRunRequest* request,
                          v1::ResolveRunResponse* response) override;
  grpc::Status ValidateCoverage(grpc::ServerContext* context,
                                const v1::ValidateCoverageRequest* request,
                                v1::ValidateCoverageResponse* response) override;
  grpc::Status RepairChecksums(grpc::ServerContext* context,
                               const v1::RepairChecksumsRequest* request,
                               v1::RepairChecksumsResponse* response) override;
  grpc::Status GetHistory(grpc::ServerContext* context, const v1::GetHistoryRequest* request,
                          v1::GetHistoryResponse* response) override;
  grpc::Status GetAudit(grpc::ServerContext* context, const v1::GetAuditRequest* request,
                        v1::GetAuditResponse* response) override;
  grpc::Status VerifyAudit(grpc::ServerContext* context, const v1::VerifyAuditRequest* request,
                           v1::VerifyAuditResponse* response) override;
  grpc::Status Rehearse(grpc::ServerContext* context, const v1::RehearseRequest* request,
                        v1::Rehearsal* response) override;
  grpc::Status AcceptDrift(grpc::ServerContext* context, const v1::AcceptDriftRequest* request,
                           v1::AcceptDriftResponse* response) override;
  grpc::Status Baseline(grpc::ServerContext* context, const v1::BaselineRequest* request,
                        v1::AdoptionResponse* response) override;
  grpc::Status Adopt(grpc::ServerContext* context, const v1::AdoptRequest* request,
                     v1::AdoptionResponse* response) override;
  grpc::Status RunVerifyScripts(grpc::ServerContext* context,
                                const v1::RunVerifyScriptsRequest* request,
                                v1::RunVerifyScriptsResponse* response) override;
  grpc::Status ApplyGroup(grpc::ServerContext* context, const v1::ApplyGroupRequest* request,
                          grpc::ServerWriter<v1::FleetEvent>* writer) override;
  grpc::Status ListFleetRuns(grpc::ServerContext* context, const v1::ListFleetRunsRequest* request,
                             v1::ListFleetRunsResponse* response) override;
  grpc::Status PublishRelease(grpc::ServerContext* context,
                              const v1::PublishReleaseRequest* request,
                              v1::Release* response) override;
  grpc::Status ListReleases(grpc::ServerContext* context, const v1::ListReleasesRequest* request,
                            v1::ListReleasesResponse* response) override;
  grpc::Status ApprovePlan(grpc::ServerContext* context, const v1::ApprovePlanRequest* request,
                           v1::Approval* response) override;
  grpc::Status ListApprovals(grpc::ServerContext* context, const v1::ListApprovalsRequest* request,
                             v1::ListApprovalsResponse* response) override;
  grpc::Status ReloadCatalogs(grpc::ServerContext* context,
                              const v1::ReloadCatalogsRequest* request,
                              v1::ReloadCatalogsResponse* response) override;

 private:
  std::atomic<bool> stopping_{false};
  // Authenticates the caller, finds the target, checks the role and takes the caller's quota
  // for `kind` into `ticket`; returns the target. Also checks every string field of `request`
  // (bounded, printable: INVALID_ARGUMENT naming the field) and finds its `target`.
  absl::StatusOr<const engine::Target*> Admit(grpc::ServerContextBase* context,
                                              const google::protobuf::Message& request, Role needed,
                                              const std::string& action, Caller* caller,
                                              Quotas::Kind kind, Quotas::Ticket* ticket);
  // Logs a denied call (UNAUTHENTICATED, PERMISSION_DENIED) and writes it to the audit log of
  // the target it named, at most once a minute per caller, host, method and target, 20 rows a
  // minute per host and 600 in all (a flood of denied calls must not become a flood of writes).
  // `later`: from the callback API, whose threads never wait on a database (written on the
  // engine's background thread).
  void Denied(grpc::ServerContextBase* context, const google::protobuf::Message& request,
              const std::string& principal, const std::string& action, const absl::Status& why,
              bool later = false) const;
  // Appends a mutating call's outcome to the central audit, when there is a control database;
  // a failed write is logged.
  void AuditCall(const grpc::ServerContextBase& context, const std::string& principal,
                 const std::string& method, const std::string& target, const std::string& plan_hash,
                 const std::string& outcome, const std::string& reason) const;
  // Authenticates a caller of GetAudit/VerifyAudit, checks the role (admin on `only_target`, or
  // on some target) and takes a read quota; returns the targets whose rows the caller may read
  // ("" for rows that name none: admin on every target).
  absl::StatusOr<std::set<std::string>> AuditReadable(grpc::ServerContextBase* context,
                                                      const google::protobuf::Message& request,
                                                      const std::string& action,
                                                      const std::string& only_target,
                                                      Caller* caller, Quotas::Ticket* ticket);
  // Authenticates the caller of a call about a catalog (not one target), checks its best role
  // on the catalog's targets (its least, `on_every_target`) and takes a read quota.
  absl::StatusOr<Caller> AdmitForCatalog(grpc::ServerContextBase* context,
                                         const google::protobuf::Message& request,
                                         const std::string& catalog, Role needed,
                                         bool on_every_target, const std::string& action,
                                         Quotas::Ticket* ticket);
  grpc::Status RunStream(grpc::ServerContext* context, const engine::Target& target,
                         const engine::RunRequest& request,
                         grpc::ServerWriter<v1::RunEvent>* writer);

  engine::Engine* engine_;
  Authorizer authorizer_;
  Quotas quotas_;
  mutable absl::Mutex denied_mu_;
  mutable std::map<std::string, absl::Time> denied_last_ ABSL_GUARDED_BY(denied_mu_);
  mutable std::map<std::string, std::vector<absl::Time>> denied_rows_by_host_
      ABSL_GUARDED_BY(denied_mu_);                                           // last minute's
  mutable std::vector<absl::Time> denied_rows_ ABSL_GUARDED_BY(denied_mu_);  // last minute's
};

// absl::Status -> grpc::Status (the codes are the same numbers).
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace schemad::api
