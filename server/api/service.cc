#include "server/api/service.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/time_util.h"
#include "server/api/request_checks.h"
#include "server/common/refusal.h"
#include "server/common/status_macros.h"
#include "server/engine/executor.h"
#include "spdlog/spdlog.h"

namespace schemad::api {
namespace {

using google::protobuf::Timestamp;

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 500;
// Events of a run its caller may fall behind by before it is dropped (the run carries on).
constexpr size_t kMaxBufferedEvents = 4096;

Timestamp ToProto(absl::Time time) {
  Timestamp out;
  const int64_t micros = absl::ToUnixMicros(time);
  out.set_seconds(micros / 1000000);
  out.set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
  return out;
}

v1::Environment EnvironmentEnum(const EnvironmentConfig& environment) {
  if (environment.name == "dev") return v1::ENVIRONMENT_DEV;
  if (environment.name == "staging") return v1::ENVIRONMENT_STAGING;
  if (environment.name == "prod") return v1::ENVIRONMENT_PROD;
  return v1::ENVIRONMENT_UNSPECIFIED;
}

void ToProto(const EnvironmentConfig& environment, v1::EnvironmentPolicy* out) {
  out->set_promote_from(environment.promote_from);
  out->set_soak_seconds(absl::ToDoubleSeconds(environment.soak));
  out->set_require_plan_hash(environment.require_plan_hash);
  static constexpr const char* kSeverities[] = {"none", "info", "warning", "error"};
  out->set_lint_policy(kSeverities[std::clamp(environment.lint_block_severity, 0, 3)]);
  out->set_approvals(environment.approvals);
  out->set_approval_ttl_seconds(absl::ToDoubleSeconds(environment.approval_ttl));
}

// The SQL a Plan response carries at most (the rest of the response is small): well under the
// 128 MiB a response may have, however large the files of the plan.
constexpr size_t kMaxPlanSqlBytes = 32 << 20;
// Denied calls written to audit logs per minute: from one host, and in all. One host cannot
// use up the budget of the others.
constexpr size_t kDeniedRowsPerHost = 20;
constexpr size_t kDeniedRows = 600;
// Events a run produced and its caller has not read yet, at most `capacity`. Thread-safe.
template <typename Event>
class EventBuffer {
 public:
  explicit EventBuffer(size_t capacity) : capacity_(capacity) {}
  // False when full: the caller is too slow.
  bool Push(Event event) {
    absl::MutexLock lock(&mu_);
    if (events_.size() >= capacity_) return false;
    events_.push_back(std::move(event));
    return true;
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  // The next event; nullopt once closed and empty.
  std::optional<Event> Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](EventBuffer* b)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(b->mu_) { return b->closed_ || !b->events_.empty(); },
        this));
    if (events_.empty()) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<Event> events_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

void ToProto(const db::FleetMember& member, v1::FleetMember* out) {
  out->set_member(member.member);
  out->set_position(member.position);
  out->set_canary(member.canary);
  out->set_state(member.state);
  out->set_run_id(member.run_id);
  out->set_version(member.version);
  out->set_error(member.error);
  out->set_plan_hash(member.plan_hash);
  out->set_claimed_by(member.claimed_by);
  if (member.started_at) *out->mutable_started_at() = ToProto(*member.started_at);
  if (member.finished_at) *out->mutable_finished_at() = ToProto(*member.finished_at);
}

void ToProto(const db::FleetTally& tally, v1::FleetTally* out) {
  out->set_pending(tally.pending);
  out->set_running(tally.running);
  out->set_applied(tally.applied);
  out->set_no_change(tally.no_change);
  out->set_failed(tally.failed);
  out->set_skipped(tally.skipped);
}

void ToProto(const db::FleetRun& run, v1::FleetRun* out) {
  out->set_fleet_run_id(run.id);
  out->set_group(run.group);
  out->set_request_id(run.request_id);
  out->set_release(run.release);
  out->set_to_version(run.to_version);
  out->set_principal(run.principal);
  out->set_parallel(run.parallel);
  out->set_canary(run.canary);
  out->set_max_failures(run.max_failures);
  out->set_state(run.state);
  *out->mutable_created_at() = ToProto(run.created_at);
  if (run.finished_at) *out->mutable_finished_at() = ToProto(*run.finished_at);
}

v1::FleetEvent ToProto(const engine::FleetEvent& event) {
  v1::FleetEvent out;
  using Kind = engine::FleetEvent::Kind;
  out.set_type(event.kind == Kind::kStarted          ? v1::FleetEvent::TYPE_STARTED
               : event.kind == Kind::kMemberStarted  ? v1::FleetEvent::TYPE_MEMBER_STARTED
               : event.kind == Kind::kMemberFinished ? v1::FleetEvent::TYPE_MEMBER_FINISHED
                                                     : v1::FleetEvent::TYPE_FINISHED);
  ToProto(event.run, out.mutable_run());
  ToProto(event.tally, out.mutable_run()->mutable_tally());
  for (const db::FleetMember& member : event.members) {
    ToProto(member, out.mutable_run()->add_members());
  }
  out.set_attached(event.attached);
  if (event.kind == Kind::kMemberStarted || event.kind == Kind::kMemberFinished) {
    ToProto(event.member, out.mutable_member());
  }
  ToProto(event.tally, out.mutable_tally());
  *out.mutable_at() = ToProto(absl::Now());
  return out;
}

v1::Direction ToProto(engine::Direction direction) {
  return direction == engine::Direction::kUp ? v1::DIRECTION_UP : v1::DIRECTION_DOWN;
}

v1::RunState ToProto(db::RunState state) {
  switch (state) {
    case db::RunState::kRunning:
      return v1::RUN_STATE_RUNNING;
    case db::RunState::kSucceeded:
      return v1::RUN_STATE_SUCCEEDED;
    case db::RunState::kFailed:
      return v1::RUN_STATE_FAILED;
    case db::RunState::kInterrupted:
      return v1::RUN_STATE_INTERRUPTED;
    case db::RunState::kResolved:
      return v1::RUN_STATE_RESOLVED;
    case db::RunState::kTimedOut:
      return v1::RUN_STATE_TIMED_OUT;
  }
  return v1::RUN_STATE_UNSPECIFIED;
}

// A resolved run reports the direction it completed; use ResolvedOutcome where that is known.
v1::Outcome ToProto(db::Outcome outcome) {
  switch (outcome) {
    case db::Outcome::kApplied:
      return v1::OUTCOME_APPLIED;
    case db::Outcome::kNoChange:
      return v1::OUTCOME_NO_CHANGE;
    case db::Outcome::kFailed:
      return v1::OUTCOME_FAILED;
    case db::Outcome::kInterrupted:
      return v1::OUTCOME_INTERRUPTED;
    case db::Outcome::kTimedOut:
      return v1::OUTCOME_TIMED_OUT;
    case db::Outcome::kRolledBack:
      return v1::OUTCOME_ROLLED_BACK;
    case db::Outcome::kRepaired:
      return v1::OUTCOME_REPAIRED;
    case db::Outcome::kResolvedRetry:
    case db::Outcome::kResolvedMarkDone:
    case db::Outcome::kNone:
      return v1::OUTCOME_UNSPECIFIED;
  }
  return v1::OUTCOME_UNSPECIFIED;
}

v1::TransactionMode ToProto(db::FileMode mode) {
  switch (mode) {
    case db::FileMode::kTransactional:
      return v1::TRANSACTION_MODE_TRANSACTIONAL;
    case db::FileMode::kNoTransaction:
      return v1::TRANSACTION_MODE_NON_TRANSACTIONAL;
    case db::FileMode::kChained:
      return v1::TRANSACTION_MODE_CHAINED;
  }
  return v1::TRANSACTION_MODE_UNSPECIFIED;
}

void ToProto(const engine::DriftItem& item, v1::DriftItem* out) {
  out->set_kind(item.kind);
  out->set_object(item.object);
  out->set_expected(item.expected);
  out->set_actual(item.actual);
}

void ToProto(const db::RunRecord& run, v1::Run* out) {
  out->set_run_id(run.run_id);
  out->set_request_id(run.request_id);
  out->set_principal(run.principal);
  out->set_operation(db::OperationName(run.operation));
  out->set_target_version(run.target_version);
  out->set_plan_hash(run.plan_hash);
  out->set_state(run.orphaned ? v1::RUN_STATE_INTERRUPTED : ToProto(run.state));
  *out->mutable_started_at() = ToProto(run.started_at);
  if (run.finished_at) *out->mutable_finished_at() = ToProto(*run.finished_at);
  out->set_server_instance(run.server_instance);
  out->set_current_version(run.current_version);
  out->set_statement_index(run.failed_statement);
  std::string error = run.error;
  if (run.orphaned && error.empty()) {
    error = run.current_mode == db::FileMode::kTransactional
                ? "the server running it stopped; the open transaction was rolled back"
                : absl::StrCat("the server running it stopped after ", run.completed,
                               " committed statement(s) of ", run.current_version);
  }
  out->set_error(error);
  out->set_sqlstate(run.sqlstate);
  out->set_failing_statement(run.failing_statement);
  out->set_completed(run.completed);
  out->set_partial(run.partial);
  out->set_current_mode(ToProto(run.current_mode));
  out->set_from_version(run.from_version);
  out->set_reached_version(run.reached_version);
  out->set_steps_done(run.steps_done);
  out->set_duration_ms(run.duration_ms);
  out->set_outcome(ToProto(run.outcome));
  out->set_overrides(run.overrides);
}

void ToProto(const engine::VersionReport& report, const std::string& target, v1::VersionInfo* out) {
  out->set_target(target);
  out->set_current_version(report.current_version);
  out->set_current_name(report.current_name);
  if (report.applied_at) *out->mutable_applied_at() = ToProto(*report.applied_at);
  out->set_applied_count(report.applied_count);
  out->set_pending_count(report.pending_count);
  out->set_latest_version(report.latest_version);
  out->set_blocked(report.blocked);
  out->set_running(report.running);
  out->set_checksum_drift(report.checksum_drift);
}

// Whom a quota counts: the token's principal; with no tokens, the peer's host (each connection
// of one host has its own port).
std::string QuotaKey(const grpc::ServerContextBase& context, const Caller& caller) {
  if (!caller.open()) return caller.principal;
  const std::string peer = context.peer();
  if (absl::StartsWith(peer, "unix:")) return peer;
  return peer.substr(0, peer.rfind(':'));
}

// A WatchVersion refused before it started: only the status.
class RefusedWatch final : public grpc::ServerWriteReactor<v1::VersionInfo> {
  void OnDone() override { delete this; }
};

// One WatchVersion stream. Subscribed to the target's version, it writes each new state as it
// comes and holds no thread while it waits. It owns itself (the engine's subscription holds it
// too) until gRPC is done with it. Thread-safe: the engine calls OnVersion from its threads.
class VersionWatch final : public grpc::ServerWriteReactor<v1::VersionInfo>,
                           public engine::VersionSubscriber {
 public:
  static VersionWatch* Start(const engine::Engine* engine, const engine::Target* target,
                             const v1::WatchVersionRequest& request, Quotas::Ticket ticket) {
    std::shared_ptr<VersionWatch> watch(new VersionWatch(engine, target, request));
    watch->ticket_ = std::move(ticket);
    watch->self_ = watch;
    // May write (or finish) at once, from the cache; gRPC keeps it until this returns.
    engine->SubscribeVersion(*target, watch);
    return watch.get();
  }

  void OnVersion(const absl::StatusOr<engine::VersionReport>& report,
                 uint64_t generation) override {
    absl::MutexLock lock(&mu_);
    if (finishing_ || generation < generation_) return;  // stale: a newer one was heard
    generation_ = generation;
    if (!report.ok()) {
      // Before the first message the caller learns why; after it, an outage of the database
      // only delays the next message.
      if (!sent_any_ && !has_next_) FinishLocked(ToGrpc(report.status()));
      return;
    }
    const std::string fingerprint =
        absl::StrCat(report->current_version, "|", report->applied_count, "|", report->blocked, "|",
                     report->running);
    if (fingerprint == last_fingerprint_) return;
    last_fingerprint_ = fingerprint;
    next_.Clear();
    ToProto(*report, target_name_, &next_);
    has_next_ = true;
    reached_ = !min_version_.empty() && !report->current_version.empty() &&
               CompareVersions(report->current_version, min_version_) >= 0;
    if (!writing_) WriteNextLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::OK);  // the caller is gone
    } else if (finish_pending_) {
      FinishLocked(pending_status_);
    } else if (has_next_) {
      WriteNextLocked();
    }
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    engine_->UnsubscribeVersion(*target_, this);
    ticket_.Release();
    // The last reference may be this one: `this` is deleted when `self` goes out of scope.
    std::shared_ptr<VersionWatch> self = std::move(self_);
  }

 private:
  VersionWatch(const engine::Engine* engine, const engine::Target* target,
               const v1::WatchVersionRequest& request)
      : engine_(engine),
        target_(target),
        target_name_(request.target()),
        min_version_(request.min_version()) {}

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    sent_any_ = true;
    has_next_ = false;
    current_.Swap(&next_);
    if (reached_) {
      finishing_ = true;
      StartWriteAndFinish(&current_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      StartWrite(&current_);
    }
  }

  // Finishes once, after the write in flight (if any).
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_ && !finish_pending_) return;
    if (writing_) {
      finishing_ = true;
      finish_pending_ = true;
      pending_status_ = status;
      return;
    }
    finishing_ = true;
    finish_pending_ = false;
    Finish(status);
  }

  const engine::Engine* engine_;
  const engine::Target* target_;
  const std::string target_name_;
  const std::string min_version_;
  Quotas::Ticket ticket_;
  std::shared_ptr<VersionWatch> self_;
  absl::Mutex mu_;
  v1::VersionInfo current_ ABSL_GUARDED_BY(mu_);  // being written
  v1::VersionInfo next_ ABSL_GUARDED_BY(mu_);     // to write once it is done
  bool has_next_ ABSL_GUARDED_BY(mu_) = false;
  bool reached_ ABSL_GUARDED_BY(mu_) = false;  // next_ reaches min_version: the last message
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool sent_any_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;  // no more writes
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status pending_status_ ABSL_GUARDED_BY(mu_);
  std::string last_fingerprint_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

