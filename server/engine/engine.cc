#include "server/engine/engine.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "server/common/refusal.h"
#include "server/common/sha256.h"
#include "server/common/status_macros.h"
#include "server/db/bookkeeping_schema.h"
#include "server/db/introspection.h"
#include "server/db/listener.h"
#include "server/db/server_admin.h"
#include "server/engine/admission.h"
#include "server/engine/executor.h"
#include "server/engine/promotion.h"
#include "spdlog/spdlog.h"

namespace schemad::engine {
namespace {

namespace fs = std::filesystem;

const std::string& Or(const std::string& text, const std::string& otherwise) {
  return text.empty() ? otherwise : text;
}

// What a request asks for, apart from how it was checked: a request id reused for another
// request is refused.
std::string RequestFingerprint(const RunRequest& request) {
  const PlanRequest& plan = request.plan;
  return Sha256Hex(absl::StrCat(
      "schemad-request-v1\n", plan.direction == Direction::kUp ? "up" : "down", "\n",
      plan.to_version, "\n", plan.steps, "\n", plan.allow_out_of_order, plan.accept_checksum_drift,
      plan.release.empty() ? "" : "\nrelease=" + plan.release));
}

RunEvent Event(RunEvent::Kind kind) {
  RunEvent event;
  event.kind = kind;
  return event;
}

}  // namespace

Engine::~Engine() {
  {
    absl::MutexLock lock(&later_mu_);
    later_stop_ = true;  // what still waits is dropped
  }
  StopDriftWatch();  // before the background queue: a check may audit through it
  if (later_thread_.joinable()) later_thread_.join();
  versions_.reset();
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const std::vector<TargetConfig>& targets,
                                                       std::string server_instance,
                                                       const ControlConfig& control,
                                                       const ShadowConfig& shadow) {
  std::unique_ptr<Engine> engine(new Engine());
  engine->server_instance_ = std::move(server_instance);
  if (control.enabled()) {
    engine->control_ = std::make_unique<db::ControlStore>(control.dsn);
    engine->fleets_ = std::make_unique<db::FleetStore>(control.dsn);
  }
  engine->shadow_ = std::make_unique<ShadowServer>(shadow);
  if (engine->shadow_->configured()) {
    // Shadow databases a crashed schemad left are dropped now, not at the next drift.
    engine->Later([raw = engine.get()] {
      absl::StatusOr<int> dropped = raw->shadow_->DropLeftovers();
      if (!dropped.ok()) {
        spdlog::warn("shadow: leftovers not dropped: {}", std::string(dropped.status().message()));
      }
    });
  }
  engine->versions_ = std::make_unique<VersionHub>(
      [raw = engine.get()](const Target& target) { return raw->ReadVersion(target); });
  std::map<std::string, std::shared_ptr<db::ConnectionPool>> pools;  // by DSN
  // A group's members share one read of its folder (and compare its listing to see changes:
  // thousands of inotify watches would run out).
  std::map<std::string, std::pair<std::shared_ptr<const Catalog>, std::string>> group_catalogs;
  for (const TargetConfig& config : targets) {
    const bool member = !config.group.empty();
    std::unique_ptr<FolderWatch> watch;
    std::string fingerprint;
    std::shared_ptr<const Catalog> catalog;
    if (auto shared = group_catalogs.find(config.catalog_path);
        member && shared != group_catalogs.end() &&
        shared->second.first->path == config.catalog_path) {
      std::tie(catalog, fingerprint) = shared->second;
    } else {
      // The watch first: a change while the folder is read shows at the next check. Without
      // inotify, the listing's fingerprint is compared at each check.
      if (!member) watch = FolderWatch::Start(config.catalog_path);
      fingerprint = watch != nullptr ? "" : FolderFingerprint(config.catalog_path).value_or("");
      LoadOptions load;
      load.max_file_bytes = config.max_file_bytes;
      absl::StatusOr<Catalog> loaded = LoadCatalog(config.catalog_path, load);
      if (!loaded.ok()) return Annotate(loaded.status(), absl::StrCat("target ", config.name));
      catalog = std::make_shared<const Catalog>(*std::move(loaded));
      if (member) group_catalogs[config.catalog_path] = {catalog, fingerprint};
    }
    const std::string name = catalog->name;
    // A tenant's schema keeps its own history and lock in the database's schemad schema.
    const std::string key = config.schema.empty() ? name : absl::StrCat(name, "@", config.schema);
    auto target = std::make_unique<Target>(
        config, key, absl::StrCat(db::DatabaseIdentity(config.dsn), "\n", key));
    {
      absl::MutexLock lock(&target->mu);
      target->catalog_ = std::move(catalog);
      target->fingerprint = fingerprint;
      target->watch = std::move(watch);
    }
    // History and lock are keyed by (database, catalog name): two different catalogs under one
    // name on one database would read each other's history.
    for (const auto& other : engine->targets_) {
      if (other->lock_key == target->lock_key &&
          other->config.catalog_path != target->config.catalog_path) {
        return absl::InvalidArgumentError(absl::StrCat(
            "targets ", other->config.name, " and ", config.name,
            " use the same database and the same catalog name \"", name,
            "\" for different catalogs (", other->config.catalog_path, ", ",
            target->config.catalog_path,
            "): their history and lock would mix; give one a distinct name in its catalog.yaml"));
      }
    }
    const std::string dsn =
        config.schema.empty() ? config.dsn : db::WithSearchPath(config.dsn, config.schema);
    std::shared_ptr<db::ConnectionPool>& pool = pools[dsn];
    // A group member keeps no idle connection: a thousand members would hold a thousand.
    if (pool == nullptr) pool = std::make_shared<db::ConnectionPool>(dsn, member ? 0 : 4);
    target->pool = pool;
    // A database per tenant: the members' versions are read when asked, by one shared thread
    // (a listener per tenant database would hold a thousand connections); a schema per tenant
    // shares its database's listener.
    engine->versions_->Add(target.get(), member && config.schema.empty() ? "" : config.dsn, key,
                           /*eager=*/!member);
    engine->targets_.push_back(std::move(target));
  }
  return engine;
}

absl::StatusOr<bool> Engine::RecordDenied(const Target& target,
                                          const db::EventRecord& event) const {
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  return target.audit.AppendIfPresent(*conn, event);
}

bool Engine::Later(std::function<void()> work) const {
  constexpr size_t kMaxWaiting = 1000;
  absl::MutexLock lock(&later_mu_);
  if (later_stop_ || later_.size() >= kMaxWaiting) return false;
  later_.push_back(std::move(work));
  if (!later_thread_.joinable()) {
    later_thread_ = std::thread([this] {
      while (true) {
        std::function<void()> next;
        {
          absl::MutexLock lock(&later_mu_);
          auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(later_mu_) {
            return later_stop_ || !later_.empty();
          };
          later_mu_.Await(absl::Condition(&ready));
          if (later_stop_) return;
          next = std::move(later_.front());
          later_.pop_front();
        }
        next();
      }
    });
  }
  return true;
}

void Engine::RecordDeniedLater(const Target& target, db::EventRecord event,
                               std::function<void(const absl::StatusOr<bool>&)> done) const {
  auto shared_done = std::make_shared<std::function<void(const absl::StatusOr<bool>&)>>(done);
  if (!Later([this, &target, event = std::move(event), shared_done] {
        (*shared_done)(RecordDenied(target, event));
      })) {
    (*shared_done)(absl::ResourceExhaustedError("too many denied calls waiting to be audited"));
  }
}

absl::Status Engine::NeedsControl() const {
  if (control_ == nullptr) {
    return FailedPrecondition(RefusalReason::kNeedsControl,
                              "needs a control database (config key control)");
  }
  absl::MutexLock lock(&control_mu_);
  if (!control_ready_) {
    SCHEMAD_RETURN_IF_ERROR(control_->EnsureSchema());
    control_ready_ = true;
  }
  return absl::OkStatus();
}

absl::Status Engine::Audit(db::AuditEntry entry) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return control_->Append(std::move(entry));
}

