#include "server/api/auth.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/common/pem.h"
#include "server/common/sha256.h"

namespace schemad::api {

absl::StatusOr<Caller> Authorizer::Authenticate(const grpc::ServerContextBase& context) const {
  if (tokens_.empty() && certificates_.empty()) return Caller{"anonymous"};
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it != metadata.end()) {
    absl::string_view value(it->second.data(), it->second.size());
    if (!absl::StartsWithIgnoreCase(value, "bearer ")) {
      return absl::UnauthenticatedError("authorization must be \"Bearer <token>\"");
    }
    const std::string hash =
        Sha256Hex(absl::StripAsciiWhitespace(value.substr(absl::string_view("bearer ").size())));
    for (const TokenConfig& token : tokens_) {
      if (ConstantTimeEquals(hash, token.sha256)) {
        return Caller{token.principal, &token.roles, &token.target_roles};
      }
    }
    return absl::UnauthenticatedError("invalid bearer token");
  }
  // gRPC verified the certificate against tls.client_ca_file before the call reached here.
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  const std::vector<grpc::string_ref> pem =
      auth == nullptr ? std::vector<grpc::string_ref>{} : auth->FindPropertyValues("x509_pem_cert");
  if (pem.empty()) {
    return absl::UnauthenticatedError(
        certificates_.empty() ? "missing bearer token (authorization metadata)"
                              : "missing bearer token (authorization metadata) or client "
                                "certificate");
  }
  absl::StatusOr<std::string> principal =
      CertificatePrincipal(std::string(pem.front().data(), pem.front().size()));
  if (!principal.ok()) return absl::UnauthenticatedError(principal.status().message());
  for (const CertificateConfig& certificate : certificates_) {
    if (certificate.principal == *principal) {
      return Caller{certificate.principal, &certificate.roles, &certificate.target_roles};
    }
  }
  return absl::UnauthenticatedError(absl::StrCat("client certificate of \"", *principal,
                                                 "\" is not in the server's certificates"));
}

Role Authorizer::RoleFor(const Caller& caller, const TargetConfig& target) const {
  if (caller.open()) return Role::kAdmin;
  Role role = Role::kNone;
  for (const auto& [name, granted] : *caller.roles) {
    if (name == "*" || name == target.environment.name) role = std::max(role, granted);
  }
  if (auto it = caller.target_roles->find(target.name); it != caller.target_roles->end()) {
    role = std::max(role, it->second);
  }
  return role;
}

absl::Status Authorizer::Require(const Caller& caller, const TargetConfig& target, Role needed,
                                 const std::string& action) const {
  const Role role = RoleFor(caller, target);
  if (role >= needed) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(action, " on a ", target.environment.name,
                                                  " target needs role ", RoleName(needed), "; ",
                                                  caller.principal, " has ", RoleName(role)));
}

}  // namespace schemad::api