void ToProto(const engine::Engine::TargetView& view, v1::DatabaseState* out) {
  out->set_breaker(db::BreakerStateName(view.breaker.state));
  out->set_failed_connects(view.breaker.failures);
  out->set_last_error(view.breaker.last_error);
  if (view.breaker.state == db::Breaker::State::kOpen) {
    out->set_retry_in_seconds(
        std::max(0.0, absl::ToDoubleSeconds(view.breaker.retry_at - absl::Now())));
  }
  out->set_listening(view.listening);
}

v1::RunEvent ToProto(const engine::RunEvent& event) {
  using Kind = engine::RunEvent::Kind;
  v1::RunEvent out;
  switch (event.kind) {
    case Kind::kRunStarted: {
      auto* started = out.mutable_run_started();
      started->set_run_id(event.run_id);
      started->set_step_count(event.step_count);
      started->set_plan_hash(event.plan_hash);
      break;
    }
    case Kind::kStepStarted: {
      auto* started = out.mutable_step_started();
      started->set_version(event.version);
      started->set_name(event.name);
      started->set_direction(ToProto(event.direction));
      started->set_transaction_mode(ToProto(engine::ModeOf(event.mode)));
      started->set_statement_count(event.statement_count);
      break;
    }
    case Kind::kStatementDone: {
      auto* done = out.mutable_statement_done();
      done->set_version(event.version);
      done->set_statement_index(event.statement_index);
      done->set_statement_count(event.statement_count);
      done->set_duration_ms(event.duration_ms);
      break;
    }
    case Kind::kStepFinished: {
      auto* finished = out.mutable_step_finished();
      finished->set_version(event.version);
      finished->set_duration_ms(event.duration_ms);
      break;
    }
    case Kind::kNotice: {
      auto* notice = out.mutable_notice();
      notice->set_version(event.version);
      notice->set_message(event.message);
      break;
    }
    case Kind::kRunFinished: {
      auto* finished = out.mutable_run_finished();
      finished->set_run_id(event.run_id);
      finished->set_outcome(ToProto(event.outcome));
      finished->set_version(event.version);
      finished->set_from_version(event.from_version);
      finished->set_steps_done(event.steps_done);
      finished->set_duration_ms(event.duration_ms);
      finished->set_error(event.message);
      finished->set_sqlstate(event.sqlstate);
      finished->set_statement_index(event.statement_index);
      break;
    }
  }
  return out;
}

v1::Finding::Severity ToProto(sql::Severity severity) {
  switch (severity) {
    case sql::Severity::kInfo:
      return v1::Finding::SEVERITY_INFO;
    case sql::Severity::kWarning:
      return v1::Finding::SEVERITY_WARNING;
    case sql::Severity::kError:
      return v1::Finding::SEVERITY_ERROR;
  }
  return v1::Finding::SEVERITY_UNSPECIFIED;
}

void ToProto(const engine::Statistics& stats, v1::CatalogStatistics* out) {
  out->set_tables(stats.tables);
  out->set_indexes(stats.indexes);
  out->set_foreign_keys(stats.foreign_keys);
  out->set_unique_constraints(stats.unique_constraints);
}

// Reports the handler's own time as trailing metadata "server-ms", for clients and benchmarks
// that tell server time from network and client time.
class ServerTiming {
 public:
  explicit ServerTiming(grpc::ServerContext* context) : context_(context), start_(absl::Now()) {}
  ~ServerTiming() {
    context_->AddTrailingMetadata("server-ms",
                                  absl::StrCat(absl::ToDoubleMilliseconds(absl::Now() - start_)));
  }

