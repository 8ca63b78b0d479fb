// Versions as written in file names, their numeric keys and their order: one definition for
// the catalog, the history tables and the clients.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace schemad {

// Dotted versions (Flyway's 1.2.10): the parts after the first are padded to this many digits
// in the key, so the key is still one numeric value (1.000…002000…010) that orders as Flyway
// orders versions (part by part, 1.2 == 1.2.0).
inline constexpr size_t kPartDigits = 18;

// Whether `text` is a version as written in file names: digits, with underscores between them;
// or digits joined by dots (Flyway's 1.2.10; a part after the first has at most 18 digits).
// Never both.
bool IsVersion(absl::string_view text);

// Whether `part` is one or more ASCII digits.
bool AllDigits(absl::string_view part);

// The numeric value of a version as a canonical decimal string, which is also its key in the
// history tables (a numeric column): digits only, no leading zeros; for a dotted version the
// parts after the first follow a decimal point, 18 digits each, trailing zeros dropped
// ("1.2.10" and "1.2.10.0" have one key). A key is not a version: do not pass one back in.
std::string VersionKey(absl::string_view version);

// Orders versions numerically: negative, zero or positive like strcmp.
int CompareVersions(absl::string_view a, absl::string_view b);
// The same for two VersionKeys.
int CompareVersionKeys(absl::string_view a, absl::string_view b);

}  // namespace schemad
