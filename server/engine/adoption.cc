// Moving onto schemad: Baseline (revisions up to a version recorded as applied) and Adopt (what
// another tool's history says it applied), both without running anything, both optionally
// checked against the live schema with exact drift.
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/common/refusal.h"
#include "server/common/status_macros.h"
#include "server/db/schema_snapshot.h"
#include "server/db/server_admin.h"
#include "server/engine/engine.h"

namespace schemad::engine {
namespace {

// A version's parts as numbers ("1.2.10", "1_2_10" -> 1, 2, 10), or empty when it is not one.
std::vector<std::string> VersionParts(absl::string_view text) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(text, absl::ByAnyChar("._"))) {
    if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        })) {
      return {};
    }
    parts.push_back(VersionKey(part));
  }
  // Trailing zero parts count for nothing (Flyway's 1.2 is 1.2.0).
  while (parts.size() > 1 && parts.back() == "0") parts.pop_back();
  return parts;
}

// The catalog revision a tool's id names: catalog.yaml adopt: first, then the id as a version,
// part by part (Flyway's 1.2 is 1_2, never 12), then (sql-migrate) its file name's version and
// name, then (Sqitch) a revision's name. `mapped_missing`: adopt: maps the id to a version the
// catalog lacks.
const Revision* RevisionFor(const Catalog& catalog, const std::string& tool, const std::string& id,
                            std::string* mapped_missing) {
  if (auto mapped = catalog.adopt_ids.find(tool); mapped != catalog.adopt_ids.end()) {
    if (auto it = mapped->second.find(id); it != mapped->second.end()) {
      const int index = catalog.IndexOf(it->second);
      if (index < 0) *mapped_missing = it->second;
      return index < 0 ? nullptr : &catalog.revisions[index];
    }
  }
  // Sqitch's changes have names, no versions (a change named "3" is not revision 3).
  if (tool == "sqitch") {
    for (const Revision& revision : catalog.revisions) {
      if (revision.name == id) return &revision;
    }
    return nullptr;
  }
  std::string version = id, name;
  if (tool == "sql-migrate") {
    absl::StatusOr<FileName> file =
        ParseFileName(absl::StrCat(absl::StripSuffix(id, ".sql"), ".up.sql"));
    if (!file.ok()) return nullptr;
    version = file->version;
    name = file->name;
  }
  const std::vector<std::string> parts = VersionParts(version);
  if (!parts.empty()) {
    for (const Revision& revision : catalog.revisions) {
      if (VersionParts(revision.version) == parts && (name.empty() || revision.name == name)) {
        return &revision;
      }
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<AdoptionResult> Engine::RecordApplied(
    const Target& target, TargetLock& lock, const std::shared_ptr<const Catalog>& catalog,
    const std::vector<db::AppliedRevision>& applied,
    std::vector<std::pair<const Revision*, db::ForeignEntry>> revisions, db::Operation operation,
    const AdoptionRequest& request, AdoptionResult result) {
  db::Connection& session = lock.session();
  const std::string operation_name = db::OperationName(operation);
  // A run that stopped half-way is resolved first: recording over it would hide it.
  SCHEMAD_ASSIGN_OR_RETURN(std::optional<db::RunRecord> blocking,
                           target.journal.ReadBlocking(session));
  if (blocking) {
    return FailedPrecondition(
        RefusalReason::kFailedRun,
        absl::StrCat(operation_name, " refused: ", DescribeBlockingRun(*blocking)), {},
        {{"run_id", blocking->run_id}});
  }
  std::set<std::string> recorded;
  for (const db::AppliedRevision& revision : applied) recorded.insert(VersionKey(revision.version));
  std::vector<std::pair<const Revision*, db::ForeignEntry>> todo;
  for (auto& [revision, entry] : revisions) {
    if (recorded.count(VersionKey(revision->version)) != 0) {
      result.already.push_back(revision->version);
    } else if (recorded.insert(VersionKey(revision->version)).second) {
      todo.emplace_back(revision, std::move(entry));
    }
  }
  if (request.verify) {
    // The schema the catalog has at applied + todo, replayed, against the live one.
    std::vector<db::AppliedRevision> would = applied;
    for (const auto& [revision, entry] : todo) {
      db::AppliedRevision row;
      row.version = revision->version;
      row.checksum = revision->up.checksum;
      would.push_back(row);
    }
    std::vector<std::string> notes;
    bool cached = false;
    SCHEMAD_ASSIGN_OR_RETURN(std::vector<Replay> replays,
                             ReplaysFor(target, session, catalog, would));
    SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const db::SchemaSnapshot> expected,
                             ExpectedSchema(target, session, replays, &notes, &cached));
    SCHEMAD_ASSIGN_OR_RETURN(db::SessionIdentity identity, db::ReadSessionIdentity(session));
    SCHEMAD_ASSIGN_OR_RETURN(db::SchemaSnapshot live,
                             db::ReadSchemaSnapshot(session, identity.user));
    const std::vector<db::SchemaDifference> drift = db::DiffSnapshots(*expected, live);
    if (!drift.empty()) {
      std::vector<std::string> lines;
      for (size_t i = 0; i < drift.size() && i < 10; ++i) {
        lines.push_back(absl::StrCat(drift[i].kind, " ", drift[i].object));
      }
      return FailedPrecondition(
          RefusalReason::kDrift,
          absl::StrCat(operation_name,
                       " refused (--verify): the live schema is not the catalog's "
                       "at the revisions it would record (",
                       drift.size(), " difference(s): ", absl::StrJoin(lines, "; "),
                       drift.size() > 10 ? "; …" : "",
                       "); see schemactl drift after fixing, or record without --verify"),
          {}, {{"differences", absl::StrCat(drift.size())}});
    }
    result.verified = true;
  }
  if (todo.empty()) return result;
  db::RunRecord run;
  run.principal = request.principal;
  run.operation = operation;
  run.server_instance = server_instance_;
  run.backend_pid = session.backend_pid();
  run.from_version = applied.empty() ? "" : applied.back().version;
  run.target_version = todo.back().first->version;
  run.overrides =
      absl::StrCat("reason: ", request.reason, request.tool.empty() ? "" : "; from " + request.tool,
                   result.verified ? "; verified against the live schema" : "; not verified");
  SCHEMAD_ASSIGN_OR_RETURN(run.run_id, target.journal.Start(session, run));
  run.state = db::RunState::kSucceeded;
  run.outcome = db::Outcome::kApplied;
  run.steps_done = static_cast<int>(todo.size());
  run.reached_version = run.target_version;
  db::EventRecord audit;
  audit.principal = request.principal;
  audit.run_id = run.run_id;
  audit.action = operation_name;
  audit.outcome = "RECORDED";
  audit.detail = absl::StrCat(todo.size(), " revision(s) recorded without running, up to ",
                              run.target_version, "; ", run.overrides);
  SCHEMAD_RETURN_IF_ERROR(
      target.journal.Finish(session, run, /*lock_lost=*/false, [&](pqxx::transaction_base& txn) {
        for (const auto& [revision, entry] : todo) {
          db::HistoryWrite write;
          write.revision.version = revision->version;
          write.revision.name = revision->name;
          write.revision.checksum = revision->up.checksum;
          write.revision.applied_by = entry.who.empty() ? request.principal : entry.who;
          write.revision.run_id = run.run_id;
          write.revision.release = catalog->digest();
          write.applied_at = entry.when;
          target.store.Write(txn, write, 0);
        }
        target.audit.Write(txn, audit);
      }));
  for (const auto& [revision, entry] : todo) result.recorded.push_back(revision->version);
  result.run = run;
  lock.Release().IgnoreError();
  InvalidateVersion(target);
  return result;
}

absl::StatusOr<AdoptionResult> Engine::Baseline(const Target& target,
                                                const AdoptionRequest& request) {
  if (request.reason.empty()) return absl::InvalidArgumentError("reason: required");
  if (!IsVersion(request.to_version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("to_version: \"", request.to_version.substr(0, 40), "\" is not a version"));
  }
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  SCHEMAD_ASSIGN_OR_RETURN(const std::shared_ptr<const Catalog> catalog, CatalogFor(target, ""));
  const int index = catalog->IndexOf(request.to_version);
  if (index < 0) {
    return absl::NotFoundError(absl::StrCat(
        "version ", request.to_version, " is not in the catalog of target ", target.config.name));
  }
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<TargetLock> lock,
                           LockForChange(target, target.config.lock_wait));
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied,
                           target.store.ReadApplied(lock->session()));
  std::vector<std::pair<const Revision*, db::ForeignEntry>> revisions;
  for (int i = 0; i <= index; ++i)
    revisions.emplace_back(&catalog->revisions[i], db::ForeignEntry{});
  return RecordApplied(target, *lock, catalog, applied, std::move(revisions),
                       db::Operation::kBaseline, request, AdoptionResult{});
}

