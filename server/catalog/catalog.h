// A catalog: a folder of <version>_<name>.up.sql / .down.sql files plus catalog.yaml, read into
// ordered revisions with their checksums and parsed statements.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/version.h"
#include "server/sql/script.h"

namespace schemad {

struct LazyScript;
std::shared_ptr<LazyScript> NewLazyScript();
struct LazyDigest;
std::shared_ptr<LazyDigest> NewLazyDigest();

// One direction of a revision: a file, its text, checksum and statements. Loading a catalog
// reads every file and checks its name, text and directives, but parses its SQL only when it
// is first needed (a plan that includes the file, or Engine::ParseCatalogs after start-up), so
// start-up cost grows with the bytes read, not with parsing.
// One shared empty text (a default MigrationFile allocates nothing for it).
std::shared_ptr<const std::string> EmptyText();

struct MigrationFile {
  std::string path;
  // As read from the file; shared with the parsed Script, whose statements view it.
  std::shared_ptr<const std::string> content = EmptyText();
  std::string checksum;  // "v1:" + sha256 of the text with CRLF/CR normalised to LF

  const std::string& text() const { return *content; }

  // The statements, parsed once on first call (thread-safe). INVALID_ARGUMENT "<path>: line
  // N: …" for a syntax error.
  const absl::StatusOr<sql::Script>& Parsed() const;
  // The parsed statements, for a file whose Parsed() is OK (the planner checks every step
  // before anything runs); throws absl::BadStatusOrAccess otherwise.
  const sql::Script& script() const { return Parsed().value(); }

  std::shared_ptr<LazyScript> lazy = NewLazyScript();
  // The file's name marks it as run outside a transaction (Ory popx: `.autocommit.`).
  bool named_no_transaction = false;
  // One-file layouts: the whole file this section was read from (a release stores that).
  std::shared_ptr<const std::string> whole_file;
  // catalog.yaml `placeholders:` (and the flyway layout): ${name} in the text is replaced
  // with its value before parsing; text() and the checksum are of the file as written.
  std::shared_ptr<const std::map<std::string, std::string>> placeholders;
};

struct Revision {
  std::string version;  // as written in the file name, e.g. "20251123_153004"
  std::string name;     // e.g. "add_fraud_prevention_tables"
  MigrationFile up;
  std::optional<MigrationFile> down;  // absent: the revision is irreversible
  // <version>_<name>.verify.sql: run right after the up, in its transaction (a failing check
  // rolls the file back), and by schemactl verify in a transaction that is rolled back.
  std::optional<MigrationFile> verify;
  // Why it is irreversible ("no .down.sql", "its down file is empty …"); empty when it is not.
  std::string irreversible_reason;

  std::string Id() const { return version + "_" + name; }
};

struct CoverageRequirement {
  std::string table;
  std::vector<std::string> columns;
  std::vector<std::string> indexes;
};

struct Catalog {
  std::string name;
  std::string description;
  std::string path;
  std::string coverage_schema = "public";
  std::vector<CoverageRequirement> coverage;
  // catalog.yaml `empty_down_is_noop: true`: an empty down file means "nothing to undo" for
  // every revision (for catalogs written for other tools); otherwise it makes the revision
  // irreversible unless its up file says -- schemad:down-is-noop.
  bool empty_down_is_noop = false;
  // How the folder names its files: "native" (<version>_<name>.up.sql / .down.sql) or "popx"
  // (Ory popx: <version>_<name>[.<dialect>][.autocommit].(up|down).sql, the postgres files and
  // the generic ones used). catalog.yaml `layout:`, else detected from the names (set by
  // LoadCatalog).
  std::string layout;
  // catalog.yaml `adopt:`: per tool (alembic, flyway, …), its ids mapped to catalog versions,
  // for ids that are not the version itself (Alembic's hex revision ids).
  std::map<std::string, std::map<std::string, std::string>> adopt_ids;
  // catalog.yaml `placeholders:` (Flyway's ${name} substitution; the flyway layout always
  // substitutes, as Flyway does); nullptr: the files are run as written.
  std::shared_ptr<const std::map<std::string, std::string>> placeholders;
  std::vector<Revision> revisions;  // ascending by version
  // Files a layout reads besides the migrations (sqitch.plan), by name in the folder, as read:
  // a release stores them.
  std::map<std::string, std::string> layout_files;
  // Sqitch: the plan's %project (its changes in the registry are this catalog's).
  std::string sqitch_project;
  // catalog.yaml as read, and its checksum (empty without one).
  std::string manifest_text;
  std::string manifest_checksum;
  // "sha256:" over the catalog's name, every revision's version, name and checksums (and its
  // verify script's, and run-outside-a-transaction marks, when it has them), and
  // catalog.yaml's checksum: the same content gives the same digest, wherever it was read from.
  // Computed on first call (not on the start-up path); thread-safe. The catalog must not change
  // after the first call.
  const std::string& digest() const;
  std::shared_ptr<struct LazyDigest> lazy_digest = NewLazyDigest();

