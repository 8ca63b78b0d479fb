// Measurements the shell cannot make: server-side and end-to-end latency of Plan/GetStatus,
// time from exec to the first answered RPC, the delay before a replica hears another's apply,
// and the body of a gRPC GetVersion request for h2load.
//   bench_client latency ADDRESS TARGET plan|status COUNT      -> "e2e_ms_median server_ms_median
//                                                                  e2e_ms_p99"
//   bench_client getversion ADDRESS TARGET COUNT               -> "ms_median ms_p99"
//   bench_client versions ADDRESS COUNT                        -> "ms_median ms_p99 targets"
//   bench_client watchers ADDRESS TARGET N                     -> "held N first_message_ms", then
//       holds the N WatchVersion streams until stdin closes; "messages M" when a line comes in
//   bench_client flood ADDRESS TARGET N SECONDS                -> keeps N GetVersion calls in
//       flight for SECONDS; prints "calls C errors E"
//   bench_client startup ADDRESS -- COMMAND ARGS...              -> "exec_to_first_rpc_ms pid"
//   bench_client watch-delay ADDRESS_A ADDRESS_B TARGET V1 V2 N  -> one delay in ms per line
//   bench_client grpc-body TARGET FILE
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "grpcpp/grpcpp.h"
#include "schemad/v1/schemad.grpc.pb.h"
#include "tests/support/watchers.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = schemad::v1;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double P99(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, values.size() * 99 / 100)];
}