void Engine::AuditLater(db::AuditEntry entry) const {
  if (control_ == nullptr) return;
  const std::string method = entry.method;
  const bool queued = Later([this, entry = std::move(entry)] {
    if (absl::Status written = Audit(entry); !written.ok()) {
      spdlog::error("central audit: {} not written: {}", entry.method,
                    std::string(written.message()));
    }
  });
  if (!queued) spdlog::error("central audit: {} dropped: too many rows waiting", method);
}

absl::StatusOr<std::vector<db::AuditEntry>> Engine::ReadAudit(const std::string& target,
                                                              absl::Time since, int limit) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return control_->Read(target, since, limit);
}

absl::StatusOr<db::AuditCheck> Engine::VerifyAudit() const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return control_->Verify();
}

std::vector<Engine::ParseReport> Engine::ParseCatalogs(
    const std::function<bool()>& stopping) const {
  std::vector<ParseReport> reports;
  for (const auto& target : targets_) {
    const absl::Time start = absl::Now();
    ParseReport& report = reports.emplace_back();
    report.target = target->config.name;
    const std::shared_ptr<const Catalog> catalog = target->catalog();
    for (const Revision& revision : catalog->revisions) {
      for (const MigrationFile* file : {&revision.up, revision.down ? &*revision.down : nullptr,
                                        revision.verify ? &*revision.verify : nullptr}) {
        if (file == nullptr) continue;
        if (stopping()) return reports;
        ++report.files;
        if (absl::Status parsed = file->Parsed().status(); !parsed.ok()) {
          report.errors.push_back(std::move(parsed));
        }
      }
    }
    report.took = absl::Now() - start;
  }
  return reports;
}

absl::StatusOr<const Target*> Engine::FindTarget(const std::string& name) const {
  if (name.empty()) return absl::InvalidArgumentError("target: required");
  for (const auto& target : targets_) {
    if (target->config.name == name) return target.get();
  }
  return absl::NotFoundError(absl::StrCat("unknown target \"", name, "\""));
}

absl::StatusOr<TargetStatus> Engine::GetStatus(const Target& target, bool schema_drift) const {
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  // Against what a plan would use (the newest release); version reads use the folder's.
  SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const Catalog> catalog, CatalogFor(target, ""));
  return ReadStatus(target, catalog, schema_drift);
}

absl::StatusOr<std::shared_ptr<const Catalog>> Engine::MaterializeRelease(
    const std::string& catalog_name, const std::string& digest,
    const std::vector<db::ReleaseFile>& files) const {
  if (!digest.empty()) {
    absl::MutexLock lock(&releases_mu_);
    if (auto it = releases_.find(digest); it != releases_.end()) return it->second;
  }
  // Only plain file names: a name is never a path (also for files read back from the control
  // database, which anyone with INSERT there could have added).
  for (size_t i = 0; i < files.size(); ++i) {
    // A file of the folder, or of a Sqitch project's deploy/, revert/ or verify/ folder.
    absl::string_view name = files[i].name;
    const bool sqitch_folder = absl::ConsumePrefix(&name, "deploy/") ||
                               absl::ConsumePrefix(&name, "revert/") ||
                               absl::ConsumePrefix(&name, "verify/");
    if (name.empty() || name.size() > 255 || name.find('/') != absl::string_view::npos ||
        name.find('\0') != absl::string_view::npos || name == "." || name == ".." ||
        !(absl::EndsWithIgnoreCase(name, ".sql") ||
          (!sqitch_folder && (name == "catalog.yaml" || name == "sqitch.plan")))) {
      return absl::InvalidArgumentError(
          absl::StrCat("files[", i, "].name: \"", files[i].name.substr(0, 80),
                       "\" is not a catalog file name (<version>_<name>.up.sql, .down.sql, "
                       "catalog.yaml, sqitch.plan or deploy/, revert/, verify/<change>.sql)"));
    }
  }
  // Read as a folder is: the same checks, the same catalog (its folder is named after it).
  std::string base = (fs::temp_directory_path() / "schemad-release-XXXXXX").string();
  if (mkdtemp(base.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a folder for a release in ",
                                            fs::temp_directory_path().string()));
  }
  const std::string dir = absl::StrCat(base, "/", catalog_name);
  std::error_code error;
  fs::create_directory(dir, error);
  for (size_t i = 0; i < files.size() && !error; ++i) {
    const fs::path path = absl::StrCat(dir, "/", files[i].name);
    fs::create_directories(path.parent_path(), error);
    std::ofstream out(path, std::ios::binary);
    out << files[i].content;
    if (!out) error = std::make_error_code(std::errc::io_error);
  }
  absl::StatusOr<Catalog> loaded =
      error ? absl::InternalError(absl::StrCat("cannot write a release's files: ", error.message()))
            : LoadCatalog(dir, LoadOptions{kMaxFileBytesLimit});
  fs::remove_all(base, error);
  if (!loaded.ok()) return loaded.status();
  if (loaded->name != catalog_name) {
    return absl::InvalidArgumentError(absl::StrCat("catalog.yaml names the catalog \"",
                                                   loaded->name, "\", not \"", catalog_name, "\""));
  }
  if (!digest.empty() && loaded->digest() != digest) {
    return absl::DataLossError(
        absl::StrCat("release ", digest, " reads back as ", loaded->digest()));
  }
  loaded->path = absl::StrCat("release ", loaded->digest());
  auto catalog = std::make_shared<const Catalog>(*std::move(loaded));
  absl::MutexLock lock(&releases_mu_);
  if (releases_.size() >= 16) releases_.erase(releases_.begin());
  releases_[catalog->digest()] = catalog;
  return catalog;
}

