// The catalog loader and the parser-based script analysis.
#include "server/catalog/catalog.h"

#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sql/script.h"
#include "tests/support/matchers.h"
#include "tests/support/test_postgres.h"

namespace schemad {
namespace {

using ::schemad::testing::IsOk;
using ::schemad::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FileNameTest, SplitsVersionAndName) {
  absl::StatusOr<FileName> name = ParseFileName("20251123_153004_add_fraud_tables.up.sql");
  ASSERT_THAT(name, IsOk());
  EXPECT_EQ(name->version, "20251123_153004");
  EXPECT_EQ(name->name, "add_fraud_tables");
  EXPECT_TRUE(name->up);
  name = ParseFileName("000042_2fa.down.sql");
  ASSERT_THAT(name, IsOk());
  EXPECT_EQ(name->version, "000042");
  EXPECT_EQ(name->name, "2fa");
  EXPECT_FALSE(name->up);
}

TEST(FileNameTest, BadNamesAreRefused) {
  EXPECT_THAT(ParseFileName("init.up.sql"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("init.up.sql: bad name")));
  EXPECT_THAT(ParseFileName("0001.up.sql"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad name")));
  EXPECT_THAT(ParseFileName("0001_x.sql"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad name")));
}

TEST(VersionTest, OrdersNumerically) {
  EXPECT_LT(CompareVersions("9", "10"), 0);
  EXPECT_EQ(CompareVersions("000042", "42"), 0);
  EXPECT_EQ(CompareVersions("20251123_153004", "20251123153004"), 0);
  EXPECT_GT(CompareVersions("20251123_220000", "20251123_153004"), 0);
  EXPECT_LT(CompareVersions("99999999999999999999", "100000000000000000000"), 0);
}

// Flyway's versions: part by part, 1.2 == 1.2.0, and still one numeric key for the history.
TEST(VersionTest, DottedVersionsOrderAsFlywayOrdersThem) {
  EXPECT_LT(CompareVersions("1.2.9", "1.2.10"), 0);
  EXPECT_LT(CompareVersions("1.2.10", "1.21"), 0);
  EXPECT_EQ(CompareVersions("1.2", "1.2.0"), 0);
  EXPECT_EQ(CompareVersions("01.002", "1.2"), 0);
  EXPECT_LT(CompareVersions("1.99", "2"), 0);
  EXPECT_LT(CompareVersions("2", "2.0.1"), 0);
  EXPECT_GT(CompareVersions("10.1", "9.999"), 0);
  EXPECT_EQ(VersionKey("1.2.0"), VersionKey("1.2"));
  EXPECT_LT(CompareVersions("1.1", "1.10"), 0);
  EXPECT_LT(CompareVersionKeys(VersionKey("1.1"), VersionKey("1.10")), 0);
  EXPECT_NE(VersionKey("1.1"), VersionKey("1.10"));
  EXPECT_EQ(VersionKey("3.0"), "3");
  EXPECT_EQ(VersionKey("1.2"), "1.000000000000000002");
  EXPECT_TRUE(IsVersion("1.2.10"));
  EXPECT_FALSE(IsVersion("1..2"));
  EXPECT_FALSE(IsVersion("1.2."));
  EXPECT_FALSE(IsVersion("1.1234567890123456789"));  // a part after a dot has 18 digits at most
  // Native names may carry a dotted version (an imported Flyway catalog), as their only
  // version part: a dotted part after another version part is the name.
  absl::StatusOr<FileName> imported = ParseFileName("1.2.10_add_email.up.sql");
  ASSERT_THAT(imported, IsOk());
  EXPECT_EQ(imported->version, "1.2.10");
  EXPECT_EQ(imported->name, "add_email");
  absl::StatusOr<FileName> plain = ParseFileName("20240101_1.2_fix.up.sql");
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->version, "20240101");
  EXPECT_EQ(plain->name, "1.2_fix");
  EXPECT_FALSE(IsVersion("1_2.3"));  // underscores and dots never mix
}

TEST(FlywayLayoutTest, VersionedAndUndoFilesWithPlaceholders) {
  const std::string dir = ::schemad::testing::MakeTempDir("schemad-flyway");
  ::schemad::testing::WriteFiles(
      dir, {{"catalog.yaml", "name: shop\nplaceholders:\n  owner: shop_owner\n"},
            {"V1__create_accounts.sql", "CREATE TABLE accounts (id int); -- ${flyway:filename}\n"},
            {"U1__create_accounts.sql", "DROP TABLE accounts;\n"},
            {"V1_1__add_email.sql", "ALTER TABLE accounts ADD COLUMN email text;\n"},
            {"V1.2.10__grant.sql", "SELECT '${owner}';\n"},
            {"V1.2.9__index.sql", "CREATE INDEX accounts_id ON accounts (id);\n"},
            {"README.md", "not a migration"}});
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->layout, "flyway");
  ASSERT_EQ(catalog->revisions.size(), 4u);
  EXPECT_EQ(catalog->revisions[0].Id(), "1_create_accounts");
  EXPECT_TRUE(catalog->revisions[0].down.has_value());
  EXPECT_EQ(catalog->revisions[1].version, "1.1");  // V1_1 is 1.1
  EXPECT_EQ(catalog->revisions[2].version, "1.2.9");
  EXPECT_EQ(catalog->revisions[3].version, "1.2.10");
  EXPECT_EQ(catalog->revisions[3].irreversible_reason, "no .down.sql");
  // Substituted before parsing; the text and checksum are of the file as written.
  const Revision& grant = catalog->revisions[3];
  ASSERT_THAT(grant.up.Parsed(), IsOk());
  EXPECT_THAT(std::string(grant.up.script().statements[0].text), HasSubstr("'shop_owner'"));
  EXPECT_THAT(grant.up.text(), HasSubstr("${owner}"));
  EXPECT_EQ(grant.up.checksum, Checksum("SELECT '${owner}';\n"));
  EXPECT_EQ(catalog->IndexOf("1.2.10"), 3);
  EXPECT_EQ(catalog->IndexOf("1.2.10.0"), 3);
  // An unknown placeholder, a repeatable and a script configuration are refused by name.
  ::schemad::testing::WriteFiles(dir, {{"V2__x.sql", "SELECT 1;\n\nSELECT '${nobody}';\n"}});
  EXPECT_THAT(LoadCatalog(dir),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("V2__x.sql: line 3: no value for placeholder ${nobody}"),
                             HasSubstr("catalog.yaml placeholders:"))));
  std::filesystem::remove(dir + "/V2__x.sql");
  ::schemad::testing::WriteFiles(dir, {{"R__views.sql", "CREATE VIEW v AS SELECT 1;\n"}});
  EXPECT_THAT(LoadCatalog(dir), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("R__views.sql: Flyway repeatable migrations")));
  std::filesystem::remove(dir + "/R__views.sql");
  ::schemad::testing::WriteFiles(dir,
                                 {{"V1_1__add_email.sql.conf", "executeInTransaction=false\n"}});
  EXPECT_THAT(LoadCatalog(dir), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("Flyway script configuration is not read")));
  std::filesystem::remove(dir + "/V1_1__add_email.sql.conf");
  ::schemad::testing::WriteFiles(dir, {{"V1.x__bad.sql", "SELECT 1;\n"}});
  EXPECT_THAT(LoadCatalog(dir),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("V1.x__bad.sql: bad name: version \"1.x\""),
                             HasSubstr("flyway layout"))));
}

