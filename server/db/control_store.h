// The control database (schema schemad_control): what is not about one target. For now the
// central audit, a hash chain: each row carries the hash of the one before it, so an edited or
// deleted row breaks the chain at that row.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/db/connection.h"

namespace schemad::db {

struct AuditEntry {
  int64_t seq = 0;
  absl::Time at;
  std::string principal;
  std::string peer;
  std::string method;  // "Apply", "Rollback", "ResolveRun", "RepairChecksums", "denied Plan", …
  std::string target;
  std::string plan_hash;
  std::string outcome;  // "APPLIED", "FAILED", "REFUSED", "PERMISSION_DENIED", …
  std::string reason;
  std::string prev_hash;
  std::string hash;
};

// The hash of `entry` (its seq, time, fields and prev_hash): sha256 hex.
std::string AuditEntryHash(const AuditEntry& entry);

// A release: an immutable snapshot of a catalog's files, named by its content digest.
struct ReleaseRecord {
  std::string digest;  // Catalog::digest
  std::string catalog;
  std::string label;  // empty: none
  std::string published_by;
  absl::Time published_at;
  int revision_count = 0;
  std::string latest_version;
  // PutRelease: whether this call stored it (it was not there).
  bool created = false;
};

// One revision of a release, as the immutability check needs it.
struct ReleaseRevision {
  std::string version;
  std::string name;
  std::string up_checksum;
  std::string down_checksum;  // empty: no down file
};

struct ReleaseFile {
  std::string name;
  std::string content;
};

// An approval of one plan hash of one target by one principal.
struct ApprovalRecord {
  std::string target;
  std::string plan_hash;
  std::string principal;
  std::string comment;
  absl::Time approved_at;
};

// A rehearsal of a plan on a copy of a target (require_rehearsal counts the ok ones).
struct RehearsalRecord {
  std::string target;
  std::string plan_hash;
  bool ok = false;
  std::string principal;
  std::string summary;
  absl::Time rehearsed_at;
};

// Drift someone accepted (drift_gate lets Apply through while the drift is exactly this).
struct DriftAcceptance {
  std::string target;
  std::string drift_hash;
  std::string principal;
  std::string reason;
  absl::Time accepted_at;
};

struct AuditCheck {
  int64_t rows = 0;
  // The first row that does not verify (0: the chain is whole), and why.
  int64_t broken_at = 0;
  std::string problem;
};

// Thread-safe.
class ControlStore {
 public:
  explicit ControlStore(std::string dsn) : pool_(std::move(dsn), 2) {}

  // Creates or upgrades schema schemad_control (serialised between replicas). Returns
  // FAILED_PRECONDITION when a newer schemad wrote it.
  absl::Status EnsureSchema();
  // Appends `entry` (its seq, time and hashes are set here) and commits synchronously.
  absl::Status Append(AuditEntry entry);
  // Rows of `target` (empty: all) at or after `since`, oldest first, at most `limit`.
  absl::StatusOr<std::vector<AuditEntry>> Read(const std::string& target, absl::Time since,
                                               int limit);
  // Recomputes every row's hash in order and checks that each follows the one before.
  absl::StatusOr<AuditCheck> Verify();

  // Stores a release with its files and revisions; a release with this digest already stored
  // is kept as it is (its label is set if it has none). Returns the stored record.
  // With `renew`, a release already stored becomes the newest (its published_at is now).
  absl::StatusOr<ReleaseRecord> PutRelease(const ReleaseRecord& release,
                                           const std::vector<ReleaseRevision>& revisions,
                                           const std::vector<ReleaseFile>& files, bool renew);
  // The revisions of every release of `catalog`, each with its release's digest (for the
  // immutability check).
  absl::StatusOr<std::vector<std::pair<std::string, ReleaseRevision>>> ReleasedRevisions(
      const std::string& catalog);
  // Releases of `catalog`, newest first.
  absl::StatusOr<std::vector<ReleaseRecord>> ListReleases(const std::string& catalog, int limit);
  // The release of `catalog` named by `ref` (a digest, a label; empty: the newest). NOT_FOUND
  // when there is none.
  absl::StatusOr<ReleaseRecord> FindRelease(const std::string& catalog, const std::string& ref);
  absl::StatusOr<std::vector<ReleaseFile>> ReleaseFiles(const std::string& digest);

  // Records (or renews) an approval.
  absl::Status Approve(const ApprovalRecord& approval);
  // The approvals of `target` (of `plan_hash` when not empty), newest first.
  absl::StatusOr<std::vector<ApprovalRecord>> Approvals(const std::string& target,
                                                        const std::string& plan_hash, int limit);

  absl::Status RecordRehearsal(const RehearsalRecord& rehearsal);
  // Newest first; `plan_hash` empty: every plan's.
  absl::StatusOr<std::vector<RehearsalRecord>> Rehearsals(const std::string& target,
                                                          const std::string& plan_hash, int limit);
  absl::Status AcceptDrift(const DriftAcceptance& acceptance);
  absl::StatusOr<std::optional<DriftAcceptance>> FindDriftAcceptance(const std::string& target,
                                                                     const std::string& drift_hash);

 private:
  ConnectionPool pool_;
};

}  // namespace schemad::db