absl::StatusOr<db::ReleaseRecord> Engine::PublishRelease(const PublishRequest& request) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  bool served = false;
  for (const auto& target : targets_) served |= target->catalog()->name == request.catalog;
  if (!served) {
    return absl::NotFoundError(absl::StrCat("no target uses catalog \"", request.catalog, "\""));
  }
  if (absl::StartsWith(request.label, "sha256:")) {
    return absl::InvalidArgumentError(
        "label: must not look like a digest (\"sha256:…\" names releases by content)");
  }
  SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const Catalog> catalog,
                           MaterializeRelease(request.catalog, "", request.files));
  return StoreRelease(*catalog, request);
}

absl::StatusOr<db::ReleaseRecord> Engine::StoreRelease(const Catalog& loaded,
                                                       const PublishRequest& request) const {
  const Catalog* catalog = &loaded;
  // A release may add revisions, never change one an earlier release has.
  std::vector<std::pair<std::string, db::ReleaseRevision>> released;
  if (request.allow_edit_reason.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(released, control_->ReleasedRevisions(request.catalog));
  }
  std::vector<std::string> edited;
  std::vector<std::pair<std::string, std::string>> facts;
  std::vector<db::ReleaseRevision> revisions;
  for (const Revision& revision : catalog->revisions) {
    db::ReleaseRevision mine{revision.version, revision.name, revision.up.checksum,
                             revision.down ? revision.down->checksum : ""};
    for (const auto& [digest, theirs] : released) {
      if (digest == catalog->digest() || VersionKey(theirs.version) != VersionKey(mine.version) ||
          (theirs.up_checksum == mine.up_checksum && theirs.down_checksum == mine.down_checksum)) {
        continue;
      }
      edited.push_back(absl::StrCat(revision.Id(), " (release ", digest, " has up ",
                                    theirs.up_checksum, " down ", Or(theirs.down_checksum, "-"),
                                    "; this one up ", mine.up_checksum, " down ",
                                    Or(mine.down_checksum, "-"), ")"));
      facts.emplace_back(
          revision.version,
          absl::StrCat(digest, " ", theirs.up_checksum, " ", Or(theirs.down_checksum, "-"), " -> ",
                       mine.up_checksum, " ", Or(mine.down_checksum, "-")));
      break;
    }
    revisions.push_back(std::move(mine));
  }
  if (!edited.empty() && request.allow_edit_reason.empty()) {
    std::vector<std::string> versions;
    for (const auto& [version, fact] : facts) versions.push_back(version);
    return FailedPrecondition(
        RefusalReason::kReleaseEdit,
        absl::StrCat("publish refused: a release may not change a revision an earlier one has: ",
                     absl::StrJoin(edited, "; "),
                     " (add a new revision instead; an admin may publish with --allow-edit "
                     "REASON)"),
        versions, facts);
  }
  db::ReleaseRecord record;
  record.digest = catalog->digest();
  record.catalog = request.catalog;
  record.label = request.label;
  record.published_by = request.principal;
  record.revision_count = static_cast<int>(catalog->revisions.size());
  record.latest_version = catalog->LatestVersion();
  return control_->PutRelease(record, revisions, request.files, request.renew);
}

void Engine::PublishFolder(const Target& target) const {
  const std::shared_ptr<const Catalog> catalog = target.catalog();
  if (control_ == nullptr || target.published_digest == catalog->digest()) return;
  {
    // Published for another target with this very catalog object (a group's members share
    // the one read of their folder); a folder read again is published again (renewed).
    absl::MutexLock lock(&published_mu_);
    auto it = published_.find(target.config.catalog_path);
    if (it != published_.end() && it->second == catalog) {
      target.published_digest = catalog->digest();
      return;
    }
  }
  PublishRequest request;
  request.catalog = catalog->name;
  request.principal = absl::StrCat("schemad (folder of target ", target.config.name, ")");
  // The folder is the truth for its target: it is published as it is, and an edit of a
  // released revision shows as checksum drift, as before releases.
  request.allow_edit_reason = "folder content";
  // The folder as found at start-up does not displace a release published since; a folder
  // that changed (or was put back) is the newest.
  request.renew = !target.published_digest.empty();
  std::set<std::string> stored;
  for (const Revision& revision : catalog->revisions) {
    for (const MigrationFile* file : {&revision.up, revision.down ? &*revision.down : nullptr,
                                      revision.verify ? &*revision.verify : nullptr}) {
      if (file == nullptr) continue;
      // Its path in the folder (Sqitch's are in deploy/, revert/ and verify/).
      std::string name = fs::path(file->path).lexically_relative(catalog->path).string();
      // A one-file revision's up and down are one file, stored once, whole.
      if (!stored.insert(name).second) continue;
      request.files.push_back(
          {std::move(name), file->whole_file ? *file->whole_file : file->text()});
    }
  }
  if (!catalog->manifest_checksum.empty()) {
    request.files.push_back({"catalog.yaml", catalog->manifest_text});
  }
  for (const auto& [name, text] : catalog->layout_files) request.files.push_back({name, text});
  // The folder's catalog is loaded and checked already: stored as it is (what is published is
  // exactly what the digest covers).
  const absl::Status ready = NeedsControl();
  absl::StatusOr<db::ReleaseRecord> published =
      ready.ok() ? StoreRelease(*catalog, request) : absl::StatusOr<db::ReleaseRecord>(ready);
  if (!published.ok()) {
    spdlog::warn("target {}: folder content not published as a release: {}", target.config.name,
                 std::string(published.status().message()));
    return;
  }
  target.published_digest = catalog->digest();
  {
    absl::MutexLock lock(&published_mu_);
    published_[target.config.catalog_path] = catalog;
  }
  if (!published->created) return;  // stored before: by another replica, or before a restart
  db::AuditEntry entry;
  entry.principal = request.principal;
  entry.method = "PublishRelease";
  entry.target = target.config.name;
  entry.outcome = "PUBLISHED";
  entry.reason = absl::StrCat(catalog->name, " ", catalog->digest(), " (folder ",
                              target.config.catalog_path, ")");
  if (absl::Status written = Audit(entry); !written.ok()) {
    spdlog::error("central audit: a folder release of {} not written: {}", target.config.name,
                  std::string(written.message()));
  }
}

