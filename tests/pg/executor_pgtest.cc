// The executor under faults, through the in-process engine against real PostgreSQL: the lock
// lives and dies with the session that runs the migration, progress tells what committed,
// chained files checkpoint, sessions go back clean, interrupted index builds are cleaned up,
// outcomes report what happened.
#include <mutex>
#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/sha256.h"
#include "server/common/text.h"
#include "tests/support/engine_runner.h"
#include "tests/support/matchers.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

using engine::RunEvent;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ExecutorPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("schemad-executor");
    dsn_ = TestPostgres::Get().CreateDatabase();
  }
  // Polls `sql` until it returns `want` (a state the run reaches), at most 20 s.
  void WaitFor(const std::string& sql, const std::string& want) {
    for (int i = 0; i < 400; ++i) {
      absl::StatusOr<std::vector<std::string>> rows = TestPostgres::Query(dsn_, sql);
      if (rows.ok() && !rows->empty() && (*rows)[0] == want) return;
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "never reached: " << sql << " = " << want;
  }
  std::optional<db::RunRecord> Blocking(engine::Engine& engine) {
    auto status = engine.GetStatus(*engine.targets()[0]);
    EXPECT_THAT(status, IsOk());
    return status.ok() ? status->blocking_run : std::nullopt;
  }
  absl::StatusOr<db::RunRecord> Resolve(engine::Engine& engine, const std::string& run_id,
                                        bool retry, std::vector<std::string>* notices = nullptr) {
    return engine.Resolve(
        *engine.targets()[0], run_id, retry, "admin",
        [&](const RunEvent& e) {
          if (notices != nullptr && e.kind == RunEvent::Kind::kNotice)
            notices->push_back(e.message);
        },
        [] { return false; });
  }
  std::string dir_;
  std::string dsn_;
};

constexpr char kSleeping[] =
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND "
    "query LIKE 'SELECT pg_sleep(%' AND pid <> pg_backend_pid()";

// Issue 9, item 1: a second replica can never run what the first is still running.
TEST_F(ExecutorPgTest, LockHolderTerminatedMidRunNeverRunsARevisionTwice) {
  WriteFiles(dir_, {{"001_log.up.sql", "CREATE TABLE audit_log (note text);"},
                    {"002_once.up.sql",
                     "INSERT INTO audit_log VALUES ('once');\n"
                     "SELECT pg_sleep(4);\n"}});
  auto a = MakeEngine(dir_, dsn_);
  auto b = MakeEngine(dir_, dsn_);
  RunResult first;
  std::thread run_a([&] { first = RunEngine(*a, ApplyRequest()); });
  WaitFor(kSleeping, "1");
  TestPostgres::MustQuery(dsn_,
                          "SELECT pg_terminate_backend(pid) FROM pg_locks "
                          "WHERE locktype = 'advisory' AND granted");
  RunResult second = RunEngine(*b, ApplyRequest());
  run_a.join();
  ASSERT_THAT(first.status, IsOk());
  EXPECT_EQ(first.finished.outcome, db::Outcome::kInterrupted);
  EXPECT_THAT(first.finished.message,
              AllOf(HasSubstr("apply 002_once"), HasSubstr("connection lost"),
                    HasSubstr("nothing of 002_once was committed")));
  EXPECT_EQ(first.finished.version, "001");
  ASSERT_THAT(second.status, IsOk());
  EXPECT_EQ(second.finished.outcome, db::Outcome::kApplied);
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT count(*) FROM audit_log"), "1");
  EXPECT_EQ(AppliedVersions(dsn_), "001,002");
}

