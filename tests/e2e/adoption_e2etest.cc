// Moving onto schemad: baseline with and without --verify, and adopt from other tools' history
// tables: written by the real tools where Debian ships them (Alembic, sql-migrate), else
// created exactly as the tools' sources create them (cited) with realistic rows.
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "server/common/subprocess.h"
#include "tests/support/golden.h"
#include "tests/support/server_process.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kShopUp[] = SCHEMAD_SOURCE_DIR "/tests/testdata/drift/catalog/1_shop.up.sql";

std::unique_ptr<ServerProcess> Start(const std::string& catalog, const std::string& dsn) {
  ServerConfig config;
  config.targets.push_back({"t", "dev", catalog, dsn, ""});
  auto server = ServerProcess::Start(config);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// Two revisions, a and b, as a native catalog (with `yaml` as catalog.yaml); with `third`, a
// revision 3 (table c) that no tool applied.
std::string TwoTables(const std::string& yaml = "", bool third = false) {
  const std::string dir = MakeTempDir("schemad-adopt");
  std::map<std::string, std::string> files = {
      {"1_a.up.sql", "CREATE TABLE a (id int PRIMARY KEY);\n"},
      {"1_a.down.sql", "DROP TABLE a;\n"},
      {"2_b.up.sql", "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);\n"},
      {"2_b.down.sql", "DROP TABLE b;\n"}};
  if (!yaml.empty()) files["catalog.yaml"] = yaml;
  if (third) files["3_c.up.sql"] = "CREATE TABLE c (id int);\n";
  WriteFiles(dir, files);
  return dir;
}

constexpr char kTwoTablesSql[] =
    "CREATE TABLE a (id int PRIMARY KEY); "
    "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);";

TEST(BaselineE2eTest, VerifyRefusesAnExtraColumnAndWithoutItNothingIsChecked) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  TestPostgres::MustQuery(dsn, ReadTextFile(kShopUp));
  TestPostgres::MustQuery(dsn, "ALTER TABLE orders ADD COLUMN legacy_flag boolean");
  const std::string catalog = SCHEMAD_SOURCE_DIR "/tests/testdata/drift/catalog";
  auto server = Start(catalog, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult verified =
      server->Cli({"baseline", "-t", "t", "--to", "1", "--verify", "--reason", "built by hand"});
  EXPECT_EQ(verified.exit_code, 6) << verified.out << verified.err;
  EXPECT_THAT(verified.err, AllOf(HasSubstr("baseline refused (--verify)"),
                                  HasSubstr("unexpected column public.orders.legacy_flag")));
  EXPECT_THAT(server->Cli({"status", "-t", "t"}).out, HasSubstr("0 applied"));
  CommandResult unverified =
      server->Cli({"baseline", "-t", "t", "--to", "1", "--reason", "built by hand"});
  EXPECT_EQ(unverified.exit_code, 0) << unverified.err;
  EXPECT_THAT(unverified.out,
              AllOf(HasSubstr("recorded 1 revision(s) as applied without running them"),
                    HasSubstr("NOT VERIFIED: nothing was checked")));
  EXPECT_THAT(server->Cli({"status", "-t", "t"}).out, HasSubstr("1 applied"));
  EXPECT_THAT(server->Cli({"history", "-t", "t"}).out, HasSubstr("baseline"));
  // The drift is still there to see, and a second baseline records nothing.
  EXPECT_THAT(server->Cli({"drift", "-t", "t"}).out,
              HasSubstr("unexpected column  public.orders.legacy_flag"));
  EXPECT_THAT(server->Cli({"baseline", "-t", "t", "--to", "1", "--reason", "again"}).out,
              AllOf(HasSubstr("nothing new to record"), HasSubstr("already recorded: 1")));
  EXPECT_EQ(server->Cli({"baseline", "-t", "t", "--to", "7", "--reason", "x"}).exit_code, 1);
}

TEST(AdoptE2eTest, FromAlembicWithTheRealToolInOneCommand) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  // The DSN's keywords as the URL's query (psycopg2 passes them to libpq).
  std::string query, db;
  for (absl::string_view word : absl::StrSplit(dsn, ' ', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&word, "dbname=")) {
      db = std::string(word);
    } else {
      absl::StrAppend(&query, query.empty() ? "" : "&", word);
    }
  }
  const std::string project = MakeTempDir("schemad-alembic");
  const std::string catalog =
      TwoTables("adopt:\n  alembic:\n    ae1027a6acf: 1\n    5d2f3c8b9e01: 2\n");
  WriteFiles(project,
             {{"alembic.ini",
               absl::StrCat("[alembic]\nscript_location = ", project,
                            "\nsqlalchemy.url = postgresql+psycopg2:///", db, "?", query,
                            "\n[loggers]\nkeys = root\n[handlers]\nkeys = null\n[formatters]\n"
                            "keys =\n[logger_root]\nlevel = WARN\nhandlers = null\n"
                            "[handler_null]\nclass = NullHandler\nargs = ()\n")},
              {"env.py",
               "from alembic import context\nfrom sqlalchemy import engine_from_config, pool\n"
               "config = context.config\n"
               "engine = engine_from_config(config.get_section(config.config_ini_section), "
               "prefix='sqlalchemy.', poolclass=pool.NullPool)\n"
               "with engine.connect() as connection:\n"
               "    context.configure(connection=connection, target_metadata=None)\n"
               "    with context.begin_transaction():\n        context.run_migrations()\n"},
              {"script.py.mako", ""}});
  WriteFiles(project + "/versions",
             {{"ae1027a6acf_a.py",
               "from alembic import op\nrevision = 'ae1027a6acf'\ndown_revision = None\n"
               "def upgrade():\n    op.execute('CREATE TABLE a (id int PRIMARY KEY)')\n"
               "def downgrade():\n    op.execute('DROP TABLE a')\n"},
              {"5d2f3c8b9e01_b.py",
               "from alembic import op\nrevision = '5d2f3c8b9e01'\ndown_revision = 'ae1027a6acf'\n"
               "def upgrade():\n    op.execute('CREATE TABLE b (id int PRIMARY KEY, a_id int "
               "REFERENCES a)')\ndef downgrade():\n    op.execute('DROP TABLE b')\n"}});
  absl::StatusOr<CommandResult> upgraded = RunCommand(
      {"/usr/bin/python3", "-m", "alembic", "-c", project + "/alembic.ini", "upgrade", "head"});
  ASSERT_TRUE(upgraded.ok());
  ASSERT_EQ(upgraded->exit_code, 0) << upgraded->err;

  auto server = Start(catalog, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult adopted = server->Cli({"adopt", "-t", "t", "--from", "alembic", "--verify"});
  EXPECT_EQ(adopted.exit_code, 0) << adopted.out << adopted.err;
  EXPECT_THAT(adopted.out,
              AllOf(HasSubstr("read alembic_version (left as it is)"),
                    HasSubstr("recorded 2 revision(s) as applied without running them"),
                    HasSubstr("verified: the live schema is the catalog's")));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT version_num FROM alembic_version"),
            "5d2f3c8b9e01");
  EXPECT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  EXPECT_THAT(server->Cli({"status", "-t", "t"}).out,
              AllOf(HasSubstr("2 applied"), HasSubstr("0 pending")));
  EXPECT_THAT(server->Cli({"drift", "-t", "t"}).out, HasSubstr("no drift"));
}