absl::Status Engine::GatherApprovals(const Target& target, const std::string& hash,
                                     const std::string& principal,
                                     std::vector<std::string>* approvers, std::string* note) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::ApprovalRecord> approvals,
                           control_->Approvals(target.config.name, hash, 100));
  int own = 0;
  int expired = 0;
  const absl::Time oldest = absl::Now() - target.config.environment.approval_ttl;
  for (const db::ApprovalRecord& approval : approvals) {
    if (approval.principal == principal) {
      ++own;
    } else if (approval.approved_at < oldest) {
      ++expired;
    } else {
      approvers->push_back(approval.principal);
    }
  }
  if (own > 0) absl::StrAppend(note, "; ", principal, "'s own does not count");
  if (expired > 0) absl::StrAppend(note, "; ", expired, " expired");
  return absl::OkStatus();
}

absl::Status Engine::ApprovePlan(const Target& target, const std::string& plan_hash,
                                 const std::string& principal, const std::string& comment) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  if (!IsPlanHash(plan_hash)) {
    return absl::InvalidArgumentError(
        "plan_hash: not a plan hash (64 lower-case hex digits, as Plan returns it)");
  }
  if (comment.empty()) return absl::InvalidArgumentError("comment: required");
  return control_->Approve({target.config.name, plan_hash, principal, comment, absl::Now()});
}

absl::StatusOr<std::vector<db::ApprovalRecord>> Engine::Approvals(const Target& target,
                                                                  int limit) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return control_->Approvals(target.config.name, "", limit);
}

absl::StatusOr<std::vector<db::ReleaseRecord>> Engine::ListReleases(const std::string& catalog,
                                                                    int limit) const {
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  return control_->ListReleases(catalog, limit);
}

absl::StatusOr<std::shared_ptr<const Catalog>> Engine::CatalogFor(const Target& target,
                                                                  const std::string& ref) const {
  std::shared_ptr<const Catalog> folder = target.catalog();
  if (control_ == nullptr) {
    if (ref.empty() || ref == folder->digest()) return folder;
    return NeedsControl();
  }
  SCHEMAD_RETURN_IF_ERROR(NeedsControl());
  if (ref.empty()) {
    // A folder whose content could not be published (Refresh logged why) is what is newest.
    absl::MutexLock lock(&target.reload_mu);
    if (target.published_digest != folder->digest()) return folder;
  }
  absl::StatusOr<db::ReleaseRecord> release = control_->FindRelease(folder->name, ref);
  if (!release.ok() && ref.empty() && absl::IsNotFound(release.status())) return folder;
  if (!release.ok()) return release.status();
  if (release->digest == folder->digest()) return folder;
  {
    absl::MutexLock lock(&releases_mu_);
    if (auto it = releases_.find(release->digest); it != releases_.end()) return it->second;
  }
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::ReleaseFile> files,
                           control_->ReleaseFiles(release->digest));
  return MaterializeRelease(folder->name, release->digest, files);
}

absl::Status Engine::Refresh(const Target& target, bool force, bool* changed) const {
  if (changed != nullptr) *changed = false;
  absl::MutexLock reloading(&target.reload_mu);
  const std::string& dir = target.config.catalog_path;
  // Whether the folder changed since it was read: inotify's word, or (without it) its listing.
  std::string fingerprint;
  bool same = false;
  std::shared_ptr<const Catalog> current;
  if (target.watch == nullptr) {
    SCHEMAD_ASSIGN_OR_RETURN(fingerprint, FolderFingerprint(dir));
    absl::MutexLock lock(&target.mu);
    if (!force && fingerprint == target.failed_fingerprint) return target.failed;
    same = fingerprint == target.fingerprint;
    current = target.catalog_;
  } else {
    same = !target.watch->Changed();
    absl::MutexLock lock(&target.mu);
    if (!force && same && !target.failed.ok()) return target.failed;
    current = target.catalog_;
  }
  if (!force && same) {
    PublishFolder(target);
    return absl::OkStatus();
  }
  LoadOptions load;
  load.max_file_bytes = target.config.max_file_bytes;
  absl::StatusOr<Catalog> loaded = LoadCatalog(dir, load);
  absl::Status problem = loaded.status();
  if (loaded.ok() && loaded->name != current->name) {
    problem = absl::InvalidArgumentError(absl::StrCat(
        dir, ": the catalog's name changed from \"", current->name, "\" to \"", loaded->name,
        "\"; its history is kept under the old name: restart schemad to use the new one"));
  }
  if (!problem.ok()) {
    problem = Annotate(problem, absl::StrCat("target ", target.config.name, ": reloading catalog"));
    spdlog::error("{}", std::string(problem.message()));
    absl::MutexLock lock(&target.mu);
    target.failed_fingerprint = fingerprint;
    target.failed = problem;
    return problem;
  }
  const bool differs = loaded->digest() != current->digest();
  {
    absl::MutexLock lock(&target.mu);
    target.fingerprint = fingerprint;
    target.failed_fingerprint.clear();
    target.failed = absl::OkStatus();
    if (differs) target.catalog_ = std::make_shared<const Catalog>(*std::move(loaded));
  }
  if (differs) {
    spdlog::info("target {}: catalog reloaded: {} revisions, latest {} ({})", target.config.name,
                 target.catalog()->revisions.size(), target.catalog()->LatestVersion(),
                 target.catalog()->digest());
    InvalidateVersion(target);
  }
  if (changed != nullptr) *changed = differs;
  PublishFolder(target);
  return absl::OkStatus();
}

absl::StatusOr<TargetStatus> Engine::ReadStatus(const Target& target,
                                                std::shared_ptr<const Catalog> of,
                                                bool with_schema_drift) const {
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  TargetStatus status;
  SCHEMAD_ASSIGN_OR_RETURN(status.initialized, db::BookkeepingInitialized(*conn));
  std::vector<db::AppliedRevision> applied;
  if (status.initialized) {
    SCHEMAD_ASSIGN_OR_RETURN(applied, target.store.ReadApplied(*conn));
    SCHEMAD_ASSIGN_OR_RETURN(status.blocking_run, target.journal.ReadBlocking(*conn));
  }
  status.catalog = std::move(of);
  const Catalog& catalog = *status.catalog;
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
  if (with_schema_drift) SCHEMAD_RETURN_IF_ERROR(FillDrift(target, *conn, applied, status));
  return status;
}

absl::StatusOr<const std::vector<RevisionLineage>*> Engine::Lineage(
    const std::shared_ptr<const Catalog>& catalog) const {
  absl::MutexLock lock(&lineage_mu_);
  auto it = lineage_.find(catalog.get());
  if (it != lineage_.end()) return &it->second.second;
  // Catalogs a reload replaced and nobody uses any more.
  for (auto old = lineage_.begin(); old != lineage_.end();) {
    old = old->second.first.use_count() == 1 ? lineage_.erase(old) : std::next(old);
  }
  auto& entry = lineage_[catalog.get()];
  entry.first = catalog;
  entry.second = AnalyzeCatalog(*catalog);
  return &entry.second;
}

