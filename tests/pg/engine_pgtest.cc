// Plan, Apply, Rollback and Resolve through the in-process engine against real PostgreSQL:
// round trips, failures that leave nothing behind, non-transactional files, locks, retries.
#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

constexpr char kSmall[] = SCHEMAD_SOURCE_DIR "/tests/testdata/catalogs/small";

TEST(EnginePgTest, UpDownUpGivesTheSameSchema) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto engine = MakeEngine(kSmall, dsn);
  RunResult up = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(up.status, IsOk());
  EXPECT_EQ(up.finished.outcome, db::Outcome::kApplied);
  EXPECT_EQ(up.finished.steps_done, 5);
  EXPECT_EQ(AppliedVersions(dsn), "001,002,003,004,005");
  const std::string first = SchemaSnapshot(dsn);
  EXPECT_THAT(first,
              AllOf(HasSubstr("index CREATE INDEX audit_at"),
                    HasSubstr("trigger accounts_audit on accounts"),
                    HasSubstr("type account_status"), HasSubstr("relation open_accounts v")));
  // The non-transactional file reported each statement.
  int statements_done = 0;
  for (const RunEvent& event : up.events) {
    statements_done += event.kind == RunEvent::Kind::kStatementDone && event.version == "005";
  }
  EXPECT_EQ(statements_done, 1);

  RunResult again = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(again.status, IsOk());
  EXPECT_EQ(again.finished.outcome, db::Outcome::kNoChange);

  RunResult down = RunEngine(*engine, RollbackRequest("0"));
  ASSERT_THAT(down.status, IsOk());
  EXPECT_EQ(down.finished.outcome, db::Outcome::kRolledBack);
  EXPECT_EQ(down.finished.steps_done, 5);
  EXPECT_EQ(AppliedVersions(dsn), "");
  EXPECT_EQ(SchemaSnapshot(dsn), "");

  RunResult up2 = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(up2.status, IsOk());
  EXPECT_EQ(SchemaSnapshot(dsn), first);
}

TEST(EnginePgTest, ApplyToAVersionAndRollBackBySteps) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  auto engine = MakeEngine(kSmall, dsn);
  ASSERT_THAT(RunEngine(*engine, ApplyRequest("002")).status, IsOk());
  EXPECT_EQ(AppliedVersions(dsn), "001,002");
  ASSERT_THAT(RunEngine(*engine, ApplyRequest()).status, IsOk());
  RunResult back = RunEngine(*engine, RollbackRequest("", 2));
  ASSERT_THAT(back.status, IsOk());
  EXPECT_EQ(back.finished.version, "003");
  EXPECT_EQ(AppliedVersions(dsn), "001,002,003");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn, "SELECT to_regclass('public.audit') IS NULL"), "t");
}

class FailurePgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("schemad-failing");
    dsn_ = TestPostgres::Get().CreateDatabase();
  }
  std::string dir_;
  std::string dsn_;
};

TEST_F(FailurePgTest, FailingTransactionalStatementLeavesNothingAndBlocksNothing) {
  WriteFiles(dir_, {{"1_ok.up.sql", "CREATE TABLE first (id int);"},
                    {"2_bad.up.sql",
                     "CREATE TABLE second (id int);\nINSERT INTO second VALUES (1);\n"
                     "INSERT INTO missing_table VALUES (1);\nCREATE TABLE never (id int);\n"},
                    {"3_later.up.sql", "CREATE TABLE third (id int);"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kFailed);
  EXPECT_EQ(run.finished.statement_index, 3);
  EXPECT_EQ(run.finished.sqlstate, "42P01");
  EXPECT_EQ(run.finished.steps_done, 1);
  // The version reached, not the one planned.
  EXPECT_EQ(run.finished.version, "1");
  EXPECT_EQ(run.finished.from_version, "");
  EXPECT_THAT(run.finished.message,
              AllOf(HasSubstr("apply 2_bad: statement 3 (line 3)"),
                    HasSubstr("relation \"missing_table\" does not exist"),
                    HasSubstr("SQLSTATE 42P01"), HasSubstr("nothing of 2_bad was committed")));
  // Nothing of the failed file remains; the file before it stays applied.
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT to_regclass('second') IS NULL"), "t");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT to_regclass('first') IS NOT NULL"), "t");
  EXPECT_EQ(AppliedVersions(dsn_), "1");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_,
                "SELECT state || ' ' || current_version || ' ' || statement_index || ' ' || "
                "completed || ' ' || partial || ' ' || sqlstate || ' ' || failing_statement "
                "FROM schemad.runs"),
            "failed 2 3 0 false 42P01 INSERT INTO missing_table VALUES (1)");

  // It left nothing behind, so it blocks nothing: the next apply runs the file again.
  auto status = engine->GetStatus(*engine->targets()[0]);
  ASSERT_THAT(status, IsOk());
  EXPECT_FALSE(status->blocking_run.has_value());
  RunResult again = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(again.status, IsOk());
  EXPECT_EQ(again.finished.outcome, db::Outcome::kFailed);
  EXPECT_EQ(again.finished.statement_index, 3);

  // The author fixes the file; the next apply completes it.
  WriteFiles(dir_, {{"2_bad.up.sql",
                     "CREATE TABLE second (id int);\nINSERT INTO second VALUES (1);\n"
                     "CREATE TABLE missing_table (id int);\nCREATE TABLE never (id int);\n"}});
  auto fixed = MakeEngine(dir_, dsn_);
  RunResult rest = RunEngine(*fixed, ApplyRequest());
  ASSERT_THAT(rest.status, IsOk());
  EXPECT_EQ(rest.finished.outcome, db::Outcome::kApplied);
  EXPECT_EQ(rest.finished.from_version, "1");
  EXPECT_EQ(rest.finished.version, "3");
  EXPECT_EQ(AppliedVersions(dsn_), "1,2,3");
}