TEST(AdoptE2eTest, FromSqlMigrateWithTheRealToolKeepsWhenItRan) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string project = MakeTempDir("schemad-sql-migrate");
  WriteFiles(project, {{"dbconfig.yml",
                        absl::StrCat("test:\n  dialect: postgres\n  datasource: ", dsn,
                                     " sslmode=disable\n  dir: ", project, "/migrations\n")}});
  WriteFiles(project + "/migrations",
             {{"1_a.sql",
               "-- +migrate Up\nCREATE TABLE a (id int PRIMARY KEY);\n"
               "-- +migrate Down\nDROP TABLE a;\n"},
              {"2_b.sql",
               "-- +migrate Up\nCREATE TABLE b (id int PRIMARY KEY, a_id int "
               "REFERENCES a);\n-- +migrate Down\nDROP TABLE b;\n"}});
  absl::StatusOr<CommandResult> up =
      RunCommand({"sql-migrate", "up", "-config=" + project + "/dbconfig.yml", "-env=test"});
  ASSERT_TRUE(up.ok());
  ASSERT_EQ(up->exit_code, 0) << up->out << up->err;
  // The sql-migrate folder itself is the catalog (read in place).
  auto server = Start(project + "/migrations", dsn);
  ASSERT_NE(server, nullptr);
  CommandResult adopted = server->Cli({"adopt", "-t", "t", "--from", "sql-migrate", "--verify"});
  EXPECT_EQ(adopted.exit_code, 0) << adopted.out << adopted.err;
  EXPECT_THAT(adopted.out, AllOf(HasSubstr("read gorp_migrations"),
                                 HasSubstr("recorded 2 revision(s)"), HasSubstr("verified")));
  // When sql-migrate ran each is kept.
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn,
                "SELECT count(*) FROM schemad.migrations m JOIN gorp_migrations g ON "
                "g.id = m.version || '_' || m.name || '.sql' AND "
                "abs(extract(epoch FROM m.applied_at - g.applied_at)) < 0.001"),
            "2");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT count(*) FROM gorp_migrations"), "2");
  // schemad takes over: nothing pending, no drift, and it can roll back with the files' downs.
  EXPECT_THAT(server->Cli({"status", "-t", "t"}).out, HasSubstr("0 pending"));
  EXPECT_THAT(server->Cli({"drift", "-t", "t"}).out, HasSubstr("no drift"));
  EXPECT_EQ(server->Cli({"rollback", "-t", "t", "--steps", "1"}).exit_code, 0);
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT to_regclass('b') IS NULL"), "t");
}