 private:
  grpc::ServerContext* context_;
  absl::Time start_;
};

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  // gRPC sends the message and the details as trailers, which have a size limit (8 KiB by
  // default): a long message is cut where a character starts, saying how much was left out.
  constexpr size_t kMaxMessage = 2048;
  constexpr size_t kMaxFact = 512;
  const auto cut = [](absl::string_view text, size_t limit) {
    if (text.size() <= limit) return std::string(text);
    size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return absl::StrCat(text.substr(0, end), "… (", text.size() - end, " more bytes)");
  };
  const std::string message = cut(status.message(), kMaxMessage);
  const std::optional<Refusal> refusal = RefusalOf(status);
  if (!refusal) return grpc::Status(code, message);
  v1::Refusal typed;
  v1::Refusal::Reason reason = v1::Refusal::REASON_UNSPECIFIED;
  v1::Refusal::Reason_Parse(std::string(RefusalReasonName(refusal->reason)), &reason);
  typed.set_reason(reason);
  for (size_t i = 0; i < refusal->versions.size() && i < 100; ++i) {
    typed.add_versions(refusal->versions[i]);
  }
  for (const auto& [name, value] : refusal->facts) {
    (*typed.mutable_facts())[name] = cut(value, kMaxFact);
  }
  v1::StatusDetails details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(typed);
  return grpc::Status(code, message, details.SerializeAsString());
}

absl::StatusOr<const engine::Target*> SchemaService::Admit(grpc::ServerContextBase* context,
                                                           const google::protobuf::Message& request,
                                                           Role needed, const std::string& action,
                                                           Caller* caller, Quotas::Kind kind,
                                                           Quotas::Ticket* ticket) {
  // GetVersion and WatchVersion come on the callback API.
  const bool on_callback = kind == Quotas::Kind::kCall || kind == Quotas::Kind::kWatch;
  absl::StatusOr<Caller> authenticated = authorizer_.Authenticate(*context);
  if (!authenticated.ok()) {
    Denied(context, request, "unknown", action, authenticated.status(), on_callback);
    return authenticated.status();
  }
  *caller = *authenticated;
  if (absl::Status bounded = CheckStringFields(request); !bounded.ok()) return bounded;
  const auto* field = request.GetDescriptor()->FindFieldByName("target");
  const std::string target_name =
      field != nullptr ? request.GetReflection()->GetString(request, field) : "";
  absl::StatusOr<const engine::Target*> target = engine_->FindTarget(target_name);
  if (!target.ok()) return target.status();
  absl::Status allowed = authorizer_.Require(*caller, (*target)->config, needed, action);
  if (!allowed.ok()) {
    Denied(context, request, caller->principal, action, allowed, on_callback);
    return allowed;
  }
  // The Plan a deploy makes before its Apply is part of the change: a caller who may apply
  // may use the threads kept for changes (bounded by its own quota).
  if (kind == Quotas::Kind::kPlan) {
    kind = authorizer_.RoleFor(*caller, (*target)->config) >= Role::kDeployer
               ? Quotas::Kind::kCall
               : Quotas::Kind::kSyncRead;
  }
  SCHEMAD_ASSIGN_OR_RETURN(*ticket, quotas_.Take(QuotaKey(*context, *caller), kind));
  return target;
}

void SchemaService::Denied(grpc::ServerContextBase* context,
                           const google::protobuf::Message& request, const std::string& principal,
                           const std::string& action, const absl::Status& why, bool later) const {
  // The target as named, if the request is well-formed enough to name one we serve.
  const auto* field = request.GetDescriptor()->FindFieldByName("target");
  const std::string target_name = field != nullptr && CheckStringFields(request).ok()
                                      ? request.GetReflection()->GetString(request, field)
                                      : "";
  const std::string peer = context->peer();
  // Denied calls are logged once, here, with who (as far as known) and from where.
  spdlog::warn("denied {} target={} principal={} peer={}: {}", action, target_name, principal, peer,
               std::string(why.message()));
  const std::string host = peer.substr(0, peer.rfind(':'));
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&denied_mu_);
    const auto recent = [&](std::vector<absl::Time>& times) {
      times.erase(std::remove_if(times.begin(), times.end(),
                                 [&](absl::Time at) { return now - at >= absl::Minutes(1); }),
                  times.end());
      return times.size();
    };
    const std::string key = absl::StrCat(principal, "\n", host, "\n", action, "\n", target_name);
    auto last = denied_last_.find(key);
    if (last != denied_last_.end() && now - last->second < absl::Minutes(1)) return;
    std::vector<absl::Time>& host_rows = denied_rows_by_host_[host];
    if (recent(host_rows) >= kDeniedRowsPerHost || recent(denied_rows_) >= kDeniedRows) return;
    if (denied_last_.size() > 10000) denied_last_.clear();
    if (denied_rows_by_host_.size() > 10000) denied_rows_by_host_.clear();
    denied_last_[key] = now;
    denied_rows_by_host_[host].push_back(now);
    denied_rows_.push_back(now);
  }
  const std::string outcome =
      why.code() == absl::StatusCode::kUnauthenticated ? "UNAUTHENTICATED" : "PERMISSION_DENIED";
  if (engine_->has_control()) {
    db::AuditEntry entry;
    entry.principal = principal;
    entry.peer = peer;
    entry.method = "denied " + action;
    entry.target = target_name;
    entry.outcome = outcome;
    entry.reason = std::string(why.message());
    engine_->AuditLater(std::move(entry));  // never waits on the control database
  }
  absl::StatusOr<const engine::Target*> target = engine_->FindTarget(target_name);
  if (!target.ok()) return;
  db::EventRecord event;
  event.principal = principal;
  event.action = "denied " + action;
  event.outcome = outcome;
  event.detail = absl::StrCat("peer ", peer, ": ", why.message());
  auto warn = [target_name](const absl::StatusOr<bool>& written) {
    if (!written.ok()) {
      spdlog::warn("denied call not audited on target {}: {}", target_name,
                   std::string(written.status().message()));
    }
  };
  if (later) {
    engine_->RecordDeniedLater(**target, std::move(event), warn);
  } else {
    warn(engine_->RecordDenied(**target, event));
  }
}

