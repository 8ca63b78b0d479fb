// Who calls (a bearer token, or under mTLS the client certificate) and what role they have on a
// target (per environment or per target), applied to every RPC.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "server/config/config.h"

namespace schemad::api {

struct Caller {
  std::string principal;
  // The roles of the token or certificate; both null in open mode (no tokens, no mTLS).
  const std::map<std::string, Role>* roles = nullptr;
  const std::map<std::string, Role>* target_roles = nullptr;
  bool open() const { return roles == nullptr; }
};

// Thread-safe (immutable after construction).
class Authorizer {
 public:
  // With no tokens and no certificates the server is open: every caller is "anonymous" with the
  // admin role. The config layer allows that only on a loopback address without mTLS.
  Authorizer(std::vector<TokenConfig> tokens, std::vector<CertificateConfig> certificates)
      : tokens_(std::move(tokens)), certificates_(std::move(certificates)) {}

  // Reads "authorization: Bearer <token>"; without one, the verified client certificate's
  // principal (mTLS). Returns UNAUTHENTICATED when neither names a configured caller.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context) const;
  // The higher of the caller's role for the target's environment ("*" counts) and for the
  // target itself.
  Role RoleFor(const Caller& caller, const TargetConfig& target) const;
  // Returns PERMISSION_DENIED naming the role needed and the caller's.
  absl::Status Require(const Caller& caller, const TargetConfig& target, Role needed,
                       const std::string& action) const;

 private:
  std::vector<TokenConfig> tokens_;
  std::vector<CertificateConfig> certificates_;
};

}  // namespace schemad::api