  // Returns the index of `version` in `revisions`, or -1. Accepts any spelling with the same
  // numeric value ("000042" == "42", "20251123_153004" == "20251123153004").
  int IndexOf(absl::string_view version) const;
  std::string LatestVersion() const { return revisions.empty() ? "" : revisions.back().version; }
};

// "v1:" + sha256 of `text` with CRLF and CR normalised to LF.
std::string Checksum(absl::string_view text);

// Splits "<version>_<name>.(up|down).sql" into its parts. Returns INVALID_ARGUMENT naming the
// file when it does not have that shape.
struct FileName {
  std::string version;
  std::string name;
  bool up = true;
  // popx: "" (every dialect), "postgres", "mysql", "sqlite3" or "cockroach"; and the
  // `.autocommit` marker.
  std::string dialect;
  bool autocommit = false;
  bool verify = false;  // <version>_<name>.verify.sql
};
absl::StatusOr<FileName> ParseFileName(absl::string_view file_name);
// The same for the popx layout: <version>_<name>[.<dialect>][.autocommit].(up|down).sql.
absl::StatusOr<FileName> ParsePopxFileName(absl::string_view file_name);
// Whether a file name has a popx dialect or .autocommit segment (the layout is then popx).
bool LooksLikePopx(absl::string_view file_name);
// Flyway: V<version>__<description>.sql (up) and U<version>__<description>.sql (down); the
// version's underscores are dots ("V1_2__x.sql" is 1.2). R__ repeatables are refused.
absl::StatusOr<FileName> ParseFlywayFileName(absl::string_view file_name);
// Whether a name is Flyway's: V<digit>…__….sql, U<digit>…__….sql or R__….sql (the folder's
// layout is then flyway).
bool LooksLikeFlyway(absl::string_view file_name);
// Replaces ${name} in `text` with its value in `placeholders` (${flyway:filename} and
// ${flyway:table} are known); INVALID_ARGUMENT "<path>: line N: no value for placeholder …".
absl::StatusOr<std::string> SubstitutePlaceholders(
    absl::string_view text, const std::map<std::string, std::string>& placeholders,
    absl::string_view path);

struct LoadOptions {
  // Files larger than this are refused (INVALID_ARGUMENT naming the file, its size and this).
  int64_t max_file_bytes = int64_t{64} << 20;
  // The folder's layout (native, popx, dbmate, goose, sql-migrate); empty: catalog.yaml's,
  // else detected.
  std::string layout;
};

// Reads every revision of the catalog folder `dir` and parses its SQL. Returns INVALID_ARGUMENT
// naming the file for a bad name, a duplicate version, a down without an up, an unreadable
// file, a syntax error (with line), or a bad catalog.yaml; NOT_FOUND if `dir` does not exist.
absl::StatusOr<Catalog> LoadCatalog(const std::string& dir, const LoadOptions& options = {});

// Tells whether anything in a folder changed (a file written, added, removed, renamed) since
// the last call, from inotify: one system call, whatever the folder's size. Thread-safe.
class FolderWatch {
 public:
  // nullptr when the folder cannot be watched (inotify limits): use FolderFingerprint.
  static std::unique_ptr<FolderWatch> Start(const std::string& dir);
  ~FolderWatch();
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;
  // True when events came since the last call (they are consumed), or the watch broke.
  bool Changed();

 private:
  FolderWatch(int fd, std::string dir) : fd_(fd), dir_(std::move(dir)) {}
  int fd_;
  std::string dir_;
};

// A cheap fingerprint of the folder's listing (every entry's name, size and modification time,
// no contents): when it is unchanged, so is the catalog. INVALID_ARGUMENT when the folder
// cannot be listed.
absl::StatusOr<std::string> FolderFingerprint(const std::string& dir);

}  // namespace schemad
