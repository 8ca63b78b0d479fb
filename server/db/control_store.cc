#include "server/db/control_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/refusal.h"
#include "server/common/sha256.h"
#include "server/db/transaction.h"

namespace schemad::db {
namespace {

constexpr int kControlVersion = 4;
// The prev_hash of the first row.
constexpr char kGenesis[] = "0000000000000000000000000000000000000000000000000000000000000000";

constexpr char kCreateV1[] = R"sql(
CREATE SCHEMA IF NOT EXISTS schemad_control;
CREATE TABLE IF NOT EXISTS schemad_control.meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO schemad_control.meta VALUES ('schema_version', '1') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS schemad_control.audit (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  principal text NOT NULL,
  peer text NOT NULL,
  method text NOT NULL,
  target text NOT NULL,
  plan_hash text NOT NULL,
  outcome text NOT NULL,
  reason text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_target_at ON schemad_control.audit (target, at);
)sql";

// Releases: content-addressed catalogs; file contents are stored once by sha256.
constexpr char kUpgradeV2[] = R"sql(
CREATE TABLE IF NOT EXISTS schemad_control.releases (
  digest text PRIMARY KEY,
  catalog text NOT NULL,
  label text,
  published_by text NOT NULL,
  published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  revision_count int NOT NULL,
  latest_version text NOT NULL,
  UNIQUE (catalog, label)
);
CREATE INDEX IF NOT EXISTS releases_catalog_at ON schemad_control.releases (catalog, published_at);
CREATE TABLE IF NOT EXISTS schemad_control.release_revisions (
  digest text NOT NULL REFERENCES schemad_control.releases,
  version text NOT NULL,
  name text NOT NULL,
  up_checksum text NOT NULL,
  down_checksum text NOT NULL,
  PRIMARY KEY (digest, version)
);
CREATE TABLE IF NOT EXISTS schemad_control.blobs (sha256 text PRIMARY KEY, content text NOT NULL);
CREATE TABLE IF NOT EXISTS schemad_control.release_files (
  digest text NOT NULL REFERENCES schemad_control.releases,
  file_name text NOT NULL,
  sha256 text NOT NULL REFERENCES schemad_control.blobs,
  PRIMARY KEY (digest, file_name)
);
CREATE TABLE IF NOT EXISTS schemad_control.approvals (
  target text NOT NULL,
  plan_hash text NOT NULL,
  principal text NOT NULL,
  comment text NOT NULL,
  approved_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (target, plan_hash, principal)
);
UPDATE schemad_control.meta SET value = '2' WHERE key = 'schema_version';
)sql";

// Rehearsals of plans (require_rehearsal) and accepted drift (drift_gate).
constexpr char kUpgradeV3[] = R"sql(
CREATE TABLE IF NOT EXISTS schemad_control.rehearsals (
  id bigserial PRIMARY KEY,
  target text NOT NULL,
  plan_hash text NOT NULL,
  ok boolean NOT NULL,
  principal text NOT NULL,
  summary text NOT NULL,
  rehearsed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS rehearsals_target_plan ON schemad_control.rehearsals (target, plan_hash);
CREATE TABLE IF NOT EXISTS schemad_control.drift_acceptances (
  target text NOT NULL,
  drift_hash text NOT NULL,
  principal text NOT NULL,
  reason text NOT NULL,
  accepted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (target, drift_hash)
);
UPDATE schemad_control.meta SET value = '3' WHERE key = 'schema_version';
)sql";

// Version 4: fleet runs (ApplyGroup) and their members' states. Unlike the audit, schemad's
// role updates these rows (UPDATE on fleet_runs and fleet_members).
constexpr char kUpgradeV4[] = R"sql(
CREATE TABLE IF NOT EXISTS schemad_control.fleet_runs (
  fleet_run_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  group_name text NOT NULL,
  request_id text,
  release text NOT NULL DEFAULT '',
  to_version text NOT NULL DEFAULT '',
  principal text NOT NULL,
  parallel integer NOT NULL CHECK (parallel >= 1),
  canary integer NOT NULL CHECK (canary >= 0),
  max_failures integer NOT NULL CHECK (max_failures >= 1),
  state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed')),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS fleet_runs_request ON schemad_control.fleet_runs
  (group_name, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS fleet_runs_group ON schemad_control.fleet_runs
  (group_name, created_at DESC);
CREATE TABLE IF NOT EXISTS schemad_control.fleet_members (
  fleet_run_id uuid NOT NULL REFERENCES schemad_control.fleet_runs ON DELETE CASCADE,
  member text NOT NULL,
  position integer NOT NULL,
  canary boolean NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'applied',
    'no_change', 'failed', 'skipped')),
  plan_hash text NOT NULL DEFAULT '',
  run_id text NOT NULL DEFAULT '',
  version text NOT NULL DEFAULT '',
  error text NOT NULL DEFAULT '',
  claimed_by text NOT NULL DEFAULT '',
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (fleet_run_id, member)
);
CREATE INDEX IF NOT EXISTS fleet_members_pending ON schemad_control.fleet_members
  (fleet_run_id, position) WHERE state = 'pending';
UPDATE schemad_control.meta SET value = '4' WHERE key = 'schema_version';
)sql";