TEST(SqitchLayoutTest, ThePlanOrdersTheChangesAndItsRequiresAreChecked) {
  const std::string dir = ::schemad::testing::MakeTempDir("schemad-sqitch");
  const std::string plan =
      "%syntax-version=1.0.0\n%project=flipr\n\n"
      "appschema 2024-01-30T10:00:00Z Marge <marge@example.com> # Add schema.\n"
      "users [appschema] 2024-01-30T10:05:00Z Marge <marge@example.com> # Users.\n"
      "@v1.0 2024-01-30T10:06:00Z Marge <marge@example.com> # Tag v1.0.\n\n"
      "flips [appschema users@v1.0 !nothing] 2024-01-30T10:07:00Z Marge <marge@example.com>\n";
  ::schemad::testing::WriteFiles(dir, {{"sqitch.plan", plan}, {"sqitch.conf", "[core]\n"}});
  ::schemad::testing::WriteFiles(
      dir + "/deploy",
      {{"appschema.sql",
        "-- Deploy flipr:appschema to pg\nBEGIN;\nCREATE SCHEMA flipr;\nCOMMIT;\n"},
       {"users.sql", "BEGIN;\nCREATE TABLE flipr.users (nickname text PRIMARY KEY);\nCOMMIT;\n"},
       {"flips.sql", "CREATE TABLE flipr.flips (id int);\n"}});
  ::schemad::testing::WriteFiles(dir + "/revert",
                                 {{"appschema.sql", "BEGIN;\nDROP SCHEMA flipr;\nCOMMIT;\n"},
                                  {"users.sql", "BEGIN;\nDROP TABLE flipr.users;\nCOMMIT;\n"}});
  ::schemad::testing::WriteFiles(
      dir + "/verify",
      {{"users.sql", "BEGIN;\nSELECT nickname FROM flipr.users WHERE false;\nROLLBACK;\n"}});
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->layout, "sqitch");
  ASSERT_EQ(catalog->revisions.size(), 3u);
  EXPECT_EQ(catalog->revisions[0].Id(), "1_appschema");
  EXPECT_EQ(catalog->revisions[1].Id(), "2_users");
  EXPECT_EQ(catalog->revisions[2].Id(), "3_flips");
  EXPECT_EQ(catalog->revisions[2].irreversible_reason, "no revert script");
  EXPECT_TRUE(catalog->layout_files.count("sqitch.plan"));
  // The deploy script's BEGIN ... COMMIT is the one transaction; the verify script's BEGIN ...
  // ROLLBACK is dropped (schemad rolls the checks back itself).
  ASSERT_THAT(catalog->revisions[1].up.Parsed(), IsOk());
  EXPECT_EQ(catalog->revisions[1].up.script().statements.size(), 1u);
  const sql::Script& verify = catalog->revisions[1].verify->script();
  ASSERT_EQ(verify.statements.size(), 1u);
  EXPECT_TRUE(verify.rolls_back);
  EXPECT_FALSE(verify.statements[0].transaction_control);

  // A requirement later in the plan, a conflict with an earlier change, a rework and a missing
  // deploy script are refused with the plan's line.
  const auto refused = [&](const std::string& text, const std::string& message) {
    ::schemad::testing::WriteFiles(dir, {{"sqitch.plan", text}});
    EXPECT_THAT(LoadCatalog(dir), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << text;
  };
  refused(
      "users [appschema] 2024-01-30T10:05:00Z M <m@e.com>\n"
      "appschema 2024-01-30T10:00:00Z M <m@e.com>\n",
      "sqitch.plan: line 1: users requires appschema, which is not earlier in the plan");
  refused(
      "appschema 2024-01-30T10:00:00Z M <m@e.com>\n"
      "users [!appschema] 2024-01-30T10:05:00Z M <m@e.com>\n",
      "line 2: users conflicts with appschema, which comes earlier");
  refused(
      "appschema 2024-01-30T10:00:00Z M <m@e.com>\n@v1 2024-01-30T10:00:00Z M <m@e.com>\n"
      "appschema 2024-01-30T11:00:00Z M <m@e.com>\n",
      "line 3: change appschema is reworked (also line 1)");
  refused("missing 2024-01-30T10:00:00Z M <m@e.com>\n",
          "sqitch.plan: line 1: change missing: its deploy script");
  refused("appschema M <m@e.com>\n", "line 1: expected the change's planned time");
  refused("%project=flipr\nschema/users 2024-01-30T10:00:00Z M <m@e.com>\n",
          "line 2: change schema/users: changes in script subfolders are not supported");
  refused("appschema 2024-01-30T10:00:00Z M <m@e.com>\n", "sqitch.plan: no %project pragma");
  // Tabs separate words too; "% project = x" is the project; an untouched revert template
  // undoes nothing, so its change is irreversible.
  ::schemad::testing::WriteFiles(
      dir, {{"sqitch.plan", "% project = flipr\nappschema\t2024-01-30T10:00:00Z\tM <m@e.com>\n"}});
  ::schemad::testing::WriteFiles(
      dir + "/revert", {{"appschema.sql", "-- Revert flipr:appschema\nBEGIN;\n-- XXX\nCOMMIT;\n"}});
  absl::StatusOr<Catalog> tabs = LoadCatalog(dir);
  ASSERT_THAT(tabs, IsOk());
  EXPECT_EQ(tabs->sqitch_project, "flipr");
  ASSERT_EQ(tabs->revisions.size(), 1u);
  EXPECT_FALSE(tabs->revisions[0].down.has_value());
  EXPECT_THAT(tabs->revisions[0].irreversible_reason, HasSubstr("its down file is empty"));
  // The plan is part of the digest: a new dependency or tag is a new catalog.
  const std::string digest = tabs->digest();
  ::schemad::testing::WriteFiles(
      dir, {{"sqitch.plan",
             "% project = flipr\nappschema\t2024-01-30T10:00:00Z\tM <m@e.com>\n"
             "@v1 2024-01-30T10:00:00Z M <m@e.com>\n"}});
  EXPECT_NE(LoadCatalog(dir)->digest(), digest);
  // A .sql file beside sqitch.plan mixes layouts.
  ::schemad::testing::WriteFiles(dir, {{"1_extra.up.sql", "SELECT 1;\n"}});
  EXPECT_THAT(LoadCatalog(dir),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("1_extra.up.sql: a .sql file beside sqitch.plan")));
}

