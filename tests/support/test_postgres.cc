#include "tests/support/test_postgres.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "server/embedded/local_cluster.h"

namespace schemad::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

std::unique_ptr<LocalCluster>& Cluster() {
  static std::unique_ptr<LocalCluster> cluster;
  return cluster;
}

void CleanUp() {
  if (Cluster() != nullptr) Cluster()->Stop().IgnoreError();
  Cluster().reset();
  if (std::getenv("SCHEMAD_TEST_KEEP") == nullptr) {
    for (const std::string& dir : TempDirs()) {
      std::error_code error;
      fs::remove_all(dir, error);
    }
  }
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = absl::StrCat("/tmp/", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    std::cerr << "cannot create a temporary folder\n";
    std::abort();
  }
  chmod(pattern.c_str(), 0755);
  TempDirs().push_back(pattern);
  return pattern;
}

void WriteFiles(const std::string& dir, const std::map<std::string, std::string>& files) {
  fs::create_directories(dir);
  for (const auto& [name, content] : files) {
    std::ofstream(fs::path(dir) / name, std::ios::binary) << content;
  }
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TestPostgres& TestPostgres::Get() {
  static TestPostgres* instance = [] {
    auto* pg = new TestPostgres();
    if (const char* dsn = std::getenv("SCHEMAD_TEST_PG_DSN"); dsn != nullptr && *dsn != '\0') {
      pg->admin_dsn_ = dsn;
      pg->base_dsn_ = dsn;
    } else {
      LocalCluster::Options options;
      options.state_dir = MakeTempDir("schemad-testpg");
      options.settings = {"fsync=off", "full_page_writes=off", "synchronous_commit=off",
                          "max_connections=200"};
      absl::StatusOr<std::unique_ptr<LocalCluster>> cluster = LocalCluster::Start(options);
      if (!cluster.ok()) {
        std::cerr << "cannot start the test PostgreSQL: " << cluster.status() << "\n";
        std::abort();
      }
      Cluster() = *std::move(cluster);
      pg->admin_dsn_ = Cluster()->Dsn("postgres");
      pg->base_dsn_ = absl::StrCat("host=", Cluster()->socket_dir(), " port=", Cluster()->port(),
                                   " user=postgres");
    }
    std::atexit(CleanUp);
    return pg;
  }();
  return *instance;
}

std::string TestPostgres::CreateDatabase() {
  const std::string name = absl::StrCat("t_", getpid(), "_", next_database_++);
  MustQuery(admin_dsn_, absl::StrCat("DROP DATABASE IF EXISTS ", name));
  MustQuery(admin_dsn_, absl::StrCat("CREATE DATABASE ", name));
  return absl::StrCat(base_dsn_, " dbname=", name);
}

absl::StatusOr<std::vector<std::string>> TestPostgres::Query(const std::string& dsn,
                                                             const std::string& sql) {
  try {
    pqxx::connection conn(dsn);
    pqxx::nontransaction txn(conn);
    std::vector<std::string> rows;
    for (const pqxx::row& row : txn.exec(sql)) {
      std::vector<std::string> cells;
      for (const pqxx::field& field : row)
        cells.push_back(field.is_null() ? "NULL" : field.c_str());
      rows.push_back(absl::StrJoin(cells, "\t"));
    }
    return rows;
  } catch (const pqxx::sql_error& e) {
    return absl::InternalError(absl::StrCat(e.what(), " (SQLSTATE ", e.sqlstate(), ")"));
  } catch (const std::exception& e) {
    return absl::UnavailableError(e.what());
  }
}

std::vector<std::string> TestPostgres::MustQuery(const std::string& dsn, const std::string& sql) {
  absl::StatusOr<std::vector<std::string>> rows = Query(dsn, sql);
  EXPECT_TRUE(rows.ok()) << sql << ": " << rows.status();
  return rows.ok() ? *rows : std::vector<std::string>();
}

std::string TestPostgres::MustQueryOne(const std::string& dsn, const std::string& sql) {
  std::vector<std::string> rows = MustQuery(dsn, sql);
  EXPECT_EQ(rows.size(), 1u) << sql;
  return rows.empty() ? "" : rows[0];
}

std::string CopyCatalog(const std::string& dir, const std::string& catalog_yaml) {
  const std::string copy = MakeTempDir("schemad-catalog-copy");
  std::filesystem::copy(dir, copy, std::filesystem::copy_options::recursive);
  WriteFiles(copy, {{"catalog.yaml", catalog_yaml}});
  return copy;
}

}  // namespace schemad::testing
