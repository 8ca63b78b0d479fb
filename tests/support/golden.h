// Golden files under tests/testdata: compared, or rewritten when SCHEMAD_UPDATE_GOLDEN=1.
#pragma once

#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {

// Checks `actual` against tests/testdata/<relative>; with SCHEMAD_UPDATE_GOLDEN=1 writes it.
inline void ExpectGolden(const std::string& relative, const std::string& actual) {
  const std::string path = std::string(SCHEMAD_SOURCE_DIR "/tests/testdata/") + relative;
  if (const char* update = std::getenv("SCHEMAD_UPDATE_GOLDEN");
      update && std::string(update) == "1") {
    WriteFiles(path.substr(0, path.rfind('/')), {{path.substr(path.rfind('/') + 1), actual}});
    return;
  }
  EXPECT_EQ(actual, ReadTextFile(path))
      << "golden " << relative << " differs; rerun with SCHEMAD_UPDATE_GOLDEN=1 to accept";
}

}  // namespace schemad::testing