// An up or down that ends in ROLLBACK would undo itself and still be recorded: the script says
// so, whether its wrapper is dropped or kept (BEGIN with options).
TEST(ScriptRollbackTest, AFileEndingInRollbackSaysSo) {
  absl::StatusOr<sql::Script> wrapped = sql::ParseScript("BEGIN;\nSELECT 1;\nROLLBACK;\n");
  ASSERT_THAT(wrapped, IsOk());
  EXPECT_TRUE(wrapped->rolls_back);
  EXPECT_EQ(wrapped->statements.size(), 1u);
  absl::StatusOr<sql::Script> kept = sql::ParseScript(
      "BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE t (id int);\nROLLBACK;\n");
  ASSERT_THAT(kept, IsOk());
  EXPECT_TRUE(kept->rolls_back);
  EXPECT_EQ(kept->statements.size(), 3u);
  absl::StatusOr<sql::Script> committed = sql::ParseScript("BEGIN;\nSELECT 1;\nCOMMIT;\n");
  ASSERT_THAT(committed, IsOk());
  EXPECT_FALSE(committed->rolls_back);
}

TEST(ChecksumTest, NormalisesLineEndings) {
  EXPECT_EQ(Checksum("a\r\nb\rc\n"), Checksum("a\nb\nc\n"));
  EXPECT_NE(Checksum("a\nb"), Checksum("a\nb\n"));
  EXPECT_EQ(Checksum("").substr(0, 3), "v1:");
  EXPECT_EQ(Checksum("").size(), 3u + 64u);
  // The digest of the text with CR LF and CR as LF, however the CRs fall.
  EXPECT_EQ(Checksum(""),
            "v1:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // sha256("")
  EXPECT_EQ(Checksum("abc"), "v1:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Checksum("\r"), Checksum("\n"));
  EXPECT_EQ(Checksum("a\r\r\nb\r"), Checksum("a\n\nb\n"));
  EXPECT_EQ(Checksum("\r\n\r\n"), Checksum("\n\n"));
  EXPECT_NE(Checksum("a\n\r"), Checksum("a\n"));
}

TEST(ScriptTest, SplitsWithTheRealParser) {
  absl::StatusOr<sql::Script> script = sql::ParseScript(
      "-- header\nCREATE TABLE a (x text DEFAULT ';');\n\n"
      "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n"
      "/* block ; comment */ INSERT INTO a VALUES ('it''s; fine')");
  ASSERT_THAT(script, IsOk());
  ASSERT_EQ(script->statements.size(), 3u);
  EXPECT_EQ(script->statements[0].line, 2);
  EXPECT_EQ(script->statements[0].text, "CREATE TABLE a (x text DEFAULT ';')");
  EXPECT_EQ(script->statements[1].line, 4);
  EXPECT_EQ(script->statements[1].kind, "CreateFunctionStmt");
  EXPECT_EQ(script->statements[2].line, 5);
  EXPECT_EQ(script->statements[2].text, "INSERT INTO a VALUES ('it''s; fine')");
  EXPECT_EQ(script->mode, sql::TransactionMode::kTransactional);
}

TEST(ScriptTest, EmptyAndCommentOnlyFilesHaveNoStatements) {
  for (const char* text : {"", "\n\n", "-- nothing here\n", "/* nor here */"}) {
    absl::StatusOr<sql::Script> script = sql::ParseScript(text);
    ASSERT_THAT(script, IsOk()) << text;
    EXPECT_TRUE(script->statements.empty()) << text;
  }
}

TEST(ScriptTest, SyntaxErrorGivesLineAndParserMessage) {
  EXPECT_THAT(sql::ParseScript("SELECT 1;\n\nCREATE TABLE t (id int,);\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("line 3"), HasSubstr("syntax error at or near \")\""))));
}

// PostgreSQL nests one level per operator: a CHECK with a long `+ + +` or `a || b || c` chain is
// a deep tree, which the decoder must read; a tree deeper than it reads names its statement.
TEST(ScriptTest, DeeplyNestedExpressionsParseOrNameTheirLine) {
  const std::string chain = std::string(150, '+');
  absl::StatusOr<sql::Script> script =
      sql::ParseScript(absl::StrCat("CREATE TABLE t (v int CHECK (", chain, "v = 1));\n"));
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_EQ(script->statements.size(), 1u);
  EXPECT_THAT(
      sql::ParseScript(absl::StrCat("SELECT 1;\n\nSELECT ", std::string(6000, '+'), "1;\n")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("line 3"), HasSubstr("nests deeper than 10000 levels"))));
}

// The scanner reads a large file a window at a time (its memory grows with what it scans). A
// window that ends inside a literal, a dollar quote or a comment, or inside one statement longer
// than the window, must not move a statement boundary: every statement keeps its text and line.
TEST(ScriptTest, LargeFilesWithLiteralsAcrossTheScannerWindowsKeepEveryStatement) {
  std::string text;
  std::vector<std::pair<int, std::string>> expected;  // (line, text)
  int line = 1;
  auto add = [&](const std::string& statement) {
    expected.emplace_back(line, statement);
    absl::StrAppend(&text, statement, ";\n");
    line += static_cast<int>(std::count(statement.begin(), statement.end(), '\n')) + 1;
  };
  for (int i = 0; text.size() < (7u << 20); ++i) {
    if (i % 5000 == 2500) {
      // A body of 2.5 MiB, longer than a window, full of lines and semicolons.
      std::string body = "CREATE FUNCTION f" + std::to_string(i) + "() RETURNS void AS $body$\n";
      while (body.size() < (5u << 19)) body += "  PERFORM 1; -- ';' and a line\n";
      add(body + "$body$ LANGUAGE plpgsql");
    } else {
      add(absl::StrCat("INSERT INTO t VALUES (", i, ", 'первa; ред\nвтор ред; ", i,
                       "\n', /* a comment;\n over lines */ 'x')"));
    }
  }
  // Window by window, with the default window and a tiny one, as one scan of the whole text.
  const std::vector<size_t> whole = sql::StatementStarts(text, text.size());
  ASSERT_EQ(whole.size(), expected.size());
  EXPECT_EQ(sql::StatementStarts(text), whole);
  EXPECT_EQ(sql::StatementStarts(text, 4096), whole);
  absl::StatusOr<sql::Script> script = sql::ParseScript(text);
  ASSERT_THAT(script, IsOk());
  ASSERT_EQ(script->statements.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(script->statements[i].line, expected[i].first) << "statement " << i;
    ASSERT_EQ(script->statements[i].text, expected[i].second) << "statement " << i;
  }
}

