// Checks of text that schemad reads and sends: no NUL bytes, well-formed UTF-8.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace schemad {

// "line L, column C (byte offset B)" (1-based, columns in bytes) of byte `offset` of `text`.
std::string Position(absl::string_view text, size_t offset);

// The offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t InvalidUtf8At(absl::string_view text);

// OK for text without NUL bytes in well-formed UTF-8; otherwise INVALID_ARGUMENT naming the
// position: what the parser, the checksum and a response see must be the same text.
absl::Status CheckText(absl::string_view text);

}  // namespace schemad
