// catalog.yaml: any text either loads (a non-empty plain name, a coverage list of tables) or is
// refused with a message naming catalog.yaml.
#include "absl/strings/match.h"
#include "server/catalog/catalog.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string dir = schemad::fuzz::ScratchDir("manifest");
  schemad::fuzz::WriteFile(dir + "/001_a.up.sql", "CREATE TABLE a (id int);\n");
  schemad::fuzz::WriteFile(dir + "/001_a.down.sql", "DROP TABLE a;\n");
  schemad::fuzz::WriteFile(dir + "/catalog.yaml", input);
  absl::StatusOr<schemad::Catalog> catalog = schemad::LoadCatalog(dir);
  if (!catalog.ok()) {
    FUZZ_CHECK(absl::StrContains(catalog.status().message(), "catalog.yaml"));
    return 0;
  }
  FUZZ_CHECK(!catalog->name.empty() && catalog->name.size() <= 128);
  FUZZ_CHECK(catalog->name.find_first_of(" \n\t/") == std::string::npos);
  for (const schemad::CoverageRequirement& requirement : catalog->coverage) {
    FUZZ_CHECK(!requirement.table.empty());
  }
  FUZZ_CHECK(catalog->revisions.size() == 1);
  return 0;
}