// Files over 1 MiB are parsed in pieces cut where the scanner sees statements end; the result
// is the same as one parse of the whole file, also where the scanner would cut a BEGIN ATOMIC
// body, and a syntax error keeps its line.
TEST(ScriptTest, LargeFilesParseInPiecesWithTheSameResult) {
  std::string text = "-- a seed file\nCREATE TABLE seed (id bigint PRIMARY KEY, title text);\n";
  int line = 3;
  for (int i = 0; i < 20000; ++i, ++line) {
    absl::StrAppend(&text, "INSERT INTO seed VALUES (", i, ", 'Набавка на опрема број ", i,
                    " со долг опис на предметот');\n");
  }
  const int function_line = line;
  // A function body of 1.5 MiB: the scanner splits it at every ';', the grammar does not.
  absl::StrAppend(&text, "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n");
  line += 2;
  while (text.size() < 4 * 1024 * 1024) {
    absl::StrAppend(&text, "  SELECT 1;\n");
    ++line;
  }
  absl::StrAppend(&text,
                  "  SELECT 2;\nEND;\nCREATE INDEX CONCURRENTLY seed_title ON seed (title);\n");
  const int index_line = line + 2;
  ASSERT_GT(text.size(), 2u << 20);
  absl::StatusOr<sql::Script> script = sql::ParseScript(text);
  ASSERT_THAT(script, IsOk());
  ASSERT_EQ(script->statements.size(), 20003u);
  EXPECT_EQ(script->statements[0].kind, "CreateStmt");
  EXPECT_EQ(script->statements[20000].line, function_line - 1);
  EXPECT_THAT(script->statements[20000].text, HasSubstr("VALUES (19999, "));
  EXPECT_EQ(script->statements[20001].kind, "CreateFunctionStmt");
  EXPECT_EQ(script->statements[20001].line, function_line);
  EXPECT_TRUE(absl::EndsWith(script->statements[20001].text, "SELECT 2;\nEND"));
  EXPECT_EQ(script->statements[20002].kind, "IndexStmt");
  EXPECT_EQ(script->statements[20002].line, index_line);
  EXPECT_EQ(script->statements[20002].concurrent_index, "\"seed_title\"");
  EXPECT_EQ(script->mode, sql::TransactionMode::kNonTransactional);

  // Without the function, the pieces parse on their own: the same statements, lines and text.
  std::string inserts = text.substr(0, text.find("CREATE FUNCTION"));
  while (inserts.size() < (3u << 20)) inserts += "SELECT 1;\n";
  absl::StatusOr<sql::Script> pieces = sql::ParseScript(inserts);
  ASSERT_THAT(pieces, IsOk());
  EXPECT_EQ(pieces->statements[20000].line, function_line - 1);
  EXPECT_EQ(pieces->statements.back().text, "SELECT 1");
  EXPECT_EQ(pieces->statements.back().line,
            static_cast<int>(std::count(inserts.begin(), inserts.end(), '\n')));

  inserts += "CREATE TABEL broken (id int);\n";
  EXPECT_THAT(
      sql::ParseScript(inserts),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(absl::StrCat("line ", std::count(inserts.begin(), inserts.end(), '\n'),
                                      ": syntax error"))));
}