grpc::ServerUnaryReactor* SchemaService::ListTargets(grpc::CallbackServerContext* context,
                                                     const v1::ListTargetsRequest*,
                                                     v1::ListTargetsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = authorizer_.Authenticate(*context);
  if (!caller.ok()) {
    Denied(context, v1::ListTargetsRequest(), "unknown", "ListTargets", caller.status(), true);
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  // From memory: no database work, so no quota either.
  for (const auto& target : engine_->targets()) {
    if (authorizer_.RoleFor(*caller, target->config) < Role::kViewer) continue;
    v1::Target* out = response->add_targets();
    out->set_name(target->config.name);
    out->set_environment(EnvironmentEnum(target->config.environment));
    out->set_environment_name(target->config.environment.name);
    ToProto(target->config.environment, out->mutable_policy());
    const std::shared_ptr<const Catalog> catalog = target->catalog();
    out->set_catalog_name(catalog->name);
    out->set_catalog_path(catalog->path);
    out->set_revision_count(static_cast<int>(catalog->revisions.size()));
    out->set_latest_version(catalog->LatestVersion());
    out->set_catalog_digest(catalog->digest());
    ToProto(engine_->View(*target), out->mutable_database());
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* SchemaService::ListTargetVersions(
    grpc::CallbackServerContext* context, const v1::ListTargetVersionsRequest* request,
    v1::ListTargetVersionsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = authorizer_.Authenticate(*context);
  if (!caller.ok()) {
    Denied(context, *request, "unknown", "ListTargetVersions", caller.status(), true);
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  absl::Status checked = CheckStringFields(*request);
  absl::StatusOr<Quotas::Ticket> ticket =
      checked.ok() ? quotas_.Take(QuotaKey(*context, *caller), Quotas::Kind::kCall) : checked;
  if (!ticket.ok()) {
    reactor->Finish(ToGrpc(ticket.status()));
    return reactor;
  }
  std::vector<std::pair<const engine::Target*, v1::TargetVersion*>> shown;
  for (const auto& target : engine_->targets()) {
    if (authorizer_.RoleFor(*caller, target->config) < Role::kViewer) continue;
    const std::shared_ptr<const Catalog> catalog = target->catalog();
    if (!request->catalog().empty() && request->catalog() != catalog->name) continue;
    if (!request->group().empty() && request->group() != target->config.group) continue;
    v1::TargetVersion* out = response->add_targets();
    out->set_target(target->config.name);
    out->set_group(target->config.group);
    out->set_environment(EnvironmentEnum(target->config.environment));
    out->set_environment_name(target->config.environment.name);
    out->set_catalog_name(catalog->name);
    out->set_latest_version(catalog->LatestVersion());
    ToProto(engine_->View(*target), out->mutable_database());
    shown.emplace_back(target.get(), out);
  }
  // Each row from its target's cache (or, cold, its database's reading thread); the answer
  // goes once the last row is in. Rows are distinct messages: filled concurrently.
  struct Gather {
    std::atomic<size_t> remaining;
    Quotas::Ticket ticket;
    grpc::ServerUnaryReactor* reactor;
    // Group members' fleet states, written into their rows by the last Done (a row is filled
    // by one thread at a time).
    std::vector<std::pair<const engine::Target*, v1::TargetVersion*>> shown;
    absl::StatusOr<std::map<std::string, db::FleetMember>> fleet = absl::NotFoundError("");
    void Done() {
      if (--remaining > 0) return;
      for (const auto& [target, out] : shown) {
        if (!fleet.ok()) break;
        auto it = fleet->find(target->config.name);
        if (it == fleet->end()) continue;
        out->set_fleet_run_id(it->second.fleet_run_id);
        out->set_fleet_state(it->second.state);
        out->set_fleet_error(it->second.error);
      }
      ticket.Release();
      reactor->Finish(grpc::Status::OK);
    }
  };
  auto gather = std::make_shared<Gather>();
  const bool fleet_states = !request->group().empty() && engine_->has_control();
  gather->remaining = shown.size() + 1 + (fleet_states ? 1 : 0);
  gather->ticket = *std::move(ticket);
  gather->reactor = reactor;
  gather->shown = shown;
  if (fleet_states) {
    // Off this thread (a control database round trip): each member's newest fleet state.
    engine_->LastFleetStatesLater(
        request->group(),
        [gather](const absl::StatusOr<std::map<std::string, db::FleetMember>>& states) {
          gather->fleet = states;
          gather->Done();
        });
  }
  for (const auto& [target, out] : shown) {
    engine_->GetVersionAsync(
        *target, [gather, out = out](const absl::StatusOr<engine::VersionReport>& report) {
          out->set_known(report.ok());
          if (report.ok()) {
            out->set_current_version(report->current_version);
            out->set_latest_version(report->latest_version);
            out->set_pending_count(report->pending_count);
            out->set_blocked(report->blocked);
            out->set_checksum_drift(report->checksum_drift);
          } else {
            out->set_error(std::string(report.status().message()));
          }
          gather->Done();
        });
  }
  gather->Done();
  return reactor;
}

grpc::ServerUnaryReactor* SchemaService::GetVersion(grpc::CallbackServerContext* context,
                                                    const v1::GetVersionRequest* request,
                                                    v1::VersionInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Caller caller;
  Quotas::Ticket ticket;
  auto target =
      Admit(context, *request, Role::kViewer, "GetVersion", &caller, Quotas::Kind::kCall, &ticket);
  if (!target.ok()) {
    reactor->Finish(ToGrpc(target.status()));
    return reactor;
  }
  // From the cache at once; a cold cache is read on the database's reading thread, not here.
  auto held = std::make_shared<Quotas::Ticket>(std::move(ticket));
  engine_->GetVersionAsync(**target, [reactor, response, held, name = request->target()](
                                         const absl::StatusOr<engine::VersionReport>& report) {
    if (report.ok()) ToProto(*report, name, response);
    held->Release();
    reactor->Finish(ToGrpc(report.status()));
  });
  return reactor;
}

grpc::ServerWriteReactor<v1::VersionInfo>* SchemaService::WatchVersion(
    grpc::CallbackServerContext* context, const v1::WatchVersionRequest* request) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kViewer, "WatchVersion", &caller,
                      Quotas::Kind::kWatch, &ticket);
  if (!target.ok()) {
    auto* refused = new RefusedWatch();
    refused->Finish(ToGrpc(target.status()));
    return refused;
  }
  return VersionWatch::Start(engine_, *target, *request, std::move(ticket));
}

grpc::Status SchemaService::GetStatus(grpc::ServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::GetStatusResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  const ServerTiming timing(context);
  auto target = Admit(context, *request, Role::kViewer, "GetStatus", &caller,
                      Quotas::Kind::kSyncRead, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  absl::StatusOr<engine::TargetStatus> status =
      engine_->GetStatus(**target, !request->skip_schema_drift());
  if (!status.ok()) return ToGrpc(status.status());
  response->set_drift_exact(status->drift_exact);
  response->set_drift_basis(status->drift_basis);
  response->set_drift_objects(status->drift_objects);
  for (const std::string& note : status->drift_notes) response->add_drift_notes(note);
  response->set_target(request->target());
  ToProto(engine_->View(**target), response->mutable_database());
  response->set_current_version(status->current_version);
  response->set_applied_count(status->applied_count);
  response->set_pending_count(status->pending_count);
  response->set_checksum_drift(status->checksum_drift);
  response->set_out_of_order(status->out_of_order);
  response->set_initialized(status->initialized);
  if (status->blocking_run) ToProto(*status->blocking_run, response->mutable_blocking_run());
  for (const engine::DriftItem& item : status->schema_drift) {
    ToProto(item, response->add_schema_drift());
  }
  for (const engine::RevisionStatus& item : status->revisions) {
    v1::RevisionStatus* out = response->add_revisions();
    if (item.revision != nullptr) {
      out->set_version(item.revision->version);
      out->set_name(item.revision->name);
      out->set_reversible(item.revision->down.has_value());
      out->set_checksum(item.revision->up.checksum);
    } else {
      out->set_version(item.applied->version);
      out->set_name(item.applied->name);
    }
    out->set_out_of_order(item.out_of_order);
    if (item.applied) {
      out->set_state(item.revision == nullptr ? v1::REVISION_STATE_MISSING_FROM_CATALOG
                     : item.drift             ? v1::REVISION_STATE_CHECKSUM_DRIFT
                                              : v1::REVISION_STATE_APPLIED);
      *out->mutable_applied_at() = ToProto(item.applied->applied_at);
      out->set_applied_by(item.applied->applied_by);
      out->set_applied_checksum(item.applied->checksum);
      out->set_release(item.applied->release);
      if (item.applied->version == status->current_version) {
        response->set_release(item.applied->release);
      }
    } else {
      out->set_state(v1::REVISION_STATE_PENDING);
    }
  }
  return grpc::Status::OK;
}

grpc::Status SchemaService::Plan(grpc::ServerContext* context, const v1::PlanRequest* request,
                                 v1::PlanResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  const ServerTiming timing(context);
  auto target =
      Admit(context, *request, Role::kViewer, "Plan", &caller, Quotas::Kind::kPlan, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  engine::PlanRequest plan_request;
  if (request->direction() == v1::DIRECTION_DOWN) {
    plan_request.direction = engine::Direction::kDown;
  } else if (request->direction() != v1::DIRECTION_UP &&
             request->direction() != v1::DIRECTION_UNSPECIFIED) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "direction: unknown value");
  }
  plan_request.to_version = request->to_version();
  plan_request.steps = request->steps();
  plan_request.allow_out_of_order = request->allow_out_of_order();
  plan_request.accept_checksum_drift = request->accept_checksum_drift();
  plan_request.release = request->release();
  absl::StatusOr<engine::Plan> plan = engine_->MakePlan(**target, plan_request);
  if (!plan.ok()) return ToGrpc(plan.status());
  response->set_target(plan->target);
  response->set_direction(ToProto(plan->direction));
  response->set_from_version(plan->from_version);
  response->set_to_version(plan->to_version);
  response->set_plan_hash(plan->plan_hash);
  response->set_catalog_digest(plan->catalog->digest());
  for (const std::string& warning : plan->warnings) response->add_warnings(warning);
  for (const sql::LintFinding& finding : plan->lint) {
    v1::Finding* out = response->add_lint();
    out->set_rule(finding.rule);
    out->set_severity(ToProto(finding.severity));
    out->set_object(finding.object);
    out->set_message(finding.message);
    out->set_file(finding.file);
    out->set_line(finding.line);
    out->set_alternative(finding.alternative);
    out->set_lock(finding.lock);
    out->set_table(finding.table);
    if (auto it = plan->table_rows.find(finding.table); it != plan->table_rows.end()) {
      out->set_estimated_rows(it->second);
    }
    out->set_suppressed(finding.suppressed);
    out->set_suppression_reason(finding.suppression_reason);
  }
  size_t sql_left = kMaxPlanSqlBytes;
  for (const engine::PlanStep& step : plan->steps) {
    v1::PlanStep* out = response->add_steps();
    out->set_version(step.revision->version);
    out->set_name(step.revision->name);
    out->set_direction(ToProto(step.direction));
    out->set_file(step.file->path);
    out->set_sql_bytes(static_cast<int64_t>(step.file->text().size()));
    if (step.file->text().size() <= sql_left) {
      out->set_sql(step.file->text());
      sql_left -= step.file->text().size();
    } else {
      out->set_sql_omitted(true);
      sql_left = 0;  // later steps too: the SQL shown is always a prefix of the plan
    }
    out->set_checksum(step.file->checksum);
    out->set_transaction_mode(ToProto(engine::ModeOf(step.mode)));
    out->set_transaction_reason(step.transaction_reason);
    out->set_statement_count(static_cast<int>(step.file->script().statements.size()));
    out->set_promotion(step.promotion);
    out->set_promoted(step.promoted);
  }
  return grpc::Status::OK;
}

grpc::Status SchemaService::RunStream(grpc::ServerContext* context, const engine::Target& target,
                                      const engine::RunRequest& request,
                                      grpc::ServerWriter<v1::RunEvent>* writer) {
  // The run never waits on its caller: it runs on its own thread and hands events to a bounded
  // buffer that this handler thread writes out. A caller that falls that far behind is
  // dropped, and the run carries on (GetHistory follows it); a caller that cancels stops the
  // run between statements.
  EventBuffer<v1::RunEvent> buffer(kMaxBufferedEvents);
  std::atomic<bool> dropped{false};
  db::Outcome outcome = db::Outcome::kNone;
  std::string message;
  std::string plan_hash = request.expected_plan_hash;
  std::string overrides;
  absl::Status status;
  std::thread run([&] {
    status = engine_->Run(
        target, request,
        [&](const engine::RunEvent& event) {
          if (event.kind == engine::RunEvent::Kind::kRunStarted) plan_hash = event.plan_hash;
          if (event.kind == engine::RunEvent::Kind::kRunFinished) {
            outcome = event.outcome;
            message = event.message;
            overrides = event.overrides;
          }
          if (!buffer.Push(ToProto(event)) && !dropped.exchange(true)) context->TryCancel();
        },
        [&] { return (context->IsCancelled() && !dropped) || stopping_; });
    buffer.Close();
  });
  bool writing = true;
  while (std::optional<v1::RunEvent> event = buffer.Pop()) {
    if (writing && !writer->Write(*event)) writing = false;
  }
  run.join();
  const std::string operation =
      request.plan.direction == engine::Direction::kUp ? "apply" : "rollback";
  if (!status.ok()) {
    spdlog::warn("{} target={} principal={} refused: {}", operation, target.config.name,
                 request.principal, std::string(status.message()));
  } else if (outcome == db::Outcome::kFailed || outcome == db::Outcome::kInterrupted ||
             outcome == db::Outcome::kTimedOut) {
    spdlog::error("{} target={} principal={} outcome={}: {}", operation, target.config.name,
                  request.principal, db::OutcomeName(outcome), message);
  } else {
    spdlog::info("{} target={} principal={} outcome={}", operation, target.config.name,
                 request.principal, db::OutcomeName(outcome));
  }
  if (dropped) {
    spdlog::warn("{} target={}: the caller stopped reading; dropped its stream, the run went on",
                 operation, target.config.name);
  }
  AuditCall(*context, request.principal,
            request.plan.direction == engine::Direction::kUp ? "Apply" : "Rollback",
            target.config.name, plan_hash,
            status.ok() ? db::OutcomeName(outcome) : std::string("REFUSED"),
            status.ok()
                ? absl::StrCat(message, message.empty() || overrides.empty() ? "" : "; ", overrides)
                : std::string(status.message()));
  return ToGrpc(status);
}

void SchemaService::AuditCall(const grpc::ServerContextBase& context, const std::string& principal,
                              const std::string& method, const std::string& target,
                              const std::string& plan_hash, const std::string& outcome,
                              const std::string& reason) const {
  if (!engine_->has_control()) return;
  db::AuditEntry entry;
  entry.principal = principal;
  entry.peer = context.peer();
  entry.method = method;
  entry.target = target;
  entry.plan_hash = plan_hash;
  entry.outcome = outcome;
  entry.reason = reason;
  if (absl::Status written = engine_->Audit(entry); !written.ok()) {
    spdlog::error("central audit: {} on {} not written: {}", method, target,
                  std::string(written.message()));
  }
}

grpc::Status SchemaService::Apply(grpc::ServerContext* context, const v1::ApplyRequest* request,
                                  grpc::ServerWriter<v1::RunEvent>* writer) {
  Caller caller;
  Quotas::Ticket ticket;
  const bool overrides = request->allow_out_of_order() || request->accept_checksum_drift() ||
                         !request->override_promotion_reason().empty();
  auto target =
      Admit(context, *request, overrides ? Role::kAdmin : Role::kDeployer,
            overrides ? "Apply with overrides" : "Apply", &caller, Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  if (request->lock_wait_seconds() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "lock_wait_seconds: must be >= 0");
  }
  engine::RunRequest run;
  run.plan.direction = engine::Direction::kUp;
  run.plan.to_version = request->to_version();
  run.plan.allow_out_of_order = request->allow_out_of_order();
  run.plan.accept_checksum_drift = request->accept_checksum_drift();
  run.plan.release = request->release();
  run.expected_plan_hash = request->expected_plan_hash();
  run.request_id = request->request_id();
  run.principal = caller.principal;
  run.lock_wait = absl::Seconds(request->lock_wait_seconds());
  run.lint_override_reason = request->lint_override_reason();
  run.override_promotion_reason = request->override_promotion_reason();
  return RunStream(context, **target, run, writer);
}

grpc::Status SchemaService::Rollback(grpc::ServerContext* context,
                                     const v1::RollbackRequest* request,
                                     grpc::ServerWriter<v1::RunEvent>* writer) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target =
      Admit(context, *request, Role::kAdmin, "Rollback", &caller, Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  if (request->lock_wait_seconds() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "lock_wait_seconds: must be >= 0");
  }
  engine::RunRequest run;
  run.plan.direction = engine::Direction::kDown;
  run.plan.to_version = request->to_version();
  run.plan.steps = request->steps();
  run.expected_plan_hash = request->expected_plan_hash();
  run.request_id = request->request_id();
  run.principal = caller.principal;
  run.lock_wait = absl::Seconds(request->lock_wait_seconds());
  return RunStream(context, **target, run, writer);
}

grpc::Status SchemaService::ApplyGroup(grpc::ServerContext* context,
                                       const v1::ApplyGroupRequest* request,
                                       grpc::ServerWriter<v1::FleetEvent>* writer) {
  absl::StatusOr<Caller> caller = authorizer_.Authenticate(*context);
  if (!caller.ok()) {
    Denied(context, *request, "unknown", "ApplyGroup", caller.status(), false);
    return ToGrpc(caller.status());
  }
  if (absl::Status bounded = CheckStringFields(*request); !bounded.ok()) return ToGrpc(bounded);
  std::string group = request->group();
  if (group.empty() && request->resume_fleet_run_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "group: required");
  }
  if (group.empty()) {
    absl::StatusOr<db::FleetRun> resumed = engine_->FindFleetRun(request->resume_fleet_run_id());
    if (!resumed.ok()) return ToGrpc(resumed.status());
    group = resumed->group;
  }
  const std::vector<const engine::Target*> members = engine_->GroupMembers(group);
  if (members.empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no group \"", group.substr(0, 80), "\""));
  }
  // Members share the group's environment: the caller must be a deployer there (or on every
  // member by name).
  for (const engine::Target* member : members) {
    absl::Status allowed =
        authorizer_.Require(*caller, member->config, Role::kDeployer, "ApplyGroup");
    if (!allowed.ok()) {
      Denied(context, *request, caller->principal, "ApplyGroup", allowed, false);
      return ToGrpc(allowed);
    }
  }
  absl::StatusOr<Quotas::Ticket> ticket =
      quotas_.Take(QuotaKey(*context, *caller), Quotas::Kind::kChange);
  if (!ticket.ok()) return ToGrpc(ticket.status());
  engine::FleetRequest fleet;
  fleet.group = group;
  fleet.release = request->release();
  fleet.to_version = request->to_version();
  fleet.parallel = request->parallel() == 0 ? 1 : request->parallel();
  fleet.canary = request->canary();
  fleet.max_failures = request->max_failures() == 0 ? 1 : request->max_failures();
  fleet.request_id = request->request_id();
  fleet.resume = request->resume_fleet_run_id();
  fleet.principal = caller->principal;
  // As Apply: the fleet run never waits on its caller (a bounded buffer between them).
  EventBuffer<v1::FleetEvent> buffer(kMaxBufferedEvents);
  std::atomic<bool> dropped{false};
  std::string summary;
  absl::Status status;
  std::thread work([&] {
    status = engine_->ApplyGroup(
        fleet,
        [&](const engine::FleetEvent& event) {
          if (event.kind == engine::FleetEvent::Kind::kFinished) {
            summary = absl::StrCat("fleet run ", event.run.id, " ", event.run.state, ": ",
                                   event.tally.applied, " applied, ", event.tally.no_change,
                                   " no change, ", event.tally.failed, " failed, ",
                                   event.tally.skipped, " skipped");
          }
          if (!buffer.Push(ToProto(event)) && !dropped.exchange(true)) context->TryCancel();
        },
        [&] { return context->IsCancelled() && !dropped; }, [&] { return stopping_.load(); });
    buffer.Close();
  });
  bool writing = true;
  while (std::optional<v1::FleetEvent> event = buffer.Pop()) {
    if (writing && !writer->Write(*event)) writing = false;
  }
  work.join();
  AuditCall(*context, caller->principal, "ApplyGroup", group, "",
            status.ok() ? std::string("FINISHED") : std::string("REFUSED"),
            status.ok() ? summary : std::string(status.message()));
  return ToGrpc(status);
}

