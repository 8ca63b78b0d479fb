// The tests' PostgreSQL: one throwaway cluster per test binary (or the server named by
// SCHEMAD_TEST_PG_DSN), and a fresh database per test.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace schemad::testing {

class TestPostgres {
 public:
  // Starts the cluster on first use; it stops when the process exits. Aborts the test binary
  // with a message when PostgreSQL cannot be started.
  static TestPostgres& Get();

  // Creates an empty database and returns a DSN for it.
  std::string CreateDatabase();
  // A DSN of the server's maintenance database (postgres), e.g. for schemad's shadow server.
  const std::string& admin_dsn() const { return admin_dsn_; }

  // Runs `sql` (one or more statements) on `dsn`; returns rows as text, tab-separated columns.
  static absl::StatusOr<std::vector<std::string>> Query(const std::string& dsn,
                                                        const std::string& sql);
  // Like Query, but fails the current test on error.
  static std::vector<std::string> MustQuery(const std::string& dsn, const std::string& sql);
  static std::string MustQueryOne(const std::string& dsn, const std::string& sql);

 private:
  TestPostgres() = default;
  std::string admin_dsn_;
  std::string base_dsn_;  // admin_dsn_ without dbname
  int next_database_ = 0;
};

// A fresh temporary folder (removed at exit).
std::string MakeTempDir(const std::string& prefix);

// Writes `files` (name -> content) into `dir`, creating it.
void WriteFiles(const std::string& dir, const std::map<std::string, std::string>& files);
// Copies the catalog folder `dir` to a new temporary folder and writes `catalog_yaml` into it.
std::string CopyCatalog(const std::string& dir, const std::string& catalog_yaml);

std::string ReadTextFile(const std::string& path);

}  // namespace schemad::testing