TEST_F(FailurePgTest, NonTransactionalFailureIsResolvedByRetryFromTheFailedStatement) {
  WriteFiles(dir_, {{"1_base.up.sql", "CREATE TABLE items (id int, code text);"},
                    {"2_index.up.sql",
                     "INSERT INTO items VALUES (1, 'a'), (2, 'a');\n"
                     "CREATE UNIQUE INDEX CONCURRENTLY items_code ON items (code);\n"
                     "INSERT INTO items VALUES (3, 'c');\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kFailed);
  EXPECT_EQ(run.finished.statement_index, 2);
  EXPECT_EQ(run.finished.sqlstate, "23505");
  EXPECT_THAT(run.finished.message, HasSubstr("indexes left INVALID: public.items_code"));
  // Statement 1 ran and stays: that is what non-transactional means, and why it blocks.
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT count(*) FROM items"), "2");
  EXPECT_EQ(AppliedVersions(dsn_), "1");

  // A person fixes the data and drops the invalid index; retry resumes at statement 2.
  TestPostgres::MustQuery(dsn_, "UPDATE items SET code = 'b' WHERE id = 2; DROP INDEX items_code");
  auto status = engine->GetStatus(*engine->targets()[0]);
  ASSERT_THAT(status, IsOk());
  ASSERT_TRUE(status->blocking_run.has_value());
  std::vector<RunEvent> events;
  auto resolved = engine->Resolve(
      *engine->targets()[0], status->blocking_run->run_id, true, "admin",
      [&](const RunEvent& e) { events.push_back(e); }, [] { return false; });
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->state, db::RunState::kResolved);
  EXPECT_EQ(resolved->outcome, db::Outcome::kApplied);
  EXPECT_EQ(
      TestPostgres::MustQueryOne(dsn_, "SELECT string_agg(id::text, ',' ORDER BY id) FROM items"),
      "1,2,3");  // statement 1 was not run twice
  EXPECT_EQ(AppliedVersions(dsn_), "1,2");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_code'::regclass"),
            "t");
}

TEST_F(FailurePgTest, NonTransactionalFailureCanBeMarkedDone) {
  WriteFiles(dir_,
             {{"1_index.up.sql",
               "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id ON missing (id);\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  RunResult run = RunEngine(*engine, ApplyRequest());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kFailed);
  EXPECT_EQ(run.finished.statement_index, 2);
  auto status = engine->GetStatus(*engine->targets()[0]);
  ASSERT_TRUE(status.ok() && status->blocking_run.has_value());
  auto resolved = engine->Resolve(
      *engine->targets()[0], status->blocking_run->run_id, false, "admin", [](const RunEvent&) {},
      [] { return false; });
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->state, db::RunState::kResolved);
  EXPECT_EQ(resolved->outcome, db::Outcome::kApplied);
  EXPECT_EQ(AppliedVersions(dsn_), "1");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT applied_by FROM schemad.migrations"), "admin");
  RunResult next = RunEngine(*engine, ApplyRequest());
  ASSERT_THAT(next.status, IsOk());
  EXPECT_EQ(next.finished.outcome, db::Outcome::kNoChange);
  // Resolving again is refused: nothing blocks any more.
  EXPECT_THAT(engine->Resolve(
                  *engine->targets()[0], status->blocking_run->run_id, false, "admin",
                  [](const RunEvent&) {}, [] { return false; }),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("nothing to resolve")));
}

TEST_F(FailurePgTest, StalePlanHashIsRefused) {
  WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE a (id int);"},
                    {"2_b.up.sql", "CREATE TABLE b (id int);"}});
  auto engine = MakeEngine(dir_, dsn_);
  auto plan = engine->MakePlan(*engine->targets()[0], {});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT count(*) FROM pg_namespace WHERE nspname = 'schemad'"),
            "0")
      << "Plan must write nothing";
  ASSERT_THAT(RunEngine(*engine, ApplyRequest("1")).status, IsOk());  // the state moves
  engine::RunRequest pinned = ApplyRequest();
  pinned.expected_plan_hash = plan->plan_hash;
  EXPECT_THAT(RunEngine(*engine, pinned).status,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("the state moved since the plan was made"),
                             HasSubstr(plan->plan_hash))));
  auto fresh = engine->MakePlan(*engine->targets()[0], {});
  ASSERT_THAT(fresh, IsOk());
  pinned.expected_plan_hash = fresh->plan_hash;
  RunResult run = RunEngine(*engine, pinned);
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kApplied);
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT outcome FROM schemad.events WHERE outcome = 'REFUSED'"),
            "REFUSED");
}