absl::StatusOr<AdoptionResult> Engine::Adopt(const Target& target, const AdoptionRequest& request) {
  if (request.tool.empty()) return absl::InvalidArgumentError("from: required");
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  SCHEMAD_ASSIGN_OR_RETURN(const std::shared_ptr<const Catalog> catalog, CatalogFor(target, ""));
  SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<TargetLock> lock,
                           LockForChange(target, target.config.lock_wait));
  db::Connection& session = lock->session();
  // A Sqitch project read in place: only its own project's changes (the registry may hold
  // several).
  SCHEMAD_ASSIGN_OR_RETURN(db::ForeignHistory history,
                           db::ReadForeignHistory(session, request.tool, catalog->sqitch_project));
  if (request.tool == "alembic" && history.entries.size() > 1) {
    std::vector<std::string> heads;
    for (const db::ForeignEntry& entry : history.entries) heads.push_back(entry.id);
    return absl::FailedPreconditionError(absl::StrCat(
        "adopt refused: alembic_version has ", heads.size(), " heads (", absl::StrJoin(heads, ", "),
        "): which revisions of each branch ran cannot be told from it; merge them first (alembic "
        "merge) or use baseline"));
  }
  if (!history.dirty_version.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "adopt refused: golang-migrate's schema_migrations is dirty at version ",
        history.dirty_version,
        " (its migration failed half-way): fix the schema and clear the flag with golang-migrate "
        "(migrate force VERSION) first"));
  }
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied,
                           target.store.ReadApplied(session));
  AdoptionResult result;
  result.table = history.table;
  std::vector<std::pair<const Revision*, db::ForeignEntry>> revisions;
  for (const db::ForeignEntry& entry : history.entries) {
    if (!entry.note.empty()) {
      result.not_adopted.push_back(absl::StartsWith(entry.note, "repeatable")
                                       ? absl::StrCat(entry.note, ": schemad has no repeatables")
                                       : entry.note);
      continue;
    }
    if (!entry.success) {
      result.not_adopted.push_back(absl::StrCat(entry.id, " ", entry.description, ": failed in ",
                                                request.tool, " (success = false): not adopted"));
      continue;
    }
    std::string mapped_missing;
    const Revision* revision = RevisionFor(*catalog, request.tool, entry.id, &mapped_missing);
    if (revision == nullptr) {
      result.not_adopted.push_back(
          mapped_missing.empty()
              ? absl::StrCat(entry.id, ": recorded by ", request.tool,
                             " but not in the catalog (map it in catalog.yaml adopt: {",
                             request.tool, ": {", entry.id, ": VERSION}})")
              : absl::StrCat(entry.id, ": catalog.yaml adopt: maps it to ", mapped_missing,
                             ", which is not in the catalog"));
      continue;
    }
    if (history.cumulative || entry.cumulative) {
      // Everything up to the tool's current version.
      for (const Revision& earlier : catalog->revisions) {
        if (CompareVersions(earlier.version, revision->version) > 0) break;
        revisions.emplace_back(&earlier, entry);
      }
    } else {
      revisions.emplace_back(revision, entry);
    }
  }
  std::sort(revisions.begin(), revisions.end(), [](const auto& a, const auto& b) {
    return CompareVersions(a.first->version, b.first->version) < 0;
  });
  AdoptionRequest with_reason = request;
  if (with_reason.reason.empty()) with_reason.reason = absl::StrCat("adopted from ", request.tool);
  return RecordApplied(target, *lock, catalog, applied, std::move(revisions), db::Operation::kAdopt,
                       with_reason, std::move(result));
}