// Sqitch (Debian's sqitch): a project made and deployed by the tool itself, then read in place
// by schemad (sqitch.plan order, requires, deploy/revert/verify scripts as Sqitch writes them).
TEST(AdoptE2eTest, FromSqitchWithTheRealToolReadsTheProjectInPlace) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  // Sqitch's registry (DBD::Pg) and its scripts (psql) both take libpq's environment.
  CommandOptions sqitch;
  for (absl::string_view word : absl::StrSplit(dsn, ' ', absl::SkipEmpty())) {
    for (const auto& [keyword, variable] :
         std::vector<std::pair<std::string, std::string>>{{"host=", "PGHOST="},
                                                          {"port=", "PGPORT="},
                                                          {"user=", "PGUSER="},
                                                          {"dbname=", "PGDATABASE="}}) {
      if (absl::ConsumePrefix(&word, keyword)) sqitch.env.push_back(absl::StrCat(variable, word));
    }
  }
  const std::string project = MakeTempDir("schemad-sqitch");
  sqitch.env.push_back("SQITCH_FULLNAME=Ana Tester");
  sqitch.env.push_back("SQITCH_EMAIL=ana@example.com");
  sqitch.env.push_back("HOME=" + project);  // no user's ~/.sqitch
  sqitch.working_dir = project;
  const auto run = [&](const std::vector<std::string>& argv) {
    absl::StatusOr<CommandResult> result = RunCommand(argv, sqitch);
    EXPECT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0)
        << absl::StrJoin(argv, " ") << ": " << result->out << result->err;
  };
  run({"sqitch", "init", "flipr", "--engine", "pg"});
  run({"sqitch", "add", "appschema", "-n", "Add schema for all flipr objects."});
  run({"sqitch", "add", "users", "--requires", "appschema", "-n", "Creates the users table."});
  // The tool's own templates, filled in (BEGIN ... COMMIT deploys, BEGIN ... ROLLBACK verifies).
  const auto script = [](const std::string& body, const char* end) {
    return absl::StrCat("-- written as Sqitch's template\n\nBEGIN;\n\n", body, "\n\n", end, ";\n");
  };
  WriteFiles(project + "/deploy",
             {{"appschema.sql", script("CREATE SCHEMA flipr;", "COMMIT")},
              {"users.sql", script("CREATE TABLE flipr.users (nickname text PRIMARY KEY, "
                                   "password text NOT NULL);",
                                   "COMMIT")}});
  WriteFiles(project + "/revert", {{"appschema.sql", script("DROP SCHEMA flipr;", "COMMIT")},
                                   {"users.sql", script("DROP TABLE flipr.users;", "COMMIT")}});
  WriteFiles(project + "/verify",
             {{"appschema.sql",
               script("SELECT pg_catalog.has_schema_privilege('flipr', 'usage');", "ROLLBACK")},
              {"users.sql",
               script("SELECT nickname, password FROM flipr.users WHERE false;", "ROLLBACK")}});
  run({"sqitch", "deploy", "--verify", "db:pg:"});
  // A change the team adds afterwards: schemad deploys it.
  run({"sqitch", "add", "flips", "--requires", "users", "-n", "Flips."});
  WriteFiles(
      project + "/deploy",
      {{"flips.sql", script("CREATE TABLE flipr.flips (id bigserial PRIMARY KEY, nickname text NOT "
                            "NULL REFERENCES flipr.users);",
                            "COMMIT")}});
  WriteFiles(project + "/revert", {{"flips.sql", script("DROP TABLE flipr.flips;", "COMMIT")}});
  WriteFiles(
      project + "/verify",
      {{"flips.sql", script("SELECT id, nickname FROM flipr.flips WHERE false;", "ROLLBACK")}});

  auto server = Start(project, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult adopted = server->Cli({"adopt", "-t", "t", "--from", "sqitch", "--verify"});
  EXPECT_EQ(adopted.exit_code, 0) << adopted.out << adopted.err;
  EXPECT_THAT(adopted.out, AllOf(HasSubstr("read sqitch.changes"),
                                 HasSubstr("recorded 2 revision(s) as applied without running "
                                           "them"),
                                 HasSubstr("): 1, 2\n"), HasSubstr("verified")));
  // Who deployed it and when are Sqitch's.
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn,
                "SELECT count(*) FROM schemad.migrations m JOIN sqitch.changes c ON "
                "c.change = m.name AND abs(extract(epoch FROM m.applied_at - c.committed_at)) < "
                "0.001 AND m.applied_by LIKE '%Ana Tester%'"),
            "2");
  CommandResult applied = server->Cli({"apply", "-t", "t"});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_THAT(applied.out, HasSubstr("3_flips"));
  EXPECT_THAT(server->Cli({"status", "-t", "t"}).out,
              AllOf(HasSubstr("3 applied"), HasSubstr("0 pending")));
  EXPECT_THAT(server->Cli({"drift", "-t", "t"}).out, HasSubstr("no drift"));
  CommandResult verified = server->Cli({"verify", "-t", "t"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("3 of 3 verified"));
  // Sqitch's registry is as Sqitch left it.
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn,
                                       "SELECT string_agg(change, ',' ORDER BY "
                                       "committed_at) FROM sqitch.changes"),
            "appschema,users");
  EXPECT_EQ(server->Cli({"rollback", "-t", "t", "--steps", "1"}).exit_code, 0);
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT to_regclass('flipr.flips') IS NULL"), "t");
}

