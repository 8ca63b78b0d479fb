// The reference for GetVersion throughput: a bare gRPC server that answers the same message
// from memory, with the sync or the callback API. Nothing else: no auth, no cache, no database.
//   bench_bare_server sync|callback ADDRESS [READY_FILE]
#include <fstream>
#include <iostream>

#include "grpcpp/grpcpp.h"
#include "schemad/v1/schemad.grpc.pb.h"

namespace {

schemad::v1::VersionInfo Answer() {
  schemad::v1::VersionInfo info;
  info.set_target("bench");
  info.set_current_version("20251124_093000");
  info.set_current_name("embeddings_pgvector");
  info.set_applied_count(6);
  info.set_latest_version("20251124_093000");
  info.mutable_applied_at()->set_seconds(1764000000);
  return info;
}

class SyncService final : public schemad::v1::SchemaService::Service {
  grpc::Status GetVersion(grpc::ServerContext*, const schemad::v1::GetVersionRequest*,
                          schemad::v1::VersionInfo* response) override {
    *response = answer_;
    return grpc::Status::OK;
  }
  const schemad::v1::VersionInfo answer_ = Answer();
};

class CallbackService final : public schemad::v1::SchemaService::CallbackService {
  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* context,
                                       const schemad::v1::GetVersionRequest*,
                                       schemad::v1::VersionInfo* response) override {
    *response = answer_;
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  const schemad::v1::VersionInfo answer_ = Answer();
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_bare_server sync|callback ADDRESS [READY_FILE]\n";
    return 2;
  }
  const std::string mode = argv[1];
  SyncService sync;
  CallbackService callback;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(argv[2], grpc::InsecureServerCredentials(), &port);
  if (mode == "sync") {
    builder.RegisterService(&sync);
  } else {
    builder.RegisterService(&callback);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return 1;
  if (argc > 3) std::ofstream(argv[3]) << port << "\n";
  server->Wait();
  return 0;
}
