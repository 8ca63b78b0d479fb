// Shared by the libFuzzer targets: a check that stops the fuzzer, and a scratch catalog folder.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/string_view.h"
#include "server/common/text.h"

namespace schemad::fuzz {

// An invariant that must hold for every input; a violation is a finding like a crash.
#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

// What the catalog loader hands to the analysers: text without NUL bytes, in UTF-8 (it
// refuses anything else).
inline bool IsLoaderText(absl::string_view data) { return CheckText(data).ok(); }

// A folder of this process, emptied on every call.
inline std::string ScratchDir(const char* name) {
  static const std::string root = [] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp ? tmp : "/tmp") + "/schemad-fuzz-" + std::to_string(getpid());
  }();
  const std::string dir = root + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void WriteFile(const std::string& path, absl::string_view text) {
  std::ofstream(path, std::ios::binary)
      .write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace schemad::fuzz