// The tables as the tools create them, each with its source cited, and rows like theirs.
TEST(AdoptE2eTest, FromFlywayGolangMigrateDbmateGooseAndSqitchTables) {
  // Revision 3 is in the catalog, and no tool applied it (goose's row for it was undone).
  const std::string catalog = TwoTables("", /*third=*/true);
  struct Case {
    std::string tool;
    std::string sql;
    std::vector<std::string> expect;
    int exit_code = 0;
  };
  const std::vector<Case> cases = {
      // flyway-core: org/flywaydb/core/internal/database/postgresql/createMetaDataTable.sql
      {"flyway",
       "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), "
       "description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT "
       "NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT "
       "NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL); "
       "ALTER TABLE flyway_schema_history ADD CONSTRAINT flyway_schema_history_pk PRIMARY KEY "
       "(installed_rank); CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history "
       "(success); INSERT INTO flyway_schema_history VALUES "
       "(1, '1', 'a', 'SQL', 'V1__a.sql', 12345, 'deploy', '2025-01-02 03:04:05', 10, true), "
       "(2, '2', 'b', 'SQL', 'V2__b.sql', 23456, 'deploy', '2025-01-03 03:04:05', 12, true), "
       "(3, '3', 'c', 'SQL', 'V3__c.sql', 34567, 'deploy', '2025-01-04 03:04:05', 5, false), "
       "(4, NULL, 'views', 'SQL', 'R__views.sql', 45678, 'deploy', '2025-01-04 03:05:05', 3, "
       "true)",
       {"recorded 2 revision(s)", "not adopted: 3 c: failed in flyway (success = false)",
        "not adopted: repeatable migration R__views.sql: schemad has no repeatables"}},
      // A BASELINE row stands for everything up to it; an undo cancels its version; a dotted
      // version is matched part by part (1.2 is not 12).
      {"flyway",
       "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), "
       "description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT "
       "NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT "
       "NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL); "
       "INSERT INTO flyway_schema_history VALUES "
       "(1, '2', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'dba', "
       "'2025-01-01', 0, true), "
       "(2, '3', 'c', 'SQL', 'V3__c.sql', 1, 'dba', '2025-01-02', 1, true), "
       "(3, '3', 'c', 'UNDO_SQL', 'U3__c.sql', 2, 'dba', '2025-01-03', 1, true), "
       "(4, '1.2', 'x', 'SQL', 'V1.2__x.sql', 3, 'dba', '2025-01-04', 1, true)",
       {"recorded 2 revision(s)", "not adopted: 3 c: undone by U3__c.sql (UNDO_SQL)",
        "not adopted: 1.2: recorded by flyway but not in the catalog"}},
      // golang-migrate: database/postgres/postgres.go, ensureVersionTable
      {"golang-migrate",
       "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, "
       "dirty boolean not null); INSERT INTO schema_migrations VALUES (2, false)",
       {"read schema_migrations", "recorded 2 revision(s)"}},
      {"golang-migrate",
       "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, "
       "dirty boolean not null); INSERT INTO schema_migrations VALUES (2, true)",
       {"dirty at version 2"},
       6},
      // dbmate: pkg/driver/postgres/postgres.go, CreateMigrationsTable
      {"dbmate",
       "create table if not exists schema_migrations (version varchar(128) primary key); "
       "insert into schema_migrations values ('1'), ('2'), ('20230101000000')",
       {"recorded 2 revision(s)",
        "not adopted: 20230101000000: recorded by dbmate but not in "
        "the catalog"}},
      // goose: internal/dialect/dialectquery/postgres.go, CreateTable
      {"goose",
       "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, "
       "is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id)); "
       "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), "
       "(2, true), (3, true), (3, false)",
       {"recorded 2 revision(s)"}},
      // sqitch: lib/App/Sqitch/Engine/pg.sql (projects, changes)
      {"sqitch",
       "CREATE SCHEMA sqitch; CREATE TABLE sqitch.projects (project TEXT PRIMARY KEY, uri TEXT "
       "NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), creator_name "
       "TEXT NOT NULL, creator_email TEXT NOT NULL); CREATE TABLE sqitch.changes (change_id "
       "TEXT PRIMARY KEY, script_hash TEXT NULL, change TEXT NOT NULL, project TEXT NOT NULL "
       "REFERENCES sqitch.projects(project) ON UPDATE CASCADE, note TEXT NOT NULL DEFAULT '', "
       "committed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), committer_name TEXT NOT "
       "NULL, committer_email TEXT NOT NULL, planned_at TIMESTAMPTZ NOT NULL, planner_name TEXT "
       "NOT NULL, planner_email TEXT NOT NULL); INSERT INTO sqitch.projects VALUES ('shop', "
       "NULL, now(), 'Ana', 'ana@example.com'); INSERT INTO sqitch.changes VALUES ('c1', 'h1', "
       "'a', 'shop', 'tables', '2025-02-01', 'Ana', 'ana@example.com', now(), 'Ana', "
       "'ana@example.com'), ('c2', 'h2', 'b', 'shop', '', '2025-02-02', 'Ana', "
       "'ana@example.com', now(), 'Ana', 'ana@example.com')",
       {"recorded 2 revision(s)"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tool);
    const std::string dsn = TestPostgres::Get().CreateDatabase();
    TestPostgres::MustQuery(dsn, kTwoTablesSql);
    TestPostgres::MustQuery(dsn, c.sql);
    auto server = Start(catalog, dsn);
    ASSERT_NE(server, nullptr);
    CommandResult adopted = server->Cli({"adopt", "-t", "t", "--from", c.tool, "--verify"});
    EXPECT_EQ(adopted.exit_code, c.exit_code) << adopted.out << adopted.err;
    for (const std::string& text : c.expect) {
      EXPECT_THAT(adopted.out + adopted.err, HasSubstr(text));
    }
    if (c.exit_code == 0) {
      EXPECT_THAT(adopted.out, HasSubstr("verified: the live schema"));
      EXPECT_THAT(server->Cli({"status", "-t", "t"}).out, HasSubstr("2 applied"));
    }
  }
  // Who and when from Flyway are kept.
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  TestPostgres::MustQuery(dsn, kTwoTablesSql);
  TestPostgres::MustQuery(dsn, cases[0].sql);
  auto server = Start(catalog, dsn);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Cli({"adopt", "-t", "t", "--from", "flyway"}).exit_code, 0);
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn,
                "SELECT applied_by || ' ' || to_char(applied_at AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD HH24:MI:SS') FROM schemad.migrations WHERE version = '1'"),
            "deploy 2025-01-02 03:04:05");
  // The wrong tool for a schema_migrations table is named.
  CommandResult wrong = server->Cli({"adopt", "-t", "t", "--from", "dbmate"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.err, HasSubstr("no schema_migrations table"));
}

