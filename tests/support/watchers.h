// Many WatchVersion streams from one process, driven by one completion queue: what a deploy of
// many services waiting for their schema looks like to schemad (e2e tests and benchmarks).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "schemad/v1/schemad.grpc.pb.h"

namespace schemad::testing {

class Watchers {
 public:
  // Opens `count` streams on `target` over `channels` connections to `address`, each with
  // `token` (empty: none) and `deadline` from now.
  Watchers(const std::string& address, const std::string& target, const std::string& token,
           int count, int channels = 4, absl::Duration deadline = absl::Minutes(10));
  // Cancels every stream still open and waits for them to end.
  ~Watchers();

  // Waits until every stream has received at least `messages` messages, or `timeout` passes.
  // Returns how many streams have.
  int AwaitMessages(int messages, absl::Duration timeout);
  // Streams that ended, and the status of the first one that ended with an error.
  int ended() const;
  grpc::Status first_error() const;
  // The current_version of the last message each stream got, counted: version -> streams.
  std::map<std::string, int> LastVersions() const;

 private:
  struct Stream;
  void Drive();
  grpc::CompletionQueue queue_;
  std::vector<std::unique_ptr<v1::SchemaService::Stub>> stubs_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::thread driver_;
  mutable absl::Mutex mu_;
  int ended_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::Status first_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace schemad::testing