// Item 1: every commit is fenced; a step whose session lost the lock commits nothing.
TEST_F(ExecutorPgTest, AStepWhoseSessionLostTheLockCommitsNothing) {
  WriteFiles(dir_, {{"001_sneaky.up.sql",
                     "CREATE TABLE fenced (id int);\nSELECT pg_advisory_unlock_all();\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kInterrupted);
  EXPECT_THAT(run.finished.message, HasSubstr("no longer holds the target's lock"));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT to_regclass('fenced') IS NULL"), "t");
  EXPECT_EQ(AppliedVersions(dsn_), "");
}

// Item 2: progress counts what committed; resume starts after it, and refuses a changed prefix.
TEST_F(ExecutorPgTest, StoppedNoTransactionFileResumesAfterItsCommittedStatements) {
  const std::string file =
      "-- schemad:no-transaction\nINSERT INTO counter VALUES (1);\n"
      "SELECT pg_sleep(3);\nINSERT INTO counter VALUES (2);\n";
  WriteFiles(dir_,
             {{"001_counter.up.sql", "CREATE TABLE counter (n int);"}, {"002_fill.up.sql", file}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run;
  std::thread runner([&] { run = RunEngine(*engine, ApplyRequest()); });
  WaitFor(kSleeping, "1");
  TestPostgres::MustQuery(dsn_,
                          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE query LIKE 'SELECT pg_sleep(%' AND pid <> pg_backend_pid()");
  runner.join();
  EXPECT_EQ(run.finished.outcome, db::Outcome::kInterrupted);
  std::optional<db::RunRecord> blocking = Blocking(*engine);
  ASSERT_TRUE(blocking.has_value());
  EXPECT_EQ(blocking->completed, 1);
  EXPECT_TRUE(blocking->partial);
  EXPECT_THAT(blocking->completed_hashes, SizeIs(1));
  EXPECT_THAT(engine::DescribeBlockingRun(*blocking),
              AllOf(HasSubstr("1 statement(s) of 002"), HasSubstr("from statement 2")));

  // The file's first statement changed since it ran: resuming would run a different file.
  WriteFiles(dir_,
             {{"002_fill.up.sql", absl::StrReplaceAll(file, {{"VALUES (1)", "VALUES (9)"}})}});
  auto edited = MakeEngine(dir_, dsn_);
  EXPECT_THAT(
      Resolve(*edited, blocking->run_id, true),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("statement 1 (line 2)"), HasSubstr("changed since it ran"))));
  WriteFiles(dir_, {{"002_fill.up.sql", file}});
  auto restored = MakeEngine(dir_, dsn_);
  auto resolved = Resolve(*restored, blocking->run_id, true);
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->state, db::RunState::kResolved);
  EXPECT_EQ(resolved->outcome, db::Outcome::kApplied);
  EXPECT_EQ(
      TestPostgres::MustQueryOne(dsn_, "SELECT string_agg(n::text, ',' ORDER BY n) FROM counter"),
      "1,2");
  EXPECT_EQ(AppliedVersions(dsn_), "001,002");
}

// Item 4: COMMIT AND CHAIN runs inside the runner's transaction, each a durable checkpoint.
TEST_F(ExecutorPgTest, ChainedFileCheckpointsAndResumesAtTheFailedSegment) {
  WriteFiles(dir_, {{"001_ab.up.sql",
                     "CREATE TABLE a (id int);\nCOMMIT AND CHAIN;\nCREATE TABLE b (id int);\n"},
                    {"002_fill.up.sql",
                     "INSERT INTO a VALUES (1);\nCOMMIT AND CHAIN;\n"
                     "INSERT INTO missing VALUES (2);\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kFailed);
  EXPECT_EQ(run.finished.version, "001");
  EXPECT_EQ(run.finished.statement_index, 3);
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT to_regclass('b') IS NOT NULL"), "t");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT count(*) FROM a"), "1");  // checkpoint
  EXPECT_EQ(AppliedVersions(dsn_), "001");
  std::optional<db::RunRecord> blocking = Blocking(*engine);
  ASSERT_TRUE(blocking.has_value());
  EXPECT_EQ(blocking->completed, 2);
  EXPECT_EQ(blocking->current_mode, db::FileMode::kChained);

  WriteFiles(dir_, {{"002_fill.up.sql",
                     "INSERT INTO a VALUES (1);\nCOMMIT AND CHAIN;\nINSERT INTO b VALUES (2);\n"}});
  auto fixed = MakeEngine(dir_, dsn_);
  ASSERT_THAT(Resolve(*fixed, blocking->run_id, true), IsOk());
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT count(*) FROM a"), "1");  // not run twice
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT count(*) FROM b"), "1");
  EXPECT_EQ(AppliedVersions(dsn_), "001,002");
}

// Item 5: a file's own failed BEGIN ... COMMIT leaves neither an open transaction nor wrong
// progress, and no migration's settings reach the next run.
TEST_F(ExecutorPgTest, SessionsGoBackCleanAndProgressCountsOnlyWhatCommitted) {
  WriteFiles(dir_, {{"001_own.up.sql",
                     "CREATE TABLE x (id int);\nBEGIN;\nINSERT INTO x VALUES (1);\n"
                     "INSERT INTO missing VALUES (1);\nCOMMIT;\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kFailed);
  EXPECT_EQ(run.finished.statement_index, 4);
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT completed FROM schemad.runs"), "1");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT count(*) FROM x"), "0");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'"),
            "0");

  const std::string dir2 = MakeTempDir("schemad-settings");
  const std::string dsn2 = TestPostgres::Get().CreateDatabase();
  WriteFiles(dir2,
             {{"001_settings.up.sql",
               "-- schemad:no-transaction\nSELECT set_config('search_path', '', false);\n"
               "SET statement_timeout = '1ms';\n"},
              {"002_next.up.sql", "CREATE TABLE leak_check (id int);\nSELECT pg_sleep(0.1);\n"}});
  auto settings = MakeEngine(dir2, dsn2);
  ASSERT_EQ(RunEngine(*settings, ApplyRequest("001")).finished.outcome, db::Outcome::kApplied);
  RunResult next = RunEngine(*settings, ApplyRequest());
  EXPECT_EQ(next.finished.outcome, db::Outcome::kApplied) << next.finished.message;
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn2, "SELECT to_regclass('public.leak_check') IS NOT NULL"),
            "t");
}

// Item 7: the INVALID index of an interrupted CREATE INDEX CONCURRENTLY is dropped before the
// statement runs again; a CIC that ends with an INVALID index fails its step.
TEST_F(ExecutorPgTest, ResumedConcurrentIndexBuildDropsItsInvalidLeftover) {
  WriteFiles(
      dir_, {{"001_items.up.sql",
              "CREATE TABLE items (id int, code text);\n"
              "INSERT INTO items VALUES (1, 'a'), (2, 'a'), (3, 'c');\n"},
             {"002_index.up.sql", "CREATE UNIQUE INDEX CONCURRENTLY items_code ON items (code);"},
             {"003_id.up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_id ON items (id);"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest("002"));
  EXPECT_EQ(run.finished.outcome, db::Outcome::kFailed);
  EXPECT_THAT(run.finished.message, HasSubstr("indexes left INVALID: public.items_code"));
  TestPostgres::MustQuery(dsn_, "UPDATE items SET code = 'b' WHERE id = 2");
  std::optional<db::RunRecord> blocking = Blocking(*engine);
  ASSERT_TRUE(blocking.has_value());
  std::vector<std::string> notices;
  ASSERT_THAT(Resolve(*engine, blocking->run_id, true, &notices), IsOk());
  EXPECT_THAT(notices, Contains(HasSubstr("dropped INVALID index \"items_code\"")));
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_code'::regclass"),
            "t");
  EXPECT_EQ(
      TestPostgres::MustQueryOne(
          dsn_, "SELECT count(*) FROM schemad.events WHERE action = 'resume-concurrent-index'"),
      "1");

  // An INVALID items_id exists already: IF NOT EXISTS would skip it and record an unusable
  // index as applied.
  TestPostgres::MustQuery(dsn_, "INSERT INTO items VALUES (1, 'z')");
  EXPECT_FALSE(
      TestPostgres::Query(dsn_, "CREATE UNIQUE INDEX CONCURRENTLY items_id ON items (id)").ok());
  RunResult skipped = RunEngine(*engine, ApplyRequest());
  EXPECT_EQ(skipped.finished.outcome, db::Outcome::kFailed);
  EXPECT_THAT(skipped.finished.message,
              HasSubstr("index \"items_id\" is INVALID after CREATE INDEX CONCURRENTLY"));
  EXPECT_EQ(AppliedVersions(dsn_), "001,002");
}

// Item 8: replays return the original figures; a request id reused for another request is
// refused; a resolved rollback is reported as rolled back.
TEST_F(ExecutorPgTest, RequestIdsAndOutcomesTellWhatHappened) {
  WriteFiles(dir_, {{"001_a.up.sql", "CREATE TABLE a (id int);"},
                    {"001_a.down.sql", "DROP TABLE a;"},
                    {"002_b.up.sql", "CREATE TABLE b (id int);"},
                    {"002_b.down.sql",
                     "-- schemad:no-transaction\nCREATE TABLE marker (id int);\n"
                     "DROP TABLE missing;\nDROP TABLE b;\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  engine::RunRequest request = ApplyRequest();
  request.request_id = "deploy-42";
  RunResult first = RunEngine(*engine, request);
  ASSERT_EQ(first.finished.outcome, db::Outcome::kApplied);
  RunResult replay = RunEngine(*engine, request);
  EXPECT_EQ(replay.finished.run_id, first.finished.run_id);
  EXPECT_EQ(replay.finished.outcome, db::Outcome::kApplied);
  EXPECT_EQ(replay.finished.steps_done, 2);
  EXPECT_EQ(replay.finished.version, "002");
  EXPECT_EQ(replay.finished.from_version, "");
  EXPECT_GT(replay.finished.duration_ms, 0);
  engine::RunRequest other = ApplyRequest("001");
  other.request_id = "deploy-42";
  EXPECT_THAT(RunEngine(*engine, other).status,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("request id deploy-42 was used for a different request")));

  RunResult down = RunEngine(*engine, RollbackRequest("0"));
  EXPECT_EQ(down.finished.outcome, db::Outcome::kFailed);
  EXPECT_EQ(down.finished.version, "002");
  std::optional<db::RunRecord> blocking = Blocking(*engine);
  ASSERT_TRUE(blocking.has_value());
  WriteFiles(dir_, {{"002_b.down.sql",
                     "-- schemad:no-transaction\nCREATE TABLE marker (id int);\n"
                     "DROP TABLE IF EXISTS missing;\nDROP TABLE b;\n"}});
  auto fixed = MakeEngine(dir_, dsn_);
  auto resolved = Resolve(*fixed, blocking->run_id, true);
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->outcome, db::Outcome::kRolledBack);
  EXPECT_EQ(resolved->reached_version, "001");
}

// Item 11: accepting drift for good, journaled with both checksums and the reason.
TEST_F(ExecutorPgTest, RepairChecksumsRecordsTheNewChecksumsWithAReason) {
  WriteFiles(dir_, {{"001_a.up.sql", "CREATE TABLE a (id int);"}});
  auto engine = MakeEngine(dir_, dsn_);
  ASSERT_EQ(RunEngine(*engine, ApplyRequest()).finished.outcome, db::Outcome::kApplied);
  WriteFiles(dir_, {{"001_a.up.sql", "-- reformatted\nCREATE TABLE a (id int);"}});
  auto edited = MakeEngine(dir_, dsn_);
  EXPECT_THAT(RunEngine(*edited, ApplyRequest()).status,
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("checksum drift")));
  const engine::Target& target = *edited->targets()[0];
  EXPECT_THAT(edited->RepairChecksums(target, "", "", "admin"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reason")));
  EXPECT_THAT(edited->RepairChecksums(target, "7", "typo", "admin"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("version 7 is not applied")));
  auto repaired = edited->RepairChecksums(target, "", "comment added, same DDL", "admin");
  ASSERT_THAT(repaired, IsOk());
  ASSERT_THAT(*repaired, SizeIs(1));
  EXPECT_NE((*repaired)[0].old_checksum, (*repaired)[0].new_checksum);
  EXPECT_EQ(RunEngine(*edited, ApplyRequest()).finished.outcome, db::Outcome::kNoChange);
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_,
                "SELECT overrides LIKE 'reason: comment added, same DDL; 001: v1:% -> v1:%' "
                "FROM schemad.runs WHERE operation = 'repair'"),
            "t");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT principal FROM schemad.events WHERE action = 'repair'"),
            "admin");
  EXPECT_THAT(edited->RepairChecksums(target, "", "again", "admin"), IsOk());  // nothing to do
}

// Item 12: two different catalogs under one name on one database are refused at start-up.
TEST_F(ExecutorPgTest, TwoCatalogsWithOneNameOnOneDatabaseAreRefused) {
  const std::string a = MakeTempDir("schemad-svc-a") + "/migrations";
  const std::string b = MakeTempDir("schemad-svc-b") + "/migrations";
  WriteFiles(a, {{"1_a.up.sql", "SELECT 1;"}});
  WriteFiles(b, {{"1_b.up.sql", "SELECT 2;"}});
  TargetConfig first;
  first.name = "orders";
  first.catalog_path = a;
  first.dsn = dsn_;
  TargetConfig second = first;
  second.name = "billing";
  second.catalog_path = b;
  EXPECT_THAT(
      engine::Engine::Create({first, second}, "test"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("targets orders and billing"),
                     HasSubstr("same catalog name \"migrations\""), HasSubstr(a), HasSubstr(b))));
  second.catalog_path = a;  // the same catalog twice is fine
  EXPECT_THAT(engine::Engine::Create({first, second}, "test"), IsOk());
}

// Item 13: a statement over its time limit ends the step TIMED_OUT, leaving nothing.
TEST_F(ExecutorPgTest, StatementOverItsTimeoutEndsTheStepTimedOut) {
  WriteFiles(dir_, {{"001_slow.up.sql",
                     "-- schemad:timeout 300ms\nCREATE TABLE slow (id int);\n"
                     "SELECT pg_sleep(5);\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kTimedOut);
  EXPECT_EQ(run.finished.statement_index, 2);
  EXPECT_THAT(run.finished.message, HasSubstr("statement timeout"));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT state FROM schemad.runs"), "timed_out");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT to_regclass('slow') IS NULL"), "t");
  EXPECT_FALSE(Blocking(*engine).has_value());
}

// Issue 10, item 3: a long failing statement is kept (journal and event) as its first 4 KiB,
// cut where a character starts, with its length and checksum.
TEST_F(ExecutorPgTest, ALongFailingStatementIsKeptShortWithItsLengthAndChecksum) {
  // "ж" is two bytes; the quote's opening makes byte 4096 fall inside one.
  std::string statement = "INSERT INTO missing_table VALUES ('";
  while (statement.size() < 10000) statement += "ж";
  statement += "')";
  WriteFiles(dir_, {{"001_long.up.sql", statement + ";\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kFailed);
  const std::string kept =
      TestPostgres::MustQueryOne(dsn_, "SELECT failing_statement FROM schemad.runs");
  EXPECT_LE(kept.size(), 4096u + 120u);
  EXPECT_EQ(schemad::InvalidUtf8At(kept), absl::string_view::npos);
  EXPECT_THAT(kept, AllOf(HasSubstr("INSERT INTO missing_table VALUES ('жж"),
                          HasSubstr(absl::StrCat("… (", statement.size(), " bytes in all, sha256 ",
                                                 Sha256Hex(statement), ")"))));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_,
                                       "SELECT octet_length(failing_statement) < 4300 "
                                       "FROM schemad.runs"),
            "t");
}

// Item 13: a statement waiting on a lock is told who holds it.
TEST_F(ExecutorPgTest, AWaitingStatementNamesItsBlockers) {
  WriteFiles(dir_, {{"001_t.up.sql", "CREATE TABLE t (id int);"},
                    {"002_alter.up.sql", "ALTER TABLE t ADD COLUMN c int;"}});
  auto engine = MakeEngine(dir_, dsn_, "dev", absl::Seconds(20));
  ASSERT_EQ(RunEngine(*engine, ApplyRequest("001")).finished.outcome, db::Outcome::kApplied);
  pqxx::connection blocker(dsn_ + " application_name=blocker-test");
  pqxx::work hold(blocker);
  hold.exec("LOCK TABLE t IN ACCESS SHARE MODE");
  absl::Mutex mu;
  std::vector<std::string> notices;
  db::Outcome outcome = db::Outcome::kNone;
  absl::Status run_status;
  std::thread runner([&] {
    run_status = engine->Run(
        *engine->targets()[0], ApplyRequest(),
        [&](const RunEvent& e) {
          absl::MutexLock lock(&mu);
          if (e.kind == RunEvent::Kind::kNotice) notices.push_back(e.message);
          if (e.kind == RunEvent::Kind::kRunFinished) outcome = e.outcome;
        },
        [] { return false; });
  });
  {
    // Released once the run has named its blocker (after 1 s of waiting).
    absl::MutexLock lock(&mu);
    auto named = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      for (const std::string& n : notices) {
        if (n.find("has waited") != std::string::npos) return true;
      }
      return false;
    };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&named), absl::Seconds(15)));
  }
  hold.commit();
  runner.join();
  EXPECT_THAT(run_status, IsOk());
  EXPECT_EQ(outcome, db::Outcome::kApplied);
  EXPECT_THAT(notices,
              Contains(AllOf(HasSubstr("statement 1 has waited"), HasSubstr("pid "),
                             HasSubstr("application \"blocker-test\""),
                             HasSubstr("idle in transaction"), HasSubstr("LOCK TABLE t"))));
}

// A file that switches role still commits its bookkeeping (as the session's user), and the
// role does not reach the next file.
TEST_F(ExecutorPgTest, SetRoleInAFileNeitherBlocksItsCommitNorLeaksToTheNextFile) {
  WriteFiles(dir_,
             {{"001_role.up.sql",
               "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
               "'schemad_app_owner') THEN CREATE ROLE schemad_app_owner NOLOGIN; END IF; "
               "END $$;\nGRANT CREATE ON SCHEMA public TO schemad_app_owner;\n"},
              {"002_owned.up.sql", "SET ROLE schemad_app_owner;\nCREATE TABLE owned (id int);\n"},
              {"003_after.up.sql", "CREATE TABLE after_role (id int);\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kApplied) << run.finished.message;
  EXPECT_EQ(AppliedVersions(dsn_), "001,002,003");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT tableowner FROM pg_tables WHERE tablename = 'owned'"),
            "schemad_app_owner");
  EXPECT_NE(TestPostgres::MustQueryOne(
                dsn_, "SELECT tableowner FROM pg_tables WHERE tablename = 'after_role'"),
            "schemad_app_owner");
}

}  // namespace
}  // namespace schemad::testing