// Issue 10, item 9: the parser's error cursor counts characters; lines are right after
// multi-byte text.
TEST(ScriptTest, SyntaxErrorLineIsRightAfterMultiByteText) {
  std::string text;
  for (int i = 0; i < 299; ++i) absl::StrAppend(&text, "-- комментарий на кириллице\n");
  absl::StrAppend(&text, "CREATE TABEL broken (id int);\n");
  EXPECT_THAT(sql::ParseScript(text),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 300: syntax error")));
}

TEST(ScriptTest, ConcurrentlyAndFriendsRunOutsideATransaction) {
  struct Case {
    const char* sql;
    const char* reason;
  } cases[] = {
      {"CREATE TABLE t(a int);\nCREATE INDEX CONCURRENTLY i ON t(a);", "CREATE INDEX CONCURRENTLY"},
      {"DROP INDEX CONCURRENTLY IF EXISTS i;", "DROP INDEX CONCURRENTLY"},
      {"REINDEX INDEX CONCURRENTLY i;", "REINDEX CONCURRENTLY"},
      {"VACUUM t;", "VACUUM"},
      {"CREATE DATABASE d;", "CREATE DATABASE"},
      {"ALTER SYSTEM SET work_mem = '8MB';", "ALTER SYSTEM"},
      {"ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;", "DETACH PARTITION ... CONCURRENTLY"},
      {"REINDEX SCHEMA public;", "REINDEX SCHEMA"},
      {"REINDEX DATABASE d;", "REINDEX DATABASE"},
      {"REINDEX SYSTEM d;", "REINDEX SYSTEM"},
      {"CREATE TABLESPACE ts LOCATION '/tmp/ts';", "CREATE TABLESPACE"},
      {"DROP TABLESPACE ts;", "DROP TABLESPACE"},
      {"DISCARD ALL;", "DISCARD ALL"},
      {"ALTER DATABASE d SET TABLESPACE ts;", "SET TABLESPACE"},
      {"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p;", "create_slot"},
      {"ALTER SUBSCRIPTION s REFRESH PUBLICATION;", "REFRESH PUBLICATION"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<sql::Script> script = sql::ParseScript(c.sql);
    ASSERT_THAT(script, IsOk()) << c.sql;
    EXPECT_EQ(script->mode, sql::TransactionMode::kNonTransactional) << c.sql;
    EXPECT_THAT(script->mode_reason, HasSubstr(c.reason));
  }
  absl::StatusOr<sql::Script> plain = sql::ParseScript(
      "CREATE INDEX i ON t(a); ANALYZE t; DISCARD PLANS; REINDEX (CONCURRENTLY false) TABLE t;\n"
      "ALTER TABLE p DETACH PARTITION p1; ALTER TABLE p DETACH PARTITION p1 FINALIZE;\n"
      "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (connect = false);\n"
      "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false);");
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->mode, sql::TransactionMode::kTransactional);
}

TEST(ScriptTest, DirectiveForcesNonTransactional) {
  absl::StatusOr<sql::Script> script =
      sql::ParseScript("-- a comment\n-- schemad:no-transaction\nUPDATE t SET a = 1;");
  ASSERT_THAT(script, IsOk());
  EXPECT_EQ(script->mode, sql::TransactionMode::kNonTransactional);
  EXPECT_THAT(script->mode_reason, HasSubstr("directive"));
  // Only leading comments are directives.
  script = sql::ParseScript("UPDATE t SET a = 1;\n-- schemad:no-transaction\n");
  ASSERT_THAT(script, IsOk());
  EXPECT_EQ(script->mode, sql::TransactionMode::kTransactional);
}

TEST(ScriptTest, OwnBeginCommitWrapperIsDroppedNotNested) {
  absl::StatusOr<sql::Script> script =
      sql::ParseScript("BEGIN;\nCREATE TABLE a(x int);\nCREATE TABLE b(y int);\nCOMMIT;\n");
  ASSERT_THAT(script, IsOk());
  EXPECT_EQ(script->mode, sql::TransactionMode::kTransactional);
  ASSERT_EQ(script->statements.size(), 2u);
  EXPECT_EQ(script->statements[0].text, "CREATE TABLE a(x int)");
  EXPECT_THAT(script->mode_reason, HasSubstr("BEGIN ... COMMIT"));
}

TEST(ScriptTest, CommitInTheMiddleMakesTheFileNonTransactional) {
  absl::StatusOr<sql::Script> script =
      sql::ParseScript("CREATE TABLE a(x int);\nCOMMIT;\nCREATE TABLE b(y int);\n");
  ASSERT_THAT(script, IsOk());
  EXPECT_EQ(script->mode, sql::TransactionMode::kNonTransactional);
  EXPECT_THAT(script->mode_reason,
              AllOf(HasSubstr("statement 2"), HasSubstr("transaction control")));
}

TEST(ScriptTest, CommitAndChainRunsInsideARunnerTransactionWithCheckpoints) {
  absl::StatusOr<sql::Script> script = sql::ParseScript(
      "CREATE TABLE a(id int);\nCOMMIT AND CHAIN;\nSAVEPOINT s;\nCREATE TABLE b(id int);\n"
      "RELEASE SAVEPOINT s;\n");
  ASSERT_THAT(script, IsOk());
  EXPECT_EQ(script->mode, sql::TransactionMode::kChained);
  EXPECT_THAT(script->mode_reason, HasSubstr("durable checkpoint"));
  ASSERT_EQ(script->statements.size(), 5u);
  EXPECT_TRUE(script->statements[1].commit_and_chain);
  EXPECT_FALSE(script->statements[1].transaction_control);
  EXPECT_FALSE(script->statements[2].transaction_control);  // SAVEPOINT works inside
  // Wrapped in the file's own BEGIN ... COMMIT, still chained.
  script =
      sql::ParseScript("BEGIN;\nCREATE TABLE a(id int);\nCOMMIT AND CHAIN;\nSELECT 1;\nCOMMIT;\n");
  ASSERT_THAT(script, IsOk());
  EXPECT_EQ(script->mode, sql::TransactionMode::kChained);
  EXPECT_EQ(script->statements.size(), 3u);
  // A chain needs a transaction, CONCURRENTLY refuses one: the file is refused, naming both.
  EXPECT_THAT(sql::ParseScript("CREATE INDEX CONCURRENTLY i ON t(a);\nCOMMIT AND CHAIN;\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("statement 2 (line 2)"), HasSubstr("statement 1 (line 1)"),
                             HasSubstr("split the file"))));
}

TEST(ScriptTest, TimeoutAndDownIsNoopDirectives) {
  absl::StatusOr<sql::Script> script = sql::ParseScript(
      "-- schemad:timeout 90s\n-- schemad:down-is-noop\nCREATE INDEX CONCURRENTLY i ON t(a);");
  ASSERT_THAT(script, IsOk());
  ASSERT_TRUE(script->timeout.has_value());
  EXPECT_EQ(*script->timeout, absl::Seconds(90));
  EXPECT_TRUE(script->down_is_noop);
  EXPECT_EQ(script->statements[0].concurrent_index, "\"i\"");
  EXPECT_THAT(sql::ParseScript("-- schemad:timeout soon\nSELECT 1;"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("line 1"), HasSubstr("schemad:timeout \"soon\""))));
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("schemad-catalog"); }
  std::string dir_;
};

TEST_F(CatalogTest, LoadsOrderedRevisionsAndManifest) {
  testing::WriteFiles(dir_, {{"10_ten.up.sql", "CREATE TABLE ten(id int);"},
                             {"10_ten.down.sql", "DROP TABLE ten;"},
                             {"9_nine.up.sql", "-- only a comment\n"},
                             {"README.md", "not a migration"},
                             {"catalog.yaml",
                              "name: demo\ndescription: a demo\ncoverage:\n  required:\n"
                              "    - table: ten\n      columns: [id]\n    - nine\n"}});
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir_);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->name, "demo");
  EXPECT_EQ(catalog->description, "a demo");
  ASSERT_EQ(catalog->revisions.size(), 2u);
  EXPECT_EQ(catalog->revisions[0].version, "9");
  EXPECT_FALSE(catalog->revisions[0].down.has_value());
  EXPECT_TRUE(catalog->revisions[0].up.script().statements.empty());
  EXPECT_EQ(catalog->revisions[1].Id(), "10_ten");
  EXPECT_EQ(catalog->IndexOf("010"), 1);
  EXPECT_EQ(catalog->IndexOf("11"), -1);
  ASSERT_EQ(catalog->coverage.size(), 2u);
  EXPECT_THAT(catalog->coverage[0].columns, ElementsAre("id"));
  EXPECT_EQ(catalog->coverage[1].table, "nine");
}