grpc::Status SchemaService::ListFleetRuns(grpc::ServerContext* context,
                                          const v1::ListFleetRunsRequest* request,
                                          v1::ListFleetRunsResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authenticate(*context);
  if (!caller.ok()) {
    Denied(context, *request, "unknown", "ListFleetRuns", caller.status(), false);
    return ToGrpc(caller.status());
  }
  if (absl::Status bounded = CheckStringFields(*request); !bounded.ok()) return ToGrpc(bounded);
  absl::StatusOr<Quotas::Ticket> ticket =
      quotas_.Take(QuotaKey(*context, *caller), Quotas::Kind::kSyncRead);
  if (!ticket.ok()) return ToGrpc(ticket.status());
  // A viewer of every member of the run's group.
  const auto may_see = [&](const std::string& group) {
    const std::vector<const engine::Target*> members = engine_->GroupMembers(group);
    return !members.empty() &&
           std::all_of(members.begin(), members.end(), [&](const engine::Target* member) {
             return authorizer_.RoleFor(*caller, member->config) >= Role::kViewer;
           });
  };
  std::vector<db::FleetRun> runs;
  if (!request->fleet_run_id().empty()) {
    absl::StatusOr<db::FleetRun> run = engine_->FindFleetRun(request->fleet_run_id());
    if (!run.ok()) return ToGrpc(run.status());
    if (!may_see(run->group)) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("no fleet run ", request->fleet_run_id()));
    }
    runs.push_back(*std::move(run));
  } else {
    absl::StatusOr<std::vector<db::FleetRun>> listed = engine_->ListFleetRuns(
        request->group(),
        request->limit() <= 0 ? kDefaultPageSize : std::min(request->limit(), kMaxPageSize));
    if (!listed.ok()) return ToGrpc(listed.status());
    runs = *std::move(listed);
  }
  for (const db::FleetRun& run : runs) {
    if (!may_see(run.group)) continue;
    v1::FleetRun* out = response->add_runs();
    ToProto(run, out);
    absl::StatusOr<db::FleetTally> tally = engine_->FleetTally(run.id);
    if (!tally.ok()) return ToGrpc(tally.status());
    ToProto(*tally, out->mutable_tally());
    if (request->fleet_run_id().empty()) continue;
    absl::StatusOr<std::vector<db::FleetMember>> members = engine_->FleetMembers(run.id);
    if (!members.ok()) return ToGrpc(members.status());
    for (const db::FleetMember& member : *members) ToProto(member, out->add_members());
  }
  return grpc::Status::OK;
}

