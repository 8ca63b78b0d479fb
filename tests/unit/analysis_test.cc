// Lineage, coverage, quality checks and lint from the parse tree: golden files for the bundled
// catalog and the lint testdata, and a sweep over the real corpora.
#include "server/engine/analysis.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "server/sql/lineage.h"
#include "server/sql/lint.h"
#include "tests/support/golden.h"
#include "tests/support/matchers.h"
#include "tests/support/test_postgres.h"

namespace schemad::engine {
namespace {

namespace fs = std::filesystem;
using ::schemad::testing::IsOk;
using ::schemad::testing::ReadTextFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kNabavkidata[] = SCHEMAD_SOURCE_DIR "/migrations/nabavkidata";

std::vector<RevisionLineage> MustAnalyze(const Catalog& catalog) {
  std::vector<RevisionLineage> lineage = AnalyzeCatalog(catalog);
  EXPECT_THAT(FirstLineageError(lineage, lineage.size()), IsOk());
  return lineage;
}

TEST(LineageTest, DescribesWhatStatementsDo) {
  absl::StatusOr<sql::Lineage> lineage = sql::AnalyzeLineage(
      "CREATE TABLE shop.items (id bigserial PRIMARY KEY, owner uuid REFERENCES users ON DELETE "
      "SET NULL, price numeric(10,2) NOT NULL DEFAULT 0, at timestamptz, tags varchar(20)[]);\n"
      "CREATE UNIQUE INDEX CONCURRENTLY items_owner ON shop.items (owner) WHERE owner IS NOT "
      "NULL;\n"
      "ALTER TABLE shop.items ALTER COLUMN price TYPE bigint;\n"
      "DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$;\n"
      "DROP TABLE IF EXISTS old CASCADE;");
  ASSERT_THAT(lineage, IsOk());
  std::vector<std::string> described;
  for (const sql::Change& change : lineage->changes)
    described.push_back(sql::DescribeChange(change));
  EXPECT_THAT(
      described,
      ElementsAre("create table shop.items (id bigint not null default, owner uuid, price "
                  "numeric(10,2) not null default, at timestamp with time zone, tags "
                  "character varying(20)[], items_pkey primary key (id), items_owner_fkey "
                  "foreign key (owner) references public.users on delete SET NULL)",
                  "create index shop.items_owner on shop.items (owner) unique partial concurrently",
                  "alter column type shop.items.price bigint",
                  "drop table public.old if exists cascade"));
  EXPECT_THAT(lineage->unanalysable, ElementsAre("statement 4 (line 4): DO block"));
}

// Every change of every nabavkidata revision, one line each.
TEST(LineageTest, NabavkidataGolden) {
  absl::StatusOr<Catalog> catalog = LoadCatalog(kNabavkidata);
  ASSERT_THAT(catalog, IsOk());
  std::string text;
  for (const RevisionLineage& revision : MustAnalyze(*catalog)) {
    absl::StrAppend(&text, "== ", revision.revision->Id(), "\n");
    for (const sql::Change& change : revision.up.changes) {
      if (change.kind == sql::ChangeKind::kComment) continue;
      absl::StrAppend(&text, "line ", change.line, ": ", sql::DescribeChange(change), "\n");
    }
    for (const std::string& what : revision.up.unanalysable) {
      absl::StrAppend(&text, "not statically analysable: ", what, "\n");
    }
  }
  testing::ExpectGolden("nabavkidata/lineage.golden", text);
}

TEST(CoverageTest, NabavkidataCoversAllTwentyTwoStatically) {
  absl::StatusOr<Catalog> catalog = LoadCatalog(kNabavkidata);
  ASSERT_THAT(catalog, IsOk());
  const std::vector<RevisionLineage> lineage = MustAnalyze(*catalog);
  std::vector<TableCoverage> coverage = Coverage(lineage, catalog->coverage, "public", nullptr);
  ASSERT_EQ(coverage.size(), 22u);
  std::string text;
  for (const TableCoverage& table : coverage) {
    EXPECT_TRUE(table.covered) << table.table;
    EXPECT_THAT(table.missing_columns, IsEmpty()) << table.table;
    absl::StrAppend(&text, table.table, " ", table.covered ? "covered" : "MISSING", " by ",
                    table.created_by_version, "\n");
  }
  testing::ExpectGolden("nabavkidata/coverage.golden", text);
  const Statistics stats = ModelStatistics(BuildModel(lineage, lineage.size()), "public");
  EXPECT_EQ(stats.tables, 31);
  EXPECT_GE(stats.indexes, 85);
  EXPECT_GE(stats.foreign_keys, 35);
  EXPECT_GE(stats.unique_constraints, 8);
  for (const Finding& finding : QualityChecks(lineage)) {
    EXPECT_EQ(finding.severity, sql::Severity::kInfo) << finding.rule << " " << finding.message;
  }
}

TEST(CoverageTest, ReportsMissingDroppedAndMissingColumns) {
  const std::string dir = testing::MakeTempDir("schemad-coverage");
  testing::WriteFiles(dir,
                      {{"1_a.up.sql", "CREATE TABLE a (id bigint PRIMARY KEY, name text);"},
                       {"2_b.up.sql", "CREATE TABLE b (id bigint PRIMARY KEY);\nDROP TABLE a;"}});
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
  ASSERT_THAT(catalog, IsOk());
  std::vector<TableCoverage> coverage =
      Coverage(MustAnalyze(*catalog),
               {{"a", {}, {}}, {"b", {"id", "email"}, {"b_pkey", "b_email"}}, {"c", {}, {}}},
               "public", nullptr);
  ASSERT_EQ(coverage.size(), 3u);
  EXPECT_FALSE(coverage[0].covered);
  EXPECT_EQ(coverage[0].created_by_version, "1");
  EXPECT_EQ(coverage[0].dropped_by_version, "2");
  EXPECT_TRUE(coverage[1].covered);
  EXPECT_THAT(coverage[1].missing_columns, ElementsAre("email"));
  EXPECT_THAT(coverage[1].missing_indexes, ElementsAre("b_email"));
  EXPECT_FALSE(coverage[2].covered);
  EXPECT_EQ(coverage[2].created_by_version, "");
}

TEST(QualityTest, FindsTheSeedsQualityProblems) {
  const std::string dir = testing::MakeTempDir("schemad-quality");
  testing::WriteFiles(dir, {{"1_a.up.sql",
                             "CREATE TABLE parent (id bigint PRIMARY KEY);\n"
                             "CREATE TABLE child (parent_id bigint REFERENCES parent, "
                             "created_at timestamptz NOT NULL);\n"
                             "CREATE TABLE covered (id bigint PRIMARY KEY, parent_id bigint "
                             "REFERENCES parent, created_at timestamptz DEFAULT now());\n"
                             "CREATE INDEX covered_parent ON covered (parent_id);\n"},
                            {"1_a.down.sql", "DROP TABLE covered, child, parent;"},
                            {"2_b.up.sql", "DO $$ BEGIN NULL; END $$;"},
                            {"3_c.up.sql", "CREATE TABLE c (id bigint PRIMARY KEY);"},
                            {"3_c.down.sql", "-- nothing\n"}});
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
  ASSERT_THAT(catalog, IsOk());
  std::vector<std::string> found;
  for (const Finding& finding : QualityChecks(MustAnalyze(*catalog))) {
    found.push_back(absl::StrCat(finding.rule, " ", finding.object, " ", finding.version));
  }
  EXPECT_THAT(found, ElementsAre("fk-without-index public.child.child_parent_id_fkey 1",
                                 "table-without-primary-key public.child 1",
                                 "timestamp-without-default public.child.created_at 1",
                                 "revision-without-down 2_b 2", "not-statically-analysable 2_b 2",
                                 "empty-down 3_c 3"));
}

// One file per rule: each rule fires where it should and stays quiet where context makes the
// statement safe (the quiet cases are in the same files).
TEST(LintTest, TestdataGolden) {
  const std::string dir = SCHEMAD_SOURCE_DIR "/tests/testdata/lint";
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::string text;
  std::set<std::string> fired;
  for (const std::string& file : files) {
    const std::string sql = ReadTextFile(file);
    absl::StatusOr<sql::Lineage> lineage = sql::AnalyzeLineage(sql);
    ASSERT_THAT(lineage, IsOk()) << file;
    sql::Linter linter;
    for (const sql::LintFinding& finding :
         linter.LintFile(fs::path(file).filename().string(), sql, *lineage)) {
      absl::StrAppend(
          &text, finding.file, ":", finding.line, " ", sql::SeverityName(finding.severity), " ",
          finding.rule, " ", finding.object,
          finding.suppressed ? absl::StrCat(" suppressed: ", finding.suppression_reason) : "",
          "\n");
      fired.insert(finding.rule);
    }
  }
  testing::ExpectGolden("lint/findings.golden", text);
  for (const sql::LintRule& rule : sql::LintRules()) {
    EXPECT_EQ(fired.count(rule.id), 1u) << "rule " << rule.id << " never fires in testdata";
  }
}

TEST(LintTest, EveryRuleExplainsItself) {
  for (const sql::LintRule& rule : sql::LintRules()) {
    EXPECT_FALSE(rule.explanation.empty()) << rule.id;
    EXPECT_FALSE(rule.alternative.empty()) << rule.id;
  }
}

// Lineage and lint over every file of ../shared/corpora: no crash, no parse failure.
TEST(CorporaTest, EveryFileAnalysesAndLints) {
  const fs::path corpora = SCHEMAD_SOURCE_DIR "/../shared/corpora";
  if (!fs::exists(corpora)) GTEST_SKIP() << "../shared/corpora is absent";
  int files = 0, unanalysable = 0, findings = 0;
  std::vector<std::string> failures;
  for (const auto& entry : fs::recursive_directory_iterator(corpora)) {
    if (entry.path().extension() != ".sql") continue;
    ++files;
    const std::string sql = ReadTextFile(entry.path().string());
    absl::StatusOr<sql::Lineage> lineage = sql::AnalyzeLineage(sql);
    if (!lineage.ok()) {
      failures.push_back(absl::StrCat(entry.path().string(), ": ", lineage.status().message()));
      continue;
    }
    unanalysable += lineage->unanalysable.empty() ? 0 : 1;
    sql::Linter linter;
    findings += static_cast<int>(linter.LintFile(entry.path().string(), sql, *lineage).size());
  }
  EXPECT_THAT(failures, IsEmpty());
  EXPECT_GE(files, 316 + 692);
  EXPECT_GT(unanalysable, 0);  // mattermost's DO blocks are reported, not guessed
  EXPECT_GT(findings, 0);
  std::cout << files << " corpus files analysed, " << unanalysable << " with DO blocks or CALLs, "
            << findings << " lint findings\n";
}

}  // namespace
}  // namespace schemad::engine
