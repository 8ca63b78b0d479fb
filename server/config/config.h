// The server's configuration as one typed struct, read from YAML and validated at start-up.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace schemad {

// Each role may do what the ones before it may: viewer (read, plan), deployer (+ apply,
// publish), approver (+ approve others' plans), admin (+ rollback, resolve, overrides).
enum class Role { kNone = 0, kViewer = 1, kDeployer = 2, kApprover = 3, kAdmin = 4 };

std::string RoleName(Role role);

// An environment and its policy (config key `environments`; without it: dev, staging, prod).
struct EnvironmentConfig {
  std::string name;
  // Targets here accept only revisions a target of the same catalog in this environment has
  // applied (same checksum) at least `soak` ago and still has. Empty: no gate.
  std::string promote_from;
  absl::Duration soak = absl::ZeroDuration();
  // Apply and Rollback need expected_plan_hash. Default: true with promote_from, and for the
  // environments named staging and prod.
  bool require_plan_hash = false;
  // Lint findings at or above this severity block Apply unless the request gives an override
  // reason: 0 none, 1 info, 2 warning, 3 error. Default: error in prod, none elsewhere.
  int lint_block_severity = 0;
  // Apply and Rollback need this many approvals of their plan hash (ApprovePlan) by principals
  // other than the one who applies, each at most approval_ttl old. Needs a control database.
  int approvals = 0;
  absl::Duration approval_ttl = absl::Hours(24);
  // Apply needs a successful rehearsal (Rehearse) of its plan hash at most this old. Zero:
  // none. Needs a control database.
  absl::Duration require_rehearsal = absl::ZeroDuration();
  // Apply is refused (DRIFT) while the schema drifted from the catalog and that drift was not
  // accepted. Needs a control database.
  bool drift_gate = false;
  // Drift is checked this often in the background; changes are audited. Zero: never.
  absl::Duration drift_check = absl::ZeroDuration();
};

struct TargetConfig {
  std::string name;
  // The target's environment with its policy.
  EnvironmentConfig environment;
  std::string catalog_path;
  // The resolved connection string. Secret: never logged or returned.
  std::string dsn;
  // Where the DSN came from, safe to show ("env SCHEMAD_DEV_DSN", "file /run/secrets/dev").
  std::string dsn_source;
  // lock_timeout set on the session that runs DDL.
  absl::Duration lock_timeout = absl::Seconds(5);
  // statement_timeout of migration statements (zero: none); a file's -- schemad:timeout wins.
  absl::Duration statement_timeout = absl::ZeroDuration();
  // How many times a statement that hit lock_timeout (55P03) is retried.
  int lock_retries = 5;
  // How long Apply waits for another run's lock before ABORTED.
  absl::Duration lock_wait = absl::Seconds(30);
  // Catalog files larger than this are refused at load (`max_file_size`, default 64MiB).
  int64_t max_file_bytes = int64_t{64} << 20;
  // SQL run in a rehearsal's shadow database after the target's schema is copied there
  // (sample rows the plan must cope with). Empty: none.
  std::string rehearsal_data;
  // A member of group `group` (named "<group>/<tenant>"); empty for a target of its own.
  std::string group;
  // Schema per tenant: the member's migrations run with search_path = schema, and its history
  // and lock are the tenant's own (keyed "<catalog>@<schema>" in the database's schemad schema).
  std::string schema;
};

// `groups:`: targets sharing a catalog and an environment, one per tenant, migrated together
// by ApplyGroup. Database per tenant: a DSN template with {tenant} and `tenants:`; schema per
// tenant: one DSN and `schemas:`. Their members are in Config::targets.
struct GroupConfig {
  std::string name;
  std::string environment;
  std::vector<std::string> members;  // target names, in the order given
  // Every member's target keys (its name and DSN are the group's, {tenant} unreplaced).
  TargetConfig base;
  bool schemas = false;  // schema per tenant
  // `discovery:`: a query whose rows are (tenant) or (tenant, dsn), run on discovery_dsn at
  // start-up (ExpandDiscoveredGroups); members then come from it.
  std::string discovery_query;
  std::string discovery_dsn;  // secret
  std::string discovery_dsn_source;
};