grpc::Status SchemaService::ResolveRun(grpc::ServerContext* context,
                                       const v1::ResolveRunRequest* request,
                                       v1::ResolveRunResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target =
      Admit(context, *request, Role::kAdmin, "ResolveRun", &caller, Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  if (request->action() != v1::ResolveRunRequest::ACTION_RETRY &&
      request->action() != v1::ResolveRunRequest::ACTION_MARK_DONE) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "action: must be ACTION_RETRY or ACTION_MARK_DONE");
  }
  absl::StatusOr<db::RunRecord> run = engine_->Resolve(
      **target, request->run_id(), request->action() == v1::ResolveRunRequest::ACTION_RETRY,
      caller.principal, [](const engine::RunEvent&) {},
      [context] { return context->IsCancelled(); });
  AuditCall(*context, caller.principal, "ResolveRun", request->target(), "",
            run.ok() ? db::OutcomeName(run->outcome) : std::string("REFUSED"),
            run.ok() ? absl::StrCat("run ", run->run_id,
                                    request->action() == v1::ResolveRunRequest::ACTION_RETRY
                                        ? " retried"
                                        : " marked done")
                     : std::string(run.status().message()));
  if (!run.ok()) return ToGrpc(run.status());
  spdlog::info("resolve target={} principal={} run={} outcome={}", request->target(),
               caller.principal, run->run_id, db::OutcomeName(run->outcome));
  ToProto(*run, response->mutable_run());
  response->set_outcome(ToProto(run->outcome));
  return grpc::Status::OK;
}

grpc::Status SchemaService::RepairChecksums(grpc::ServerContext* context,
                                            const v1::RepairChecksumsRequest* request,
                                            v1::RepairChecksumsResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kAdmin, "RepairChecksums", &caller,
                      Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  if (request->reason().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "reason: required");
  }
  absl::StatusOr<std::vector<engine::RepairedChecksum>> repaired =
      engine_->RepairChecksums(**target, request->version(), request->reason(), caller.principal);
  AuditCall(*context, caller.principal, "RepairChecksums", request->target(), "",
            repaired.ok() ? "REPAIRED" : "REFUSED",
            repaired.ok() ? absl::StrCat(repaired->size(), " checksum(s): ", request->reason())
                          : std::string(repaired.status().message()));
  if (!repaired.ok()) return ToGrpc(repaired.status());
  for (const engine::RepairedChecksum& r : *repaired) {
    v1::RepairedChecksum* out = response->add_repaired();
    out->set_version(r.version);
    out->set_old_checksum(r.old_checksum);
    out->set_new_checksum(r.new_checksum);
  }
  spdlog::info("repair target={} principal={} repaired={}", request->target(), caller.principal,
               repaired->size());
  return grpc::Status::OK;
}

grpc::Status SchemaService::ValidateCoverage(grpc::ServerContext* context,
                                             const v1::ValidateCoverageRequest* request,
                                             v1::ValidateCoverageResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kViewer, "ValidateCoverage", &caller,
                      Quotas::Kind::kSyncRead, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  std::vector<CoverageRequirement> requirements;
  for (const v1::CoverageRequirement& requirement : request->requirements()) {
    if (requirement.table().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "requirements: an entry has no table");
    }
    requirements.push_back({requirement.table(),
                            {requirement.columns().begin(), requirement.columns().end()},
                            {requirement.indexes().begin(), requirement.indexes().end()}});
  }
  absl::StatusOr<engine::CoverageReport> report =
      engine_->ValidateCoverage(**target, requirements, request->static_only());
  if (!report.ok()) return ToGrpc(report.status());
  response->set_catalog((*target)->catalog()->name);
  response->set_live_checked(!request->static_only());
  response->set_required_count(report->required);
  response->set_covered_count(report->covered);
  ToProto(report->static_statistics, response->mutable_static_statistics());
  if (report->live_statistics)
    ToProto(*report->live_statistics, response->mutable_live_statistics());
  for (const engine::TableCoverage& table : report->tables) {
    v1::TableCoverage* out = response->add_tables();
    out->set_table(table.table);
    out->set_covered(table.covered);
    out->set_created_by_version(table.created_by_version);
    out->set_created_by_file(table.created_by_file);
    out->set_dropped_by_version(table.dropped_by_version);
    out->set_live_present(table.live_present.value_or(false));
    for (const std::string& column : table.missing_columns) out->add_missing_columns(column);
    for (const std::string& index : table.missing_indexes) out->add_missing_indexes(index);
  }
  for (const engine::Finding& finding : report->findings) {
    v1::Finding* out = response->add_findings();
    out->set_rule(finding.rule);
    out->set_severity(ToProto(finding.severity));
    out->set_object(finding.object);
    out->set_version(finding.version);
    out->set_message(finding.message);
  }
  return grpc::Status::OK;
}

grpc::Status SchemaService::GetHistory(grpc::ServerContext* context,
                                       const v1::GetHistoryRequest* request,
                                       v1::GetHistoryResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kViewer, "GetHistory", &caller,
                      Quotas::Kind::kSyncRead, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  if (request->page_size() < 0 || request->page_size() > kMaxPageSize) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("page_size: must be between 0 and ", kMaxPageSize));
  }
  const int page_size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  int offset = 0;
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &offset) || offset < 0 || offset > 100000000)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_token: not one we issued");
  }
  auto runs = engine_->ReadRuns(**target, page_size + 1, offset);
  if (!runs.ok()) return ToGrpc(runs.status());
  auto events = engine_->ReadEvents(**target, page_size + 1, offset);
  if (!events.ok()) return ToGrpc(events.status());
  const bool more =
      static_cast<int>(runs->size()) > page_size || static_cast<int>(events->size()) > page_size;
  for (int i = 0; i < std::min<int>(page_size, runs->size()); ++i) {
    ToProto((*runs)[i], response->add_runs());
  }
  for (int i = 0; i < std::min<int>(page_size, events->size()); ++i) {
    const db::EventRecord& event = (*events)[i];
    v1::Event* out = response->add_events();
    out->set_id(event.id);
    *out->mutable_at() = ToProto(event.at);
    out->set_principal(event.principal);
    out->set_action(event.action);
    out->set_run_id(event.run_id);
    out->set_outcome(event.outcome);
    out->set_detail(event.detail);
  }
  if (more) response->set_next_page_token(std::to_string(offset + page_size));
  return grpc::Status::OK;
}

// Reading the audit needs role admin: on the target asked for, or on some target (and then the
// rows of the targets one is admin of; rows that name no target need admin on every target).
absl::StatusOr<std::set<std::string>> SchemaService::AuditReadable(
    grpc::ServerContextBase* context, const google::protobuf::Message& request,
    const std::string& action, const std::string& only_target, Caller* caller,
    Quotas::Ticket* ticket) {
  absl::StatusOr<Caller> authenticated = authorizer_.Authenticate(*context);
  if (!authenticated.ok()) {
    Denied(context, request, "unknown", action, authenticated.status());
    return authenticated.status();
  }
  *caller = *authenticated;
  SCHEMAD_RETURN_IF_ERROR(CheckStringFields(request));
  std::set<std::string> readable;
  bool every = true;
  for (const auto& target : engine_->targets()) {
    if (authorizer_.RoleFor(*caller, target->config) >= Role::kAdmin) {
      readable.insert(target->config.name);
    } else {
      every = false;
    }
  }
  if (!only_target.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(const engine::Target* target, engine_->FindTarget(only_target));
    absl::Status allowed = authorizer_.Require(*caller, target->config, Role::kAdmin, action);
    if (!allowed.ok()) {
      Denied(context, request, caller->principal, action, allowed);
      return allowed;
    }
  } else if (readable.empty()) {
    absl::Status denied = absl::PermissionDeniedError(
        absl::StrCat(action, " needs role admin on at least one target; ", caller->principal,
                     " has it on none"));
    Denied(context, request, caller->principal, action, denied);
    return denied;
  }
  if (every) readable.insert("");
  SCHEMAD_ASSIGN_OR_RETURN(*ticket,
                           quotas_.Take(QuotaKey(*context, *caller), Quotas::Kind::kSyncRead));
  return readable;
}

