// Process-wide logging setup: spdlog, as text for people or one JSON object per line.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace schemad {

enum class LogFormat { kText, kJson };

// Configures the default spdlog logger (stderr). Returns INVALID_ARGUMENT for an unknown level.
absl::Status SetUpLogging(LogFormat format, const std::string& level);

}  // namespace schemad