TEST_F(FailurePgTest, SameRequestIdReturnsTheSameRun) {
  WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE a (id int);"}});
  auto engine = MakeEngine(dir_, dsn_);
  engine::RunRequest request = ApplyRequest();
  request.request_id = "deploy-42";
  RunResult first = RunEngine(*engine, request);
  ASSERT_THAT(first.status, IsOk());
  WriteFiles(dir_, {{"2_b.up.sql", "CREATE TABLE b (id int);"}});
  auto reloaded = MakeEngine(dir_, dsn_);
  RunResult retry = RunEngine(*reloaded, request);
  ASSERT_THAT(retry.status, IsOk());
  EXPECT_EQ(retry.finished.run_id, first.finished.run_id);
  EXPECT_EQ(retry.finished.outcome, db::Outcome::kApplied);
  EXPECT_EQ(AppliedVersions(dsn_), "1");  // the retry did not start a new run
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT count(*) FROM schemad.runs"), "1");
}

TEST_F(FailurePgTest, ChecksumDriftAndOutOfOrderAreReportedAndBlock) {
  WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE a (id int);"},
                    {"3_c.up.sql", "CREATE TABLE c (id int);"}});
  auto engine = MakeEngine(dir_, dsn_);
  ASSERT_THAT(RunEngine(*engine, ApplyRequest()).status, IsOk());
  WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE a (id bigint);"},
                    {"2_b.up.sql", "CREATE TABLE b (id int);"}});
  auto changed = MakeEngine(dir_, dsn_);
  auto status = changed->GetStatus(*changed->targets()[0]);
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(status->checksum_drift);
  EXPECT_TRUE(status->out_of_order);
  EXPECT_TRUE(status->revisions[0].drift);
  EXPECT_TRUE(status->revisions[1].out_of_order);
  EXPECT_THAT(
      RunEngine(*changed, ApplyRequest()).status,
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("out of order: pending 2")));
  engine::RunRequest allowed = ApplyRequest();
  allowed.plan.allow_out_of_order = true;
  EXPECT_THAT(
      RunEngine(*changed, allowed).status,
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("checksum drift: applied 1")));
  allowed.plan.accept_checksum_drift = true;
  RunResult run = RunEngine(*changed, allowed);
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kApplied);
  EXPECT_EQ(AppliedVersions(dsn_), "1,2,3");
}

TEST_F(FailurePgTest, LockTimeoutIsRetriedWithBackoffUntilTheLockIsFree) {
  WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE busy (id int);"},
                    {"2_b.up.sql", "ALTER TABLE busy ADD COLUMN note text;"}});
  auto engine = MakeEngine(dir_, dsn_, "dev", absl::Milliseconds(100));
  ASSERT_THAT(RunEngine(*engine, ApplyRequest("1")).status, IsOk());
  pqxx::connection holder(dsn_);
  pqxx::work txn(holder);
  txn.exec("LOCK TABLE busy IN ACCESS SHARE MODE");
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    txn.commit();
  });
  RunResult run = RunEngine(*engine, ApplyRequest());
  release.join();
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kApplied);
  ASSERT_FALSE(run.notices.empty());
  EXPECT_THAT(run.notices[0],
              AllOf(HasSubstr("lock_timeout at statement 1"), HasSubstr("retry 1 of 5")));
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy'"),
            "2");
}

