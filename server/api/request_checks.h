// Checks of a request's own fields, before it reaches the engine (no catalog, no database).
#pragma once

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace schemad::api {

// Bounds of request strings: target names, free-text reasons, everything else.
inline constexpr size_t kMaxNameBytes = 128;
inline constexpr size_t kMaxReasonBytes = 1024;
inline constexpr size_t kMaxFieldBytes = 256;

// Every string field of a request is bounded and printable (no control characters), checked at
// the edge: a long or odd value never reaches a query, an index or an error message.
// Returns INVALID_ARGUMENT naming the field.
absl::Status CheckStringFields(const google::protobuf::Message& request);

}  // namespace schemad::api
