#include "server/api/server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace schemad::api {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("tls: cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const TlsConfig& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      tls.client_ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                 : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> cert = ReadPem(tls.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(tls.key_file);
  if (!key.ok()) return key.status();
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(tls.client_ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

namespace {

// Why binding `listen` fails (gRPC does not say): the kernel's answer to a bind of our own.
std::string WhyNoListen(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return "cannot bind the unix socket";
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.c_str(), listen.substr(colon + 1).c_str(), &hints, &found);
      error != 0) {
    return absl::StrCat("cannot resolve host \"", host, "\": ", gai_strerror(error));
  }
  std::string why = "gRPC refused the address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0) why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  return why;
}

}  // namespace

std::string TargetHealthName(const std::string& target) {
  return absl::StrCat("schemad.target.", target);
}

void RunningServer::SetServing(bool serving) const {
  server->GetHealthCheckService()->SetServingStatus(v1::SchemaService::service_full_name(),
                                                    serving);
}

void RunningServer::WatchTargets(const engine::Engine& engine) const {
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  engine.StartWatching([health](const engine::Target& target, bool serving) {
    health->SetServingStatus(TargetHealthName(target.config.name), serving);
  });
}

absl::StatusOr<RunningServer> StartServer(const Config& config, engine::Engine* engine) {
  RunningServer running;
  running.service = std::make_unique<SchemaService>(
      engine, Authorizer(config.tokens, config.certificates), config);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials(config.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ServerBuilder builder;
  int port = 0;
  // A second schemad on a port in use must fail, not share it silently (gRPC's default).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Requests are small (every string field is bounded); responses may carry a plan's SQL.
  // PublishRelease carries a catalog's files; every other request is small.
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(128 << 20);
  builder.AddListeningPort(config.listen, *credentials, &port);
  grpc::ResourceQuota quota("schemad");
  quota.SetMaxThreads(config.max_threads);
  builder.SetResourceQuota(quota);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  builder.RegisterService(running.service.get());
  running.server = builder.BuildAndStart();
  if (running.server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen, ": ", WhyNoListen(config.listen)));
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  running.address = absl::StrCat(host, ":", port);
  running.SetServing(false);
  for (const auto& target : engine->targets()) {
    running.server->GetHealthCheckService()->SetServingStatus(TargetHealthName(target->config.name),
                                                              false);
  }
  return running;
}

}  // namespace schemad::api