grpc::Status SchemaService::GetAudit(grpc::ServerContext* context,
                                     const v1::GetAuditRequest* request,
                                     v1::GetAuditResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  absl::StatusOr<std::set<std::string>> readable =
      AuditReadable(context, *request, "GetAudit", request->only_target(), &caller, &ticket);
  if (!readable.ok()) return ToGrpc(readable.status());
  if (request->limit() < 0 || request->limit() > 10000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must be 0 to 10000");
  }
  const absl::Time since = request->has_since()
                               ? absl::FromUnixSeconds(request->since().seconds()) +
                                     absl::Nanoseconds(request->since().nanos())
                               : absl::InfinitePast();
  absl::StatusOr<std::vector<db::AuditEntry>> entries = engine_->ReadAudit(
      request->only_target(), since, request->limit() == 0 ? 1000 : request->limit());
  if (!entries.ok()) return ToGrpc(entries.status());
  for (const db::AuditEntry& entry : *entries) {
    if (readable->count(entry.target) == 0) continue;
    v1::AuditEntry* out = response->add_entries();
    out->set_seq(entry.seq);
    *out->mutable_at() = ToProto(entry.at);
    out->set_principal(entry.principal);
    out->set_peer(entry.peer);
    out->set_method(entry.method);
    out->set_target(entry.target);
    out->set_plan_hash(entry.plan_hash);
    out->set_outcome(entry.outcome);
    out->set_reason(entry.reason);
    out->set_prev_hash(entry.prev_hash);
    out->set_hash(entry.hash);
  }
  return grpc::Status::OK;
}

grpc::Status SchemaService::VerifyAudit(grpc::ServerContext* context,
                                        const v1::VerifyAuditRequest* request,
                                        v1::VerifyAuditResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  absl::StatusOr<std::set<std::string>> readable =
      AuditReadable(context, *request, "VerifyAudit", "", &caller, &ticket);
  if (!readable.ok()) return ToGrpc(readable.status());
  absl::StatusOr<db::AuditCheck> check = engine_->VerifyAudit();
  if (!check.ok()) return ToGrpc(check.status());
  response->set_rows(check->rows);
  response->set_intact(check->broken_at == 0);
  response->set_broken_at(check->broken_at);
  response->set_problem(check->problem);
  return grpc::Status::OK;
}

grpc::Status SchemaService::ReloadCatalogs(grpc::ServerContext* context,
                                           const v1::ReloadCatalogsRequest* request,
                                           v1::ReloadCatalogsResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authenticate(*context);
  if (!caller.ok()) {
    Denied(context, *request, "unknown", "ReloadCatalogs", caller.status());
    return ToGrpc(caller.status());
  }
  if (absl::Status checked = CheckStringFields(*request); !checked.ok()) return ToGrpc(checked);
  std::vector<const engine::Target*> targets;
  if (!request->only_target().empty()) {
    absl::StatusOr<const engine::Target*> target = engine_->FindTarget(request->only_target());
    if (!target.ok()) return ToGrpc(target.status());
    absl::Status allowed =
        authorizer_.Require(*caller, (*target)->config, Role::kDeployer, "ReloadCatalogs");
    if (!allowed.ok()) {
      Denied(context, *request, caller->principal, "ReloadCatalogs", allowed);
      return ToGrpc(allowed);
    }
    targets.push_back(*target);
  } else {
    for (const auto& target : engine_->targets()) {
      if (authorizer_.RoleFor(*caller, target->config) >= Role::kDeployer) {
        targets.push_back(target.get());
      }
    }
  }
  absl::StatusOr<Quotas::Ticket> ticket =
      quotas_.Take(QuotaKey(*context, *caller), Quotas::Kind::kSyncRead);
  if (!ticket.ok()) return ToGrpc(ticket.status());
  for (const engine::Target* target : targets) {
    bool changed = false;
    const absl::Status reloaded = engine_->Refresh(*target, /*force=*/true, &changed);
    const std::shared_ptr<const Catalog> catalog = target->catalog();
    v1::CatalogReload* out = response->add_targets();
    out->set_target(target->config.name);
    out->set_changed(changed);
    out->set_catalog_digest(catalog->digest());
    out->set_revision_count(static_cast<int>(catalog->revisions.size()));
    out->set_latest_version(catalog->LatestVersion());
    out->set_error(std::string(reloaded.message()));
  }
  return grpc::Status::OK;
}

namespace {

void ToProto(const db::ReleaseRecord& release, v1::Release* out) {
  out->set_digest(release.digest);
  out->set_catalog(release.catalog);
  out->set_label(release.label);
  out->set_published_by(release.published_by);
  *out->mutable_published_at() = ToProto(release.published_at);
  out->set_revision_count(release.revision_count);
  out->set_latest_version(release.latest_version);
}

}  // namespace

absl::StatusOr<Caller> SchemaService::AdmitForCatalog(grpc::ServerContextBase* context,
                                                      const google::protobuf::Message& request,
                                                      const std::string& catalog, Role needed,
                                                      bool on_every_target,
                                                      const std::string& action,
                                                      Quotas::Ticket* ticket) {
  absl::StatusOr<Caller> caller = authorizer_.Authenticate(*context);
  if (!caller.ok()) {
    Denied(context, request, "unknown", action, caller.status());
    return caller.status();
  }
  SCHEMAD_RETURN_IF_ERROR(CheckStringFields(request));
  if (catalog.empty()) return absl::InvalidArgumentError("catalog: required");
  Role best = Role::kNone;
  Role least = Role::kAdmin;
  bool served = false;
  for (const auto& target : engine_->targets()) {
    if (target->catalog()->name != catalog) continue;
    served = true;
    const Role role = authorizer_.RoleFor(*caller, target->config);
    best = std::max(best, role);
    least = std::min(least, role);
  }
  if (on_every_target) best = least;
  if (!served) {
    return absl::NotFoundError(absl::StrCat("no target uses catalog \"", catalog, "\""));
  }
  if (best < needed) {
    absl::Status denied = absl::PermissionDeniedError(absl::StrCat(
        action, " of catalog ", catalog, " needs role ", RoleName(needed),
        on_every_target ? " on every one of its targets; " : " on one of its targets; ",
        caller->principal, " has ", RoleName(best)));
    Denied(context, request, caller->principal, action, denied);
    return denied;
  }
  SCHEMAD_ASSIGN_OR_RETURN(*ticket,
                           quotas_.Take(QuotaKey(*context, *caller), Quotas::Kind::kSyncRead));
  return caller;
}

grpc::Status SchemaService::PublishRelease(grpc::ServerContext* context,
                                           const v1::PublishReleaseRequest* request,
                                           v1::Release* response) {
  Quotas::Ticket ticket;
  const bool edit = !request->allow_edit_reason().empty();
  absl::StatusOr<Caller> caller =
      AdmitForCatalog(context, *request, request->catalog(), edit ? Role::kAdmin : Role::kDeployer,
                      /*on_every_target=*/edit,
                      edit ? "PublishRelease with allow_edit" : "PublishRelease", &ticket);
  if (!caller.ok()) return ToGrpc(caller.status());
  engine::Engine::PublishRequest publish;
  publish.catalog = request->catalog();
  publish.label = request->label();
  publish.principal = caller->principal;
  publish.allow_edit_reason = request->allow_edit_reason();
  for (const v1::ReleaseFile& file : request->files()) {
    publish.files.push_back({file.name(), file.content()});
  }
  absl::StatusOr<db::ReleaseRecord> release = engine_->PublishRelease(publish);
  AuditCall(*context, caller->principal, "PublishRelease", "", "",
            release.ok() ? "PUBLISHED" : "REFUSED",
            release.ok() ? absl::StrCat(request->catalog(), " ", release->digest,
                                        request->label().empty() ? "" : " " + request->label(),
                                        edit ? " allow-edit: " + request->allow_edit_reason() : "")
                         : std::string(release.status().message()));
  if (!release.ok()) return ToGrpc(release.status());
  spdlog::info("publish catalog={} principal={} release={} label={}", request->catalog(),
               caller->principal, release->digest, release->label);
  ToProto(*release, response);
  return grpc::Status::OK;
}

grpc::Status SchemaService::ListReleases(grpc::ServerContext* context,
                                         const v1::ListReleasesRequest* request,
                                         v1::ListReleasesResponse* response) {
  Quotas::Ticket ticket;
  absl::StatusOr<Caller> caller =
      AdmitForCatalog(context, *request, request->catalog(), Role::kViewer,
                      /*on_every_target=*/false, "ListReleases", &ticket);
  if (!caller.ok()) return ToGrpc(caller.status());
  if (request->limit() < 0 || request->limit() > 10000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must be 0 to 10000");
  }
  absl::StatusOr<std::vector<db::ReleaseRecord>> releases =
      engine_->ListReleases(request->catalog(), request->limit() == 0 ? 100 : request->limit());
  if (!releases.ok()) return ToGrpc(releases.status());
  for (const db::ReleaseRecord& release : *releases) ToProto(release, response->add_releases());
  return grpc::Status::OK;
}

