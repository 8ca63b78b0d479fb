// SCHEMAD_RETURN_IF_ERROR and SCHEMAD_ASSIGN_OR_RETURN: the two macros abseil 20220623 lacks.
#pragma once

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SCHEMAD_CONCAT_INNER(a, b) a##b
#define SCHEMAD_CONCAT(a, b) SCHEMAD_CONCAT_INNER(a, b)

#define SCHEMAD_RETURN_IF_ERROR(expr)                   \
  do {                                                  \
    ::absl::Status schemad_status_ = (expr);            \
    if (!schemad_status_.ok()) return schemad_status_;  \
  } while (false)

#define SCHEMAD_ASSIGN_OR_RETURN(lhs, expr) \
  SCHEMAD_ASSIGN_OR_RETURN_IMPL(SCHEMAD_CONCAT(schemad_statusor_, __LINE__), lhs, expr)

#define SCHEMAD_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return statusor.status();            \
  lhs = std::move(statusor).value()

namespace schemad {

// Returns `status` with `context: ` in front of its message, keeping its code.
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), std::string(context) + ": " + std::string(status.message()));
}

}  // namespace schemad
