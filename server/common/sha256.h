// SHA-256 hex digests (OpenSSL) for checksums, token hashes and plan hashes.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

namespace schemad {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// Compares two strings in time independent of where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace schemad
