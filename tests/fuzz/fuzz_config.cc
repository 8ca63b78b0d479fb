// The server config: any YAML either parses into targets that each have a name, a catalog
// folder and a DSN, or is refused with a message naming the file.
#include "absl/strings/match.h"
#include "server/config/config.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const std::string made = schemad::fuzz::ScratchDir("config");
    std::filesystem::create_directories(made + "/catalog");
    return made;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string source = dir + "/schemad.yaml";
  const schemad::EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (absl::StartsWith(name, "UNSET")) return std::nullopt;
    return "host=/nonexistent dbname=fuzz";
  };
  absl::StatusOr<schemad::Config> config = schemad::ParseConfig(text, source, env);
  if (!config.ok()) {
    FUZZ_CHECK(!config.status().message().empty());
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(!config->targets.empty());
  for (const schemad::TargetConfig& target : config->targets) {
    FUZZ_CHECK(!target.name.empty());
    FUZZ_CHECK(!target.dsn.empty());
    FUZZ_CHECK(std::filesystem::is_directory(target.catalog_path));
    FUZZ_CHECK(target.max_file_bytes > 0 && target.max_file_bytes <= schemad::kMaxFileBytesLimit);
  }
  FUZZ_CHECK(config->max_threads >= 2);
  return 0;
}
