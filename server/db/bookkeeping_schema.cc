#include "server/db/bookkeeping_schema.h"

#include "absl/strings/str_format.h"
#include "server/common/refusal.h"
#include "server/db/transaction.h"

namespace schemad::db {
namespace {

constexpr char kCreateV1[] = R"sql(
CREATE SCHEMA IF NOT EXISTS schemad;
CREATE TABLE IF NOT EXISTS schemad.meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE IF NOT EXISTS schemad.migrations (
  catalog text NOT NULL,
  version text NOT NULL,
  version_key numeric NOT NULL,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL,
  duration_ms double precision NOT NULL DEFAULT 0,
  run_id uuid,
  PRIMARY KEY (catalog, version_key)
);
CREATE TABLE IF NOT EXISTS schemad.runs (
  run_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  catalog text NOT NULL,
  request_id text,
  principal text NOT NULL,
  operation text NOT NULL,
  target_version text NOT NULL DEFAULT '',
  plan_hash text NOT NULL DEFAULT '',
  state text NOT NULL CHECK (state IN ('running','succeeded','failed','interrupted','resolved')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  server_instance text NOT NULL,
  backend_pid integer NOT NULL DEFAULT 0,
  current_version text NOT NULL DEFAULT '',
  current_transactional boolean NOT NULL DEFAULT true,
  statement_index integer NOT NULL DEFAULT 0,
  error text NOT NULL DEFAULT '',
  sqlstate text NOT NULL DEFAULT '',
  failing_statement text NOT NULL DEFAULT '',
  outcome text NOT NULL DEFAULT '',
  overrides text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_request_id ON schemad.runs (catalog, request_id)
  WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_catalog_started ON schemad.runs (catalog, started_at DESC);
CREATE TABLE IF NOT EXISTS schemad.events (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  catalog text NOT NULL,
  principal text NOT NULL,
  action text NOT NULL,
  run_id uuid,
  outcome text NOT NULL DEFAULT '',
  detail text NOT NULL DEFAULT ''
);
INSERT INTO schemad.meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
)sql";

// Version 2: progress has one meaning (`completed`: statements of the current file whose
// effects are durable, with a hash each), the file's mode, and the run's figures for replays.
// `statement_index` is now only the failing statement (1-based). Rows of version 1 are
// converted: a running non-transactional file counted completed statements in statement_index.
constexpr char kUpgradeV2[] = R"sql(
ALTER TABLE schemad.runs
  ADD COLUMN IF NOT EXISTS current_mode text NOT NULL DEFAULT 'transactional',
  ADD COLUMN IF NOT EXISTS completed integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS completed_hashes text[] NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS partial boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS from_version text NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS reached_version text NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS steps_done integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS duration_ms double precision NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS request_fingerprint text NOT NULL DEFAULT '';
ALTER TABLE schemad.runs DROP CONSTRAINT IF EXISTS runs_state_check;
ALTER TABLE schemad.runs ADD CONSTRAINT runs_state_check CHECK
  (state IN ('running','succeeded','failed','interrupted','timed_out','resolved'));
UPDATE schemad.runs SET current_mode = 'no-transaction', partial = true,
  completed = CASE WHEN state = 'running' THEN statement_index
                   ELSE greatest(statement_index - 1, 0) END
  WHERE NOT current_transactional;
UPDATE schemad.meta SET value = '2' WHERE key = 'schema_version';
)sql";

// Version 3: the commit fence as a function (its plan is cached per session; its search_path is
// pinned, so nothing a migration sets can change what it sees).
constexpr char kUpgradeV3[] = R"sql(
-- The commit fence: true iff the calling session holds advisory lock `key` (plpgsql, so its
-- plan is cached per session).
CREATE OR REPLACE FUNCTION schemad.holds_lock(key bigint) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = pg_backend_pid()
                   AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.classid::bigint = (key >> 32) AND l.objid::bigint = (key & 4294967295)
                   AND l.database = (SELECT oid FROM pg_database
                                     WHERE datname = current_database()));
END $$;
-- Callable under any role a migration switches to (it tells only about the caller's own locks).
GRANT USAGE ON SCHEMA schemad TO PUBLIC;
GRANT EXECUTE ON FUNCTION schemad.holds_lock(bigint) TO PUBLIC;
UPDATE schemad.meta SET value = '3' WHERE key = 'schema_version';
)sql";

// Version 4: the catalog content (digest; a release's when it is one) each revision came from.
constexpr char kUpgradeV4[] = R"sql(
ALTER TABLE schemad.migrations ADD COLUMN IF NOT EXISTS release text NOT NULL DEFAULT '';
UPDATE schemad.meta SET value = '4' WHERE key = 'schema_version';
)sql";

constexpr char kIsInitialized[] =
    "SELECT to_regclass('schemad.migrations') IS NOT NULL AND to_regclass('schemad.runs') IS NOT "
    "NULL";

}  // namespace

absl::Status EnsureBookkeepingSchema(Connection& conn) {
  // Fast path: one read when the schema is already at this build's version.
  absl::StatusOr<bool> current = InTransaction<pqxx::nontransaction>(
      conn, [&](pqxx::nontransaction& txn) -> absl::StatusOr<bool> {
        if (!txn.exec1("SELECT to_regclass('schemad.meta') IS NOT NULL AND "
                       "to_regclass('schemad.events') IS NOT NULL")[0]
                 .as<bool>()) {
          return false;
        }
        const pqxx::result version =
            txn.exec("SELECT value FROM schemad.meta WHERE key = 'schema_version'");
        return !version.empty() &&
               version[0][0].as<std::string>() == std::to_string(kBookkeepingVersion);
      });
  if (!current.ok()) return current.status();
  if (*current) return absl::OkStatus();
  return InTransaction<pqxx::work>(conn, [&](pqxx::work& txn) -> absl::Status {
    // Serialises concurrent first applies from several replicas.
    txn.exec("SELECT pg_advisory_xact_lock(7366216968616461)");
    txn.exec(kCreateV1);
    const int stored =
        txn.exec1("SELECT value::int FROM schemad.meta WHERE key = 'schema_version'")[0].as<int>();
    if (stored > kBookkeepingVersion) {
      return FailedPrecondition(
          RefusalReason::kNewerSchemad,
          absl::StrFormat(
              "schema schemad is at version %d, written by a newer schemad (this one knows %d)",
              stored, kBookkeepingVersion));
    }
    if (stored < 2) txn.exec(kUpgradeV2);
    if (stored < 3) txn.exec(kUpgradeV3);
    if (stored < 4) txn.exec(kUpgradeV4);
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> BookkeepingInitialized(Connection& conn) {
  return InTransaction<pqxx::read_transaction>(
      conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<bool> {
        return txn.exec1(kIsInitialized)[0].as<bool>();
      });
}

}  // namespace schemad::db