// Serialises appends (from every replica): each row needs the one before it.
constexpr char kChainLock[] = "SELECT pg_advisory_xact_lock(7366216968616462)";

constexpr char kColumns[] =
    "seq, (extract(epoch FROM at) * 1000000)::int8, principal, peer, method, target, plan_hash, "
    "outcome, reason, prev_hash, hash";

AuditEntry EntryOf(const pqxx::row& row) {
  AuditEntry entry;
  entry.seq = row[0].as<int64_t>();
  entry.at = absl::FromUnixMicros(row[1].as<int64_t>());
  entry.principal = row[2].as<std::string>();
  entry.peer = row[3].as<std::string>();
  entry.method = row[4].as<std::string>();
  entry.target = row[5].as<std::string>();
  entry.plan_hash = row[6].as<std::string>();
  entry.outcome = row[7].as<std::string>();
  entry.reason = row[8].as<std::string>();
  entry.prev_hash = row[9].as<std::string>();
  entry.hash = row[10].as<std::string>();
  return entry;
}

}  // namespace

std::string AuditEntryHash(const AuditEntry& entry) {
  // Each field is length-prefixed, so no two different rows hash the same text.
  Sha256 hash;
  hash.Update(absl::StrCat("schemad-audit-v1\n", entry.prev_hash, "\n", entry.seq, "\n",
                           absl::ToUnixMicros(entry.at), "\n"));
  for (const std::string* field : {&entry.principal, &entry.peer, &entry.method, &entry.target,
                                   &entry.plan_hash, &entry.outcome, &entry.reason}) {
    hash.Update(absl::StrCat(field->size(), ":"));
    hash.Update(*field);
    hash.Update("\n");
  }
  return hash.HexDigest();
}

absl::Status ControlStore::EnsureSchema() {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::work>(**conn, [&](pqxx::work& txn) -> absl::Status {
    // A schema at this version is used as it is: schemad's own role may hold no more than
    // SELECT and INSERT on it (the audit is append-only for it; README, "Control database").
    if (txn.exec1("SELECT to_regclass('schemad_control.meta') IS NOT NULL")[0].as<bool>() &&
        txn.exec1("SELECT value::int FROM schemad_control.meta WHERE key = 'schema_version'")[0]
                .as<int>() == kControlVersion) {
      return absl::OkStatus();
    }
    txn.exec("SELECT pg_advisory_xact_lock(7366216968616463)");
    txn.exec(kCreateV1);
    const int stored =
        txn.exec1("SELECT value::int FROM schemad_control.meta WHERE key = 'schema_version'")[0]
            .as<int>();
    if (stored > kControlVersion) {
      return FailedPrecondition(
          RefusalReason::kNewerSchemad,
          absl::StrFormat("schema schemad_control is at version %d, written by a newer schemad "
                          "(this one knows %d)",
                          stored, kControlVersion));
    }
    if (stored < 2) txn.exec(kUpgradeV2);
    if (stored < 3) txn.exec(kUpgradeV3);
    if (stored < 4) txn.exec(kUpgradeV4);
    return absl::OkStatus();
  });
}

