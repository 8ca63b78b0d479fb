// The file-name parser: any name either parses into a version and a name that round-trip, or
// is refused with a message; versions order consistently.
#include "server/catalog/catalog.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<schemad::FileName> parsed = schemad::ParseFileName(name);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(schemad::IsVersion(parsed->version));
  FUZZ_CHECK(!schemad::VersionKey(parsed->version).empty());
  FUZZ_CHECK(schemad::CompareVersions(parsed->version, parsed->version) == 0);
  FUZZ_CHECK(name.rfind(parsed->version, 0) == 0);
  FUZZ_CHECK(name.find(parsed->name) != std::string::npos);
  const std::string other = parsed->version + "1";
  FUZZ_CHECK(schemad::CompareVersions(parsed->version, other) < 0);
  FUZZ_CHECK(schemad::CompareVersions(other, parsed->version) > 0);
  return 0;
}
