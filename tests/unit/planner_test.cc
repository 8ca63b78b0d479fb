// The planner is a pure function: catalog + history + request -> steps, warnings, hash.
#include "server/engine/planner.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/engine/admission.h"
#include "server/engine/promotion.h"
#include "server/engine/shadow.h"
#include "tests/support/matchers.h"
#include "tests/support/test_postgres.h"

namespace schemad::engine {
namespace {

using ::schemad::testing::IsOk;
using ::schemad::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = testing::MakeTempDir("schemad-planner");
    testing::WriteFiles(dir, {{"1_a.up.sql", "CREATE TABLE a(id int);"},
                              {"1_a.down.sql", "DROP TABLE a;"},
                              {"2_b.up.sql", "CREATE TABLE b(id int);"},
                              {"3_c.up.sql", "CREATE INDEX CONCURRENTLY c ON a(id);"},
                              {"3_c.down.sql", "DROP INDEX CONCURRENTLY c;"}});
    absl::StatusOr<Catalog> catalog = LoadCatalog(dir);
    ASSERT_THAT(catalog, IsOk());
    catalog_ = *std::move(catalog);
  }
  db::AppliedRevision Applied(const std::string& version) {
    const Revision& revision = catalog_.revisions[catalog_.IndexOf(version)];
    return db::AppliedRevision{
        revision.version, revision.name, revision.up.checksum, absl::Now(), "test", 1, ""};
  }
  std::vector<std::string> Versions(const Plan& plan) {
    std::vector<std::string> versions;
    for (const PlanStep& step : plan.steps) versions.push_back(step.revision->version);
    return versions;
  }
  Catalog catalog_;
};

TEST_F(PlannerTest, UpPlansEveryPendingRevisionInOrder) {
  absl::StatusOr<Plan> plan = MakePlan("dev", catalog_, {}, std::nullopt, {});
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(Versions(*plan), ElementsAre("1", "2", "3"));
  EXPECT_EQ(plan->to_version, "3");
  EXPECT_TRUE(plan->steps[0].transactional);
  EXPECT_FALSE(plan->steps[2].transactional);
  EXPECT_THAT(plan->steps[2].transaction_reason, HasSubstr("CREATE INDEX CONCURRENTLY"));
  EXPECT_THAT(plan->refusal, IsEmpty());
  EXPECT_EQ(plan->plan_hash.size(), 64u);
}

