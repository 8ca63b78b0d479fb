// Shadow databases: scratch databases where the catalog is replayed (exact drift) or a plan is
// rehearsed. They live on the configured shadow server, or on a private cluster schemad starts
// in its state folder when first needed. Each is named schemad_shadow_<random>, so that one a
// crash left behind is found and dropped.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/config/config.h"
#include "server/embedded/local_cluster.h"

namespace schemad::engine {

inline constexpr char kShadowPrefix[] = "schemad_shadow_";

// FAILED_PRECONDITION (SHADOW_VERSION) unless both servers have the same major version, naming
// both. Versions are server_version_num (150018).
absl::Status CheckShadowVersion(const std::string& target, int target_version, int shadow_version);

class ShadowServer {
 public:
  explicit ShadowServer(ShadowConfig config) : config_(std::move(config)) {}
  ~ShadowServer();

  // An empty database on the shadow server, dropped (its sessions ended) when this goes.
  class Database {
   public:
    ~Database();
    const std::string& name() const { return name_; }
    const std::string& dsn() const { return dsn_; }  // secret

   private:
    friend class ShadowServer;
    Database(ShadowServer* server, std::string maintenance_dsn, std::string name, std::string dsn)
        : server_(server),
          maintenance_dsn_(std::move(maintenance_dsn)),
          name_(std::move(name)),
          dsn_(std::move(dsn)) {}
    ShadowServer* server_;
    std::string maintenance_dsn_;
    std::string name_;
    std::string dsn_;
  };

  // What a shadow for a target must be like: the target's server version, its roles (on the
  // private cluster the missing ones are created NOLOGIN, so GRANTs and owners replay), and
  // its search_path (the database's, so unqualified names land where they did on the target).
  struct Like {
    std::string target;
    int version = 0;
    std::vector<std::string> roles;
    std::string search_path;
  };
  // A new database like `like`. Leftovers of a crash are dropped first.
  absl::StatusOr<std::unique_ptr<Database>> Create(const Like& like);
  // Drops the shadow databases nobody is connected to and this process is not using. Returns
  // how many.
  absl::StatusOr<int> DropLeftovers();
  // Extensions the shadow server cannot install, among `wanted`.
  absl::StatusOr<std::vector<std::string>> Lacking(const std::vector<std::string>& wanted);
  // "server from env SCHEMAD_SHADOW_DSN" or "private cluster in .schemad/shadow", for output.
  std::string Describe() const;
  bool configured() const { return !config_.dsn.empty(); }
  // PostgreSQL's client tools (pg_dump, pg_restore) for servers of `major`: that version's
  // when installed (a newer pg_dump writes settings an older server refuses), else the
  // configured or newest ones.
  std::string tools_dir(int major) const;

 private:
  // The DSN of a database to connect to for CREATE/DROP DATABASE; starts the private cluster.
  absl::StatusOr<std::string> Maintenance() ABSL_LOCKS_EXCLUDED(mu_);

  const ShadowConfig config_;
  absl::Mutex mu_;
  std::unique_ptr<LocalCluster> cluster_ ABSL_GUARDED_BY(mu_);
  std::string maintenance_dsn_ ABSL_GUARDED_BY(mu_);
  // The shadow databases this process created and has not dropped yet.
  std::set<std::string> live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace schemad::engine