TEST_F(CatalogTest, EmptyDownOfANonEmptyUpIsIrreversibleUnlessDeclared) {
  testing::WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE a(id int);"},
                             {"1_a.down.sql", "-- nothing to undo\n"},
                             {"2_b.up.sql", "-- schemad:down-is-noop\nUPDATE a SET id = id;"},
                             {"2_b.down.sql", "-- data fix: nothing to undo\n"},
                             {"3_c.up.sql", "-- superseded\n"},
                             {"3_c.down.sql", ""}});
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir_);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_FALSE(catalog->revisions[0].down.has_value());
  EXPECT_THAT(catalog->revisions[0].irreversible_reason,
              AllOf(HasSubstr("down file is empty"), HasSubstr("schemad:down-is-noop")));
  EXPECT_TRUE(catalog->revisions[1].down.has_value());
  EXPECT_TRUE(catalog->revisions[2].down.has_value());  // empty up, empty down: consistent
  // A catalog written for another tool can say so once, in catalog.yaml.
  testing::WriteFiles(dir_, {{"catalog.yaml", "name: x\nempty_down_is_noop: true\n"}});
  catalog = LoadCatalog(dir_);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_TRUE(catalog->revisions[0].down.has_value());
}

// Issue 10, items 1, 2 and 4: what the parser, the checksum and the plan see is one text, valid
// UTF-8; only regular files are read.
TEST_F(CatalogTest, NulBytesInvalidUtf8AndSpecialFilesAreRefusedNamingThePlace) {
  testing::WriteFiles(dir_, {{"1_a.up.sql", std::string("CREATE TABLE a2 (id int);\n\0\nCREATE "
                                                        "TABLE a3 (id int);\n",
                                                        47)}});
  EXPECT_THAT(LoadCatalog(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                          AllOf(HasSubstr("1_a.up.sql"),
                                                HasSubstr("line 2, column 1 (byte offset 26)"),
                                                HasSubstr("NUL byte"))));
  testing::WriteFiles(dir_, {{"1_a.up.sql", "-- caf\xe9\nSELECT 1;\n"}});
  EXPECT_THAT(LoadCatalog(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("1_a.up.sql"), HasSubstr("line 1, column 7 (byte offset 6)"),
                             HasSubstr("not valid UTF-8"))));
  testing::WriteFiles(dir_, {{"1_a.up.sql", "-- кириллица, valid UTF-8\nSELECT 1;\n"}});
  EXPECT_THAT(LoadCatalog(dir_), IsOk());

  const std::string fifo = dir_ + "/2_fifo.up.sql";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(LoadCatalog(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("2_fifo.up.sql"), HasSubstr("not a regular file"))));
  std::filesystem::remove(fifo);
  std::filesystem::create_symlink("/dev/zero", dir_ + "/3_zero.up.sql");
  EXPECT_THAT(LoadCatalog(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("3_zero.up.sql"), HasSubstr("not a regular file"))));
  std::filesystem::remove(dir_ + "/3_zero.up.sql");
  std::filesystem::create_symlink(dir_ + "/4_loop.up.sql", dir_ + "/4_loop.up.sql");
  EXPECT_THAT(LoadCatalog(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("4_loop.up.sql"), HasSubstr("symbolic links"))));
}

// Issue 10, item 7: catalog.yaml values of the wrong type fail, naming the key and the type.
TEST_F(CatalogTest, CatalogYamlTypesAreChecked) {
  testing::WriteFiles(dir_, {{"001_a.up.sql", "SELECT 1;"}});
  struct Case {
    const char* yaml;
    const char* message;
  } cases[] = {
      {"coverage:\n  required: users\n", "line 2: coverage.required: expected a list of tables"},
      {"coverage: all of them\n", "coverage: expected a mapping with schema and required"},
      {"name: ''\n", "name: expected 1 to 128 letters"},
      {"name: [a, b]\n", "name: expected a name"},
      {"empty_down_is_noop: sometimes\n", "empty_down_is_noop: expected true or false"},
      {"coverage:\n  required:\n    - table: t\n      columns: id\n",
       "coverage.required[].columns: expected a list of names"},
  };
  for (const Case& c : cases) {
    testing::WriteFiles(dir_, {{"catalog.yaml", c.yaml}});
    EXPECT_THAT(LoadCatalog(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                            AllOf(HasSubstr("catalog.yaml"), HasSubstr(c.message))))
        << c.yaml;
  }
}

// Issue 10, item 10: no .sql file is silently ignored.
TEST_F(CatalogTest, UpperCaseSuffixIsAnErrorNotIgnored) {
  testing::WriteFiles(dir_, {{"001_a.up.sql", "SELECT 1;"},
                             {"002_x.UP.SQL", "SELECT 2;"},
                             {"README.md", "notes"},
                             {".gitkeep", ""}});
  EXPECT_THAT(LoadCatalog(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                          AllOf(HasSubstr("002_x.UP.SQL"), HasSubstr("bad name"))));
}

TEST_F(CatalogTest, DuplicateVersionNamesBothFiles) {
  testing::WriteFiles(dir_, {{"001_a.up.sql", "SELECT 1;"}, {"1_b.up.sql", "SELECT 2;"}});
  EXPECT_THAT(LoadCatalog(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("duplicate version"), HasSubstr("001_a.up.sql"),
                             HasSubstr("1_b.up.sql"))));
}

TEST_F(CatalogTest, DownWithoutUpIsNamed) {
  testing::WriteFiles(dir_, {{"002_x.down.sql", "SELECT 1;"}});
  EXPECT_THAT(LoadCatalog(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                          AllOf(HasSubstr("002_x.down.sql"),
                                                HasSubstr("down file without an up file"))));
}

TEST_F(CatalogTest, BadNameIsNamed) {
  testing::WriteFiles(dir_, {{"initial.up.sql", "SELECT 1;"}});
  EXPECT_THAT(LoadCatalog(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("initial.up.sql: bad name")));
}

TEST_F(CatalogTest, SyntaxErrorNamesFileAndLine) {
  testing::WriteFiles(dir_, {{"001_a.up.sql", "CREATE TABLE a(id int);\n"},
                             {"002_b.up.sql", "CREATE TABLE b(id int);\n"},
                             {"003_bad.up.sql", "CREATE TABLE a(id int);\nCREAT TABLE b();\n"}});
  // Loading reads the file; its SQL is parsed when first needed, and the error names it.
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir_);
  ASSERT_THAT(catalog, IsOk());
  ASSERT_EQ(catalog->revisions.size(), 3u);
  EXPECT_THAT(catalog->revisions[0].up.Parsed(), IsOk());
  EXPECT_THAT(
      catalog->revisions[2].up.Parsed(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("003_bad.up.sql"), HasSubstr("line 2"), HasSubstr("syntax error"))));
  // Parsed once: the same answer, from the same object.
  EXPECT_EQ(&catalog->revisions[2].up.Parsed(), &catalog->revisions[2].up.Parsed());
}