absl::StatusOr<CoverageReport> Engine::ValidateCoverage(
    const Target& target, const std::vector<CoverageRequirement>& requirements,
    bool static_only) const {
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  const std::shared_ptr<const Catalog> catalog = target.catalog();
  SCHEMAD_ASSIGN_OR_RETURN(const std::vector<RevisionLineage>* lineage, Lineage(catalog));
  const std::vector<CoverageRequirement>& wanted =
      requirements.empty() ? catalog->coverage : requirements;
  const std::string& schema = catalog->coverage_schema;
  SCHEMAD_RETURN_IF_ERROR(FirstLineageError(*lineage, lineage->size()));
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
  absl::Notification read;
  absl::StatusOr<VersionReport> report;
  versions_->Get(target, [&](const absl::StatusOr<VersionReport>& result) {
    report = result;
    read.Notify();
  });
  read.WaitForNotification();
  return report;
}

void Engine::GetVersionAsync(const Target& target, VersionCallback done) const {
  versions_->Get(target, std::move(done));
}

void Engine::SubscribeVersion(const Target& target,
                              std::shared_ptr<VersionSubscriber> subscriber) const {
  versions_->Subscribe(target, std::move(subscriber));
}

void Engine::UnsubscribeVersion(const Target& target, const VersionSubscriber* subscriber) const {
  versions_->Unsubscribe(target, subscriber);
}

void Engine::StartWatching(VersionHub::HealthObserver observer) const {
  versions_->StartAll(std::move(observer));
  bool watch_drift = false;
  for (const auto& target : targets_) {
    watch_drift |= target->config.environment.drift_check > absl::ZeroDuration();
  }
  absl::MutexLock lock(&drift_mu_);
  if (watch_drift && !drift_thread_.joinable()) {
    drift_stop_ = false;
    drift_thread_ = std::thread([this] { WatchDrift(); });
  }
}

void Engine::StopWatching() const {
  versions_->Stop();
  StopDriftWatch();
}

void Engine::StopDriftWatch() const {
  {
    absl::MutexLock lock(&drift_mu_);
    drift_stop_ = true;
  }
  if (drift_thread_.joinable()) drift_thread_.join();
}

Engine::TargetView Engine::View(const Target& target) const {
  return TargetView{versions_->Listening(target), target.pool->breaker().snapshot()};
}

void Engine::InvalidateVersion(const Target& target) const { versions_->Invalidate(target); }

absl::StatusOr<VersionReport> Engine::ReadVersion(const Target& target) const {
  SCHEMAD_ASSIGN_OR_RETURN(TargetStatus status,
                           ReadStatus(target, target.catalog(), /*with_schema_drift=*/false));
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
  report.latest_version = status.catalog->LatestVersion();
  const bool running =
      status.blocking_run.has_value() && status.blocking_run->state == db::RunState::kRunning;
  report.blocked = status.blocking_run.has_value() && !running;
  report.running = running;
  report.checksum_drift = status.checksum_drift;
  return report;
}

absl::StatusOr<Plan> Engine::MakePlan(const Target& target, const PlanRequest& request) const {
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  SCHEMAD_ASSIGN_OR_RETURN(const std::shared_ptr<const Catalog> catalog,
                           CatalogFor(target, request.release));
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied,
                           target.store.ReadApplied(*conn));
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> blocking,
                           target.journal.ReadBlocking(*conn));
  SCHEMAD_ASSIGN_OR_RETURN(
      Plan plan, engine::MakePlan(target.config.name, *catalog, applied, blocking, request));
  plan.catalog = catalog;
  SCHEMAD_RETURN_IF_ERROR(AddPromotionEvidence(target, &plan));
  SCHEMAD_ASSIGN_OR_RETURN(const std::vector<RevisionLineage>* lineage, Lineage(catalog));
  plan.lint = LintPlan(plan, *catalog, *lineage);
  std::set<std::string> tables;
  for (const sql::LintFinding& finding : plan.lint) {
    if (!finding.table.empty()) tables.insert(finding.table);
  }
  SCHEMAD_ASSIGN_OR_RETURN(plan.table_rows, db::EstimatedRows(*conn, tables));
  return plan;
}

absl::Status Engine::AddPromotionEvidence(const Target& target, Plan* plan) const {
  const EnvironmentConfig& environment = target.config.environment;
  if (environment.promote_from.empty() || plan->direction != Direction::kUp) {
    return absl::OkStatus();
  }
  std::vector<PromotionSource> sources;
  for (const auto& other : targets_) {
    if (other->config.environment.name != environment.promote_from ||
        other->catalog()->name != target.catalog()->name) {
      continue;
    }
    PromotionSource& source = sources.emplace_back();
    source.target = other->config.name;
    absl::StatusOr<db::ConnectionPool::Lease> conn = other->pool->Acquire();
    absl::StatusOr<std::vector<db::AppliedRevision>> applied =
        conn.ok() ? other->store.ReadApplied(**conn) : conn.status();
    if (applied.ok()) {
      source.applied = *std::move(applied);
    } else {
      source.error = std::string(applied.status().message());
    }
  }
  // No evidence could be read at all: that is an outage to retry, not a refusal.
  std::vector<std::string> unreadable;
  for (const PromotionSource& source : sources) {
    if (!source.error.empty())
      unreadable.push_back(absl::StrCat(source.target, ": ", source.error));
  }
  if (!sources.empty() && unreadable.size() == sources.size() && !plan->steps.empty()) {
    return absl::UnavailableError(absl::StrCat("promotion evidence from ", environment.promote_from,
                                               " cannot be read (", absl::StrJoin(unreadable, "; "),
                                               ")"));
  }
  CheckPromotion(environment, target.catalog()->name, sources, absl::Now(), plan);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TargetLock>> Engine::LockForChange(const Target& target,
                                                                  absl::Duration wait) {
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<TargetLock> lock,
                           TargetLock::Acquire(locks_, target.lock_key, *target.pool,
                                               target.journal, target.config.name, wait));
  SCHEMAD_RETURN_IF_ERROR(db::EnsureBookkeepingSchema(lock->session()));
  // A tenant's schema (schema per tenant) is where its migrations' unqualified names go.
  if (!target.config.schema.empty()) {
    SCHEMAD_RETURN_IF_ERROR(db::CreateSchemaIfMissing(lock->session(), target.config.schema));
  }
  // Holding the lock, no other run can be live: any "running" row is a dead server's.
  SCHEMAD_RETURN_IF_ERROR(target.journal.MarkOrphanedInterrupted(lock->session()));
  return lock;
}