// Verify scripts: run in the up's transaction (a failing check rolls the file back), and by
// schemactl verify against the live target in a transaction that is rolled back.
TEST(VerifyE2eTest, AFailingCheckRollsItsFileBackAndVerifyLeavesNothing) {
  const std::string dir = MakeTempDir("schemad-verify");
  WriteFiles(dir, {{"1_accounts.up.sql",
                    "CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL DEFAULT "
                    "'unknown');\n"},
                   {"1_accounts.verify.sql",
                    "-- the default works\nINSERT INTO accounts (id) VALUES (1);\n"
                    "DO $$ BEGIN ASSERT (SELECT email FROM accounts WHERE id = 1) = 'unknown', "
                    "'email default missing'; END $$;\n"},
                   {"2_audit.up.sql", "CREATE TABLE audit (id int);\n"},
                   {"2_audit.verify.sql",
                    "DO $$ BEGIN ASSERT (SELECT count(*) FROM audit) = 1, "
                    "'audit must have its first row'; END $$;\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = Start(dir, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult applied = server->Cli({"apply", "-t", "t"});
  EXPECT_NE(applied.exit_code, 0);
  EXPECT_THAT(
      applied.out + applied.err,
      AllOf(HasSubstr("verify check 1"), HasSubstr("2_audit.verify.sql line 1"),
            HasSubstr("audit must have its first row"), HasSubstr("the up file is rolled back")));
  // Revision 1 (its check passed) is in; 2 left nothing; 1's check row did not stay either.
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT to_regclass('audit') IS NULL"), "t");
  EXPECT_EQ(
      TestPostgres::MustQueryOne(dsn, "SELECT string_agg(version, ',') FROM schemad.migrations"),
      "1");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT count(*) FROM accounts"), "0")
      << "what a passing check wrote is rolled back to the savepoint before the checks";
  // Nothing of the failed file is left, so nothing blocks the target.
  EXPECT_THAT(server->Cli({"status", "-t", "t"}).out, HasSubstr("1 applied"));

  CommandResult verified = server->Cli({"verify", "-t", "t"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out,
              AllOf(HasSubstr("1        accounts  ok"), HasSubstr("1 of 1 verified")));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT count(*) FROM accounts"), "0")
      << "schemactl verify leaves no rows";
  TestPostgres::MustQuery(dsn, "ALTER TABLE accounts ALTER COLUMN email DROP DEFAULT");
  CommandResult broken = server->Cli({"verify", "-t", "t"});
  EXPECT_EQ(broken.exit_code, 4) << broken.err;
  EXPECT_THAT(broken.out, AllOf(HasSubstr("FAILED"), HasSubstr("1_accounts.verify.sql line 2"),
                                HasSubstr("0 of 1 verified")));
  EXPECT_THAT(server->Cli({"verify", "-t", "t", "--json"}).out,
              HasSubstr("null value in column \\\"email\\\""));
  // A check that ends the transaction is not run by schemactl verify (it would keep what the
  // checks before it wrote).
  TestPostgres::MustQuery(dsn, "ALTER TABLE accounts ALTER COLUMN email SET DEFAULT 'unknown'");
  WriteFiles(dir, {{"1_accounts.verify.sql", "INSERT INTO accounts (id) VALUES (5);\nCOMMIT;\n"}});
  CommandResult control = server->Cli({"verify", "-t", "t"});
  EXPECT_EQ(control.exit_code, 4);
  EXPECT_THAT(control.out, AllOf(HasSubstr("1_accounts.verify.sql: line 2: a verify check may not"),
                                 HasSubstr("0 of 1 verified")));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT count(*) FROM accounts"), "0");
  WriteFiles(dir, {{"1_accounts.verify.sql", "SELECT 1;\n"}});
  // A verify script of an up that runs outside a transaction would leave its writes: refused.
  WriteFiles(dir, {{"2_audit.verify.sql", "SELECT 1;\n"},
                   {"3_index.up.sql",
                    "CREATE INDEX CONCURRENTLY accounts_email ON accounts "
                    "(email);\n"},
                   {"3_index.verify.sql", "SELECT 1;\n"}});
  CommandResult refused = server->Cli({"apply", "-t", "t"});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_THAT(refused.out + refused.err,
              HasSubstr("a verify script needs a transactional up file"));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT to_regclass('accounts_email') IS NULL"), "t");
}

// schemactl import: another layout's folder written once in schemad's own, with the same SQL.
TEST(ImportE2eTest, WritesADbmateFolderInSchemadsLayout) {
  const std::string source = MakeTempDir("schemad-dbmate");
  WriteFiles(source, {{"20240101120000_accounts.sql",
                       "-- migrate:up\nCREATE TABLE accounts (id int);\n-- migrate:down\n"
                       "DROP TABLE accounts;\n"},
                      {"20240102120000_index.sql",
                       "-- migrate:up transaction:false\nCREATE INDEX a_id ON accounts (id);\n"
                       "-- migrate:down\nDROP INDEX a_id;\n"}});
  const std::string dest = MakeTempDir("schemad-imported") + "/native";
  WriteFiles(source, {{"catalog.yaml", "name: accounts\nlayout: dbmate\n"}});
  CommandResult imported = RunCli({"import", "--from", "dbmate", source, dest});
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_THAT(imported.out, AllOf(HasSubstr("imported 2 revision(s) of catalog accounts"),
                                  HasSubstr("1 file(s) got -- schemad:no-transaction")));
  EXPECT_THAT(ReadTextFile(dest + "/catalog.yaml"),
              AllOf(HasSubstr("name: accounts"), Not(HasSubstr("layout: dbmate"))));
  EXPECT_EQ(ReadTextFile(dest + "/20240101120000_accounts.up.sql"),
            "CREATE TABLE accounts (id int);\n");
  EXPECT_EQ(ReadTextFile(dest + "/20240101120000_accounts.down.sql"), "DROP TABLE accounts;\n");
  EXPECT_EQ(ReadTextFile(dest + "/20240102120000_index.up.sql"),
            "-- schemad:no-transaction\nCREATE INDEX a_id ON accounts (id);\n");
  // The written folder serves as a catalog, and a second import into it is refused.
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = Start(dest, dsn);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->Cli({"apply", "-t", "t"}).exit_code, 0);
  EXPECT_EQ(RunCli({"import", "--from", "dbmate", source, dest}).exit_code, 2);
}

// With a control database a folder's content is a release: a one-file layout's files are
// stored whole (once each, with their verify scripts) and the release loads back to the same
// digest, so applies of the newest release run exactly the folder's SQL.
TEST(ReleaseE2eTest, AOneFileLayoutFolderIsStoredWholeAndAppliesAsTheRelease) {
  const std::string dir = MakeTempDir("schemad-dbmate-release");
  WriteFiles(
      dir + "/catalog",
      {{"catalog.yaml", "name: shop\n"},
       {"1_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n"},
       {"1_a.verify.sql", "DO $$ BEGIN ASSERT to_regclass('a') IS NOT NULL; END $$;\n"},
       {"2_b.sql",
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY a_id ON a "
        "(id);\n-- migrate:down\nDROP INDEX a_id;\n"}});
  WriteFiles(dir, {{"control.dsn", TestPostgres::Get().CreateDatabase() + "\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  ServerConfig config;
  config.targets.push_back({"t", "dev", dir + "/catalog", dsn, ""});
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir, "/control.dsn\n");
  auto server = ServerProcess::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  CommandResult plan = (*server)->Cli({"plan", "-t", "t"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  CommandResult releases = (*server)->Cli({"releases", "--catalog", "shop"});
  EXPECT_EQ(releases.exit_code, 0) << releases.err;
  const std::string digest = plan.out.substr(plan.out.find("sha256:"), 71);
  EXPECT_THAT(releases.out, HasSubstr(digest)) << "the folder is published as it was loaded";
  CommandResult applied = (*server)->Cli({"apply", "-t", "t", "--release", digest});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_THAT(applied.out, HasSubstr("2_b (no transaction)"));
  EXPECT_THAT((*server)->Cli({"drift", "-t", "t"}).out, HasSubstr("no drift"));
}

// Coming from Flyway: its sql/ folder is the catalog, its history says 1 and 1.1 ran (the
// table as flyway-core's createMetaDataTable.sql makes it), and schemad applies 1.2 and 1.10.
TEST(AdoptE2eTest, FromFlywayOntoItsOwnFolderWithDottedVersions) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  const std::string folder = SCHEMAD_SOURCE_DIR "/tests/testdata/layouts/flyway";
  // What Flyway ran (placeholders as Flyway substitutes them), and how it recorded it.
  TestPostgres::MustQuery(
      dsn,
      "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, tier text NOT "
      "NULL DEFAULT 'free'); CREATE INDEX accounts_email ON accounts (email);"
      "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version "
      "VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script "
      "VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, "
      "installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, "
      "success BOOLEAN NOT NULL); ALTER TABLE flyway_schema_history ADD CONSTRAINT "
      "flyway_schema_history_pk PRIMARY KEY (installed_rank); INSERT INTO "
      "flyway_schema_history VALUES "
      "(1, '1', 'accounts', 'SQL', 'V1__accounts.sql', 1, 'deploy', '2025-01-02 03:04:05', "
      "10, true), (2, '1.1', 'accounts email', 'SQL', 'V1.1__accounts_email.sql', 2, "
      "'deploy', '2025-01-03 03:04:05', 12, true)");
  auto server = Start(folder, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult adopted = server->Cli({"adopt", "-t", "t", "--from", "flyway", "--verify"});
  EXPECT_EQ(adopted.exit_code, 0) << adopted.out << adopted.err;
  EXPECT_THAT(adopted.out, AllOf(HasSubstr("recorded 2 revision(s)"), HasSubstr("): 1, 1.1\n"),
                                 HasSubstr("verified")));
  CommandResult applied = server->Cli({"apply", "-t", "t"});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn,
                                       "SELECT string_agg(version, ',' ORDER BY version_key) FROM "
                                       "schemad.migrations"),
            "1,1.1,1.2,1.10");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT obj_description('accounts'::regclass)"),
            "written by V1.2__comment.sql");
  EXPECT_THAT(server->Cli({"drift", "-t", "t"}).out, HasSubstr("no drift"));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT count(*) FROM flyway_schema_history"), "2");
}

// Dotted versions keep their order in the history table too (its key is the version's value):
// 1 < 1.1 < 2 < 11, so the current version is 11 and one step back undoes 11, not 1.1.
TEST(FlywayE2eTest, DottedVersionsKeepTheirOrderInTheHistory) {
  const std::string folder = MakeTempDir("schemad-flyway-order");
  WriteFiles(folder, {{"V1__a.sql", "CREATE TABLE a (id int);\n"},
                      {"U1__a.sql", "DROP TABLE a;\n"},
                      {"V1.1__b.sql", "CREATE TABLE b (id int);\n"},
                      {"U1.1__b.sql", "DROP TABLE b;\n"},
                      {"V2__c.sql", "CREATE TABLE c (id int);\n"},
                      {"U2__c.sql", "DROP TABLE c;\n"},
                      {"V11__d.sql", "CREATE TABLE d (id int);\n"},
                      {"U11__d.sql", "DROP TABLE d;\n"}});
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto server = Start(folder, dsn);
  ASSERT_NE(server, nullptr);
  CommandResult applied = server->Cli({"apply", "-t", "t"});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn,
                                       "SELECT string_agg(version, ',' ORDER BY "
                                       "version_key) FROM schemad.migrations"),
            "1,1.1,2,11");
  EXPECT_THAT(server->Cli({"status", "-t", "t"}).out,
              AllOf(HasSubstr("4 applied"), HasSubstr("0 pending")));
  EXPECT_EQ(server->Cli({"rollback", "-t", "t", "--steps", "1"}).exit_code, 0);
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn,
                                       "SELECT to_regclass('d') IS NULL AND to_regclass('b') "
                                       "IS NOT NULL AND to_regclass('c') IS NOT NULL"),
            "t");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn,
                                       "SELECT string_agg(version, ',' ORDER BY "
                                       "version_key) FROM schemad.migrations"),
            "1,1.1,2");
}

