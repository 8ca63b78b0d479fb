#include "server/config/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "server/common/pem.h"
#include "server/common/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace schemad {
namespace {

namespace fs = std::filesystem;

// Where a key sits in the file, for messages: "schemad.yaml: targets[1].dsn_env".
struct Path {
  std::string source;
  std::string key;
  Path Child(const std::string& name) const {
    return {source, key.empty() ? name : absl::StrCat(key, ".", name)};
  }
  Path Index(size_t i) const { return {source, absl::StrCat(key, "[", i, "]")}; }
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", key, ": ", what));
  }
};

absl::Status CheckKeys(const YAML::Node& node, const Path& path,
                       const std::set<std::string>& allowed) {
  if (!node.IsMap()) return path.Error("must be a mapping");
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) {
      return absl::InvalidArgumentError(absl::StrCat(path.source, ": line ",
                                                     entry.first.Mark().line + 1, ": ", path.key,
                                                     ": keys must be plain names"));
    }
    const std::string key = entry.first.as<std::string>();
    if (allowed.count(key) == 0) {
      std::string hint;
      if (key == "dsn") hint = " (give the DSN as dsn_env: VAR or dsn_file: PATH, never inline)";
      return path.Child(key).Error(
          absl::StrCat("unknown key", hint, "; allowed: ", absl::StrJoin(allowed, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GetString(const YAML::Node& node, const Path& path) {
  if (!node.IsScalar()) return path.Error("must be a string");
  return node.as<std::string>();
}

absl::StatusOr<int> GetInt(const YAML::Node& node, const Path& path) {
  try {
    return node.as<int>();
  } catch (const YAML::Exception&) {
    return path.Error("must be an integer");
  }
}

absl::StatusOr<absl::Duration> GetDuration(const YAML::Node& node, const Path& path) {
  SCHEMAD_ASSIGN_OR_RETURN(std::string text, GetString(node, path));
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration < absl::ZeroDuration()) {
    return path.Error(absl::StrCat("\"", text, "\" is not a duration like 5s or 500ms"));
  }
  return duration;
}

// A size such as 64MiB, 500KiB, 1GiB or a plain number of bytes.
absl::StatusOr<int64_t> GetByteSize(const YAML::Node& node, const Path& path) {
  SCHEMAD_ASSIGN_OR_RETURN(std::string text, GetString(node, path));
  absl::string_view number = text;
  int64_t unit = 1;
  for (const auto& [suffix, factor] : {std::pair<const char*, int64_t>{"KiB", int64_t{1} << 10},
                                       {"MiB", int64_t{1} << 20},
                                       {"GiB", int64_t{1} << 30}}) {
    if (absl::ConsumeSuffix(&number, suffix)) {
      unit = factor;
      break;
    }
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(number, &value) || value <= 0 || value > (int64_t{1} << 40) / unit) {
    return path.Error(absl::StrCat("\"", text, "\" is not a size like 64MiB, 512KiB or 1048576"));
  }
  return value * unit;
}

absl::StatusOr<int> ParseSeverity(const YAML::Node& node, const Path& path) {
  SCHEMAD_ASSIGN_OR_RETURN(std::string severity, GetString(node, path));
  static const std::map<std::string, int> kSeverities = {
      {"none", 0}, {"info", 1}, {"warning", 2}, {"error", 3}};
  auto it = kSeverities.find(severity);
  if (it == kSeverities.end()) {
    return path.Error(absl::StrCat("\"", severity, "\" is not one of none, info, warning, error"));
  }
  return it->second;
}

bool GetBool(const YAML::Node& node, bool* out) {
  try {
    *out = node.as<bool>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

// Names of the configured environments, for messages.
std::string EnvironmentNames(const std::vector<EnvironmentConfig>& environments) {
  std::vector<std::string> names;
  for (const EnvironmentConfig& environment : environments) names.push_back(environment.name);
  return absl::StrJoin(names, ", ");
}

template <typename Environments>
auto FindEnvironment(Environments& environments, const std::string& name)
    -> decltype(&environments[0]) {
  for (auto& environment : environments) {
    if (environment.name == name) return &environment;
  }
  return nullptr;
}

// `environments`: name -> {promote_from, soak, require_plan_hash, lint_policy}. `lint_policy`
// (the older top-level map of environment to severity) sets what an environment leaves out.
absl::StatusOr<std::vector<EnvironmentConfig>> ParseEnvironments(const YAML::Node& root,
                                                                 const Path& top) {
  std::vector<EnvironmentConfig> environments = DefaultEnvironments();
  const YAML::Node node = root["environments"];
  const Path path = top.Child("environments");
  if (node) {
    if (!node.IsMap() || node.size() == 0) {
      return path.Error("must map each environment's name to its policy ({} for none)");
    }
    environments.clear();
    for (const auto& entry : node) {
      EnvironmentConfig environment;
      SCHEMAD_ASSIGN_OR_RETURN(environment.name, GetString(entry.first, path));
      const Path env_path = path.Child(environment.name);
      if (environment.name.empty() || environment.name == "*") {
        return env_path.Error("is not an environment name");
      }
      const YAML::Node policy = entry.second;
      if (!policy.IsNull()) {
        SCHEMAD_RETURN_IF_ERROR(
            CheckKeys(policy, env_path,
                      {"promote_from", "soak", "require_plan_hash", "lint_policy", "approvals",
                       "approval_ttl", "require_rehearsal", "drift_gate", "drift_check"}));
      }
      const bool named_protected = environment.name == "staging" || environment.name == "prod";
      if (!policy.IsNull() && policy["promote_from"]) {
        SCHEMAD_ASSIGN_OR_RETURN(environment.promote_from,
                                 GetString(policy["promote_from"], env_path.Child("promote_from")));
      }
      if (!policy.IsNull() && policy["soak"]) {
        if (environment.promote_from.empty()) {
          return env_path.Child("soak").Error("needs promote_from (what must soak, and where)");
        }
        SCHEMAD_ASSIGN_OR_RETURN(environment.soak,
                                 GetDuration(policy["soak"], env_path.Child("soak")));
      }
      environment.require_plan_hash = named_protected || !environment.promote_from.empty();
      if (!policy.IsNull() && policy["require_plan_hash"] &&
          !GetBool(policy["require_plan_hash"], &environment.require_plan_hash)) {
        return env_path.Child("require_plan_hash").Error("must be true or false");
      }
      environment.lint_block_severity = environment.name == "prod" ? 3 : 0;
      if (!policy.IsNull() && policy["lint_policy"]) {
        SCHEMAD_ASSIGN_OR_RETURN(
            environment.lint_block_severity,
            ParseSeverity(policy["lint_policy"], env_path.Child("lint_policy")));
      }
      if (!policy.IsNull() && policy["approvals"]) {
        SCHEMAD_ASSIGN_OR_RETURN(environment.approvals,
                                 GetInt(policy["approvals"], env_path.Child("approvals")));
        if (environment.approvals < 0 || environment.approvals > 10) {
          return env_path.Child("approvals").Error("must be 0 to 10");
        }
      }
      if (!policy.IsNull() && policy["approval_ttl"]) {
        SCHEMAD_ASSIGN_OR_RETURN(
            environment.approval_ttl,
            GetDuration(policy["approval_ttl"], env_path.Child("approval_ttl")));
        if (environment.approval_ttl <= absl::ZeroDuration()) {
          return env_path.Child("approval_ttl").Error("must be longer than 0s");
        }
      }
      if (!policy.IsNull() && policy["require_rehearsal"]) {
        SCHEMAD_ASSIGN_OR_RETURN(
            environment.require_rehearsal,
            GetDuration(policy["require_rehearsal"], env_path.Child("require_rehearsal")));
        if (environment.require_rehearsal <= absl::ZeroDuration()) {
          return env_path.Child("require_rehearsal").Error("must be longer than 0s");
        }
      }
      if (!policy.IsNull() && policy["drift_gate"] &&
          !GetBool(policy["drift_gate"], &environment.drift_gate)) {
        return env_path.Child("drift_gate").Error("must be true or false");
      }
      if (!policy.IsNull() && policy["drift_check"]) {
        SCHEMAD_ASSIGN_OR_RETURN(environment.drift_check,
                                 GetDuration(policy["drift_check"], env_path.Child("drift_check")));
        if (environment.drift_check < absl::Seconds(1)) {
          return env_path.Child("drift_check").Error("must be at least 1s");
        }
      }
      environments.push_back(std::move(environment));
    }
    for (const EnvironmentConfig& environment : environments) {
      if (environment.promote_from.empty()) continue;
      const Path from_path = path.Child(environment.name).Child("promote_from");
      if (FindEnvironment(environments, environment.promote_from) == nullptr) {
        return from_path.Error(absl::StrCat(
            "\"", environment.promote_from,
            "\" is not an environment (configured: ", EnvironmentNames(environments), ")"));
      }
      // Following promote_from must end: a cycle would let nothing in anywhere.
      std::set<std::string> seen = {environment.name};
      for (const EnvironmentConfig* at = FindEnvironment(environments, environment.promote_from);
           at != nullptr; at = FindEnvironment(environments, at->promote_from)) {
        if (!seen.insert(at->name).second) {
          return from_path.Error(absl::StrCat("promotion order loops back to ", at->name));
        }
      }
    }
  }
  if (const YAML::Node policy = root["lint_policy"]) {
    const Path policy_path = top.Child("lint_policy");
    if (!policy.IsMap()) return policy_path.Error("must map environment to a severity");
    for (const auto& entry : policy) {
      const std::string name = entry.first.as<std::string>();
      const Path entry_path = policy_path.Child(name);
      SCHEMAD_ASSIGN_OR_RETURN(int severity, ParseSeverity(entry.second, entry_path));
      EnvironmentConfig* environment = FindEnvironment(environments, name);
      if (environment == nullptr) {
        return entry_path.Error(absl::StrCat("\"", name, "\" is not an environment (configured: ",
                                             EnvironmentNames(environments), ")"));
      }
      const bool own = node && !node[name].IsNull() && node[name]["lint_policy"];
      if (!own) environment->lint_block_severity = severity;
    }
  }
  return environments;
}

absl::StatusOr<Role> ParseRole(const std::string& text, const Path& path) {
  if (text == "viewer") return Role::kViewer;
  if (text == "deployer") return Role::kDeployer;
  if (text == "approver") return Role::kApprover;
  if (text == "admin") return Role::kAdmin;
  return path.Error(absl::StrCat("\"", text, "\" is not one of viewer, deployer, approver, admin"));
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& file, const Path& path) {
  std::ifstream in(file);
  if (!in) return path.Error(absl::StrCat("cannot read ", file));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text(absl::StripAsciiWhitespace(buffer.str()));
  if (text.empty()) return path.Error(absl::StrCat(file, " is empty"));
  return text;
}

// `dsn_env: VAR` or `dsn_file: PATH` (exactly one) into the secret DSN and where it came from.
absl::Status ParseDsn(const YAML::Node& node, const Path& path, const fs::path& base_dir,
                      const EnvLookup& env, std::string* dsn, std::string* source) {
  if (node["dsn_env"] && node["dsn_file"]) {
    return path.Error("give one of dsn_env and dsn_file, not both");
  }
  if (node["dsn_env"]) {
    SCHEMAD_ASSIGN_OR_RETURN(std::string var, GetString(node["dsn_env"], path.Child("dsn_env")));
    std::optional<std::string> value = env(var);
    if (!value || value->empty()) {
      return path.Child("dsn_env").Error(absl::StrCat("environment variable ", var, " is not set"));
    }
    *dsn = *value;
    *source = absl::StrCat("env ", var);
  } else if (node["dsn_file"]) {
    SCHEMAD_ASSIGN_OR_RETURN(std::string file, GetString(node["dsn_file"], path.Child("dsn_file")));
    fs::path file_path(file);
    if (file_path.is_relative()) file_path = base_dir / file_path;
    SCHEMAD_ASSIGN_OR_RETURN(*dsn, ReadSecretFile(file_path.string(), path.Child("dsn_file")));
    *source = absl::StrCat("file ", file_path.string());
  } else {
    return path.Error("one of dsn_env or dsn_file is required");
  }
  return absl::OkStatus();
}

absl::StatusOr<TargetConfig> ParseTarget(const YAML::Node& node, const Path& path,
                                         const fs::path& base_dir, const EnvLookup& env) {
  SCHEMAD_RETURN_IF_ERROR(CheckKeys(
      node, path,
      {"name", "environment", "catalog", "dsn_env", "dsn_file", "lock_timeout", "lock_retries",
       "lock_wait", "statement_timeout", "max_file_size", "rehearsal_data"}));
  TargetConfig target;
  for (const char* required : {"name", "environment", "catalog"}) {
    if (!node[required]) return path.Child(required).Error("is required");
  }
  SCHEMAD_ASSIGN_OR_RETURN(target.name, GetString(node["name"], path.Child("name")));
  if (target.name.empty()) return path.Child("name").Error("must not be empty");
  SCHEMAD_ASSIGN_OR_RETURN(target.environment.name,
                           GetString(node["environment"], path.Child("environment")));
  SCHEMAD_ASSIGN_OR_RETURN(std::string catalog, GetString(node["catalog"], path.Child("catalog")));
  fs::path catalog_path(catalog);
  if (catalog_path.is_relative()) catalog_path = base_dir / catalog_path;
  if (!fs::is_directory(catalog_path)) {
    return path.Child("catalog").Error(
        absl::StrCat("catalog folder ", catalog_path.lexically_normal().string(), " not found"));
  }
  target.catalog_path = catalog_path.lexically_normal().string();

  SCHEMAD_RETURN_IF_ERROR(ParseDsn(node, path, base_dir, env, &target.dsn, &target.dsn_source));
  if (node["lock_timeout"]) {
    SCHEMAD_ASSIGN_OR_RETURN(target.lock_timeout,
                             GetDuration(node["lock_timeout"], path.Child("lock_timeout")));
  }
  if (node["lock_wait"]) {
    SCHEMAD_ASSIGN_OR_RETURN(target.lock_wait,
                             GetDuration(node["lock_wait"], path.Child("lock_wait")));
  }
  if (node["statement_timeout"]) {
    SCHEMAD_ASSIGN_OR_RETURN(
        target.statement_timeout,
        GetDuration(node["statement_timeout"], path.Child("statement_timeout")));
  }
  if (node["lock_retries"]) {
    SCHEMAD_ASSIGN_OR_RETURN(target.lock_retries,
                             GetInt(node["lock_retries"], path.Child("lock_retries")));
    if (target.lock_retries < 0) return path.Child("lock_retries").Error("must be >= 0");
  }
  if (node["rehearsal_data"]) {
    SCHEMAD_ASSIGN_OR_RETURN(std::string file,
                             GetString(node["rehearsal_data"], path.Child("rehearsal_data")));
    fs::path file_path(file);
    if (file_path.is_relative()) file_path = base_dir / file_path;
    if (!fs::is_regular_file(file_path)) {
      return path.Child("rehearsal_data").Error(absl::StrCat(file_path.string(), ": no such file"));
    }
    target.rehearsal_data = file_path.string();
  }
  if (node["max_file_size"]) {
    SCHEMAD_ASSIGN_OR_RETURN(target.max_file_bytes,
                             GetByteSize(node["max_file_size"], path.Child("max_file_size")));
    if (target.max_file_bytes > kMaxFileBytesLimit) {
      return path.Child("max_file_size").Error("must be at most 1GiB");
    }
  }
  return target;
}

// A group: the target keys (one template for every member) plus `tenants:` (database per
// tenant, {tenant} in the DSN) or `schemas:` (schema per tenant, one DSN), or `discovery:` (a
// query on a directory database that lists them, run at start-up). Members are named
// "<group>/<tenant>".
absl::StatusOr<std::vector<TargetConfig>> ParseGroup(const YAML::Node& node, const Path& path,
                                                     const fs::path& base_dir, const EnvLookup& env,
                                                     GroupConfig* group) {
  if (!node.IsMap()) return path.Error("must be a mapping");
  const int lists = static_cast<bool>(node["tenants"]) + static_cast<bool>(node["schemas"]) +
                    static_cast<bool>(node["discovery"]);
  if (lists != 1) {
    return path.Error(
        "give one of tenants (a database per tenant: {tenant} in the DSN), schemas (a schema per "
        "tenant in one database) and discovery (a query that lists the tenants)");
  }
  const char* list_key = node["tenants"] ? "tenants" : node["schemas"] ? "schemas" : "discovery";
  YAML::Node shape = YAML::Clone(node);
  shape.remove(list_key);
  SCHEMAD_ASSIGN_OR_RETURN(group->base, ParseTarget(shape, path, base_dir, env));
  group->name = group->base.name;
  group->environment = group->base.environment.name;
  if (group->name.find('/') != std::string::npos) {
    return path.Child("name").Error("must not contain '/' (members are named <group>/<tenant>)");
  }
  const Path list_path = path.Child(list_key);
  std::vector<std::string> tenants;
  if (node["discovery"]) {
    const YAML::Node discovery = node["discovery"];
    SCHEMAD_RETURN_IF_ERROR(
        CheckKeys(discovery, list_path, {"query", "dsn_env", "dsn_file", "schemas"}));
    if (!discovery["query"]) return list_path.Child("query").Error("is required");
    SCHEMAD_ASSIGN_OR_RETURN(group->discovery_query,
                             GetString(discovery["query"], list_path.Child("query")));
    SCHEMAD_RETURN_IF_ERROR(ParseDsn(discovery, list_path, base_dir, env, &group->discovery_dsn,
                                     &group->discovery_dsn_source));
    if (discovery["schemas"] && !GetBool(discovery["schemas"], &group->schemas)) {
      return list_path.Child("schemas").Error("expected true or false");
    }
  } else {
    group->schemas = static_cast<bool>(node["schemas"]);
    const YAML::Node list = node[list_key];
    if (!list.IsSequence() || list.size() == 0) return list_path.Error("must list at least one");
    for (size_t i = 0; i < list.size(); ++i) {
      SCHEMAD_ASSIGN_OR_RETURN(std::string tenant, GetString(list[i], list_path.Index(i)));
      tenants.push_back(std::move(tenant));
    }
  }
  if (!group->schemas && group->base.dsn.find("{tenant}") == std::string::npos &&
      group->discovery_query.empty()) {
    return path.Child(node["dsn_env"] ? "dsn_env" : "dsn_file")
        .Error("the DSN of a group with tenants must contain {tenant}");
  }
  std::vector<TargetConfig> members;
  for (size_t i = 0; i < tenants.size(); ++i) {
    absl::StatusOr<TargetConfig> member = GroupMember(*group, tenants[i], "");
    if (!member.ok()) return list_path.Index(i).Error(std::string(member.status().message()));
    if (std::any_of(members.begin(), members.end(),
                    [&](const TargetConfig& m) { return m.name == member->name; })) {
      return list_path.Index(i).Error(absl::StrCat("\"", tenants[i], "\" is listed twice"));
    }
    group->members.push_back(member->name);
    members.push_back(*std::move(member));
  }
  return members;
}

// `roles` (environment or "*" -> role) and `target_roles` (target -> role) of a token or a
// certificate; at least one of them.
absl::Status ParseRoles(const YAML::Node& node, const Path& path,
                        const std::vector<EnvironmentConfig>& environments,
                        const std::set<std::string>& targets, std::map<std::string, Role>* roles,
                        std::map<std::string, Role>* target_roles) {
  if (!node["roles"] && !node["target_roles"]) return path.Child("roles").Error("is required");
  for (auto [key, out] : {std::pair{"roles", roles}, std::pair{"target_roles", target_roles}}) {
    const YAML::Node map = node[key];
    if (!map) continue;
    const bool by_target = out == target_roles;
    if (!map.IsMap()) {
      return path.Child(key).Error(by_target ? "must map target to role"
                                             : "must map environment to role");
    }
    for (const auto& entry : map) {
      const std::string name = entry.first.as<std::string>();
      const Path role_path = path.Child(key).Child(name);
      if (by_target && targets.count(name) == 0) {
        return role_path.Error(absl::StrCat("\"", name, "\" is not a target"));
      }
      if (!by_target && name != "*" && FindEnvironment(environments, name) == nullptr) {
        return role_path.Error(absl::StrCat("\"", name, "\" is not an environment (configured: ",
                                            EnvironmentNames(environments), ")"));
      }
      SCHEMAD_ASSIGN_OR_RETURN(std::string role, GetString(entry.second, role_path));
      SCHEMAD_ASSIGN_OR_RETURN((*out)[name], ParseRole(role, role_path));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenConfig> ParseToken(const YAML::Node& node, const Path& path,
                                       const std::vector<EnvironmentConfig>& environments,
                                       const std::set<std::string>& targets) {
  SCHEMAD_RETURN_IF_ERROR(CheckKeys(node, path, {"principal", "sha256", "roles", "target_roles"}));
  TokenConfig token;
  for (const char* required : {"principal", "sha256"}) {
    if (!node[required]) return path.Child(required).Error("is required");
  }
  SCHEMAD_ASSIGN_OR_RETURN(token.principal, GetString(node["principal"], path.Child("principal")));
  SCHEMAD_ASSIGN_OR_RETURN(token.sha256, GetString(node["sha256"], path.Child("sha256")));
  token.sha256 = absl::AsciiStrToLower(token.sha256);
  if (token.sha256.size() != 64 ||
      token.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return path.Child("sha256").Error(
        "must be the 64-hex-digit SHA-256 of the token (schemactl hash-token prints it)");
  }
  SCHEMAD_RETURN_IF_ERROR(
      ParseRoles(node, path, environments, targets, &token.roles, &token.target_roles));
  return token;
}

absl::StatusOr<CertificateConfig> ParseCertificate(
    const YAML::Node& node, const Path& path, const std::vector<EnvironmentConfig>& environments,
    const std::set<std::string>& targets) {
  SCHEMAD_RETURN_IF_ERROR(CheckKeys(node, path, {"principal", "roles", "target_roles"}));
  CertificateConfig certificate;
  if (!node["principal"]) return path.Child("principal").Error("is required");
  SCHEMAD_ASSIGN_OR_RETURN(certificate.principal,
                           GetString(node["principal"], path.Child("principal")));
  if (certificate.principal.empty()) return path.Child("principal").Error("must not be empty");
  SCHEMAD_RETURN_IF_ERROR(
      ParseRoles(node, path, environments, targets, &certificate.roles, &certificate.target_roles));
  return certificate;
}

}  // namespace

std::vector<EnvironmentConfig> DefaultEnvironments() {
  EnvironmentConfig dev{"dev"};
  EnvironmentConfig staging{"staging"};
  staging.require_plan_hash = true;
  EnvironmentConfig prod{"prod"};
  prod.require_plan_hash = true;
  prod.lint_block_severity = 3;
  return {dev, staging, prod};
}

std::string RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kViewer:
      return "viewer";
    case Role::kDeployer:
      return "deployer";
    case Role::kApprover:
      return "approver";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

namespace {

absl::StatusOr<Config> ParseConfigText(const std::string& yaml_text, const std::string& source,
                                       const EnvLookup& env) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": line ", e.mark.line + 1, ": ", e.msg));
  }
  const Path top{source, ""};
  Config config;
  if (root.IsNull()) return absl::InvalidArgumentError(absl::StrCat(source, ": is empty"));
  SCHEMAD_RETURN_IF_ERROR(
      CheckKeys(root, {source, "(top level)"},
                {"listen", "targets", "groups", "environments", "control", "shadow", "tokens",
                 "certificates", "tls", "max_threads", "limits", "lint_policy", "shutdown_grace"}));
  const fs::path base_dir = fs::path(source).parent_path();
  if (root["listen"]) {
    SCHEMAD_ASSIGN_OR_RETURN(config.listen, GetString(root["listen"], top.Child("listen")));
  }
  if (root["shutdown_grace"]) {
    SCHEMAD_ASSIGN_OR_RETURN(config.shutdown_grace,
                             GetDuration(root["shutdown_grace"], top.Child("shutdown_grace")));
  }
  if (root["max_threads"]) {
    SCHEMAD_ASSIGN_OR_RETURN(config.max_threads,
                             GetInt(root["max_threads"], top.Child("max_threads")));
    if (config.max_threads < 2) return top.Child("max_threads").Error("must be at least 2");
  }
  if (const YAML::Node limits = root["limits"]) {
    const Path limits_path = top.Child("limits");
    if (!limits.IsMap()) return limits_path.Error("must be a mapping");
    SCHEMAD_RETURN_IF_ERROR(CheckKeys(
        limits, limits_path, {"watches_per_caller", "calls_per_caller", "reserved_for_changes"}));
    for (auto [key, field] :
         {std::pair{"watches_per_caller", &config.limits.watches_per_caller},
          std::pair{"calls_per_caller", &config.limits.calls_per_caller},
          std::pair{"reserved_for_changes", &config.limits.reserved_for_changes}}) {
      if (!limits[key]) continue;
      SCHEMAD_ASSIGN_OR_RETURN(*field, GetInt(limits[key], limits_path.Child(key)));
      if (*field < 1) return limits_path.Child(key).Error("must be at least 1");
    }
  }
  if (!root["limits"] || !root["limits"]["reserved_for_changes"]) {
    config.limits.reserved_for_changes = std::clamp(config.max_threads / 4, 1, 8);
  }
  if (config.limits.reserved_for_changes >= config.max_threads) {
    return top.Child("limits")
        .Child("reserved_for_changes")
        .Error(absl::StrCat("must be less than max_threads (", config.max_threads, ")"));
  }
  const YAML::Node targets = root["targets"];
  const YAML::Node groups = root["groups"];
  if (groups && (!groups.IsSequence() || groups.size() == 0)) {
    return top.Child("groups").Error("must be a list of groups");
  }
  if (!groups && (!targets || !targets.IsSequence() || targets.size() == 0)) {
    return top.Child("targets").Error("must list at least one target (or give groups)");
  }
  if (targets && !targets.IsSequence()) return top.Child("targets").Error("must be a list");
  std::set<std::string> names;
  for (size_t i = 0; targets && i < targets.size(); ++i) {
    SCHEMAD_ASSIGN_OR_RETURN(TargetConfig target,
                             ParseTarget(targets[i], top.Child("targets").Index(i), base_dir, env));
    if (target.name.find('/') != std::string::npos) {
      return top.Child("targets").Index(i).Child("name").Error(
          "must not contain '/' (the names of group members)");
    }
    if (!names.insert(target.name).second) {
      return top.Child("targets").Index(i).Child("name").Error(
          absl::StrCat("duplicate target name \"", target.name, "\""));
    }
    config.targets.push_back(std::move(target));
  }
  for (size_t i = 0; groups && i < groups.size(); ++i) {
    GroupConfig group;
    SCHEMAD_ASSIGN_OR_RETURN(
        std::vector<TargetConfig> members,
        ParseGroup(groups[i], top.Child("groups").Index(i), base_dir, env, &group));
    if (names.count(group.name) != 0 ||
        std::any_of(config.groups.begin(), config.groups.end(),
                    [&](const GroupConfig& g) { return g.name == group.name; })) {
      return top.Child("groups").Index(i).Child("name").Error(
          absl::StrCat("\"", group.name, "\" is already a target or a group"));
    }
    for (TargetConfig& member : members) {
      names.insert(member.name);
      config.targets.push_back(std::move(member));
    }
    config.groups.push_back(std::move(group));
  }
  SCHEMAD_ASSIGN_OR_RETURN(config.environments, ParseEnvironments(root, top));
  for (size_t i = 0; i < config.groups.size(); ++i) {
    GroupConfig& group = config.groups[i];
    const EnvironmentConfig* environment =
        FindEnvironment(config.environments, group.base.environment.name);
    if (environment == nullptr) {
      return top.Child("groups")
          .Index(i)
          .Child("environment")
          .Error(absl::StrCat("\"", group.base.environment.name,
                              "\" is not an environment (configured: ",
                              EnvironmentNames(config.environments), ")"));
    }
    group.base.environment = *environment;
    // Exact drift compares a whole database: with a schema per tenant it would see the others.
    if (group.schemas &&
        (environment->drift_gate || environment->require_rehearsal > absl::ZeroDuration())) {
      return top.Child("groups")
          .Index(i)
          .Child("environment")
          .Error(absl::StrCat(
              "environment ", environment->name,
              " has drift_gate or require_rehearsal, which a schema-per-tenant group cannot meet "
              "(exact drift compares the whole database)"));
    }
  }
  for (size_t i = 0; i < config.targets.size(); ++i) {
    TargetConfig& target = config.targets[i];
    const EnvironmentConfig* environment =
        FindEnvironment(config.environments, target.environment.name);
    if (environment == nullptr) {
      return top.Child("targets")
          .Index(i)
          .Child("environment")
          .Error(absl::StrCat("\"", target.environment.name,
                              "\" is not an environment (configured: ",
                              EnvironmentNames(config.environments), ")"));
    }
    target.environment = *environment;
  }
  if (const YAML::Node tokens = root["tokens"]) {
    if (!tokens.IsSequence()) return top.Child("tokens").Error("must be a list");
    std::set<std::string> hashes;
    for (size_t i = 0; i < tokens.size(); ++i) {
      SCHEMAD_ASSIGN_OR_RETURN(
          TokenConfig token,
          ParseToken(tokens[i], top.Child("tokens").Index(i), config.environments, names));
      if (!hashes.insert(token.sha256).second) {
        return top.Child("tokens").Index(i).Child("sha256").Error("duplicate token");
      }
      config.tokens.push_back(std::move(token));
    }
  }
  if (const YAML::Node control = root["control"]) {
    const Path path = top.Child("control");
    SCHEMAD_RETURN_IF_ERROR(CheckKeys(control, path, {"dsn_env", "dsn_file"}));
    SCHEMAD_RETURN_IF_ERROR(
        ParseDsn(control, path, base_dir, env, &config.control.dsn, &config.control.dsn_source));
  }
  if (const YAML::Node shadow = root["shadow"]) {
    const Path path = top.Child("shadow");
    SCHEMAD_RETURN_IF_ERROR(CheckKeys(shadow, path, {"dsn_env", "dsn_file"}));
    SCHEMAD_RETURN_IF_ERROR(
        ParseDsn(shadow, path, base_dir, env, &config.shadow.dsn, &config.shadow.dsn_source));
  }
  if (const YAML::Node certificates = root["certificates"]) {
    const Path path = top.Child("certificates");
    if (!certificates.IsSequence()) return path.Error("must be a list");
    std::set<std::string> principals;
    for (size_t i = 0; i < certificates.size(); ++i) {
      SCHEMAD_ASSIGN_OR_RETURN(
          CertificateConfig certificate,
          ParseCertificate(certificates[i], path.Index(i), config.environments, names));
      if (!principals.insert(certificate.principal).second) {
        return path.Index(i)
            .Child("principal")
            .Error(absl::StrCat("duplicate certificate principal \"", certificate.principal, "\""));
      }
      config.certificates.push_back(std::move(certificate));
    }
  }
  if (const YAML::Node tls = root["tls"]) {
    const Path tls_path = top.Child("tls");
    SCHEMAD_RETURN_IF_ERROR(CheckKeys(tls, tls_path, {"cert_file", "key_file", "client_ca_file"}));
    auto file = [&](const char* key, std::string* out) -> absl::Status {
      if (!tls[key]) return absl::OkStatus();
      SCHEMAD_ASSIGN_OR_RETURN(std::string value, GetString(tls[key], tls_path.Child(key)));
      fs::path file_path(value);
      if (file_path.is_relative()) file_path = base_dir / file_path;
      if (!fs::exists(file_path)) {
        return tls_path.Child(key).Error(absl::StrCat(file_path.string(), " not found"));
      }
      *out = file_path.string();
      return absl::OkStatus();
    };
    SCHEMAD_RETURN_IF_ERROR(file("cert_file", &config.tls.cert_file));
    SCHEMAD_RETURN_IF_ERROR(file("key_file", &config.tls.key_file));
    SCHEMAD_RETURN_IF_ERROR(file("client_ca_file", &config.tls.client_ca_file));
    if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
      return tls_path.Error("cert_file and key_file go together");
    }
    if (!config.tls.client_ca_file.empty() && config.tls.cert_file.empty()) {
      return tls_path.Error("client_ca_file needs cert_file and key_file");
    }
    if (config.tls.enabled()) {
      if (absl::Status pair = CheckPemKeyPair(config.tls.cert_file, config.tls.key_file);
          !pair.ok()) {
        return tls_path.Error(std::string(pair.message()));
      }
    }
    if (!config.tls.client_ca_file.empty()) {
      if (absl::Status ca = CheckPemCertificate(config.tls.client_ca_file); !ca.ok()) {
        return tls_path.Child("client_ca_file").Error(std::string(ca.message()));
      }
    }
  }
  return config;
}

}  // namespace

absl::StatusOr<Config> ParseConfig(const std::string& yaml_text, const std::string& source,
                                   const EnvLookup& env) {
  // yaml-cpp throws where a node has another shape than its accessor expects (a mapping as a
  // key, say): that is a bad config, never a crash.
  try {
    return ParseConfigText(yaml_text, source, env);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": line ", e.mark.line + 1, ": ", e.msg));
  }
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseConfig(buffer.str(), path, env);
}

