// The catalog loader over a folder. The input is a folder written as "==> NAME <==" headers,
// each followed by that file's text (no header: one file 001_seed.up.sql). Any folder either
// loads into ordered revisions whose checksums cover exactly the text read, or is refused with
// a message naming the folder or a file in it.
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "server/catalog/catalog.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string dir = schemad::fuzz::ScratchDir("catalog");
  std::vector<std::pair<std::string, std::string>> files;
  if (!absl::StartsWith(input, "==> ")) files.push_back({"001_seed.up.sql", std::string(input)});
  for (absl::string_view part : absl::StrSplit(input, "==> ", absl::SkipEmpty())) {
    if (!absl::StartsWith(input, "==> ")) break;
    const size_t end = part.find(" <==\n");
    if (end == absl::string_view::npos) continue;
    std::string name(part.substr(0, end));
    // One flat folder: names with a slash, "." and ".." (and very long names) are not files.
    if (name.empty() || name.size() > 200 || name == "." || name == ".." ||
        name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
      continue;
    }
    files.push_back({name, std::string(part.substr(end + 5))});
    if (files.size() >= 16) break;
  }
  for (const auto& [name, text] : files) schemad::fuzz::WriteFile(dir + "/" + name, text);

  schemad::LoadOptions options;
  options.max_file_bytes = 1 << 20;
  absl::StatusOr<schemad::Catalog> catalog = schemad::LoadCatalog(dir, options);
  if (!catalog.ok()) {
    FUZZ_CHECK(absl::StrContains(catalog.status().message(), dir));
    return 0;
  }
  for (size_t i = 0; i < catalog->revisions.size(); ++i) {
    const schemad::Revision& revision = catalog->revisions[i];
    FUZZ_CHECK(schemad::IsVersion(revision.version));
    FUZZ_CHECK(revision.up.checksum == schemad::Checksum(revision.up.text()));
    FUZZ_CHECK(revision.up.text().find('\0') == std::string::npos);
    if (i > 0) {
      FUZZ_CHECK(schemad::CompareVersions(catalog->revisions[i - 1].version, revision.version) < 0);
    }
    FUZZ_CHECK(catalog->IndexOf(revision.version) == static_cast<int>(i));
    FUZZ_CHECK(revision.down.has_value() != !revision.irreversible_reason.empty());
  }
  return 0;
}