TEST_F(PlannerTest, UpToAVersionStopsThere) {
  PlanRequest request;
  request.to_version = "2";
  absl::StatusOr<Plan> plan = MakePlan("dev", catalog_, {Applied("1")}, std::nullopt, request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(Versions(*plan), ElementsAre("2"));
  EXPECT_THAT(plan->warnings, ::testing::Contains(HasSubstr("2_b is irreversible")));
}

TEST_F(PlannerTest, UnknownVersionIsNotFound) {
  PlanRequest request;
  request.to_version = "42";
  EXPECT_THAT(MakePlan("dev", catalog_, {}, std::nullopt, request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("version 42 is not in catalog")));
}

TEST_F(PlannerTest, OutOfOrderIsRefusedUnlessAllowed) {
  PlanRequest request;
  absl::StatusOr<Plan> plan =
      MakePlan("dev", catalog_, {Applied("1"), Applied("3")}, std::nullopt, request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(Versions(*plan), ElementsAre("2"));
  EXPECT_THAT(plan->refusal, HasSubstr("out of order: pending 2"));
  request.allow_out_of_order = true;
  plan = MakePlan("dev", catalog_, {Applied("1"), Applied("3")}, std::nullopt, request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(plan->refusal, IsEmpty());
  EXPECT_THAT(plan->warnings, ::testing::Contains(HasSubstr("out of order")));
}

TEST_F(PlannerTest, ChecksumDriftIsRefusedUnlessAccepted) {
  db::AppliedRevision changed = Applied("1");
  changed.checksum = "v1:0000";
  absl::StatusOr<Plan> plan = MakePlan("dev", catalog_, {changed}, std::nullopt, {});
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(plan->refusal, HasSubstr("checksum drift: applied 1"));
  PlanRequest accept;
  accept.accept_checksum_drift = true;
  plan = MakePlan("dev", catalog_, {changed}, std::nullopt, accept);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(plan->refusal, IsEmpty());
}

TEST_F(PlannerTest, FailedRunBlocks) {
  db::RunRecord failed;
  failed.run_id = "r1";
  failed.operation = db::Operation::kApply;
  failed.principal = "ci";
  failed.state = db::RunState::kFailed;
  failed.current_version = "2";
  failed.failed_statement = 3;
  failed.error = "boom";
  absl::StatusOr<Plan> plan = MakePlan("dev", catalog_, {Applied("1")}, failed, {});
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(plan->refusal, HasSubstr("run r1 (apply by ci"));
  EXPECT_THAT(plan->refusal, HasSubstr("statement 3: boom"));
}

// Issue 10, item 5: a word where a version belongs is refused, never read as 0 (everything).
TEST_F(PlannerTest, WordsAreNotVersions) {
  for (const char* word : {"latest", "HEAD", " ", "v5", "5;", "1_"}) {
    PlanRequest down;
    down.direction = Direction::kDown;
    down.to_version = word;
    EXPECT_THAT(MakePlan("dev", catalog_, {Applied("1"), Applied("3")}, std::nullopt, down),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a version")))
        << word;
    PlanRequest up;
    up.to_version = word;
    EXPECT_THAT(MakePlan("dev", catalog_, {}, std::nullopt, up),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a version")))
        << word;
  }
}

TEST_F(PlannerTest, RollbackByStepsAndToVersion) {
  PlanRequest request;
  request.direction = Direction::kDown;
  request.steps = 1;
  absl::StatusOr<Plan> plan =
      MakePlan("dev", catalog_, {Applied("1"), Applied("3")}, std::nullopt, request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(Versions(*plan), ElementsAre("3"));
  EXPECT_EQ(plan->to_version, "1");
  request.steps = 0;
  request.to_version = "0";
  plan = MakePlan("dev", catalog_, {Applied("1"), Applied("3")}, std::nullopt, request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(Versions(*plan), ElementsAre("3", "1"));
  EXPECT_EQ(plan->to_version, "");
}

TEST_F(PlannerTest, RollbackAcrossAnIrreversibleStepFails) {
  PlanRequest request;
  request.direction = Direction::kDown;
  request.to_version = "0";
  EXPECT_THAT(MakePlan("dev", catalog_, {Applied("1"), Applied("2")}, std::nullopt, request),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot roll back 2_b: it is irreversible")));
}

TEST_F(PlannerTest, RollbackNeedsExactlyOneOfToAndSteps) {
  PlanRequest request;
  request.direction = Direction::kDown;
  EXPECT_THAT(MakePlan("dev", catalog_, {}, std::nullopt, request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("to_version")));
  request.to_version = "1";
  request.steps = 1;
  EXPECT_THAT(MakePlan("dev", catalog_, {}, std::nullopt, request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));
}

TEST_F(PlannerTest, HashChangesWithRecordedState) {
  absl::StatusOr<Plan> empty = MakePlan("dev", catalog_, {}, std::nullopt, {});
  absl::StatusOr<Plan> again = MakePlan("dev", catalog_, {}, std::nullopt, {});
  absl::StatusOr<Plan> moved = MakePlan("dev", catalog_, {Applied("1")}, std::nullopt, {});
  absl::StatusOr<Plan> other = MakePlan("prod", catalog_, {}, std::nullopt, {});
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->plan_hash, again->plan_hash);
  EXPECT_NE(empty->plan_hash, moved->plan_hash);
  EXPECT_NE(empty->plan_hash, other->plan_hash);
}

}  // namespace
}  // namespace schemad::engine

namespace schemad::engine {
namespace {

// Issue 12, item 6: the promotion gate as a pure function of what the source targets applied.
TEST_F(PlannerTest, PromotionNeedsTheSameFileSoakedInTheSourceEnvironment) {
  absl::StatusOr<Plan> plan = MakePlan("prod", catalog_, {}, std::nullopt, {});
  ASSERT_THAT(plan, IsOk());
  EnvironmentConfig prod{"prod", "staging", absl::Hours(1), true, 3};
  const absl::Time now = absl::Now();
  db::AppliedRevision soaked = Applied("1");
  soaked.applied_at = now - absl::Hours(2);
  soaked.applied_by = "pipeline";
  soaked.run_id = "r1";
  db::AppliedRevision fresh = Applied("2");
  fresh.applied_at = now - absl::Minutes(10);
  PromotionSource staging{"staging-eu", {soaked, fresh}, ""};
  PromotionSource broken{"staging-us", {}, "connection refused"};
  CheckPromotion(prod, "app", {broken, staging}, now, &*plan);
  EXPECT_TRUE(plan->steps[0].promoted);
  EXPECT_THAT(plan->steps[0].promotion, AllOf(HasSubstr("promoted: staging-eu applied 1 at "),
                                              HasSubstr("by pipeline, run r1")));
  EXPECT_FALSE(plan->steps[1].promoted);
  EXPECT_THAT(plan->steps[1].promotion,
              AllOf(HasSubstr("staging-us could not be read (connection refused)"),
                    HasSubstr("staging-eu applied it at "), HasSubstr("(soak 1h)")));
  EXPECT_THAT(plan->steps[2].promotion, HasSubstr("staging-eu has not applied it"));
  EXPECT_THAT(plan->not_promoted, ElementsAre("2", "3"));

  absl::StatusOr<Plan> alone = MakePlan("prod", catalog_, {}, std::nullopt, {});
  ASSERT_THAT(alone, IsOk());
  CheckPromotion(prod, "app", {}, now, &*alone);
  EXPECT_THAT(alone->steps[0].promotion,
              HasSubstr("not promoted: no target of catalog app is in environment staging"));

  // The refusal comes in order (plan hash first) and carries its reason for programs.
  AdmissionRequest request{"apply"};
  request.environment = prod;
  absl::StatusOr<std::vector<std::string>> allowed = CheckRunAllowed(*plan, {}, request);
  EXPECT_THAT(allowed,
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("requires a plan hash")));
  EXPECT_EQ(RefusalOf(allowed.status())->reason, RefusalReason::kNeedsPlanHash);
  request.expected_plan_hash = plan->plan_hash;
  allowed = CheckRunAllowed(*plan, {}, request);
  ASSERT_FALSE(allowed.ok());
  const std::optional<Refusal> refusal = RefusalOf(allowed.status());
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->reason, RefusalReason::kNotPromoted);
  EXPECT_THAT(refusal->versions, ElementsAre("2", "3"));
  request.override_promotion_reason = "INC-7";
  allowed = CheckRunAllowed(*plan, {}, request);
  ASSERT_THAT(allowed, IsOk());
  EXPECT_THAT(*allowed, ElementsAre("promotion override (2, 3 not promoted from staging): INC-7"));
}

// A shadow must have the target's major version; the refusal names both (the suite has one
// PostgreSQL installed, so this rule is tested here rather than against two servers).
TEST(ShadowVersionTest, AnotherMajorVersionIsRefusedNamingBoth) {
  EXPECT_THAT(CheckShadowVersion("prod", 150018, 150004), IsOk());
  const absl::Status refused = CheckShadowVersion("prod", 160002, 150018);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                AllOf(HasSubstr("the shadow server is PostgreSQL 15.18"),
                                      HasSubstr("target prod is PostgreSQL 16.2"),
                                      HasSubstr("server of version 16"))));
  std::optional<Refusal> refusal = RefusalOf(refused);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->reason, RefusalReason::kShadowVersion);
}

}  // namespace
}  // namespace schemad::engine