TEST_F(CatalogTest, UnreadableFileIsNamed) {
  testing::WriteFiles(dir_, {{"004_x.up.sql", "SELECT 1;"}});
  std::filesystem::create_symlink(dir_ + "/missing", dir_ + "/006_dangling.up.sql");
  EXPECT_THAT(LoadCatalog(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                          AllOf(HasSubstr("006_dangling.up.sql"),
                                                HasSubstr("No such file or directory"))));
}

// A down file that only opens and commits a transaction undoes nothing, like an empty one.
TEST_F(CatalogTest, ADownFileOfOnlyBeginCommitIsEmpty) {
  testing::WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE a (id int);\n"},
                             {"1_a.down.sql", "-- nothing\nBEGIN;\n/* really */ COMMIT;\n"},
                             {"2_b.up.sql", "CREATE TABLE b (id int);\n"},
                             {"2_b.down.sql", "BEGIN;\nDROP TABLE b;\nCOMMIT;\n"}});
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir_);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_FALSE(catalog->revisions[0].down.has_value());
  EXPECT_THAT(catalog->revisions[0].irreversible_reason, HasSubstr("its down file is empty"));
  EXPECT_TRUE(catalog->revisions[1].down.has_value());
  EXPECT_TRUE(sql::IsEmptyScript("  ;\n-- c\nstart transaction; end work;"));
  EXPECT_FALSE(sql::IsEmptyScript("BEGIN; SELECT 1; COMMIT;"));
}

TEST_F(CatalogTest, AFolderNamedLikeARevisionIsAnError) {
  std::filesystem::create_directory(dir_ + "/005_dir.up.sql");
  EXPECT_THAT(LoadCatalog(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("005_dir.up.sql"), HasSubstr("not a regular file"))));
}

TEST_F(CatalogTest, MissingFolderIsNotFound) {
  EXPECT_THAT(LoadCatalog(dir_ + "/nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
}

TEST(BundledCatalogTest, NabavkidataLoads) {
  absl::StatusOr<Catalog> catalog = LoadCatalog(SCHEMAD_SOURCE_DIR "/migrations/nabavkidata");
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->name, "nabavkidata");
  ASSERT_GE(catalog->revisions.size(), 2u);
  EXPECT_EQ(catalog->revisions[0].Id(), "20251123_153004_add_fraud_prevention_tables");
  EXPECT_EQ(catalog->revisions[1].Id(), "20251123_220000_create_missing_tables");
  EXPECT_EQ(catalog->coverage.size(), 22u);
  for (const Revision& revision : catalog->revisions) {
    EXPECT_TRUE(revision.down.has_value()) << revision.Id();
  }
}

TEST(CorpusTest, MattermostLoadsAndConcurrentlyFilesAreDetected) {
  const std::string dir =
      SCHEMAD_SOURCE_DIR "/../shared/corpora/mattermost/server/channels/db/migrations/postgres";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "../shared/corpora is absent: " << dir;
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->revisions.size(), 158u);
  std::vector<std::string> non_transactional_up;
  int non_transactional_down = 0;
  std::vector<std::string> irreversible;
  for (const Revision& revision : catalog->revisions) {
    if (revision.up.script().mode == sql::TransactionMode::kNonTransactional) {
      non_transactional_up.push_back(revision.version);
    }
    if (!revision.down) {
      EXPECT_THAT(revision.irreversible_reason, HasSubstr("down file is empty")) << revision.Id();
      irreversible.push_back(revision.version);
      continue;
    }
    if (revision.down->script().mode == sql::TransactionMode::kNonTransactional) {
      ++non_transactional_down;
    }
  }
  // Comment-only downs of non-empty ups roll back nothing: irreversible unless declared.
  // (000081 and 000094 are empty both ways: consistent, so reversible.)
  EXPECT_THAT(irreversible,
              ElementsAre("000015", "000074", "000076", "000077", "000088", "000095", "000105",
                          "000107", "000108", "000114", "000123", "000124", "000125", "000126"));
  // REPORT.md: 8 up and 7 down files hold CONCURRENTLY (000158 down lost its header upstream,
  // the parser finds it anyway).
  EXPECT_THAT(non_transactional_up, ElementsAre("000118", "000131", "000132", "000135", "000143",
                                                "000154", "000155", "000158"));
  EXPECT_EQ(non_transactional_down, 7);
}

// Ory popx: the postgres file wins over the generic one, other dialects are not read,
// .autocommit (alone, or after the dialect) runs outside a transaction, empty files are no-ops.
TEST(PopxLayoutTest, SelectsPostgresFilesAndHonoursAutocommit) {
  const std::string dir = ::schemad::testing::MakeTempDir("schemad-popx");
  ::schemad::testing::WriteFiles(
      dir,
      {{"20210101000000000001_accounts.up.sql", "CREATE TABLE a (id int);"},
       {"20210101000000000001_accounts.postgres.up.sql", "CREATE TABLE a (id bigint);"},
       {"20210101000000000001_accounts.mysql.up.sql", "CREATE TABLE a (id int) ENGINE=x;"},
       {"20210101000000000001_accounts.down.sql", "DROP TABLE a;"},
       {"20210101000000000002_index.postgres.autocommit.up.sql",
        "CREATE INDEX CONCURRENTLY a_id ON a (id);"},
       {"20210101000000000002_index.postgres.autocommit.down.sql", "DROP INDEX CONCURRENTLY a_id;"},
       {"20210101000000000003_nothing.up.sql", ""},
       {"20210101000000000003_nothing.down.sql", ""},
       {"20210101000000000004_plain.autocommit.up.sql", "CREATE INDEX b ON a (id);"},
       {"20210101000000000004_plain.autocommit.down.sql", "DROP INDEX b;"},
       {"20210101000000000005_seed.postgres.up.sql", "INSERT INTO a VALUES (1);"},
       {"20210101000000000005_seed.postgres.down.sql", ""}});
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->layout, "popx");
  ASSERT_EQ(catalog->revisions.size(), 5u);
  const Revision& accounts = catalog->revisions[0];
  EXPECT_EQ(accounts.Id(), "20210101000000000001_accounts");
  EXPECT_THAT(accounts.up.path, HasSubstr("accounts.postgres.up.sql"));
  EXPECT_THAT(accounts.down->path, HasSubstr("accounts.down.sql"));
  EXPECT_EQ(accounts.up.script().mode, sql::TransactionMode::kTransactional);
  const Revision& plain = catalog->revisions[3];
  EXPECT_EQ(plain.up.script().mode, sql::TransactionMode::kNonTransactional);
  EXPECT_THAT(plain.up.script().mode_reason, HasSubstr("outside a transaction (.autocommit"));
  EXPECT_EQ(catalog->revisions[1].up.script().mode, sql::TransactionMode::kNonTransactional);
  // Empty files are no-ops both ways: every revision can be rolled back.
  for (const Revision& revision : catalog->revisions) {
    EXPECT_TRUE(revision.down.has_value()) << revision.Id() << ": " << revision.irreversible_reason;
  }
  // A segment popx does not know is named.
  ::schemad::testing::WriteFiles(dir, {{"20210101000000000006_x.oracle.postgres.up.sql", ""}});
  EXPECT_THAT(LoadCatalog(dir), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("unknown segment \"oracle\"")));
}

