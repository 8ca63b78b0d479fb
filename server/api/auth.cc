#include "server/api/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/common/sha256.h"

namespace schemad::api {

absl::StatusOr<Caller> Authorizer::Authenticate(const grpc::ServerContextBase& context) const {
  if (tokens_.empty()) return Caller{"anonymous", nullptr};
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("missing bearer token (authorization metadata)");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWithIgnoreCase(value, "bearer ")) {
    return absl::UnauthenticatedError("authorization must be \"Bearer <token>\"");
  }
  const std::string hash =
      Sha256Hex(absl::StripAsciiWhitespace(value.substr(absl::string_view("bearer ").size())));
  for (const TokenConfig& token : tokens_) {
    if (ConstantTimeEquals(hash, token.sha256)) return Caller{token.principal, &token};
  }
  return absl::UnauthenticatedError("invalid bearer token");
}

Role Authorizer::RoleFor(const Caller& caller, Environment environment) const {
  if (caller.token == nullptr) return Role::kAdmin;
  Role role = Role::kNone;
  for (const auto& [name, granted] : caller.token->roles) {
    if (name == "*" || name == EnvironmentName(environment)) role = std::max(role, granted);
  }
  return role;
}

absl::Status Authorizer::Require(const Caller& caller, Environment environment, Role needed,
                                 const std::string& action) const {
  const Role role = RoleFor(caller, environment);
  if (role >= needed) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(action, " on a ", EnvironmentName(environment),
                                                  " target needs role ", RoleName(needed), "; ",
                                                  caller.principal, " has ", RoleName(role)));
}

}  // namespace schemad::api