namespace {

void ToProto(const db::ApprovalRecord& approval, const EnvironmentConfig& environment,
             v1::Approval* out) {
  out->set_target(approval.target);
  out->set_plan_hash(approval.plan_hash);
  out->set_principal(approval.principal);
  out->set_comment(approval.comment);
  *out->mutable_approved_at() = ToProto(approval.approved_at);
  out->set_live(absl::Now() - approval.approved_at < environment.approval_ttl);
}

}  // namespace

grpc::Status SchemaService::Rehearse(grpc::ServerContext* context,
                                     const v1::RehearseRequest* request, v1::Rehearsal* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kDeployer, "Rehearse", &caller,
                      Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  engine::RehearsalRequest rehearsal_request;
  rehearsal_request.plan.to_version = request->to_version();
  rehearsal_request.plan.release = request->release();
  rehearsal_request.plan.allow_out_of_order = request->allow_out_of_order();
  rehearsal_request.reversible = request->reversible();
  rehearsal_request.principal = caller.principal;
  if (absl::Status valid = engine::CheckPlanRequest(rehearsal_request.plan); !valid.ok()) {
    return ToGrpc(valid);
  }
  absl::StatusOr<engine::Rehearsal> rehearsal = engine_->Rehearse(**target, rehearsal_request);
  if (!rehearsal.ok()) return ToGrpc(rehearsal.status());
  spdlog::info("rehearse target={} principal={} plan_hash={} reversible={} ok={} ({:.0f} ms)",
               request->target(), caller.principal, rehearsal->plan_hash, rehearsal->reversible,
               rehearsal->ok, rehearsal->duration_ms);
  response->set_target(request->target());
  response->set_plan_hash(rehearsal->plan_hash);
  response->set_catalog_digest(rehearsal->catalog_digest);
  response->set_from_version(rehearsal->from_version);
  response->set_to_version(rehearsal->to_version);
  response->set_reversible(rehearsal->reversible);
  response->set_ok(rehearsal->ok);
  response->set_problem(rehearsal->problem);
  response->set_shadow(rehearsal->shadow);
  response->set_duration_ms(rehearsal->duration_ms);
  response->set_recorded(rehearsal->recorded);
  for (const std::string& note : rehearsal->notes) response->add_notes(note);
  for (const engine::RehearsedStep& step : rehearsal->steps) {
    v1::RehearsedStep* out = response->add_steps();
    out->set_version(step.version);
    out->set_name(step.name);
    out->set_direction(step.direction == engine::Direction::kUp ? v1::DIRECTION_UP
                                                                : v1::DIRECTION_DOWN);
    out->set_outcome(step.outcome);
    out->set_error(step.error);
    out->set_duration_ms(step.duration_ms);
    for (const engine::RehearsedStatement& statement : step.statements) {
      v1::RehearsedStatement* s = out->add_statements();
      s->set_index(statement.index);
      s->set_duration_ms(statement.duration_ms);
      for (const std::string& lock : statement.locks) s->add_locks(lock);
    }
    for (const engine::DriftItem& item : step.difference) ToProto(item, out->add_difference());
  }
  return grpc::Status::OK;
}

grpc::Status SchemaService::AcceptDrift(grpc::ServerContext* context,
                                        const v1::AcceptDriftRequest* request,
                                        v1::AcceptDriftResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kAdmin, "AcceptDrift", &caller,
                      Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  absl::StatusOr<std::string> hash =
      engine_->AcceptDrift(**target, caller.principal, request->reason());
  if (!hash.ok()) return ToGrpc(hash.status());
  spdlog::info("accept drift target={} principal={} drift_hash={}", request->target(),
               caller.principal, *hash);
  response->set_drift_hash(*hash);
  return grpc::Status::OK;
}

namespace {

void ToProto(const engine::AdoptionResult& result, const std::string& target,
             v1::AdoptionResponse* out) {
  out->set_target(target);
  out->set_run_id(result.run.run_id);
  for (const std::string& version : result.recorded) out->add_recorded(version);
  for (const std::string& version : result.already) out->add_already(version);
  for (const std::string& line : result.not_adopted) out->add_not_adopted(line);
  out->set_verified(result.verified);
  out->set_table(result.table);
}

}  // namespace

grpc::Status SchemaService::Baseline(grpc::ServerContext* context,
                                     const v1::BaselineRequest* request,
                                     v1::AdoptionResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target =
      Admit(context, *request, Role::kAdmin, "Baseline", &caller, Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  engine::AdoptionRequest adoption;
  adoption.to_version = request->to_version();
  adoption.verify = request->verify();
  adoption.reason = request->reason();
  adoption.principal = caller.principal;
  absl::StatusOr<engine::AdoptionResult> result = engine_->Baseline(**target, adoption);
  AuditCall(*context, caller.principal, "Baseline", request->target(), "",
            result.ok() ? "RECORDED" : "REFUSED",
            result.ok() ? absl::StrCat(result->recorded.size(), " revision(s) up to ",
                                       request->to_version(), "; ", request->reason(),
                                       result->verified ? "; verified" : "; not verified")
                        : std::string(result.status().message()));
  if (!result.ok()) return ToGrpc(result.status());
  spdlog::info("baseline target={} principal={} to={} recorded={} verified={}", request->target(),
               caller.principal, request->to_version(), result->recorded.size(), result->verified);
  ToProto(*result, request->target(), response);
  return grpc::Status::OK;
}

grpc::Status SchemaService::Adopt(grpc::ServerContext* context, const v1::AdoptRequest* request,
                                  v1::AdoptionResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target =
      Admit(context, *request, Role::kAdmin, "Adopt", &caller, Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  engine::AdoptionRequest adoption;
  adoption.tool = request->from();
  adoption.verify = request->verify();
  adoption.reason = request->reason();
  adoption.principal = caller.principal;
  absl::StatusOr<engine::AdoptionResult> result = engine_->Adopt(**target, adoption);
  AuditCall(*context, caller.principal, "Adopt", request->target(), "",
            result.ok() ? "RECORDED" : "REFUSED",
            result.ok()
                ? absl::StrCat(result->recorded.size(), " revision(s) from ", request->from(),
                               result->verified ? "; verified" : "; not verified")
                : std::string(result.status().message()));
  if (!result.ok()) return ToGrpc(result.status());
  spdlog::info("adopt target={} principal={} from={} recorded={} not_adopted={} verified={}",
               request->target(), caller.principal, request->from(), result->recorded.size(),
               result->not_adopted.size(), result->verified);
  ToProto(*result, request->target(), response);
  return grpc::Status::OK;
}

grpc::Status SchemaService::RunVerifyScripts(grpc::ServerContext* context,
                                             const v1::RunVerifyScriptsRequest* request,
                                             v1::RunVerifyScriptsResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kViewer, "RunVerifyScripts", &caller,
                      Quotas::Kind::kSyncRead, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  absl::StatusOr<std::vector<engine::VerifyResult>> results = engine_->VerifyApplied(**target);
  if (!results.ok()) return ToGrpc(results.status());
  response->set_target(request->target());
  for (const engine::VerifyResult& result : *results) {
    v1::VerifiedRevision* out = response->add_revisions();
    out->set_version(result.version);
    out->set_name(result.name);
    out->set_ok(result.ok);
    out->set_error(result.error);
  }
  return grpc::Status::OK;
}

grpc::Status SchemaService::ApprovePlan(grpc::ServerContext* context,
                                        const v1::ApprovePlanRequest* request,
                                        v1::Approval* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kApprover, "ApprovePlan", &caller,
                      Quotas::Kind::kChange, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  const absl::Status approved =
      engine_->ApprovePlan(**target, request->plan_hash(), caller.principal, request->comment());
  AuditCall(*context, caller.principal, "ApprovePlan", request->target(), request->plan_hash(),
            approved.ok() ? "APPROVED" : "REFUSED",
            approved.ok() ? request->comment() : std::string(approved.message()));
  if (!approved.ok()) return ToGrpc(approved);
  spdlog::info("approve target={} principal={} plan_hash={}", request->target(), caller.principal,
               request->plan_hash());
  ToProto(db::ApprovalRecord{request->target(), request->plan_hash(), caller.principal,
                             request->comment(), absl::Now()},
          (*target)->config.environment, response);
  return grpc::Status::OK;
}

grpc::Status SchemaService::ListApprovals(grpc::ServerContext* context,
                                          const v1::ListApprovalsRequest* request,
                                          v1::ListApprovalsResponse* response) {
  Caller caller;
  Quotas::Ticket ticket;
  auto target = Admit(context, *request, Role::kViewer, "ListApprovals", &caller,
                      Quotas::Kind::kSyncRead, &ticket);
  if (!target.ok()) return ToGrpc(target.status());
  absl::StatusOr<std::vector<db::ApprovalRecord>> approvals = engine_->Approvals(**target, 100);
  if (!approvals.ok()) return ToGrpc(approvals.status());
  for (const db::ApprovalRecord& approval : *approvals) {
    ToProto(approval, (*target)->config.environment, response->add_approvals());
  }
  return grpc::Status::OK;
}

}  // namespace schemad::api