absl::Status Engine::Run(const Target& target, const RunRequest& request, const EventSink& sink,
                         const CancelCheck& cancelled) {
  const absl::Duration wait =
      request.lock_wait > absl::ZeroDuration() ? request.lock_wait : target.config.lock_wait;
  // Refused before anything is locked or created.
  SCHEMAD_RETURN_IF_ERROR(CheckPlanRequest(request.plan));
  if (!request.expected_plan_hash.empty() && !IsPlanHash(request.expected_plan_hash)) {
    return absl::InvalidArgumentError(
        "expected_plan_hash: not a plan hash (64 lower-case hex digits, as Plan returns it)");
  }
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<TargetLock> lock, LockForChange(target, wait));
  absl::Status status = RunLocked(target, request, *lock, sink, cancelled);
  if (!status.ok() && status.code() != absl::StatusCode::kUnavailable) {
    // Refusals are mutating calls too: the audit log keeps them.
    db::EventRecord refused;
    refused.principal = request.principal;
    refused.action = request.plan.direction == Direction::kUp ? "apply" : "rollback";
    refused.outcome = "REFUSED";
    refused.detail = std::string(status.message());
    target.audit.Append(lock->session(), refused).IgnoreError();
  }
  lock->Release().IgnoreError();
  // This replica's own reads see the new state at once, not after its NOTIFY comes back.
  InvalidateVersion(target);
  return status;
}

absl::Status Engine::RunLocked(const Target& target, const RunRequest& request, TargetLock& lock,
                               const EventSink& sink, const CancelCheck& cancelled) {
  db::Connection& session = lock.session();
  const bool up = request.plan.direction == Direction::kUp;
  const std::string operation = up ? "apply" : "rollback";
  const std::string fingerprint = RequestFingerprint(request);

  if (!request.request_id.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> previous,
                             target.journal.ReadByRequestId(session, request.request_id));
    if (previous) {
      if (previous->request_fingerprint != fingerprint) {
        return FailedPrecondition(
            RefusalReason::kRequestIdReused,
            absl::StrCat(operation, " refused: request id ", request.request_id,
                         " was used for a different request (run ", previous->run_id, ", ",
                         db::OperationName(previous->operation), " to ",
                         previous->target_version.empty() ? "0" : previous->target_version,
                         "); use a new request id"),
            {}, {{"request_id", request.request_id}, {"run_id", previous->run_id}});
      }
      RunEvent started = Event(RunEvent::Kind::kRunStarted);
      started.run_id = previous->run_id;
      started.plan_hash = previous->plan_hash;
      started.message = "request_id seen before: returning the outcome of its run";
      sink(started);
      RunEvent finished = Event(RunEvent::Kind::kRunFinished);
      finished.run_id = previous->run_id;
      finished.outcome = previous->outcome;
      if (previous->state == db::RunState::kResolved) {
        finished.outcome = up ? db::Outcome::kApplied : db::Outcome::kRolledBack;
      }
      if (previous->state == db::RunState::kRunning) finished.outcome = db::Outcome::kNone;
      finished.from_version = previous->from_version;
      finished.version = previous->reached_version;
      finished.steps_done = previous->steps_done;
      finished.duration_ms = previous->duration_ms;
      finished.message = previous->error;
      finished.sqlstate = previous->sqlstate;
      finished.statement_index = previous->failed_statement;
      sink(finished);
      return absl::OkStatus();
    }
  }

  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied,
                           target.store.ReadApplied(session));
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> blocking,
                           target.journal.ReadBlocking(session));
  SCHEMAD_ASSIGN_OR_RETURN(const std::shared_ptr<const Catalog> catalog,
                           CatalogFor(target, request.plan.release));
  SCHEMAD_ASSIGN_OR_RETURN(
      Plan plan, engine::MakePlan(target.config.name, *catalog, applied, blocking, request.plan));
  plan.catalog = catalog;
  SCHEMAD_RETURN_IF_ERROR(AddPromotionEvidence(target, &plan));
  std::vector<sql::LintFinding> lint;
  if (target.config.environment.lint_block_severity > 0 && plan.refusal.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(const std::vector<RevisionLineage>* lineage, Lineage(catalog));
    lint = LintPlan(plan, *catalog, *lineage);
  }
  AdmissionRequest admission;
  admission.operation = operation;
  admission.expected_plan_hash = request.expected_plan_hash;
  admission.allow_out_of_order = request.plan.allow_out_of_order;
  admission.accept_checksum_drift = request.plan.accept_checksum_drift;
  admission.lint_override_reason = request.lint_override_reason;
  admission.override_promotion_reason = request.override_promotion_reason;
  admission.environment = target.config.environment;
  admission.principal = request.principal;
  if (target.config.environment.approvals > 0 && plan.refusal.empty()) {
    SCHEMAD_RETURN_IF_ERROR(GatherApprovals(target, plan.plan_hash, request.principal,
                                            &admission.approvers, &admission.approvals_note));
  }

  SCHEMAD_ASSIGN_OR_RETURN(std::vector<std::string> overrides,
                           CheckRunAllowed(plan, lint, admission));
  if (up && !plan.steps.empty()) {
    SCHEMAD_RETURN_IF_ERROR(CheckRehearsed(target, plan.plan_hash));
    SCHEMAD_RETURN_IF_ERROR(CheckDriftGate(target));
  }

  db::RunRecord run;
  run.request_id = request.request_id;
  run.request_fingerprint = fingerprint;
  run.principal = request.principal;
  run.operation = up ? db::Operation::kApply : db::Operation::kRollback;
  run.target_version = plan.to_version;
  run.plan_hash = plan.plan_hash;
  run.server_instance = server_instance_;
  run.backend_pid = session.backend_pid();
  run.overrides = absl::StrJoin(overrides, "; ");
  run.from_version = plan.from_version;
  run.reached_version = plan.from_version;
  SCHEMAD_ASSIGN_OR_RETURN(run.run_id, target.journal.Start(session, run));

  Executor executor(target, lock, sink, cancelled, plan.catalog->digest());
  RunEvent started = Event(RunEvent::Kind::kRunStarted);
  started.run_id = run.run_id;
  started.step_count = static_cast<int>(plan.steps.size());
  started.plan_hash = plan.plan_hash;
  executor.Emit(started);

  run.state = db::RunState::kSucceeded;
  run.outcome = plan.steps.empty() ? db::Outcome::kNoChange
                                   : (up ? db::Outcome::kApplied : db::Outcome::kRolledBack);
  executor.Execute(plan.steps, 0, /*resume=*/false, run);
  FinishRun(target, lock, run, executor);
  return absl::OkStatus();
}