// A small sample of every layout read in place (tests/testdata/layouts): its plan is its golden
// file; it applies, rolls back to nothing and applies again as the release the folder was
// published as (so a release of each layout reads back to the same digest), without drift.
TEST(LayoutE2eTest, EverySampleLayoutPlansAsItsGoldenAndRoundTrips) {
  const std::vector<std::string> layouts = {"native",      "popx",   "dbmate", "goose",
                                            "sql-migrate", "flyway", "sqitch"};
  const std::string dir = MakeTempDir("schemad-layouts");
  WriteFiles(dir, {{"control.dsn", TestPostgres::Get().CreateDatabase() + "\n"}});
  ServerConfig config;
  for (const std::string& layout : layouts) {
    config.targets.push_back({layout, "dev", SCHEMAD_SOURCE_DIR "/tests/testdata/layouts/" + layout,
                              TestPostgres::Get().CreateDatabase(), ""});
  }
  config.extra_yaml = absl::StrCat("control:\n  dsn_file: ", dir, "/control.dsn\n");
  auto server = ServerProcess::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  for (const std::string& layout : layouts) {
    SCOPED_TRACE(layout);
    CommandResult plan = (*server)->Cli({"plan", "-t", layout});
    ASSERT_EQ(plan.exit_code, 0) << plan.err;
    ExpectGolden("layouts/" + layout + ".plan.txt", plan.out);
    // schemactl import writes the same revisions, running the same statements, natively.
    const std::string source = SCHEMAD_SOURCE_DIR "/tests/testdata/layouts/" + layout;
    const std::string native = dir + "/imported-" + layout;
    CommandResult imported = RunCli({"import", "--from", layout, source, native});
    EXPECT_EQ(imported.exit_code, 0) << imported.err;
    absl::StatusOr<Catalog> original = LoadCatalog(source);
    absl::StatusOr<Catalog> converted = LoadCatalog(native);
    ASSERT_TRUE(original.ok() && converted.ok()) << converted.status();
    EXPECT_EQ(converted->layout, "native");
    ASSERT_EQ(converted->revisions.size(), original->revisions.size());
    for (size_t i = 0; i < original->revisions.size(); ++i) {
      const Revision& a = original->revisions[i];
      const Revision& b = converted->revisions[i];
      EXPECT_EQ(a.Id(), b.Id());
      for (auto [x, y] : {std::pair{&a.up, &b.up},
                          std::pair{a.down ? &*a.down : nullptr, b.down ? &*b.down : nullptr}}) {
        ASSERT_EQ(x == nullptr, y == nullptr) << a.Id();
        if (x == nullptr) continue;
        ASSERT_TRUE(x->Parsed().ok() && y->Parsed().ok()) << a.Id();
        EXPECT_EQ(x->script().mode, y->script().mode) << a.Id();
        ASSERT_EQ(x->script().statements.size(), y->script().statements.size()) << a.Id();
        for (size_t k = 0; k < x->script().statements.size(); ++k) {
          EXPECT_EQ(x->script().statements[k].text, y->script().statements[k].text) << a.Id();
        }
      }
    }
    CommandResult applied = (*server)->Cli({"apply", "-t", layout});
    EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
    EXPECT_THAT((*server)->Cli({"drift", "-t", layout}).out, HasSubstr("no drift"));
    CommandResult down = (*server)->Cli({"rollback", "-t", layout, "--to", "0"});
    EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
    EXPECT_THAT((*server)->Cli({"status", "-t", layout}).out, HasSubstr("0 applied"));
    const size_t at = plan.out.find("sha256:");
    ASSERT_NE(at, std::string::npos) << plan.out;
    // schemactl publish sends the same files (a Sqitch project's plan and script folders too).
    CommandResult published = (*server)->Cli({"publish", "--catalog", "shop-" + layout, source});
    EXPECT_EQ(published.exit_code, 0) << published.err;
    EXPECT_EQ(published.out.substr(0, 71), plan.out.substr(at, 71)) << published.out;
    CommandResult again =
        (*server)->Cli({"apply", "-t", layout, "--release", plan.out.substr(at, 71)});
    EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
    EXPECT_THAT((*server)->Cli({"status", "-t", layout}).out, HasSubstr("0 pending"));
    EXPECT_THAT((*server)->Cli({"drift", "-t", layout}).out, HasSubstr("no drift"));
  }
}

}  // namespace
}  // namespace schemad::testing
