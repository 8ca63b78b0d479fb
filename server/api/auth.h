// Bearer-token authentication and per-environment role checks, applied to every RPC.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "server/config/config.h"

namespace schemad::api {

struct Caller {
  std::string principal;
  const TokenConfig* token = nullptr;  // null in open mode (no tokens configured)
};

// Thread-safe (immutable after construction).
class Authorizer {
 public:
  // With no tokens the server is open: every caller is "anonymous" with the admin role. The
  // config layer allows that only on a loopback address.
  explicit Authorizer(std::vector<TokenConfig> tokens) : tokens_(std::move(tokens)) {}

  // Reads "authorization: Bearer <token>". Returns UNAUTHENTICATED when it is missing or
  // matches no configured token.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context) const;
  Role RoleFor(const Caller& caller, Environment environment) const;
  // Returns PERMISSION_DENIED naming the role needed and the caller's.
  absl::Status Require(const Caller& caller, Environment environment, Role needed,
                       const std::string& action) const;

 private:
  std::vector<TokenConfig> tokens_;
};

}  // namespace schemad::api
