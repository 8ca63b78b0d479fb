// Builds the gRPC server: the schema service, health checks, reflection, TLS, thread bounds.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "server/api/service.h"
#include "server/config/config.h"

namespace schemad::api {

struct RunningServer {
  std::unique_ptr<SchemaService> service;
  std::unique_ptr<grpc::Server> server;
  // host:port actually bound (the port chosen when the config says :0).
  std::string address;
  // gRPC health of "schemad.v1.SchemaService": NOT_SERVING from the start until catalogs are
  // parsed, and again while draining.
  void SetServing(bool serving) const;
  // Starts the engine's version watching; "schemad.target.<name>" follows each target
  // (SERVING while its database is reachable and no failed run blocks it).
  void WatchTargets(const engine::Engine& engine) const;
};

// The gRPC health service name of a target.
std::string TargetHealthName(const std::string& target);

// Starts serving `engine` on config.listen. Returns UNAVAILABLE when the address cannot be
// bound, INVALID_ARGUMENT when a TLS file cannot be read.
absl::StatusOr<RunningServer> StartServer(const Config& config, engine::Engine* engine);

}  // namespace schemad::api