absl::Status ControlStore::Append(AuditEntry entry) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::work>(**conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec("SET LOCAL synchronous_commit = on");
    txn.exec(kChainLock);
    const pqxx::result last =
        txn.exec("SELECT seq, hash FROM schemad_control.audit ORDER BY seq DESC LIMIT 1");
    entry.seq = last.empty() ? 1 : last[0][0].as<int64_t>() + 1;
    entry.prev_hash = last.empty() ? kGenesis : last[0][1].as<std::string>();
    // Microseconds, as the column keeps them.
    entry.at = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
    entry.hash = AuditEntryHash(entry);
    txn.exec_params(
        "INSERT INTO schemad_control.audit VALUES ($1, timestamptz 'epoch' + $2 * interval '1 "
        "microsecond', $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        entry.seq, absl::ToUnixMicros(entry.at), entry.principal, entry.peer, entry.method,
        entry.target, entry.plan_hash, entry.outcome, entry.reason, entry.prev_hash, entry.hash);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<AuditEntry>> ControlStore::Read(const std::string& target,
                                                           absl::Time since, int limit) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<AuditEntry>> {
        std::vector<AuditEntry> entries;
        const int64_t since_us =
            since == absl::InfinitePast() ? INT64_MIN : absl::ToUnixMicros(since);
        for (const pqxx::row& row : txn.exec_params(
                 absl::StrCat("SELECT ", kColumns,
                              " FROM schemad_control.audit WHERE ($1 = '' OR target = $1) AND "
                              "(extract(epoch FROM at) * 1000000)::int8 >= $2 ORDER BY seq "
                              "LIMIT $3"),
                 target, since_us, limit)) {
          entries.push_back(EntryOf(row));
        }
        return entries;
      });
}

absl::StatusOr<AuditCheck> ControlStore::Verify() {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<AuditCheck> {
        AuditCheck check;
        int64_t expected_seq = 1;
        std::string expected_prev = kGenesis;
        for (const pqxx::row& row : txn.exec(
                 absl::StrCat("SELECT ", kColumns, " FROM schemad_control.audit ORDER BY seq"))) {
          const AuditEntry entry = EntryOf(row);
          ++check.rows;
          if (check.broken_at != 0) continue;
          if (entry.seq != expected_seq) {
            check.broken_at = expected_seq;
            check.problem = absl::StrCat("row ", expected_seq, " is missing (row ", entry.seq,
                                         " follows row ", expected_seq - 1, ")");
          } else if (entry.prev_hash != expected_prev) {
            check.broken_at = entry.seq;
            check.problem = absl::StrCat("row ", entry.seq,
                                         " does not follow the row before it (its prev_hash is "
                                         "not that row's hash)");
          } else if (AuditEntryHash(entry) != entry.hash) {
            check.broken_at = entry.seq;
            check.problem =
                absl::StrCat("row ", entry.seq, " was changed: its fields no longer give its hash");
          }
          expected_seq = entry.seq + 1;
          expected_prev = entry.hash;
        }
        return check;
      });
}

namespace {

constexpr char kReleaseColumns[] =
    "digest, catalog, coalesce(label, ''), published_by, (extract(epoch FROM published_at) * "
    "1000000)::int8, revision_count, latest_version";

ReleaseRecord ReleaseOf(const pqxx::row& row) {
  ReleaseRecord release;
  release.digest = row[0].as<std::string>();
  release.catalog = row[1].as<std::string>();
  release.label = row[2].as<std::string>();
  release.published_by = row[3].as<std::string>();
  release.published_at = absl::FromUnixMicros(row[4].as<int64_t>());
  release.revision_count = row[5].as<int>();
  release.latest_version = row[6].as<std::string>();
  return release;
}

}  // namespace

