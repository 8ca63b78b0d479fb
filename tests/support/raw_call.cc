#include "tests/support/raw_call.h"

#include <condition_variable>
#include <mutex>
#include <vector>

#include "grpcpp/generic/generic_stub.h"

namespace schemad::testing {

grpc::Status RawUnaryCall(const std::string& address, const std::string& method,
                          const std::string& request, std::string* response) {
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1), response_buffer;
  grpc::Status status;
  bool done = false;
  std::mutex mu;
  std::condition_variable cv;
  stub.UnaryCall(&context, method, {}, &request_buffer, &response_buffer, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    status = s;
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  response->clear();
  std::vector<grpc::Slice> slices;
  if (status.ok() && response_buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) response->append(s.begin(), s.end());
  }
  return status;
}

}  // namespace schemad::testing