TEST_F(FailurePgTest, CancellationInterruptsAndRollsBackTheOpenFile) {
  WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE a (id int);"},
                    {"2_slow.up.sql", "CREATE TABLE slow (id int);\nSELECT pg_sleep(20);\n"}});
  auto engine = MakeEngine(dir_, dsn_);
  const auto start = std::chrono::steady_clock::now();
  std::atomic<bool> step_two{false};
  RunResult run;
  run.status = engine->Run(
      *engine->targets()[0], ApplyRequest(),
      [&](const RunEvent& event) {
        if (event.kind == RunEvent::Kind::kStepStarted && event.version == "2") step_two = true;
        if (event.kind == RunEvent::Kind::kRunFinished) run.finished = event;
      },
      [&] {
        return step_two &&
               std::chrono::steady_clock::now() - start > std::chrono::milliseconds(300);
      });
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.finished.outcome, db::Outcome::kInterrupted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT to_regclass('slow') IS NULL"), "t");
  EXPECT_EQ(AppliedVersions(dsn_), "1");
  EXPECT_EQ(TestPostgres::MustQueryOne(dsn_, "SELECT state FROM schemad.runs"), "interrupted");
  // An interrupted transactional file left nothing behind, so it does not block.
  WriteFiles(dir_, {{"2_slow.up.sql", "CREATE TABLE slow (id int);\n"}});
  auto fixed = MakeEngine(dir_, dsn_);
  EXPECT_EQ(RunEngine(*fixed, ApplyRequest()).finished.outcome, db::Outcome::kApplied);
}

// Two engines are two replicas: they share nothing but the database.
TEST_F(FailurePgTest, ConcurrentAppliesRunEachRevisionOnce) {
  std::map<std::string, std::string> files;
  for (int i = 1; i <= 20; ++i) {
    files[absl::StrCat(i, "_t.up.sql")] =
        absl::StrCat("CREATE TABLE t", i, " (id int); SELECT pg_sleep(0.01);");
  }
  WriteFiles(dir_, files);
  auto replica_a = MakeEngine(dir_, dsn_);
  auto replica_b = MakeEngine(dir_, dsn_);
  RunResult a1, a2, b1;
  std::thread ta([&] { a1 = RunEngine(*replica_a, ApplyRequest()); });
  std::thread ta2([&] { a2 = RunEngine(*replica_a, ApplyRequest()); });
  std::thread tb([&] { b1 = RunEngine(*replica_b, ApplyRequest()); });
  ta.join();
  ta2.join();
  tb.join();
  std::vector<std::string> outcomes = {db::OutcomeName(a1.finished.outcome),
                                       db::OutcomeName(a2.finished.outcome),
                                       db::OutcomeName(b1.finished.outcome)};
  std::sort(outcomes.begin(), outcomes.end());
  EXPECT_EQ(absl::StrJoin(outcomes, ","), "APPLIED,NO_CHANGE,NO_CHANGE");
  EXPECT_EQ(TestPostgres::MustQueryOne(
                dsn_, "SELECT count(*) || ' ' || count(DISTINCT version) FROM schemad.migrations"),
            "20 20");
}

TEST_F(FailurePgTest, LoserGetsAbortedNamingTheHolder) {
  WriteFiles(dir_, {{"1_slow.up.sql", "SELECT pg_sleep(3);"}});
  auto holder = MakeEngine(dir_, dsn_);
  auto waiter = MakeEngine(dir_, dsn_, "dev", absl::Seconds(5), absl::Milliseconds(500));
  RunResult held;
  std::thread t([&] {
    engine::RunRequest request = ApplyRequest();
    request.principal = "alice";
    held = RunEngine(*holder, request);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  RunResult lost = RunEngine(*waiter, ApplyRequest());
  t.join();
  EXPECT_EQ(held.finished.outcome, db::Outcome::kApplied);
  EXPECT_THAT(lost.status, StatusIs(absl::StatusCode::kAborted,
                                    AllOf(HasSubstr("is locked: run "), HasSubstr("apply by alice"),
                                          HasSubstr("is running at 1"))));
}

TEST_F(FailurePgTest, BadRequests) {
  WriteFiles(dir_, {{"1_a.up.sql", "CREATE TABLE a (id int);"},
                    {"2_b.up.sql", "CREATE TABLE b (id int);"},
                    {"2_b.down.sql", "DROP TABLE b;"}});
  auto engine = MakeEngine(dir_, dsn_);
  EXPECT_THAT(engine->FindTarget("nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown target \"nope\"")));
  EXPECT_THAT(RunEngine(*engine, ApplyRequest("7")).status,
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("version 7 is not in catalog")));
  ASSERT_THAT(RunEngine(*engine, ApplyRequest()).status, IsOk());
  EXPECT_THAT(RunEngine(*engine, RollbackRequest("0")).status,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot roll back 1_a: it is irreversible (no .down.sql)")));
  EXPECT_EQ(AppliedVersions(dsn_), "1,2") << "a refused plan runs nothing";
  EXPECT_THAT(RunEngine(*engine, RollbackRequest("1", 1)).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));
  EXPECT_THAT(
      RunEngine(*engine, RollbackRequest("", -1)).status,
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps must not be negative")));
}

}  // namespace
}  // namespace schemad::testing
