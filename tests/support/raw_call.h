// A unary gRPC call with raw request bytes (no generated stub): for methods the tests have no
// stub of (gRPC health) and for requests that are deliberately malformed.
#pragma once

#include <string>

#include "grpcpp/grpcpp.h"

namespace schemad::testing {

// Calls `method` ("/package.Service/Method") at `address` with `request` as the serialized
// message, a 10 s deadline; the serialized answer goes to `response`.
grpc::Status RawUnaryCall(const std::string& address, const std::string& method,
                          const std::string& request, std::string* response);

}  // namespace schemad::testing