void Engine::FinishRun(const Target& target, TargetLock& lock, db::RunRecord& run,
                       Executor& executor) {
  db::EventRecord audit;
  audit.principal = run.principal;
  audit.action = db::OperationName(run.operation);
  audit.run_id = run.run_id;
  audit.outcome = db::OutcomeName(run.outcome);
  audit.detail = run.error.empty()
                     ? absl::StrCat("to ", run.reached_version.empty() ? "0" : run.reached_version)
                     : run.error;
  if (!run.overrides.empty()) absl::StrAppend(&audit.detail, "; overrides: ", run.overrides);
  // On the run's own session when it is alive; after it broke, on a new connection (the
  // journal row is only updated while still "running"). The audit event commits with it.
  const auto with_audit = [&](pqxx::transaction_base& txn) { target.audit.Write(txn, audit); };
  absl::Status finished =
      target.journal.Finish(lock.session(), run, /*lock_lost=*/false, with_audit);
  if (!finished.ok()) {
    absl::StatusOr<db::ConnectionPool::Lease> lease = target.pool->Acquire();
    if (lease.ok()) finished = target.journal.Finish(**lease, run, /*lock_lost=*/true, with_audit);
  }

  RunEvent event = Event(RunEvent::Kind::kRunFinished);
  event.overrides = run.overrides;
  event.run_id = run.run_id;
  event.outcome = run.outcome;
  event.from_version = run.from_version;
  event.version = run.reached_version;
  event.steps_done = run.steps_done;
  event.duration_ms = run.duration_ms;
  event.message = run.error;
  event.sqlstate = run.sqlstate;
  event.statement_index = run.failed_statement;
  if (!finished.ok()) {
    absl::StrAppend(&event.message, event.message.empty() ? "" : "; ",
                    "the end of the run could not be journaled (", finished.message(),
                    "): the next run will record it as interrupted");
  }
  executor.Emit(event);
}

absl::StatusOr<db::RunRecord> Engine::Resolve(const Target& target, const std::string& run_id,
                                              bool retry, const std::string& principal,
                                              const EventSink& sink, const CancelCheck& cancelled) {
  if (run_id.empty()) return absl::InvalidArgumentError("run_id: required");
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<TargetLock> lock,
                           LockForChange(target, target.config.lock_wait));
  db::Connection& session = lock->session();
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> found,
                           target.journal.ReadRun(session, run_id));
  if (!found) {
    return absl::NotFoundError(absl::StrCat("no run ", run_id, " on target ", target.config.name));
  }
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> blocking,
                           target.journal.ReadBlocking(session));
  if (!blocking || blocking->run_id != found->run_id) {
    return FailedPrecondition(
        RefusalReason::kNothingToResolve,
        absl::StrCat("run ", run_id, " is ", RunStateName(found->state),
                     found->partial ? " but a later run superseded it" : " and left nothing behind",
                     "; it blocks nothing: nothing to resolve"),
        {}, {{"run_id", run_id}});
  }
  db::RunRecord run = *blocking;
  // The catalog a plan uses now (the newest release); the statements that ran are checked
  // against it below.
  SCHEMAD_ASSIGN_OR_RETURN(const std::shared_ptr<const Catalog> catalog, CatalogFor(target, ""));
  const int index = catalog->IndexOf(run.current_version);
  if (index < 0) {
    return FailedPrecondition(RefusalReason::kMissingFromCatalog,
                              absl::StrCat("run ", run_id, " stopped at ", run.current_version,
                                           ", which is not in the catalog"),
                              {run.current_version}, {{"run_id", run_id}});
  }
  const Revision& revision = catalog->revisions[index];
  const Direction direction =
      run.operation == db::Operation::kRollback ? Direction::kDown : Direction::kUp;
  if (direction == Direction::kDown && !revision.down) {
    return FailedPrecondition(RefusalReason::kIrreversible,
                              absl::StrCat(revision.Id(), " has no down file"), {revision.version},
                              {{"run_id", run_id}});
  }
  // Retrying runs the file (and its checks) as a plan would; marking it done runs nothing, so a
  // verify script added since cannot keep the target blocked.
  SCHEMAD_ASSIGN_OR_RETURN(PlanStep step, MakeStep(revision, direction, /*with_checks=*/retry));

  Executor executor(target, *lock, sink, cancelled, catalog->digest());
  const db::Outcome done_outcome =
      direction == Direction::kUp ? db::Outcome::kApplied : db::Outcome::kRolledBack;
  if (retry) {
    // Resume after the statements whose effects are durable, but only if they are still the
    // statements the file has: a changed prefix would make the resumed file a different one.
    const auto& statements = step.file->script().statements;
    const auto Refused = [&](const std::string& message) {
      return FailedPrecondition(RefusalReason::kFileChanged, message, {revision.version},
                                {{"run_id", run_id}});
    };
    if (ModeOf(step.mode) != run.current_mode) {
      return Refused(absl::StrCat("resolve --retry refused: ", revision.Id(), " ran as ",
                                  db::FileModeName(run.current_mode), " but now runs as ",
                                  db::FileModeName(ModeOf(step.mode)),
                                  "; restore the file, or finish by hand and use --mark-done"));
    }
    if (run.completed > static_cast<int>(run.completed_hashes.size())) {
      return Refused(absl::StrCat(
          "resolve --retry refused: the journal has no statement hashes for the ", run.completed,
          " completed statement(s) of ", revision.Id(),
          " (written by an older schemad), so a changed file cannot be told; finish by hand "
          "and use --mark-done"));
    }
    if (run.completed > static_cast<int>(statements.size())) {
      return Refused(absl::StrCat("resolve --retry refused: ", revision.Id(), " completed ",
                                  run.completed, " statement(s) but the file now has ",
                                  statements.size()));
    }
    for (int i = 0; i < run.completed; ++i) {
      if (db::StatementHash(statements[i].text) != run.completed_hashes[i]) {
        return Refused(absl::StrCat("resolve --retry refused: statement ", i + 1, " (line ",
                                    statements[i].line, ") of ", revision.Id(),
                                    " changed since it ran; restore it, or finish by hand and use "
                                    "--mark-done"));
      }
    }
    const db::RunRecord before = run;
    executor.Execute({step}, run.completed, /*resume=*/true, run);
    run.duration_ms += before.duration_ms;
    if (run.steps_done == before.steps_done + 1) {
      run.state = db::RunState::kResolved;
      run.outcome = db::Outcome::kResolvedRetry;
      run.error = absl::StrCat("resolved by ", principal, " (retry from statement ",
                               before.completed + 1, "); was: ", before.error);
      run.partial = false;
      run.failed_statement = 0;
    }
  }
  db::HistoryWrite mark;  // --mark-done: the history row, written with the run's end
  if (!retry) {
    mark.insert = direction == Direction::kUp;
    mark.revision.version = revision.version;
    mark.revision.name = revision.name;
    mark.revision.checksum = revision.up.checksum;
    mark.revision.applied_by = principal;
    mark.revision.run_id = run.run_id;
    run.state = db::RunState::kResolved;
    run.outcome = db::Outcome::kResolvedMarkDone;
    run.partial = false;
    run.error = absl::StrCat("marked done by ", principal, "; was: ", run.error);
  }
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied,
                           target.store.ReadApplied(session));
  std::vector<std::string> versions;
  for (const db::AppliedRevision& a : applied) {
    if (retry || VersionKey(a.version) != VersionKey(revision.version))
      versions.push_back(a.version);
  }
  if (!retry && mark.insert) versions.push_back(revision.version);
  std::sort(versions.begin(), versions.end(),
            [](const std::string& a, const std::string& b) { return CompareVersions(a, b) < 0; });
  run.reached_version = versions.empty() ? "" : versions.back();
  db::EventRecord audit;
  audit.principal = principal;
  audit.run_id = run.run_id;
  audit.action = retry ? "resolve-retry" : "resolve-mark-done";
  audit.outcome = db::OutcomeName(run.outcome);
  audit.detail = absl::StrCat(revision.Id(), ": ", run.error);
  // The history row of --mark-done, the run's end and the audit event commit together.
  SCHEMAD_RETURN_IF_ERROR(
      target.journal.Finish(session, run, /*lock_lost=*/false, [&](pqxx::transaction_base& txn) {
        if (!retry) target.store.Write(txn, mark, 0);
        target.audit.Write(txn, audit);
      }));
  lock->Release().IgnoreError();
  InvalidateVersion(target);
  if (run.state == db::RunState::kResolved) run.outcome = done_outcome;
  return run;
}