absl::StatusOr<std::vector<VerifyResult>> Engine::VerifyApplied(const Target& target) const {
  SCHEMAD_RETURN_IF_ERROR(Refresh(target));
  SCHEMAD_ASSIGN_OR_RETURN(const std::shared_ptr<const Catalog> catalog, CatalogFor(target, ""));
  SCHEMAD_ASSIGN_OR_RETURN(auto conn, target.pool->Acquire());
  SCHEMAD_ASSIGN_OR_RETURN(std::vector<db::AppliedRevision> applied,
                           target.store.ReadApplied(*conn));
  std::set<std::string> keys;
  for (const db::AppliedRevision& revision : applied) keys.insert(VersionKey(revision.version));
  std::vector<VerifyResult> results;
  std::vector<db::Check> checks;
  std::vector<const Revision*> checked;
  for (const Revision& revision : catalog->revisions) {
    if (!revision.verify || keys.count(VersionKey(revision.version)) == 0) continue;
    const absl::StatusOr<sql::Script>& script = revision.verify->Parsed();
    if (!script.ok()) {
      results.push_back(
          {revision.version, revision.name, false, std::string(script.status().message())});
      continue;
    }
    // A check that ends the transaction would keep what the checks before it wrote.
    const sql::Statement* control = nullptr;
    for (const sql::Statement& statement : script->statements) {
      if (statement.transaction_control || statement.commit_and_chain ||
          !statement.needs_no_transaction.empty()) {
        control = &statement;
        break;
      }
    }
    if (control != nullptr) {
      results.push_back({revision.version, revision.name, false,
                         absl::StrCat(revision.verify->path, ": line ", control->line,
                                      ": a verify check may not control the transaction or "
                                      "need to run outside one (not run)")});
      continue;
    }
    db::Check& check = checks.emplace_back();
    check.id = revision.version;
    for (const sql::Statement& statement : script->statements) {
      check.statements.emplace_back(statement.text);
    }
    checked.push_back(&revision);
  }
  SCHEMAD_ASSIGN_OR_RETURN(
      std::vector<db::CheckResult> ran,
      db::RunRolledBack(*conn, checks, absl::ToInt64Milliseconds(target.config.lock_timeout),
                        absl::ToInt64Milliseconds(target.config.statement_timeout)));
  for (size_t i = 0; i < ran.size(); ++i) {
    const Revision& revision = *checked[i];
    VerifyResult& result = results.emplace_back();
    result.version = revision.version;
    result.name = revision.name;
    result.ok = ran[i].ok;
    if (!ran[i].ok) {
      const int index = ran[i].failed_statement - 1;
      result.error = absl::StrCat(
          "verify check ", ran[i].failed_statement, " (", revision.verify->path, " line ",
          revision.verify->script().statements[index].line, "): ", ran[i].error);
    }
  }
  std::sort(results.begin(), results.end(), [](const VerifyResult& a, const VerifyResult& b) {
    return CompareVersions(a.version, b.version) < 0;
  });
  return results;
}

}  // namespace schemad::engine
