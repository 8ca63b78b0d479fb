#include "server/engine/shadow.h"

#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "server/common/refusal.h"
#include "server/common/status_macros.h"
#include "server/db/connection.h"
#include "server/db/server_admin.h"
#include "spdlog/spdlog.h"

namespace schemad::engine {
namespace {

std::string VersionText(int version) { return absl::StrCat(version / 10000, ".", version % 10000); }

std::string RandomSuffix() {
  std::random_device device;
  const uint64_t value = (static_cast<uint64_t>(device()) << 32) ^ device();
  return absl::StrCat(absl::Hex(value, absl::kZeroPad16));
}

}  // namespace

absl::Status CheckShadowVersion(const std::string& target, int target_version, int shadow_version) {
  if (target_version / 10000 == shadow_version / 10000) return absl::OkStatus();
  return FailedPrecondition(
      RefusalReason::kShadowVersion,
      absl::StrCat("the shadow server is PostgreSQL ", VersionText(shadow_version), " and target ",
                   target, " is PostgreSQL ", VersionText(target_version),
                   ": a shadow must have the target's major version (configure `shadow:` with a "
                   "server of version ",
                   target_version / 10000, ")"),
      {},
      {{"target_version", VersionText(target_version)},
       {"shadow_version", VersionText(shadow_version)}});
}

ShadowServer::~ShadowServer() {
  absl::MutexLock lock(&mu_);
  if (cluster_ != nullptr) cluster_->Stop().IgnoreError();
}

ShadowServer::Database::~Database() {
  absl::StatusOr<std::unique_ptr<db::Connection>> conn = db::Connection::Open(maintenance_dsn_);
  absl::Status dropped =
      conn.ok() ? db::DropDatabase(**conn, name_, /*force=*/true) : conn.status();
  if (!dropped.ok()) {
    spdlog::warn("shadow database {} was not dropped ({}); it is dropped when next found", name_,
                 std::string(dropped.message()));
  }
  absl::MutexLock lock(&server_->mu_);
  server_->live_.erase(name_);
}

std::string ShadowServer::tools_dir(int major) const {
  const std::string versioned = absl::StrCat("/usr/lib/postgresql/", major, "/bin");
  std::error_code error;
  if (std::filesystem::exists(versioned + "/pg_dump", error)) return versioned;
  return config_.bin_dir.empty() ? FindPostgresBinDir() : config_.bin_dir;
}

std::string ShadowServer::Describe() const {
  if (configured()) return absl::StrCat("shadow server from ", config_.dsn_source);
  return absl::StrCat("private cluster in ", config_.state_dir);
}

absl::StatusOr<std::string> ShadowServer::Maintenance() {
  absl::MutexLock lock(&mu_);
  if (!maintenance_dsn_.empty()) return maintenance_dsn_;
  if (configured()) {
    maintenance_dsn_ = config_.dsn;
    return maintenance_dsn_;
  }
  if (config_.state_dir.empty()) {
    return absl::FailedPreconditionError(
        "no shadow server (configure shadow:, or give schemad a --state-dir for a private one)");
  }
  LocalCluster::Options options;
  options.state_dir = config_.state_dir;
  options.bin_dir = config_.bin_dir;
  // Scratch data: nothing here needs to survive a crash.
  options.settings = {"fsync=off", "synchronous_commit=off", "full_page_writes=off"};
  spdlog::info("shadow: starting a private PostgreSQL in {}", config_.state_dir);
  absl::StatusOr<std::unique_ptr<LocalCluster>> started = LocalCluster::Start(options);
  if (!started.ok()) {
    return absl::UnavailableError(absl::StrCat("the private shadow cluster in ", config_.state_dir,
                                               " did not start: ", started.status().message()));
  }
  cluster_ = *std::move(started);
  maintenance_dsn_ = cluster_->Dsn("postgres");
  return maintenance_dsn_;
}

absl::StatusOr<int> ShadowServer::DropLeftovers() {
  SCHEMAD_ASSIGN_OR_RETURN(const std::string maintenance, Maintenance());
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(maintenance));
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<std::string> names,
                           db::DatabasesNamed(*conn, kShadowPrefix));
  int dropped = 0;
  for (const std::string& name : names) {
    {
      absl::MutexLock lock(&mu_);
      if (live_.count(name) != 0) continue;  // ours, at work
    }
    // In use: another replica's shadow at work. Only what nobody holds is a leftover.
    absl::Status status = db::DropDatabase(*conn, name, /*force=*/false);
    if (status.ok()) {
      ++dropped;
      spdlog::info("shadow: dropped {}, left behind by a schemad that stopped", name);
    } else if (status.code() != absl::StatusCode::kFailedPrecondition) {
      return status;
    }
  }
  return dropped;
}

absl::StatusOr<std::vector<std::string>> ShadowServer::Lacking(
    const std::vector<std::string>& wanted) {
  SCHEMAD_ASSIGN_OR_RETURN(const std::string maintenance, Maintenance());
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(maintenance));
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<std::string> available, db::AvailableExtensions(*conn));
  std::vector<std::string> lacking;
  for (const std::string& name : wanted) {
    if (std::find(available.begin(), available.end(), name) == available.end()) {
      lacking.push_back(name);
    }
  }
  return lacking;
}

absl::StatusOr<std::unique_ptr<ShadowServer::Database>> ShadowServer::Create(const Like& like) {
  SCHEMAD_ASSIGN_OR_RETURN(const std::string maintenance, Maintenance());
  // Every time: a leftover still in use by a dying session at one look is gone at the next.
  SCHEMAD_RETURN_IF_ERROR(DropLeftovers().status());
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(maintenance));
  SCHEMAD_RETURN_IF_ERROR(CheckShadowVersion(like.target, like.version, conn->server_version()));
  if (!configured()) SCHEMAD_RETURN_IF_ERROR(db::CreateMissingRoles(*conn, like.roles).status());
  const std::string name = absl::StrCat(kShadowPrefix, RandomSuffix());
  {
    absl::MutexLock lock(&mu_);
    live_.insert(name);
  }
  std::unique_ptr<Database> database(
      new Database(this, maintenance, name, db::WithDatabase(maintenance, name)));
  SCHEMAD_RETURN_IF_ERROR(db::CreateDatabase(*conn, name));
  if (!like.search_path.empty()) {
    SCHEMAD_RETURN_IF_ERROR(db::SetDatabaseSearchPath(*conn, name, like.search_path));
  }
  return database;
}

}  // namespace schemad::engine