absl::StatusOr<std::vector<RepairedChecksum>> Engine::RepairChecksums(
    const Target& target, const std::string& version, const std::string& reason,
    const std::string& principal) {
  if (reason.empty()) return absl::InvalidArgumentError("reason: required");
  if (!version.empty() && !IsVersion(version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("version: \"", version.substr(0, 40), "\" is not a version"));
  }
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  // Against the catalog a plan uses (the newest release), as status reports the drift.
  SCHEMAD_ASSIGN_OR_RETURN(const std::shared_ptr<const Catalog> catalog, CatalogFor(target, ""));
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<TargetLock> lock,
                           LockForChange(target, target.config.lock_wait));
  db::Connection& session = lock->session();
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied,
                           target.store.ReadApplied(session));
  std::vector<RepairedChecksum> repaired;
  bool found = version.empty();
  for (const db::AppliedRevision& revision : applied) {
    if (!version.empty() && VersionKey(revision.version) != VersionKey(version)) continue;
    found = true;
    const int index = catalog->IndexOf(revision.version);
    if (index < 0) {
      if (!version.empty()) {
        return FailedPrecondition(
            RefusalReason::kMissingFromCatalog,
            absl::StrCat("version ", version, " is applied but not in the catalog"), {version});
      }
      continue;
    }
    const std::string& now = catalog->revisions[index].up.checksum;
    if (now != revision.checksum) {
      repaired.push_back(RepairedChecksum{revision.version, revision.checksum, now});
    }
  }
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("version ", version, " is not applied on target ", target.config.name));
  }
  if (repaired.empty()) return repaired;

  std::vector<std::string> changes;
  for (const RepairedChecksum& r : repaired) {
    changes.push_back(absl::StrCat(r.version, ": ", r.old_checksum, " -> ", r.new_checksum));
  }
  const EnvironmentConfig& environment = target.config.environment;
  std::vector<std::string> approvers;
  if (environment.approvals > 0) {
    // The repair is approved like a plan: by the hash of exactly these changes.
    const std::string hash = Sha256Hex(absl::StrCat("schemad-repair-v1\n", target.config.name, "\n",
                                                    absl::StrJoin(changes, "\n")));
    std::string note;
    SCHEMAD_RETURN_IF_ERROR(GatherApprovals(target, hash, principal, &approvers, &note));
    if (static_cast<int>(approvers.size()) < environment.approvals) {
      return FailedPrecondition(
          RefusalReason::kNeedsApproval,
          absl::StrCat("repair refused: environment ", environment.name, " needs ",
                       environment.approvals, " approval(s) of repair ", hash,
                       " by someone other than ", principal, " within ",
                       absl::FormatDuration(environment.approval_ttl), "; it has ",
                       approvers.size(), note, " (schemactl approve --target ", target.config.name,
                       " --plan-hash ", hash, " --comment …)"),
          {},
          {{"plan_hash", hash},
           {"needed", absl::StrCat(environment.approvals)},
           {"have", absl::StrCat(approvers.size())}});
    }
    changes.push_back(absl::StrCat("approved by ", absl::StrJoin(approvers, ", ")));
  }
  db::RunRecord run;
  run.principal = principal;
  run.operation = db::Operation::kRepair;
  run.server_instance = server_instance_;
  run.backend_pid = session.backend_pid();
  run.overrides = absl::StrCat("reason: ", reason, "; ", absl::StrJoin(changes, "; "));
  run.from_version = applied.empty() ? "" : applied.back().version;
  run.reached_version = run.from_version;
  run.target_version = run.from_version;
  SCHEMAD_ASSIGN_OR_RETURN(run.run_id, target.journal.Start(session, run));
  for (const RepairedChecksum& r : repaired) {
    SCHEMAD_RETURN_IF_ERROR(target.store.UpdateChecksum(session, r.version, r.new_checksum));
  }
  run.state = db::RunState::kSucceeded;
  run.outcome = db::Outcome::kRepaired;
  run.steps_done = static_cast<int>(repaired.size());
  db::EventRecord audit;
  audit.principal = principal;
  audit.run_id = run.run_id;
  audit.action = "repair";
  audit.outcome = "REPAIRED";
  audit.detail = run.overrides;
  SCHEMAD_RETURN_IF_ERROR(
      target.journal.Finish(session, run, /*lock_lost=*/false,
                            [&](pqxx::transaction_base& txn) { target.audit.Write(txn, audit); }));
  lock->Release().IgnoreError();
  InvalidateVersion(target);
  return repaired;
}

absl::StatusOr<std::vector<db::RunRecord>> Engine::ReadRuns(const Target& target, int limit,
                                                            int offset) const {
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  return target.journal.ReadRuns(*conn, limit, offset);
}

absl::StatusOr<std::vector<db::EventRecord>> Engine::ReadEvents(const Target& target, int limit,
                                                                int offset) const {
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  return target.audit.Read(*conn, limit, offset);
}

}  // namespace schemad::engine