bool IsLoopbackAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  std::string host = listen;
  if (absl::StartsWith(host, "[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

// Checks the shape of `listen`: host:port with a port in 0..65535 ([v6]:port too), or unix:PATH.
absl::Status CheckListen(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return absl::OkStatus();
  const size_t colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  int number = -1;
  if (host.empty() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      !absl::SimpleAtoi(port, &number)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen: \"", listen.substr(0, 80),
        "\" is not host:port (e.g. 127.0.0.1:50051, [::1]:50051, 0.0.0.0:50051) or unix:PATH"));
  }
  if (number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen: \"", listen, "\": port ", number, " is out of range (0 to 65535)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateConfig(const Config& config) {
  SCHEMAD_RETURN_IF_ERROR(CheckListen(config.listen));
  for (const EnvironmentConfig& environment : config.environments) {
    if (environment.approvals > 0 && !config.control.enabled()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environments.", environment.name,
                       ".approvals: needs a control database (config key control)"));
    }
    if (environment.require_rehearsal > absl::ZeroDuration() && !config.control.enabled()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environments.", environment.name,
                       ".require_rehearsal: needs a control database (config key control)"));
    }
    if (environment.drift_gate && !config.control.enabled()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environments.", environment.name,
                       ".drift_gate: needs a control database (config key control), where "
                       "accepted drift is kept"));
    }
  }
  // Without tokens every caller is admin: beyond localhost that needs client certificates.
  if (!config.tls.client_ca_file.empty() && config.tokens.empty() && config.certificates.empty()) {
    return absl::InvalidArgumentError(
        "tls.client_ca_file: client certificates need `certificates:` entries (or tokens) that "
        "map each certificate's principal (SAN URI or DNS name, else subject CN) to roles");
  }
  if (!IsLoopbackAddress(config.listen) && config.tokens.empty() &&
      config.tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen: ", config.listen,
        " is not a loopback address; configure tokens (or mTLS with tls.client_ca_file) before "
        "serving beyond localhost"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TargetConfig> GroupMember(const GroupConfig& group, const std::string& tenant,
                                         const std::string& dsn) {
  // Schemas become identifiers in search_path, tenants parts of a DSN: plain names only.
  const bool plain =
      !tenant.empty() && tenant.size() <= 63 &&
      tenant.find_first_not_of(
          !group.schemas ? "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
                         : "abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos &&
      !absl::ascii_isdigit(static_cast<unsigned char>(tenant[0]));
  // Schemas that are not a tenant's: the bookkeeping, and PostgreSQL's own.
  const bool reserved =
      group.schemas && (tenant == "schemad" || tenant == "schemad_control" || tenant == "public" ||
                        tenant == "information_schema" || absl::StartsWith(tenant, "pg_"));
  if (reserved) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", tenant, "\" is a reserved schema, not a tenant's"));
  }
  if (!plain) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", tenant.substr(0, 64), "\" is not a plain name (",
        !group.schemas ? "letters, digits, '_' and '-'" : "lower-case letters, digits and '_'",
        ", at most 63, not starting with a digit)"));
  }
  TargetConfig member = group.base;
  member.name = absl::StrCat(group.name, "/", tenant);
  member.group = group.name;
  if (group.schemas) {
    member.schema = tenant;
  } else if (!dsn.empty()) {
    member.dsn = dsn;
    member.dsn_source = absl::StrCat("discovery query of group ", group.name);
  } else {
    if (group.base.dsn.find("{tenant}") == std::string::npos) {
      return absl::InvalidArgumentError(
          "no DSN for the tenant: the query gives none and the group's DSN has no {tenant}");
    }
    member.dsn = absl::StrReplaceAll(group.base.dsn, {{"{tenant}", tenant}});
    member.dsn_source = absl::StrCat(group.base.dsn_source, " ({tenant} = ", tenant, ")");
  }
  return member;
}

}  // namespace schemad
