// The layering as a test: each folder's #includes follow the allowed direction
// (main -> api -> engine -> {db, sql, catalog, config, embedded} -> common) and third-party headers
// stay where they belong (<pqxx/ and libpq in db/, pg_query in sql/, gRPC and protos in api/ and
// client/). CMake alone cannot stop a stray system header.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace schemad {
namespace {

namespace fs = std::filesystem;

// Project folders each folder may include (besides itself).
const std::map<std::string, std::set<std::string>> kAllowed = {
    {"server/common", {}},
    {"server/config", {"server/common"}},
    {"server/sql", {"server/common"}},
    {"server/catalog", {"server/sql", "server/common"}},
    {"server/db", {"server/common"}},
    {"server/embedded", {"server/common"}},
    // The engine starts the private shadow cluster (server/embedded) when first needed.
    {"server/engine",
     {"server/db", "server/sql", "server/catalog", "server/config", "server/embedded",
      "server/common"}},
    {"server/api",
     {"server/engine", "server/db", "server/sql", "server/catalog", "server/config",
      "server/common"}},
    {"client", {"server/catalog", "server/sql", "server/common"}},
};

// Third-party header prefixes and the only folders that may include them.
const std::map<std::string, std::set<std::string>> kThirdParty = {
    {"pqxx/", {"server/db"}},
    {"libpq-fe.h", {"server/db"}},
    {"pg_query", {"server/sql"}},
    {"grpcpp/", {"server/api", "client"}},
    {"grpc/", {"server/api", "client"}},
    {"schemad/v1/", {"server/api", "client"}},
    // server/sql decodes libpg_query's protobuf parse tree.
    {"google/protobuf/", {"server/api", "client", "server/sql"}},
};

TEST(LayeringTest, IncludesFollowTheAllowedDirection) {
  const std::regex include_re(R"re(^\s*#\s*include\s*[<"]([^>"]+)[>"])re");
  std::vector<std::string> violations;
  int files = 0;
  for (const auto& [folder, allowed] : kAllowed) {
    for (const fs::directory_entry& entry :
         fs::directory_iterator(fs::path(SCHEMAD_SOURCE_DIR) / folder)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".h" && ext != ".cc") continue;
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        std::smatch match;
        if (!std::regex_search(line, match, include_re)) continue;
        const std::string header = match[1];
        const std::string where = folder + "/" + entry.path().filename().string() + ": " + header;
        if (header.rfind("server/", 0) == 0 || header.rfind("client/", 0) == 0) {
          const std::string target = header.substr(0, header.rfind('/'));
          if (target != folder && allowed.count(target) == 0) violations.push_back(where);
          continue;
        }
        for (const auto& [prefix, owners] : kThirdParty) {
          if (header.rfind(prefix, 0) == 0 && owners.count(folder) == 0) {
            violations.push_back(where);
          }
        }
      }
    }
  }
  EXPECT_THAT(violations, ::testing::IsEmpty());
  EXPECT_GT(files, 50);
}

}  // namespace
}  // namespace schemad