absl::StatusOr<ReleaseRecord> ControlStore::PutRelease(
    const ReleaseRecord& release, const std::vector<ReleaseRevision>& revisions,
    const std::vector<ReleaseFile>& files, bool renew) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::work>(**conn, [&](pqxx::work& txn) -> absl::StatusOr<ReleaseRecord> {
    txn.exec("SET LOCAL synchronous_commit = on");
    // One publish of a catalog at a time (from every replica; the two-key advisory lock, keyed
    // by the catalog): labels are checked, then taken.
    txn.exec_params("SELECT pg_advisory_xact_lock(1935762788, hashtext($1))", release.catalog);
    if (!release.label.empty()) {
      const pqxx::result taken = txn.exec_params(
          "SELECT digest FROM schemad_control.releases WHERE catalog = $1 AND label = $2 AND "
          "digest <> $3",
          release.catalog, release.label, release.digest);
      if (!taken.empty()) {
        return absl::AlreadyExistsError(absl::StrCat("label ", release.label, " of catalog ",
                                                     release.catalog, " is release ",
                                                     taken[0][0].as<std::string>()));
      }
    }
    // Publishing content again makes it the newest release (a folder put back is what a plan
    // then uses); who published it first stays.
    const bool inserted =
        txn.exec_params1(
               "INSERT INTO schemad_control.releases (digest, catalog, label, published_by, "
               "revision_count, latest_version) VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6) ON "
               "CONFLICT (digest) DO UPDATE SET published_at = CASE WHEN $7 THEN "
               "clock_timestamp() ELSE releases.published_at END RETURNING xmax = 0",
               release.digest, release.catalog, release.label, release.published_by,
               release.revision_count, release.latest_version, renew)[0]
            .as<bool>();
    if (inserted) {
      for (const ReleaseFile& file : files) {
        const std::string sha = Sha256Hex(file.content);
        txn.exec_params("INSERT INTO schemad_control.blobs VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        sha, file.content);
        txn.exec_params("INSERT INTO schemad_control.release_files VALUES ($1, $2, $3)",
                        release.digest, file.name, sha);
      }
      for (const ReleaseRevision& revision : revisions) {
        txn.exec_params("INSERT INTO schemad_control.release_revisions VALUES ($1, $2, $3, $4, $5)",
                        release.digest, revision.version, revision.name, revision.up_checksum,
                        revision.down_checksum);
      }
    } else if (!release.label.empty()) {
      txn.exec_params(
          "UPDATE schemad_control.releases SET label = $2 WHERE digest = $1 AND label IS NULL",
          release.digest, release.label);
    }
    ReleaseRecord stored =
        ReleaseOf(txn.exec_params1(absl::StrCat("SELECT ", kReleaseColumns,
                                                " FROM schemad_control.releases WHERE digest = $1"),
                                   release.digest));
    stored.created = inserted;
    return stored;
  });
}

absl::StatusOr<std::vector<std::pair<std::string, ReleaseRevision>>>
ControlStore::ReleasedRevisions(const std::string& catalog) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  using Result = std::vector<std::pair<std::string, ReleaseRevision>>;
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<Result> {
        Result out;
        for (const pqxx::row& row : txn.exec_params(
                 "SELECT r.digest, v.version, v.name, v.up_checksum, v.down_checksum FROM "
                 "schemad_control.releases r JOIN schemad_control.release_revisions v USING "
                 "(digest) WHERE r.catalog = $1 ORDER BY r.published_at, v.version",
                 catalog)) {
          out.push_back({row[0].as<std::string>(),
                         ReleaseRevision{row[1].as<std::string>(), row[2].as<std::string>(),
                                         row[3].as<std::string>(), row[4].as<std::string>()}});
        }
        return out;
      });
}

absl::StatusOr<std::vector<ReleaseRecord>> ControlStore::ListReleases(const std::string& catalog,
                                                                      int limit) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<ReleaseRecord>> {
        std::vector<ReleaseRecord> releases;
        for (const pqxx::row& row :
             txn.exec_params(absl::StrCat("SELECT ", kReleaseColumns,
                                          " FROM schemad_control.releases WHERE catalog = $1 "
                                          "ORDER BY published_at DESC, digest LIMIT $2"),
                             catalog, limit)) {
          releases.push_back(ReleaseOf(row));
        }
        return releases;
      });
}

absl::StatusOr<ReleaseRecord> ControlStore::FindRelease(const std::string& catalog,
                                                        const std::string& ref) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<ReleaseRecord> {
        const pqxx::result found = txn.exec_params(
            absl::StrCat("SELECT ", kReleaseColumns,
                         " FROM schemad_control.releases WHERE catalog = $1 AND ($2 = '' OR "
                         "digest = $2 OR label = $2) ORDER BY digest = $2 DESC, published_at "
                         "DESC, digest LIMIT 1"),
            catalog, ref);
        if (found.empty()) {
          return absl::NotFoundError(
              ref.empty() ? absl::StrCat("catalog ", catalog, " has no release")
                          : absl::StrCat("no release \"", ref, "\" of catalog ", catalog,
                                         " (schemactl releases --catalog ", catalog, ")"));
        }
        return ReleaseOf(found[0]);
      });
}