std::unique_ptr<v1::SchemaService::Stub> Stub(const std::string& address) {
  return v1::SchemaService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

void Deadline(grpc::ClientContext* context, int seconds) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

int Latency(const std::string& address, const std::string& target, const std::string& what,
            int count) {
  auto stub = Stub(address);
  std::vector<double> e2e, server;
  for (int i = 0; i < count + 2; ++i) {  // the first two warm up
    grpc::ClientContext context;
    Deadline(&context, 120);
    const auto start = Clock::now();
    grpc::Status status;
    if (what == "plan") {
      v1::PlanRequest request;
      request.set_target(target);
      v1::PlanResponse response;
      status = stub->Plan(&context, request, &response);
    } else {
      v1::GetStatusRequest request;
      // "status" as schemactl status asks; "drift" with schema drift (as schemactl drift).
      request.set_skip_schema_drift(what != "drift");
      request.set_target(target);
      v1::GetStatusResponse response;
      status = stub->GetStatus(&context, request, &response);
    }
    const double elapsed = Ms(Clock::now() - start);
    if (!status.ok()) {
      std::cerr << what << ": " << status.error_message() << "\n";
      return 1;
    }
    if (i < 2) continue;
    e2e.push_back(elapsed);
    auto trailer = context.GetServerTrailingMetadata().find("server-ms");
    double server_ms = 0;
    if (trailer != context.GetServerTrailingMetadata().end()) {
      (void)absl::SimpleAtod(std::string(trailer->second.data(), trailer->second.size()),
                             &server_ms);
    }
    server.push_back(server_ms);
  }
  std::cout << absl::StrFormat("%.3f %.3f %.3f\n", Median(e2e), Median(server), P99(e2e));
  return 0;
}

int GetVersions(const std::string& address, const std::string& target, int count) {
  auto stub = Stub(address);
  std::vector<double> took;
  for (int i = 0; i < count + 10; ++i) {
    grpc::ClientContext context;
    Deadline(&context, 60);
    v1::GetVersionRequest request;
    request.set_target(target);
    v1::VersionInfo info;
    const auto start = Clock::now();
    grpc::Status status = stub->GetVersion(&context, request, &info);
    if (!status.ok()) {
      std::cerr << "GetVersion: " << status.error_message() << "\n";
      return 1;
    }
    if (i >= 10) took.push_back(Ms(Clock::now() - start));
  }
  std::cout << absl::StrFormat("%.3f %.3f\n", Median(took), P99(took));
  return 0;
}

int ListVersions(const std::string& address, int count) {
  auto stub = Stub(address);
  std::vector<double> took;
  int targets = 0;
  for (int i = 0; i < count + 3; ++i) {
    grpc::ClientContext context;
    Deadline(&context, 60);
    v1::ListTargetVersionsResponse response;
    const auto start = Clock::now();
    grpc::Status status =
        stub->ListTargetVersions(&context, v1::ListTargetVersionsRequest(), &response);
    if (!status.ok()) {
      std::cerr << "ListTargetVersions: " << status.error_message() << "\n";
      return 1;
    }
    for (const auto& t : response.targets()) {
      if (!t.known()) {
        std::cerr << t.target() << " unknown: " << t.error() << "\n";
        return 1;
      }
    }
    targets = response.targets_size();
    if (i >= 3) took.push_back(Ms(Clock::now() - start));
  }
  std::cout << absl::StrFormat("%.3f %.3f %d\n", Median(took), P99(took), targets);
  return 0;
}

int HoldWatchers(const std::string& address, const std::string& target, int count) {
  const auto start = Clock::now();
  schemad::testing::Watchers watchers(address, target, "", count, 8);
  const int held = watchers.AwaitMessages(1, absl::Minutes(5));
  std::cout << absl::StrFormat("held %d %.1f\n", held, Ms(Clock::now() - start)) << std::flush;
  std::string line;
  while (std::getline(std::cin, line)) {
    // "N": wait until every stream has N messages, then say how many have.
    const int want = std::atoi(line.c_str());
    std::cout << "messages " << watchers.AwaitMessages(want, absl::Minutes(2)) << " ended "
              << watchers.ended() << "\n"
              << std::flush;
  }
  return held == count ? 0 : 1;
}

// Keeps `count` GetVersion calls on `target` in flight (each answered call is sent again).
int Flood(const std::string& address, const std::string& target, int count, int seconds) {
  auto stub = Stub(address);
  grpc::CompletionQueue queue;
  struct Call {
    grpc::ClientContext context;
    v1::VersionInfo info;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::VersionInfo>> reader;
  };
  v1::GetVersionRequest request;
  request.set_target(target);
  auto start_call = [&](std::unique_ptr<Call>& call) {
    call = std::make_unique<Call>();
    Deadline(&call->context, 60);
    call->reader = stub->AsyncGetVersion(&call->context, request, &queue);
    call->reader->Finish(&call->info, &call->status, call.get());
  };
  std::vector<std::unique_ptr<Call>> calls(count);
  std::map<void*, int> slot;
  for (int i = 0; i < count; ++i) {
    start_call(calls[i]);
    slot[calls[i].get()] = i;
  }
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  long done = 0, errors = 0;
  int outstanding = count;
  void* tag = nullptr;
  bool ok = false;
  while (outstanding > 0 && queue.Next(&tag, &ok)) {
    const int i = slot[tag];
    slot.erase(tag);
    ++done;
    errors += !calls[i]->status.ok();
    if (Clock::now() < end) {
      start_call(calls[i]);
      slot[calls[i].get()] = i;
    } else {
      --outstanding;
    }
  }
  std::cout << "calls " << done << " errors " << errors << "\n";
  return 0;
}

// Forks and execs the command, then calls GetVersion (target "bench") until an
// answer (any status but UNAVAILABLE) comes back.
int Startup(char** argv, const std::string& address) {
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  for (int attempt = 0; Ms(Clock::now() - start) < 30000; ++attempt) {
    // A fresh channel (and subchannel) per attempt: a channel whose connect was refused waits
    // out a reconnect back-off of seconds before it tries again.
    grpc::ChannelArguments arguments;
    arguments.SetInt("schemad.bench.attempt", attempt);
    auto stub = v1::SchemaService::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(50));
    v1::GetVersionRequest request;
    request.set_target("bench");
    v1::VersionInfo info;
    grpc::Status status = stub->GetVersion(&context, request, &info);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      std::cout << absl::StrFormat("%.3f %d\n", Ms(Clock::now() - start), pid);
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  kill(pid, SIGKILL);
  std::cerr << "no answer within 30 s\n";
  return 1;
}

// Applies V2 through A (then rolls back to V1) N times while watching B; prints, per change,
// the time from A's RunFinished to B's stream showing it.
int WatchDelay(const std::string& a, const std::string& b, const std::string& target,
               const std::string& v1_version, const std::string& v2_version, int count) {
  auto stub_a = Stub(a);
  auto stub_b = Stub(b);
  for (int i = 0; i < count; ++i) {
    for (const bool up : {true, false}) {
      const std::string expected = up ? v2_version : v1_version;
      grpc::ClientContext watch_context;
      Deadline(&watch_context, 60);
      v1::WatchVersionRequest watch;
      watch.set_target(target);
      auto reader = stub_b->WatchVersion(&watch_context, watch);
      v1::VersionInfo info;
      if (!reader->Read(&info)) return 1;  // the current state
      Clock::time_point finished;
      std::thread run([&] {
        grpc::ClientContext context;
        Deadline(&context, 60);
        v1::RunEvent event;
        std::unique_ptr<grpc::ClientReader<v1::RunEvent>> stream;
        if (up) {
          v1::ApplyRequest request;
          request.set_target(target);
          request.set_to_version(v2_version);
          stream = stub_a->Apply(&context, request);
        } else {
          v1::RollbackRequest request;
          request.set_target(target);
          request.set_to_version(v1_version);
          stream = stub_a->Rollback(&context, request);
        }
        while (stream->Read(&event)) {
          if (event.has_run_finished()) finished = Clock::now();
        }
        stream->Finish();
      });
      while (reader->Read(&info)) {
        if (info.current_version() == expected) break;
      }
      const auto seen = Clock::now();
      run.join();
      watch_context.TryCancel();
      std::cout << absl::StrFormat("%.3f\n", Ms(seen - finished));
    }
  }
  return 0;
}

int GrpcBody(const std::string& target, const std::string& file) {
  v1::GetVersionRequest request;
  request.set_target(target);
  const std::string message = request.SerializeAsString();
  std::string frame(5, '\0');
  frame[1] = static_cast<char>((message.size() >> 24) & 0xff);
  frame[2] = static_cast<char>((message.size() >> 16) & 0xff);
  frame[3] = static_cast<char>((message.size() >> 8) & 0xff);
  frame[4] = static_cast<char>(message.size() & 0xff);
  std::ofstream(file, std::ios::binary) << frame << message;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "latency" && argc == 6)
    return Latency(argv[2], argv[3], argv[4], std::atoi(argv[5]));
  if (command == "startup" && argc > 4 && std::string(argv[3]) == "--") {
    return Startup(argv + 4, argv[2]);
  }
  if (command == "watch-delay" && argc == 8) {
    return WatchDelay(argv[2], argv[3], argv[4], argv[5], argv[6], std::atoi(argv[7]));
  }
  if (command == "grpc-body" && argc == 4) return GrpcBody(argv[2], argv[3]);
  if (command == "getversion" && argc == 5)
    return GetVersions(argv[2], argv[3], std::atoi(argv[4]));
  if (command == "versions" && argc == 4) return ListVersions(argv[2], std::atoi(argv[3]));
  if (command == "watchers" && argc == 5) return HoldWatchers(argv[2], argv[3], std::atoi(argv[4]));
  if (command == "flood" && argc == 6) {
    return Flood(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]));
  }
  std::cerr << "usage: see the comment at the top of tests/bench/bench_client.cc\n";
  return 2;
}
