#include "server/common/version.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace schemad {
bool AllDigits(absl::string_view part) {
  return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

namespace {

std::string DigitsOf(absl::string_view part) {
  std::string digits;
  for (char c : part) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  return digits;
}

std::string WithoutLeadingZeros(const std::string& digits) {
  const size_t first = digits.find_first_not_of('0');
  return first == std::string::npos ? "0" : digits.substr(first);
}

}  // namespace

bool IsVersion(absl::string_view text) {
  if (text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(text.front())) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(text.back()))) {
    return false;
  }
  // Underscores space out a plain version; dots part a dotted one (never both: 1_2.3 would be
  // read two ways).
  if (text.find('.') != absl::string_view::npos && text.find('_') != absl::string_view::npos) {
    return false;
  }
  bool first = true;
  for (absl::string_view part : absl::StrSplit(text, '.')) {
    // Digits with underscores between them; a part after a dot fits the key's padding.
    if (part.empty() || part.front() == '_' || part.back() == '_') return false;
    for (char c : part) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '_') return false;
    }
    if (!first && WithoutLeadingZeros(DigitsOf(part)).size() > kPartDigits) return false;
    first = false;
  }
  return true;
}

std::string VersionKey(absl::string_view version) {
  std::vector<absl::string_view> parts = absl::StrSplit(version, '.');
  std::string key = WithoutLeadingZeros(DigitsOf(parts[0]));
  std::string fraction;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string digits = WithoutLeadingZeros(DigitsOf(parts[i]));
    if (digits.size() < kPartDigits) fraction.append(kPartDigits - digits.size(), '0');
    fraction += digits;
  }
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return fraction.empty() ? key : absl::StrCat(key, ".", fraction);
}

int CompareVersions(absl::string_view a, absl::string_view b) {
  return CompareVersionKeys(VersionKey(a), VersionKey(b));
}

int CompareVersionKeys(absl::string_view ka, absl::string_view kb) {
  // Keys are decimal numbers without leading zeros before the point or trailing ones after it.
  const size_t da = std::min(ka.find('.'), ka.size());
  const size_t db = std::min(kb.find('.'), kb.size());
  if (da != db) return da < db ? -1 : 1;
  const int whole = ka.compare(0, da, kb, 0, db);
  if (whole != 0) return whole < 0 ? -1 : 1;
  const int fraction = ka.compare(std::min(da + 1, ka.size()), std::string::npos, kb,
                                  std::min(db + 1, kb.size()), std::string::npos);
  return fraction < 0 ? -1 : fraction > 0 ? 1 : 0;
}

}  // namespace schemad