absl::StatusOr<std::vector<ReleaseFile>> ControlStore::ReleaseFiles(const std::string& digest) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<ReleaseFile>> {
        std::vector<ReleaseFile> files;
        for (const pqxx::row& row : txn.exec_params(
                 "SELECT f.file_name, b.content FROM schemad_control.release_files f JOIN "
                 "schemad_control.blobs b USING (sha256) WHERE f.digest = $1 ORDER BY "
                 "f.file_name",
                 digest)) {
          files.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
        }
        return files;
      });
}

absl::Status ControlStore::Approve(const ApprovalRecord& approval) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::work>(**conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec("SET LOCAL synchronous_commit = on");
    // Approving again renews the approval.
    txn.exec_params(
        "INSERT INTO schemad_control.approvals (target, plan_hash, principal, comment) VALUES "
        "($1, $2, $3, $4) ON CONFLICT (target, plan_hash, principal) DO UPDATE SET comment = "
        "excluded.comment, approved_at = clock_timestamp()",
        approval.target, approval.plan_hash, approval.principal, approval.comment);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ApprovalRecord>> ControlStore::Approvals(const std::string& target,
                                                                    const std::string& plan_hash,
                                                                    int limit) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<ApprovalRecord>> {
        std::vector<ApprovalRecord> approvals;
        for (const pqxx::row& row : txn.exec_params(
                 "SELECT target, plan_hash, principal, comment, (extract(epoch FROM approved_at) "
                 "* 1000000)::int8 FROM schemad_control.approvals WHERE target = $1 AND ($2 = '' "
                 "OR plan_hash = $2) ORDER BY approved_at DESC LIMIT $3",
                 target, plan_hash, limit)) {
          approvals.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                               row[2].as<std::string>(), row[3].as<std::string>(),
                               absl::FromUnixMicros(row[4].as<int64_t>())});
        }
        return approvals;
      });
}

absl::Status ControlStore::RecordRehearsal(const RehearsalRecord& rehearsal) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::work>(**conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "INSERT INTO schemad_control.rehearsals (target, plan_hash, ok, principal, summary) "
        "VALUES ($1, $2, $3, $4, $5)",
        rehearsal.target, rehearsal.plan_hash, rehearsal.ok, rehearsal.principal,
        rehearsal.summary);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<RehearsalRecord>> ControlStore::Rehearsals(const std::string& target,
                                                                      const std::string& plan_hash,
                                                                      int limit) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::vector<RehearsalRecord>> {
        std::vector<RehearsalRecord> rehearsals;
        for (const pqxx::row& row : txn.exec_params(
                 "SELECT target, plan_hash, ok, principal, summary, (extract(epoch FROM "
                 "rehearsed_at) * 1000000)::int8 FROM schemad_control.rehearsals WHERE target = "
                 "$1 AND ($2 = '' OR plan_hash = $2) ORDER BY id DESC LIMIT $3",
                 target, plan_hash, limit)) {
          rehearsals.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                                row[2].as<bool>(), row[3].as<std::string>(),
                                row[4].as<std::string>(),
                                absl::FromUnixMicros(row[5].as<int64_t>())});
        }
        return rehearsals;
      });
}

absl::Status ControlStore::AcceptDrift(const DriftAcceptance& acceptance) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::work>(**conn, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "INSERT INTO schemad_control.drift_acceptances (target, drift_hash, principal, reason) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (target, drift_hash) DO NOTHING",
        acceptance.target, acceptance.drift_hash, acceptance.principal, acceptance.reason);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<DriftAcceptance>> ControlStore::FindDriftAcceptance(
    const std::string& target, const std::string& drift_hash) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return InTransaction<pqxx::read_transaction>(
      **conn, [&](pqxx::read_transaction& txn) -> absl::StatusOr<std::optional<DriftAcceptance>> {
        const pqxx::result rows = txn.exec_params(
            "SELECT target, drift_hash, principal, reason, (extract(epoch FROM accepted_at) * "
            "1000000)::int8 FROM schemad_control.drift_acceptances WHERE target = $1 AND "
            "drift_hash = $2",
            target, drift_hash);
        if (rows.empty()) return std::nullopt;
        return DriftAcceptance{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
                               rows[0][2].as<std::string>(), rows[0][3].as<std::string>(),
                               absl::FromUnixMicros(rows[0][4].as<int64_t>())};
      });
}

}  // namespace schemad::db