TEST(CorpusTest, KratosLoadsThroughThePopxReader) {
  const std::string dir =
      SCHEMAD_SOURCE_DIR "/../shared/corpora/kratos/persistence/sql/migrations/sql";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "../shared/corpora is absent: " << dir;
  absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->layout, "popx");
  EXPECT_EQ(catalog->revisions.size(), 346u);
  int non_transactional = 0;
  for (const Revision& revision : catalog->revisions) {
    ASSERT_TRUE(revision.down.has_value()) << revision.Id() << ": " << revision.irreversible_reason;
    ASSERT_THAT(revision.up.Parsed(), IsOk()) << revision.Id();
    non_transactional += revision.up.script().mode == sql::TransactionMode::kNonTransactional;
  }
  // REPORT.md: 8 generic and 2 postgres .autocommit migrations.
  EXPECT_EQ(non_transactional, 10);
}

// One file per revision with up and down sections, read in place: dbmate, goose, sql-migrate.
TEST(SectionedLayoutTest, DbmateGooseAndSqlMigrateFilesSplitIntoUpAndDown) {
  struct Case {
    std::string layout;
    std::map<std::string, std::string> files;
  };
  const std::vector<Case> cases = {
      {"dbmate",
       {{"20240101120000_accounts.sql",
         "-- migrate:up\nCREATE TABLE accounts (id int);\n\n--migrate:down\nDROP TABLE "
         "accounts;\n"},
        {"20240102120000_index.sql",
         "-- migrate:up transaction:false\nCREATE INDEX accounts_id ON accounts (id);\n"
         "-- migrate:down\nDROP INDEX accounts_id;\n"}}},
      {"goose",
       {{"00001_accounts.sql",
         "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE accounts (id int);\n"
         "-- +goose StatementEnd\n-- +goose Down\nDROP TABLE accounts;\n"},
        {"00002_index.sql",
         "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX accounts_id ON accounts (id);\n"
         "-- +goose Down\nDROP INDEX accounts_id;\n"}}},
      {"sql-migrate",
       {{"1_accounts.sql",
         "-- +migrate Up\nCREATE TABLE accounts (id int);\n-- +migrate Down\nDROP TABLE "
         "accounts;\n"},
        {"2_index.sql",
         "-- +migrate Up notransaction\nCREATE INDEX accounts_id ON accounts (id);\n"
         "-- +migrate Down\nDROP INDEX accounts_id;\n"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.layout);
    const std::string dir = ::schemad::testing::MakeTempDir("schemad-sectioned");
    ::schemad::testing::WriteFiles(dir, c.files);
    absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
    ASSERT_THAT(catalog, IsOk());
    EXPECT_EQ(catalog->layout, c.layout);
    ASSERT_EQ(catalog->revisions.size(), 2u);
    const Revision& accounts = catalog->revisions[0];
    EXPECT_EQ(accounts.name, "accounts");
    ASSERT_TRUE(accounts.down.has_value());
    ASSERT_THAT(accounts.up.Parsed(), IsOk());
    ASSERT_EQ(accounts.up.script().statements.size(), 1u);
    EXPECT_THAT(std::string(accounts.up.script().statements[0].text),
                HasSubstr("CREATE TABLE accounts"));
    EXPECT_THAT(std::string(accounts.down->script().statements[0].text),
                HasSubstr("DROP TABLE accounts"));
    EXPECT_EQ(accounts.up.script().mode, sql::TransactionMode::kTransactional);
    const Revision& index = catalog->revisions[1];
    EXPECT_EQ(index.up.script().mode, sql::TransactionMode::kNonTransactional) << c.layout;
    EXPECT_EQ(index.down->script().mode, c.layout == "goose"
                                             ? sql::TransactionMode::kNonTransactional
                                             : sql::TransactionMode::kTransactional);
  }
  // Detected from "--migrate:up" too, with a verify script beside the one-file revision; a bad
  // name is named as it is.
  {
    const std::string dir = ::schemad::testing::MakeTempDir("schemad-sectioned");
    ::schemad::testing::WriteFiles(
        dir,
        {{"1_a.sql", "--migrate:up\nCREATE TABLE a (id int);\n--migrate:down\nDROP TABLE a;\n"},
         {"1_a.verify.sql", "SELECT 1;\n"}});
    absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
    ASSERT_THAT(catalog, IsOk());
    EXPECT_EQ(catalog->layout, "dbmate");
    ASSERT_EQ(catalog->revisions.size(), 1u);
    EXPECT_TRUE(catalog->revisions[0].verify.has_value());
    ::schemad::testing::WriteFiles(dir, {{"schema.sql", "-- migrate:up\nSELECT 1;\n"}});
    EXPECT_THAT(LoadCatalog(dir),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("/schema.sql: bad name: expected <version>_<name>.sql "
                                         "(dbmate layout)"))));
  }
  // A syntax error names the file's own line, and mixed layouts are refused.
  const std::string dir = ::schemad::testing::MakeTempDir("schemad-sectioned");
  ::schemad::testing::WriteFiles(
      dir, {{"1_bad.sql", "-- +migrate Up\nCREATE TABLE ok (id int);\nCREATE TABLEX no;\n"}});
  absl::StatusOr<Catalog> bad = LoadCatalog(dir);
  ASSERT_THAT(bad, IsOk());
  EXPECT_THAT(bad->revisions[0].up.Parsed(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("1_bad.sql"), HasSubstr("line 3"))));
  EXPECT_EQ(bad->revisions[0].irreversible_reason, "no down section");
  ::schemad::testing::WriteFiles(dir, {{"2_other.up.sql", "SELECT 1;"}});
  EXPECT_THAT(LoadCatalog(dir),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the folder mixes layouts")));
}

}  // namespace
}  // namespace schemad
