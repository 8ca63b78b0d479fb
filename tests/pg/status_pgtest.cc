// GetStatus and GetVersion against a real, empty PostgreSQL database.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/engine/engine.h"
#include "tests/support/matchers.h"
#include "tests/support/test_postgres.h"

namespace schemad::engine {
namespace {

using ::schemad::testing::IsOk;
using ::schemad::testing::TestPostgres;

// Target dev over the bundled catalog and `dsn`.
TargetConfig DevTarget(const std::string& dsn) {
  TargetConfig config;
  config.name = "dev";
  config.catalog_path = SCHEMAD_SOURCE_DIR "/migrations/nabavkidata";
  config.dsn = dsn;
  return config;
}

TEST(StatusPgTest, EmptyDatabaseListsEveryNabavkidataRevisionAsPending) {
  TargetConfig config = DevTarget(TestPostgres::Get().CreateDatabase());
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create({config}, "test");
  ASSERT_THAT(engine, IsOk());
  const Target& target = *(*engine)->targets()[0];
  absl::StatusOr<TargetStatus> status = (*engine)->GetStatus(target);
  ASSERT_THAT(status, IsOk());
  EXPECT_FALSE(status->initialized);
  EXPECT_EQ(status->current_version, "");
  EXPECT_EQ(status->applied_count, 0);
  ASSERT_EQ(status->pending_count, static_cast<int>(target.catalog()->revisions.size()));
  ASSERT_EQ(status->revisions.size(), target.catalog()->revisions.size());
  for (size_t i = 0; i < status->revisions.size(); ++i) {
    EXPECT_EQ(status->revisions[i].revision, &target.catalog()->revisions[i]);
    EXPECT_FALSE(status->revisions[i].applied.has_value());
  }
  EXPECT_FALSE(status->blocking_run.has_value());
  // Reading status never creates the bookkeeping schema.
  EXPECT_EQ(TestPostgres::MustQueryOne(
                config.dsn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'schemad'"),
            "0");

  absl::StatusOr<VersionReport> version = (*engine)->GetVersion(target);
  ASSERT_THAT(version, IsOk());
  EXPECT_EQ(version->current_version, "");
  EXPECT_EQ(version->latest_version, target.catalog()->LatestVersion());
  EXPECT_EQ(version->pending_count, status->pending_count);
}

TEST(StatusPgTest, UnreachableDatabaseIsUnavailableWithoutTheDsn) {
  TargetConfig config =
      DevTarget("host=/nonexistent-socket-dir port=1 user=u password=hunter2 dbname=x");
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create({config}, "test");
  ASSERT_THAT(engine, IsOk());
  absl::StatusOr<TargetStatus> status = (*engine)->GetStatus(*(*engine)->targets()[0]);
  EXPECT_THAT(status, schemad::testing::StatusIs(absl::StatusCode::kUnavailable,
                                                 ::testing::Not(::testing::HasSubstr("hunter2"))));
}

// A restart or a terminated backend closes pooled connections; the next call must not fail.
TEST(StatusPgTest, PooledConnectionsClosedByTheServerAreReplaced) {
  TargetConfig config = DevTarget(TestPostgres::Get().CreateDatabase());
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create({config}, "test");
  ASSERT_THAT(engine, IsOk());
  const Target& target = *(*engine)->targets()[0];
  ASSERT_THAT((*engine)->GetStatus(target), IsOk());
  EXPECT_EQ(TestPostgres::MustQueryOne(
                config.dsn,
                "SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"),
            "t");
  EXPECT_THAT((*engine)->GetStatus(target), IsOk());
}

TEST(StatusPgTest, UnparsableDsnIsNotEchoed) {
  TargetConfig config;
  config.name = "dev";
  config.catalog_path = SCHEMAD_SOURCE_DIR "/migrations/nabavkidata";
  config.dsn = "host=/tmp password='hunter2 port=1";  // an unterminated quote
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create({config}, "test");
  ASSERT_THAT(engine, IsOk());
  EXPECT_THAT((*engine)->GetStatus(*(*engine)->targets()[0]),
              schemad::testing::StatusIs(
                  absl::StatusCode::kUnavailable,
                  ::testing::AllOf(::testing::HasSubstr("connection string is not valid"),
                                   ::testing::Not(::testing::HasSubstr("hunter2")))));
}

}  // namespace
}  // namespace schemad::engine
