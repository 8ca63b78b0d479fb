#include "tests/support/engine_runner.h"

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {

std::unique_ptr<engine::Engine> MakeEngine(const std::string& catalog, const std::string& dsn,
                                           const std::string& name, absl::Duration lock_timeout,
                                           absl::Duration lock_wait) {
  TargetConfig config;
  config.name = name;
  config.catalog_path = catalog;
  config.dsn = dsn;
  config.lock_timeout = lock_timeout;
  config.lock_wait = lock_wait;
  auto engine = engine::Engine::Create({config}, "test-instance");
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

RunResult RunEngine(engine::Engine& engine, const engine::RunRequest& request,
                    const engine::CancelCheck& cancelled) {
  RunResult result;
  result.status = engine.Run(
      *engine.targets()[0], request,
      [&](const engine::RunEvent& event) {
        result.events.push_back(event);
        if (event.kind == engine::RunEvent::Kind::kRunFinished) result.finished = event;
        if (event.kind == engine::RunEvent::Kind::kNotice) result.notices.push_back(event.message);
      },
      cancelled);
  return result;
}

engine::RunRequest ApplyRequest(const std::string& to) {
  engine::RunRequest request;
  request.plan.to_version = to;
  request.principal = "tester";
  return request;
}

engine::RunRequest RollbackRequest(const std::string& to, int steps) {
  engine::RunRequest request;
  request.plan.direction = engine::Direction::kDown;
  request.plan.to_version = to;
  request.plan.steps = steps;
  request.principal = "tester";
  return request;
}

std::string AppliedVersions(const std::string& dsn) {
  return absl::StrJoin(
      TestPostgres::MustQuery(dsn, "SELECT version FROM schemad.migrations ORDER BY version_key"),
      ",");
}

std::string SchemaSnapshot(const std::string& dsn) {
  constexpr char kQuery[] = R"sql(
SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type,
              is_nullable, coalesce(column_default, ''))
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT format('relation %s %s', relname, relkind) FROM pg_class
 WHERE relnamespace = 'public'::regnamespace
UNION ALL
SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p
 WHERE pronamespace = 'public'::regnamespace
UNION ALL
SELECT format('type %s', typname) FROM pg_type t
 WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'c')
   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)
UNION ALL
SELECT format('trigger %s on %s', tgname, tgrelid::regclass) FROM pg_trigger
 WHERE NOT tgisinternal
ORDER BY 1)sql";
  return absl::StrJoin(TestPostgres::MustQuery(dsn, kQuery), "\n");
}

}  // namespace schemad::testing