// The member of `group` for `tenant` (its DSN: `dsn`, else the group's with {tenant} replaced;
// for schemas the group's). INVALID_ARGUMENT for a tenant that is not a plain name.
absl::StatusOr<TargetConfig> GroupMember(const GroupConfig& group, const std::string& tenant,
                                         const std::string& dsn);

// The largest `max_file_size` a target may set.
inline constexpr int64_t kMaxFileBytesLimit = int64_t{1} << 30;

struct TokenConfig {
  std::string principal;
  // Lower-case hex SHA-256 of the bearer token.
  std::string sha256;
  // Role per environment name, or "*" for every environment.
  std::map<std::string, Role> roles;
  // Role per target name; a target's role is the higher of the two.
  std::map<std::string, Role> target_roles;
};

// A client certificate's identity (mTLS) and its roles, like a token's.
struct CertificateConfig {
  // The certificate's first SAN URI, else its first SAN DNS name, else its subject CN.
  std::string principal;
  std::map<std::string, Role> roles;
  std::map<std::string, Role> target_roles;
};

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  // When set, clients must present a certificate signed by this CA (mTLS).
  std::string client_ca_file;
  bool enabled() const { return !cert_file.empty(); }
};

// The control database: releases, approvals and the central audit live there (schema
// schemad_control), shared by every replica.
struct ControlConfig {
  std::string dsn;  // secret: never logged or returned
  std::string dsn_source;
  bool enabled() const { return !dsn.empty(); }
};

// Where shadow databases (drift, rehearsals) are made: a server schemad may create and drop
// databases on, named by a DSN to any of its databases. Without one: a private cluster that
// schemad starts in its state folder when first needed.
struct ShadowConfig {
  std::string dsn;  // secret: never logged or returned
  std::string dsn_source;
  // The private cluster's folder and PostgreSQL binaries (set by main, not by the config).
  std::string state_dir;
  std::string bin_dir;
};

struct Config {
  std::string listen = "127.0.0.1:50051";
  std::vector<TargetConfig> targets;
  std::vector<GroupConfig> groups;
  std::vector<EnvironmentConfig> environments;
  ControlConfig control;
  ShadowConfig shadow;
  std::vector<TokenConfig> tokens;
  std::vector<CertificateConfig> certificates;
  TlsConfig tls;
  // Upper bound of the threads the gRPC sync server may use (WatchVersion and GetVersion use
  // none: they are served by the callback API).
  int max_threads = 64;
  // What one caller (a token's principal; with no tokens, a peer host) may hold at once, and
  // the sync threads kept for Apply, Rollback, ResolveRun and RepairChecksums.
  struct Limits {
    int watches_per_caller = 2000;
    int calls_per_caller = 32;
    int reserved_for_changes = 8;  // < max_threads; default max_threads / 4, 1 to 8
  } limits;
  // On SIGTERM/SIGINT, running migrations get this long to finish; then their statement is
  // cancelled, the open transaction rolls back and the run's end is journaled.
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// Looks up an environment variable; injected so library code never calls getenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Parses YAML text into a Config and resolves DSN secrets. `source` names the file in messages.
// Returns INVALID_ARGUMENT naming the key for unknown keys, wrong types, duplicates, a literal
// `dsn`, a missing secret, a missing catalog folder.
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text, const std::string& source,
                                   const EnvLookup& env);

// Reads and parses a config file. Returns NOT_FOUND if it cannot be read.
absl::StatusOr<Config> LoadConfigFile(const std::string& path, const EnvLookup& env);

// The environments without an `environments` key: dev; staging and prod (require_plan_hash);
// prod blocks lint errors.
std::vector<EnvironmentConfig> DefaultEnvironments();

// Checks rules that span fields (also after command-line overrides): a non-loopback listen
// address needs tokens or mTLS (without tokens every caller is admin); mTLS needs tokens or
// certificates (a certificate's identity must map to roles). Returns INVALID_ARGUMENT.
absl::Status ValidateConfig(const Config& config);

// True for 127.0.0.0/8, ::1, localhost and unix sockets.
bool IsLoopbackAddress(const std::string& listen);

}  // namespace schemad
