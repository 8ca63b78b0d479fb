#include "server/catalog/catalog.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/base/call_once.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "server/common/sha256.h"
#include "server/common/status_macros.h"
#include "server/common/text.h"
#include "yaml-cpp/yaml.h"

namespace schemad {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kUpSuffix = ".up.sql";
constexpr absl::string_view kDownSuffix = ".down.sql";
constexpr absl::string_view kVerifySuffix = ".verify.sql";

// catalog.yaml is small by nature.
constexpr int64_t kMaxManifestBytes = 1 << 20;

constexpr absl::string_view kLayouts[] = {"native",      "popx",   "dbmate", "goose",
                                          "sql-migrate", "flyway", "sqitch"};
constexpr char kLayoutList[] = "native, popx, dbmate, goose, sql-migrate, flyway or sqitch";

bool IsLayout(absl::string_view layout) {
  return std::find(std::begin(kLayouts), std::end(kLayouts), layout) != std::end(kLayouts);
}

// Reads a catalog file: only regular files (a symlink is followed to one), at most
// `max_bytes`, UTF-8 without NUL bytes. Returns INVALID_ARGUMENT naming the path (and the
// line and column) otherwise: what the parser, the checksum and the plan see must be the same
// text, and every response must be valid UTF-8.
// `limit_name` says where `max_bytes` comes from, for the message.
absl::StatusOr<std::string> ReadFile(const std::string& path, int64_t max_bytes,
                                     absl::string_view limit_name) {
  const auto fail = [&path](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  };
  // One open, one fstat, one read per file (start-up reads thousands). O_NONBLOCK: opening a
  // FIFO must not wait for a writer; it is refused below like any other non-regular file.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail(std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct stat info;
  if (fstat(fd, &info) != 0) return fail(std::strerror(errno));
  if (!S_ISREG(info.st_mode)) {
    return fail("not a regular file (only regular files and symlinks to them are read)");
  }
  if (info.st_size > max_bytes) {
    return fail(
        absl::StrCat(info.st_size, " bytes, over the limit of ", max_bytes, " (", limit_name, ")"));
  }
  // Straight into one string: a large file costs its size once. One byte more than its size is
  // asked for, so a file that grows while it is read is still read to its end (and bounded).
  std::string text(static_cast<size_t>(info.st_size) + 1, '\0');
  size_t done = 0;
  for (;;) {
    const ssize_t got = read(fd, text.data() + done, text.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(absl::StrCat("read error: ", std::strerror(errno)));
    if (got == 0) break;
    const bool short_read = static_cast<size_t>(got) < text.size() - done;
    done += static_cast<size_t>(got);
    if (done > static_cast<uint64_t>(max_bytes)) {
      return fail(absl::StrCat("over the limit of ", max_bytes, " bytes (", limit_name, ")"));
    }
    // A short read at or past the size fstat gave is the end (no second read to find it).
    if (short_read && done >= static_cast<size_t>(info.st_size)) break;
    if (done == text.size()) text.resize(text.size() * 2);
  }
  text.resize(done);
  if (absl::Status checked = CheckText(text); !checked.ok()) return fail(checked.message());
  return text;
}

absl::StatusOr<MigrationFile> LoadMigrationFile(const std::string& path, int64_t max_bytes) {
  SCHEMAD_ASSIGN_OR_RETURN(std::string text,
                           ReadFile(path, max_bytes, "the target's max_file_size"));
  // Directives are read now (a misspelt one is a load error); the SQL is parsed on first use.
  if (absl::Status directives = sql::ReadDirectives(text).status(); !directives.ok()) {
    return Annotate(directives, path);
  }
  MigrationFile file;
  file.path = path;
  file.checksum = Checksum(text);
  file.content = std::make_shared<const std::string>(std::move(text));
  return file;
}

// A YAML node of the expected shape, or INVALID_ARGUMENT "<file>: <key path>: expected …".
absl::Status Expect(const YAML::Node& node, YAML::NodeType::value type, const std::string& source,
                    const std::string& key, const char* what) {
  if (node.Type() == type) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": line ", node.Mark().line + 1, ": ", key, ": expected ", what));
}

absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                    const std::string& source,
                                                    const std::string& key) {
  SCHEMAD_RETURN_IF_ERROR(Expect(node, YAML::NodeType::Sequence, source, key, "a list of names"));
  std::vector<std::string> out;
  for (const YAML::Node& item : node) {
    SCHEMAD_RETURN_IF_ERROR(Expect(item, YAML::NodeType::Scalar, source, key, "a list of names"));
    out.push_back(item.as<std::string>());
  }
  return out;
}

absl::Status LoadManifest(const fs::path& path, Catalog* catalog) {
  SCHEMAD_ASSIGN_OR_RETURN(std::string text,
                           ReadFile(path, kMaxManifestBytes, "catalog.yaml is at most 1 MiB"));
  catalog->manifest_checksum = Checksum(text);
  catalog->manifest_text = text;
  const std::string source = path.string();
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": line ", e.mark.line + 1, ": ", e.msg));
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(source, ": must be a mapping"));
  using Type = YAML::NodeType;
  try {
    for (const auto& entry : root) {
      const std::string key = entry.first.as<std::string>();
      const YAML::Node& value = entry.second;
      if (key == "name") {
        SCHEMAD_RETURN_IF_ERROR(Expect(value, Type::Scalar, source, key, "a name"));
        const std::string name = value.as<std::string>();
        // The catalog's identity in every target's history: never empty or odd.
        if (name.empty() || name.size() > 128 ||
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789_.-") != std::string::npos) {
          return absl::InvalidArgumentError(absl::StrCat(
              source, ": name: expected 1 to 128 letters, digits, '_', '.' or '-', got \"",
              name.substr(0, 40), "\""));
        }
        catalog->name = name;
      } else if (key == "empty_down_is_noop") {
        bool flag = false;
        if (!value.IsScalar() || !YAML::convert<bool>::decode(value, flag)) {
          return absl::InvalidArgumentError(absl::StrCat(source, ": line ", value.Mark().line + 1,
                                                         ": ", key, ": expected true or false"));
        }
        catalog->empty_down_is_noop = flag;
      } else if (key == "adopt") {
        SCHEMAD_RETURN_IF_ERROR(
            Expect(value, Type::Map, source, key, "a mapping: tool -> {tool id: version}"));
        for (const auto& tool : value) {
          const std::string name = tool.first.as<std::string>();
          const std::string where = absl::StrCat("adopt.", name);
          static const std::set<std::string> kTools = {
              "alembic", "flyway", "golang-migrate", "dbmate", "goose", "sql-migrate", "sqitch"};
          if (kTools.count(name) == 0) {
            return absl::InvalidArgumentError(absl::StrCat(
                source, ": line ", tool.first.Mark().line + 1, ": ", where,
                ": unknown tool (alembic, flyway, golang-migrate, dbmate, goose, sql-migrate, "
                "sqitch)"));
          }
          SCHEMAD_RETURN_IF_ERROR(
              Expect(tool.second, Type::Map, source, where, "a mapping: tool id -> version"));
          for (const auto& id : tool.second) {
            SCHEMAD_RETURN_IF_ERROR(Expect(id.second, Type::Scalar, source,
                                           absl::StrCat(where, ".", id.first.as<std::string>()),
                                           "a catalog version"));
            const std::string version = id.second.as<std::string>();
            if (!IsVersion(version)) {
              return absl::InvalidArgumentError(
                  absl::StrCat(source, ": line ", id.second.Mark().line + 1, ": ", where, ".",
                               id.first.as<std::string>(), ": \"", version.substr(0, 40),
                               "\" is not a version"));
            }
            catalog->adopt_ids[name][id.first.as<std::string>()] = version;
          }
        }
      } else if (key == "layout") {
        SCHEMAD_RETURN_IF_ERROR(Expect(value, Type::Scalar, source, key, "a layout name"));
        const std::string layout = value.as<std::string>();
        if (!IsLayout(layout)) {
          return absl::InvalidArgumentError(absl::StrCat(source, ": line ", value.Mark().line + 1,
                                                         ": layout: expected ", kLayoutList,
                                                         ", got \"", layout.substr(0, 40), "\""));
        }
        catalog->layout = layout;
      } else if (key == "placeholders") {
        SCHEMAD_RETURN_IF_ERROR(
            Expect(value, Type::Map, source, key, "a mapping: placeholder -> value"));
        auto placeholders = std::make_shared<std::map<std::string, std::string>>();
        for (const auto& item : value) {
          const std::string name = item.first.as<std::string>();
          SCHEMAD_RETURN_IF_ERROR(Expect(item.second, Type::Scalar, source,
                                         absl::StrCat("placeholders.", name), "a value"));
          (*placeholders)[name] = item.second.as<std::string>();
        }
        catalog->placeholders = std::move(placeholders);
      } else if (key == "description") {
        SCHEMAD_RETURN_IF_ERROR(Expect(value, Type::Scalar, source, key, "text"));
        catalog->description = std::string(absl::StripAsciiWhitespace(value.as<std::string>()));
      } else if (key == "coverage") {
        SCHEMAD_RETURN_IF_ERROR(
            Expect(value, Type::Map, source, key, "a mapping with schema and required"));
        for (const auto& item : value) {
          const std::string sub = item.first.as<std::string>();
          if (sub == "schema") {
            SCHEMAD_RETURN_IF_ERROR(
                Expect(item.second, Type::Scalar, source, "coverage.schema", "a schema name"));
            catalog->coverage_schema = item.second.as<std::string>();
          } else if (sub == "required") {
            SCHEMAD_RETURN_IF_ERROR(Expect(item.second, Type::Sequence, source, "coverage.required",
                                           "a list of tables"));
            for (const YAML::Node& required : item.second) {
              CoverageRequirement requirement;
              if (required.IsScalar()) {
                requirement.table = required.as<std::string>();
              } else {
                SCHEMAD_RETURN_IF_ERROR(Expect(required, Type::Map, source, "coverage.required[]",
                                               "a table name or {table, columns, indexes}"));
                for (const auto& field : required) {
                  const std::string name = field.first.as<std::string>();
                  const std::string where = absl::StrCat("coverage.required[].", name);
                  if (name == "table") {
                    SCHEMAD_RETURN_IF_ERROR(
                        Expect(field.second, Type::Scalar, source, where, "a table name"));
                    requirement.table = field.second.as<std::string>();
                  } else if (name == "columns") {
                    SCHEMAD_ASSIGN_OR_RETURN(requirement.columns,
                                             StringList(field.second, source, where));
                  } else if (name == "indexes") {
                    SCHEMAD_ASSIGN_OR_RETURN(requirement.indexes,
                                             StringList(field.second, source, where));
                  } else {
                    return absl::InvalidArgumentError(
                        absl::StrCat(source, ": coverage.required: unknown key ", name));
                  }
                }
              }
              if (requirement.table.empty()) {
                return absl::InvalidArgumentError(
                    absl::StrCat(source, ": coverage.required: an entry has no table"));
              }
              catalog->coverage.push_back(std::move(requirement));
            }
          } else {
            return absl::InvalidArgumentError(
                absl::StrCat(source, ": coverage: unknown key ", sub));
          }
        }
      } else if (key != "lint") {
        return absl::InvalidArgumentError(absl::StrCat(source, ": unknown key ", key));
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": line ", e.mark.line + 1, ": ", e.msg));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Checksum(absl::string_view text) {
  // CRLF and CR count as LF, hashed in parts between them (no normalised copy of the text).
  Sha256 hash;
  while (!text.empty()) {
    const size_t cr = text.find('\r');
    if (cr == absl::string_view::npos) {
      hash.Update(text);
      break;
    }
    hash.Update(text.substr(0, cr));
    hash.Update("\n");
    text.remove_prefix(cr + 1 < text.size() && text[cr + 1] == '\n' ? cr + 2 : cr + 1);
  }
  return "v1:" + hash.HexDigest();
}

absl::StatusOr<FileName> ParseFileName(absl::string_view file_name) {
  FileName parsed;
  absl::string_view stem;
  if (absl::EndsWith(file_name, kUpSuffix)) {
    stem = file_name.substr(0, file_name.size() - kUpSuffix.size());
  } else if (absl::EndsWith(file_name, kDownSuffix)) {
    stem = file_name.substr(0, file_name.size() - kDownSuffix.size());
    parsed.up = false;
  } else if (absl::EndsWith(file_name, kVerifySuffix)) {
    stem = file_name.substr(0, file_name.size() - kVerifySuffix.size());
    parsed.up = false;
    parsed.verify = true;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ": bad name: expected <version>_<name>.up.sql, .down.sql or .verify.sql"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(stem, '_');
  // Version parts are digits; or the version is one part of digits joined by dots (1.2.10, as
  // imported from Flyway), never followed by more digit parts.
  const auto dotted = [](absl::string_view part) {
    if (part.find('.') == absl::string_view::npos) return false;
    for (absl::string_view digits : absl::StrSplit(part, '.')) {
      if (!AllDigits(digits)) return false;
    }
    return true;
  };
  size_t digit_parts = 0;
  if (!parts.empty() && dotted(parts[0])) {
    digit_parts = 1;
  } else {
    while (digit_parts < parts.size() && AllDigits(parts[digit_parts])) ++digit_parts;
  }
  if (digit_parts == 0 || digit_parts == parts.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ": bad name: expected <version>_<name>, the version being leading digits"));
  }
  parsed.version = absl::StrJoin(parts.begin(), parts.begin() + digit_parts, "_");
  parsed.name = absl::StrJoin(parts.begin() + digit_parts, parts.end(), "_");
  if (!IsVersion(parsed.version)) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": bad name: version ",
                                                   parsed.version, " has a part of more than ",
                                                   kPartDigits, " digits after a dot"));
  }
  if (parsed.name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": bad name: the name is empty"));
  }
  return parsed;
}

namespace {

constexpr absl::string_view kPopxDialects[] = {"postgres", "mysql", "sqlite3", "cockroach"};

// The name without .up.sql / .down.sql, split at dots: "<version>_<name>" then the segments.
std::vector<std::string> PopxSegments(absl::string_view file_name, bool* up) {
  absl::string_view stem;
  if (absl::EndsWith(file_name, kUpSuffix)) {
    stem = file_name.substr(0, file_name.size() - kUpSuffix.size());
    *up = true;
  } else if (absl::EndsWith(file_name, kDownSuffix)) {
    stem = file_name.substr(0, file_name.size() - kDownSuffix.size());
    *up = false;
  } else {
    return {};
  }
  return absl::StrSplit(stem, '.');
}

bool IsPopxSegment(absl::string_view segment) {
  return segment == "autocommit" || std::find(std::begin(kPopxDialects), std::end(kPopxDialects),
                                              segment) != std::end(kPopxDialects);
}

}  // namespace

namespace {

// A single-file layout's marker of its up and down sections, in the first line that has one.
struct SectionMarkers {
  const char* layout;
  const char* up;
  const char* down;
  // Words on a marker line that mean "outside a transaction".
  const char* no_transaction;
  // A whole-file marker that means the same (goose), or "".
  const char* file_no_transaction;
};
constexpr SectionMarkers kSectioned[] = {
    {"dbmate", "-- migrate:up", "-- migrate:down", "transaction:false", ""},
    {"goose", "-- +goose Up", "-- +goose Down", "", "-- +goose NO TRANSACTION"},
    {"sql-migrate", "-- +migrate Up", "-- +migrate Down", "notransaction", ""},
};

bool ContainsIgnoreCase(absl::string_view text, absl::string_view word) {
  return absl::AsciiStrToLower(text).find(absl::AsciiStrToLower(word)) != std::string::npos;
}

const SectionMarkers* MarkersOf(absl::string_view layout) {
  for (const SectionMarkers& markers : kSectioned) {
    if (layout == markers.layout) return &markers;
  }
  return nullptr;
}

// Whether `line` is the marker: "--" at its start, then (any spaces) the marker's words, then
// the end of the line or a space ("--migrate:down" and "-- migrate:down transaction:false" are
// dbmate's down marker; an indented one inside a function body is not).
bool IsMarker(absl::string_view line, absl::string_view marker) {
  if (!absl::ConsumePrefix(&line, "--") || !absl::ConsumePrefix(&marker, "--")) return false;
  line = absl::StripLeadingAsciiWhitespace(line);
  marker = absl::StripLeadingAsciiWhitespace(marker);
  if (!absl::StartsWithIgnoreCase(line, marker)) return false;
  return line.size() == marker.size() || absl::ascii_isspace(line[marker.size()]);
}

// The layout whose up marker `text` has (case-insensitively for goose), or nullptr.
const SectionMarkers* SectionedLayoutOf(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    for (const SectionMarkers& markers : kSectioned) {
      if (IsMarker(line, markers.up)) return &markers;
    }
  }
  return nullptr;
}

// Splits a single-file migration into its up and down texts. Each keeps its lines where they
// are in the file (the lines before it are blank), so parse errors name the file's own lines.
absl::Status SplitSections(const SectionMarkers& markers, const MigrationFile& file,
                           MigrationFile* up, std::optional<MigrationFile>* down) {
  const std::vector<absl::string_view> lines = absl::StrSplit(file.text(), '\n');
  int up_at = -1, down_at = -1;
  bool up_no_tx = false, down_no_tx = false, file_no_tx = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const absl::string_view line = absl::StripTrailingAsciiWhitespace(lines[i]);
    const bool no_tx =
        *markers.no_transaction != '\0' && ContainsIgnoreCase(line, markers.no_transaction);
    if (*markers.file_no_transaction != '\0' && IsMarker(line, markers.file_no_transaction)) {
      file_no_tx = true;
    } else if (IsMarker(line, markers.up)) {
      if (up_at >= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(file.path, ": line ", i + 1, ": a second \"", markers.up, "\""));
      }
      up_at = static_cast<int>(i);
      up_no_tx = no_tx;
    } else if (IsMarker(line, markers.down)) {
      if (down_at >= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(file.path, ": line ", i + 1, ": a second \"", markers.down, "\""));
      }
      down_at = static_cast<int>(i);
      down_no_tx = no_tx;
    }
  }
  if (up_at < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path, ": no \"", markers.up, "\" line (", markers.layout, " layout)"));
  }
  if (down_at >= 0 && down_at < up_at) {
    return absl::InvalidArgumentError(absl::StrCat(file.path, ": line ", down_at + 1, ": \"",
                                                   markers.down, "\" before \"", markers.up, "\""));
  }
  const auto section = [&](int from, int to, bool no_tx) {
    std::string own;
    for (int i = from + 1; i < to; ++i) absl::StrAppend(&own, lines[i], "\n");
    MigrationFile part;
    part.path = file.path;
    // The checksum is of the section's own lines: a line added above it changes nothing.
    part.checksum = Checksum(own);
    part.content = std::make_shared<const std::string>(std::string(from + 1, '\n') + own);
    part.named_no_transaction = no_tx || file_no_tx;
    part.whole_file = file.content;
    return part;
  };
  // A file's final newline does not start another line.
  const int end = static_cast<int>(lines.size()) - (lines.back().empty() ? 1 : 0);
  *up = section(up_at, down_at >= 0 ? down_at : end, up_no_tx);
  if (down_at >= 0) *down = section(down_at, end, down_no_tx);
  return absl::OkStatus();
}

}  // namespace

bool LooksLikePopx(absl::string_view file_name) {
  bool up = true;
  const std::vector<std::string> segments = PopxSegments(file_name, &up);
  return segments.size() > 1 && IsPopxSegment(segments.back());
}

absl::StatusOr<FileName> ParsePopxFileName(absl::string_view file_name) {
  bool up = true;
  std::vector<std::string> segments = PopxSegments(file_name, &up);
  if (segments.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name,
                     ": bad name: expected <version>_<name>[.<dialect>][.autocommit].up.sql or "
                     ".down.sql (popx layout)"));
  }
  FileName parsed;
  if (segments.size() > 1 && segments.back() == "autocommit") {
    parsed.autocommit = true;
    segments.pop_back();
  }
  if (segments.size() > 1 && IsPopxSegment(segments.back()) && segments.back() != "autocommit") {
    parsed.dialect = segments.back();
    segments.pop_back();
  }
  if (segments.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ": bad name: unknown segment \"", segments.back(),
        "\" (popx names are <version>_<name>[.postgres|.mysql|.sqlite3|.cockroach][.autocommit]"
        ".up.sql)"));
  }
  SCHEMAD_ASSIGN_OR_RETURN(FileName native,
                           ParseFileName(absl::StrCat(segments[0], up ? kUpSuffix : kDownSuffix)));
  parsed.version = std::move(native.version);
  parsed.name = std::move(native.name);
  parsed.up = up;
  return parsed;
}

bool LooksLikeFlyway(absl::string_view file_name) {
  if (!absl::EndsWith(file_name, ".sql") || file_name.size() < 2) return false;
  const size_t separator = file_name.find("__");
  if (separator == absl::string_view::npos) return false;
  if (file_name[0] == 'R' && separator == 1) return true;
  return (file_name[0] == 'V' || file_name[0] == 'U') && separator > 1 &&
         absl::ascii_isdigit(static_cast<unsigned char>(file_name[1]));
}

absl::StatusOr<FileName> ParseFlywayFileName(absl::string_view file_name) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ": bad name: ", why,
        " (flyway layout: V<version>__<description>.sql, U<version>__<description>.sql)"));
  };
  if (absl::StartsWith(file_name, "R__") && absl::EndsWith(file_name, ".sql")) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name,
                     ": Flyway repeatable migrations (R__) are not supported yet: move its SQL "
                     "into a versioned migration"));
  }
  if (!LooksLikeFlyway(file_name)) return bad("not a versioned or undo migration");
  FileName parsed;
  parsed.up = file_name[0] == 'V';
  absl::string_view stem = file_name.substr(1, file_name.size() - 1 - 4);  // no V, no .sql
  const size_t separator = stem.find("__");
  // Flyway reads 1_2 as 1.2.
  parsed.version = absl::StrReplaceAll(stem.substr(0, separator), {{"_", "."}});
  parsed.name = std::string(stem.substr(separator + 2));
  for (absl::string_view part : absl::StrSplit(parsed.version, '.')) {
    if (!AllDigits(part)) return bad(absl::StrCat("version \"", parsed.version, "\""));
  }
  if (!IsVersion(parsed.version)) {
    return bad(absl::StrCat("version \"", parsed.version, "\" has a part of more than ",
                            kPartDigits, " digits"));
  }
  if (parsed.name.empty()) return bad("the description is empty");
  return parsed;
}

absl::StatusOr<std::string> SubstitutePlaceholders(
    absl::string_view text, const std::map<std::string, std::string>& placeholders,
    absl::string_view path) {
  std::string out;
  size_t at = 0;
  for (size_t open = text.find("${"); open != absl::string_view::npos; open = text.find("${", at)) {
    const size_t close = text.find('}', open + 2);
    if (close == absl::string_view::npos) break;
    const absl::string_view name = text.substr(open + 2, close - open - 2);
    if (name.empty() ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_.:-") != absl::string_view::npos) {
      absl::StrAppend(&out, text.substr(at, open + 2 - at));
      at = open + 2;
      continue;
    }
    absl::StrAppend(&out, text.substr(at, open - at));
    at = close + 1;
    if (auto it = placeholders.find(std::string(name)); it != placeholders.end()) {
      absl::StrAppend(&out, it->second);
    } else if (name == "flyway:filename") {
      absl::StrAppend(&out, fs::path(std::string(path)).filename().string());
    } else if (name == "flyway:table") {
      absl::StrAppend(&out, "flyway_schema_history");
    } else {
      const size_t line = std::count(text.begin(), text.begin() + open, '\n') + 1;
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", line,
                                                     ": no value for placeholder ${", name,
                                                     "} (give it in catalog.yaml placeholders:)"));
    }
  }
  absl::StrAppend(&out, text.substr(at));
  return out;
}

struct LazyScript {
  absl::once_flag once;
  absl::StatusOr<sql::Script> script;
};

std::shared_ptr<LazyScript> NewLazyScript() { return std::make_shared<LazyScript>(); }

struct LazyDigest {
  absl::once_flag once;
  std::string digest;
};

std::shared_ptr<LazyDigest> NewLazyDigest() { return std::make_shared<LazyDigest>(); }

const std::string& Catalog::digest() const {
  absl::call_once(lazy_digest->once, [this] {
    Sha256 hash;
    hash.Update(absl::StrCat("schemad-catalog-v1\n", name.size(), ":", name, "\n"));
    for (const Revision& revision : revisions) {
      hash.Update(absl::StrCat(revision.version, " ", revision.name, " ", revision.up.checksum, " ",
                               revision.down ? revision.down->checksum : "-"));
      // What only some catalogs have is hashed only when there, so other digests stay as they
      // were: a verify script, and a file name's mark to run outside a transaction.
      if (revision.verify) hash.Update(absl::StrCat(" verify ", revision.verify->checksum));
      if (revision.up.named_no_transaction) hash.Update(" up-no-transaction");
      if (revision.down && revision.down->named_no_transaction) {
        hash.Update(" down-no-transaction");
      }
      hash.Update("\n");
    }
    if (!manifest_checksum.empty()) {
      hash.Update(absl::StrCat("catalog.yaml ", manifest_checksum, "\n"));
    }
    // A layout's own files (sqitch.plan: its project, tags and dependencies), where there are.
    for (const auto& [file, text] : layout_files) {
      hash.Update(absl::StrCat(file, " ", Checksum(text), "\n"));
    }
    lazy_digest->digest = "sha256:" + hash.HexDigest();
  });
  return lazy_digest->digest;
}

std::shared_ptr<const std::string> EmptyText() {
  static const auto* const empty =
      new std::shared_ptr<const std::string>(std::make_shared<const std::string>());
  return *empty;
}

const absl::StatusOr<sql::Script>& MigrationFile::Parsed() const {
  absl::call_once(lazy->once, [this] {
    absl::StatusOr<sql::Script> script = absl::InternalError("not parsed");
    if (placeholders == nullptr) {
      script = sql::ParseScript(content);
    } else {
      absl::StatusOr<std::string> substituted =
          SubstitutePlaceholders(*content, *placeholders, path);
      script = substituted.ok() ? sql::ParseScript(*std::move(substituted))
                                : absl::StatusOr<sql::Script>(substituted.status());
    }
    if (script.ok() && named_no_transaction &&
        script->mode == sql::TransactionMode::kTransactional) {
      script->mode = sql::TransactionMode::kNonTransactional;
      script->mode_reason =
          "the file marks it to run outside a transaction (.autocommit, transaction:false, "
          "NO TRANSACTION or notransaction): each statement commits on its own";
    }
    lazy->script = script.ok() ? std::move(script) : Annotate(script.status(), path);
  });
  return lazy->script;
}

int Catalog::IndexOf(absl::string_view version) const {
  const std::string key = VersionKey(version);
  auto it = std::lower_bound(
      revisions.begin(), revisions.end(), version,
      [](const Revision& r, absl::string_view v) { return CompareVersions(r.version, v) < 0; });
  if (it != revisions.end() && VersionKey(it->version) == key) {
    return static_cast<int>(it - revisions.begin());
  }
  return -1;
}

namespace {

// A down that does nothing for an up that does something would "roll back" nothing: the
// revision is irreversible unless the up (or catalog.yaml) says nothing needs undoing.
void DropEmptyDown(const Catalog& catalog, Revision& revision) {
  if (!revision.down || !sql::IsEmptyScript(revision.down->text()) ||
      sql::IsEmptyScript(revision.up.text()) || catalog.empty_down_is_noop) {
    return;
  }
  const absl::StatusOr<sql::Directives> directives = sql::ReadDirectives(revision.up.text());
  if (directives.ok() && directives->down_is_noop) return;
  revision.down.reset();
  revision.irreversible_reason =
      absl::StrCat("its down file is empty (declare -- ", sql::kDownIsNoopDirective,
                   " in the up file if rolling it back needs nothing)");
}

// Sqitch: sqitch.plan names the changes in order; change N is revision N, named after the
// change, with deploy/<change>.sql as its up, revert/<change>.sql as its down and
// verify/<change>.sql as its verify script. A change's `requires` must come earlier in the
// plan and its `conflicts` must not (changes deploy in plan order, each once).
absl::Status LoadSqitch(const std::string& prefix, const LoadOptions& options, Catalog* catalog) {
  const std::string plan_path = prefix + "sqitch.plan";
  SCHEMAD_ASSIGN_OR_RETURN(std::string plan,
                           ReadFile(plan_path, kMaxManifestBytes, "sqitch.plan is at most 1 MiB"));
  catalog->layout_files["sqitch.plan"] = plan;
  std::map<std::string, int> seen;  // change -> its line
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(plan, '\n')) {
    ++line_number;
    const auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(plan_path, ": line ", line_number, ": ", why));
    };
    line = absl::StripAsciiWhitespace(line);
    // "%project = flipr": the project, whose changes in the registry are this catalog's.
    if (absl::ConsumePrefix(&line, "%")) {
      const size_t equals = line.find('=');
      if (equals != absl::string_view::npos &&
          absl::StripAsciiWhitespace(line.substr(0, equals)) == "project") {
        catalog->sqitch_project = std::string(absl::StripAsciiWhitespace(line.substr(equals + 1)));
      }
      continue;
    }
    // Tags, comments and blank lines name no change.
    if (line.empty() || line[0] == '@' || line[0] == '#') continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
    absl::string_view name = words[0];
    if (absl::ConsumePrefix(&name, "-")) {
      return fail(absl::StrCat("\"-", name, "\" reverts a change in the plan: not supported"));
    }
    absl::ConsumePrefix(&name, "+");
    if (name.find('/') != absl::string_view::npos) {
      return fail(absl::StrCat("change ", name.substr(0, 60),
                               ": changes in script subfolders are not supported"));
    }
    if (name.empty() || name.find_first_of("\\:@#[]") != absl::string_view::npos) {
      return fail(absl::StrCat("\"", name.substr(0, 40), "\" is not a change name"));
    }
    if (auto earlier = seen.find(std::string(name)); earlier != seen.end()) {
      return fail(absl::StrCat("change ", name, " is reworked (also line ", earlier->second,
                               "): reworked changes are not supported; give the new version a "
                               "new name"));
    }
    size_t word = 1;
    if (word < words.size() && absl::StartsWith(words[word], "[")) {
      for (; word < words.size(); ++word) {
        absl::string_view dependency = words[word];
        const bool last = absl::ConsumeSuffix(&dependency, "]");
        absl::ConsumePrefix(&dependency, "[");
        if (!dependency.empty()) {
          const bool conflict = absl::ConsumePrefix(&dependency, "!");
          if (dependency.find(':') != absl::string_view::npos) {
            return fail(absl::StrCat(name, " depends on ", dependency,
                                     " of another project: not supported"));
          }
          // change@tag: the change as of a tag is the change (each is deployed once).
          const std::string required(dependency.substr(0, dependency.find('@')));
          if (required.empty()) {
            return fail(
                absl::StrCat(name, " depends on ", dependency, ", a tag alone: name the change"));
          }
          if (!conflict && seen.count(required) == 0) {
            return fail(
                absl::StrCat(name, " requires ", required, ", which is not earlier in the plan"));
          }
          if (conflict && seen.count(required) != 0) {
            return fail(absl::StrCat(name, " conflicts with ", required,
                                     ", which comes earlier in the plan and would be deployed"));
          }
        }
        if (last) break;
      }
      if (word == words.size()) return fail("a '[' without its ']'");
      ++word;
    }
    // Then when it was planned and by whom, as Sqitch writes them.
    if (word >= words.size() || words[word].size() != 20 || words[word][10] != 'T' ||
        words[word].back() != 'Z') {
      return fail(
          absl::StrCat("expected the change's planned time (2024-01-31T12:00:00Z) after ", name));
    }
    seen[std::string(name)] = line_number;
    Revision revision;
    revision.version = std::to_string(catalog->revisions.size() + 1);
    revision.name = std::string(name);
    const std::string file = absl::StrCat(name, ".sql");
    absl::StatusOr<MigrationFile> deploy =
        LoadMigrationFile(absl::StrCat(prefix, "deploy/", file), options.max_file_bytes);
    if (!deploy.ok()) {
      return Annotate(deploy.status(), absl::StrCat(plan_path, ": line ", line_number, ": change ",
                                                    name, ": its deploy script"));
    }
    revision.up = *std::move(deploy);
    std::error_code error;
    if (fs::exists(absl::StrCat(prefix, "revert/", file), error)) {
      SCHEMAD_ASSIGN_OR_RETURN(
          revision.down,
          LoadMigrationFile(absl::StrCat(prefix, "revert/", file), options.max_file_bytes));
    } else {
      revision.irreversible_reason = "no revert script";
    }
    if (fs::exists(absl::StrCat(prefix, "verify/", file), error)) {
      SCHEMAD_ASSIGN_OR_RETURN(
          revision.verify,
          LoadMigrationFile(absl::StrCat(prefix, "verify/", file), options.max_file_bytes));
    }
    DropEmptyDown(*catalog, revision);
    catalog->revisions.push_back(std::move(revision));
  }
  if (catalog->sqitch_project.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(plan_path, ": no %project pragma (sqitch init writes one)"));
  }
  return absl::OkStatus();
}

// Gives every file the catalog's placeholders; an unknown one is a load error, as in Flyway.
absl::Status AttachPlaceholders(Catalog* catalog) {
  if (catalog->placeholders == nullptr) return absl::OkStatus();
  for (Revision& revision : catalog->revisions) {
    for (MigrationFile* file : {&revision.up, revision.down ? &*revision.down : nullptr,
                                revision.verify ? &*revision.verify : nullptr}) {
      if (file == nullptr) continue;
      file->placeholders = catalog->placeholders;
      SCHEMAD_RETURN_IF_ERROR(
          SubstitutePlaceholders(file->text(), *file->placeholders, file->path).status());
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Catalog> LoadCatalog(const std::string& dir, const LoadOptions& options) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("catalog folder ", dir, " not found"));
  }
  Catalog catalog;
  catalog.path = dir;
  catalog.name = fs::path(dir).lexically_normal().filename().string();
  if (catalog.name.empty()) catalog.name = fs::path(dir).parent_path().filename().string();

  std::vector<std::string> names;
  // readdir itself: std::filesystem builds a path per entry (a tenth of a large catalog's load).
  DIR* listing = opendir(dir.c_str());
  if (listing == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": ", std::strerror(errno)));
  }
  errno = 0;
  while (const dirent* entry = readdir(listing)) {
    const absl::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int list_errno = errno;
  closedir(listing);
  if (list_errno != 0) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": ", std::strerror(list_errno)));
  }
  std::sort(names.begin(), names.end());
  const std::string prefix = absl::EndsWith(dir, "/") ? dir : dir + "/";
  // The layout first (catalog.yaml's, else from the names): it decides which files count.
  bool has_manifest = std::binary_search(names.begin(), names.end(), "catalog.yaml");
  if (has_manifest) SCHEMAD_RETURN_IF_ERROR(LoadManifest(prefix + "catalog.yaml", &catalog));
  if (!options.layout.empty()) {
    if (!IsLayout(options.layout)) {
      return absl::InvalidArgumentError(absl::StrCat("layout: expected ", kLayoutList, ", got \"",
                                                     options.layout.substr(0, 40), "\""));
    }
    catalog.layout = options.layout;
  }
  // A .sql file without .up/.down: one file per revision with up and down sections (dbmate,
  // goose, sql-migrate), which its first such file's markers tell apart.
  const auto single_file = [](const std::string& n) {
    return absl::EndsWithIgnoreCase(n, ".sql") && !absl::EndsWith(n, kUpSuffix) &&
           !absl::EndsWith(n, kDownSuffix) && !absl::EndsWith(n, kVerifySuffix);
  };
  if (catalog.layout.empty() && std::binary_search(names.begin(), names.end(), "sqitch.plan")) {
    catalog.layout = "sqitch";
  }
  if (catalog.layout == "sqitch") {
    for (const std::string& name : names) {
      if (absl::EndsWithIgnoreCase(name, ".sql")) {
        return absl::InvalidArgumentError(absl::StrCat(
            prefix, name,
            ": a .sql file beside sqitch.plan (a Sqitch project keeps its scripts in deploy/, "
            "revert/ and verify/): the folder mixes layouts"));
      }
    }
    SCHEMAD_RETURN_IF_ERROR(LoadSqitch(prefix, options, &catalog));
    SCHEMAD_RETURN_IF_ERROR(AttachPlaceholders(&catalog));
    return catalog;
  }
  if (catalog.layout.empty()) {
    catalog.layout = "native";
    if (std::any_of(names.begin(), names.end(),
                    [](const std::string& n) { return LooksLikePopx(n); })) {
      catalog.layout = "popx";
    } else if (std::any_of(names.begin(), names.end(),
                           [](const std::string& n) { return LooksLikeFlyway(n); })) {
      catalog.layout = "flyway";
    } else if (auto first = std::find_if(names.begin(), names.end(), single_file);
               first != names.end()) {
      SCHEMAD_ASSIGN_OR_RETURN(std::string text, ReadFile(prefix + *first, options.max_file_bytes,
                                                          "the target's max_file_size"));
      const SectionMarkers* markers = SectionedLayoutOf(text);
      if (markers == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            prefix, *first,
            ": bad name: expected <version>_<name>.up.sql, .down.sql or .verify.sql (or, for "
            "one file per revision, a \"-- migrate:up\", \"-- +goose Up\" or \"-- +migrate "
            "Up\" line)"));
      }
      catalog.layout = markers->layout;
    }
  }
  const bool popx = catalog.layout == "popx";
  const bool flyway = catalog.layout == "flyway";
  const SectionMarkers* sectioned = MarkersOf(catalog.layout);
  if (flyway) {
    // Flyway's script configuration (V1__x.sql.conf) would change how a file runs: refused
    // rather than ignored.
    for (const std::string& name : names) {
      if (absl::EndsWithIgnoreCase(name, ".sql.conf")) {
        return absl::InvalidArgumentError(absl::StrCat(
            prefix, name,
            ": Flyway script configuration is not read (for executeInTransaction=false, put "
            "\"-- schemad:no-transaction\" at the top of the .sql file)"));
      }
    }
    // Flyway substitutes ${placeholders} by default; its own ones are read from catalog.yaml
    // like the others.
    if (catalog.placeholders == nullptr) {
      catalog.placeholders = std::make_shared<std::map<std::string, std::string>>();
    }
  }
  if (sectioned != nullptr) {
    // Every .sql file is one revision; .up.sql/.down.sql files would be another layout.
    for (const std::string& name : names) {
      if (absl::EndsWithIgnoreCase(name, ".sql") && !single_file(name) &&
          !absl::EndsWith(name, kVerifySuffix)) {
        return absl::InvalidArgumentError(absl::StrCat(
            prefix, name, ": a .up.sql/.down.sql file in a folder of the ", catalog.layout,
            " layout (one <version>_<name>.sql per revision): the folder mixes layouts"));
      }
    }
  }
  // popx: for each version and direction the postgres file, else the generic one; files of
  // other dialects are not part of the catalog. An empty file is a no-op (as popx runs it).
  std::map<std::string, FileName> popx_names;
  if (popx) {
    catalog.empty_down_is_noop = true;
    std::map<std::pair<std::string, bool>, std::string> chosen;
    for (const std::string& name : names) {
      if (!absl::EndsWithIgnoreCase(name, ".sql")) continue;
      absl::StatusOr<FileName> parsed = ParsePopxFileName(name);
      if (!parsed.ok()) return Annotate(parsed.status(), dir);
      if (!parsed->dialect.empty() && parsed->dialect != "postgres") continue;
      std::string& slot = chosen[{VersionKey(parsed->version), parsed->up}];
      if (slot.empty() || !parsed->dialect.empty()) slot = name;
      popx_names[name] = *std::move(parsed);
    }
    std::vector<std::string> kept;
    for (const std::string& name : names) {
      if (!absl::EndsWithIgnoreCase(name, ".sql")) {
        kept.push_back(name);
        continue;
      }
      auto it = popx_names.find(name);
      if (it != popx_names.end() &&
          chosen[{VersionKey(it->second.version), it->second.up}] == name) {
        kept.push_back(name);
      }
    }
    names = std::move(kept);
  }
  // Documented rule: files not ending in .sql (in any case) are not part of the catalog
  // (README, catalog.yaml, dotfiles…); every .sql file must be a well-named revision.
  auto is_sql = [](const std::string& name) { return absl::EndsWithIgnoreCase(name, ".sql"); };

  // Every .sql file is read on a few threads (start-up of a large catalog is mostly system
  // calls) while this thread checks the names; name errors are reported first, then a down
  // file without an up file, then read errors in version order.
  std::vector<absl::StatusOr<MigrationFile>> files(names.size());
  const size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  const size_t step = std::min(threads, names.size() / 64 + 1);
  std::vector<std::thread> readers;
  for (size_t t = 0; t < step; ++t) {
    readers.emplace_back([&, t] {
      for (size_t i = t; i < names.size(); i += step) {
        if (is_sql(names[i]))
          files[i] = LoadMigrationFile(prefix + names[i], options.max_file_bytes);
      }
    });
  }
  struct Pair {
    FileName name;
    int up = -1;  // indexes into names
    int down = -1;
    int verify = -1;
  };
  // VersionKey -> files, in version order.
  struct KeyOrder {
    bool operator()(const std::string& a, const std::string& b) const {
      return CompareVersionKeys(a, b) < 0;
    }
  };
  std::map<std::string, Pair, KeyOrder> by_key;
  absl::Status names_ok = [&]() -> absl::Status {
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& file_name = names[i];
      if (!is_sql(file_name)) continue;
      absl::StatusOr<FileName> parsed =
          popx     ? absl::StatusOr<FileName>(popx_names.at(file_name))
          : flyway ? ParseFlywayFileName(file_name)
          : sectioned != nullptr && single_file(file_name)
              ? ParseFileName(absl::StrCat(file_name.substr(0, file_name.size() - 4), kUpSuffix))
              : ParseFileName(file_name);
      if (!parsed.ok() && sectioned != nullptr && single_file(file_name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, file_name, ": bad name: expected <version>_<name>.sql (",
                         catalog.layout, " layout), the version being leading digits"));
      }
      if (!parsed.ok()) return Annotate(parsed.status(), dir);
      Pair& pair = by_key[VersionKey(parsed->version)];
      int& slot = parsed->verify ? pair.verify : parsed->up ? pair.up : pair.down;
      const int other = parsed->up ? std::max(pair.down, pair.verify) : pair.up;
      if (slot >= 0 || (other >= 0 && pair.name.name != parsed->name)) {
        return absl::InvalidArgumentError(absl::StrCat(prefix, file_name, ": duplicate version ",
                                                       parsed->version, " (also ",
                                                       names[slot >= 0 ? slot : other], ")"));
      }
      pair.name = *std::move(parsed);
      slot = static_cast<int>(i);
    }
    for (const auto& [key, pair] : by_key) {
      if (pair.up < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, names[pair.down >= 0 ? pair.down : pair.verify],
                         pair.down >= 0 ? ": down file without an up file"
                                        : ": verify file without an up file"));
      }
    }
    return absl::OkStatus();
  }();
  for (std::thread& reader : readers) reader.join();
  if (!names_ok.ok()) return names_ok;

  catalog.revisions.reserve(by_key.size());
  for (auto& [key, pair] : by_key) {
    Revision revision;
    revision.version = pair.name.version;
    revision.name = pair.name.name;
    SCHEMAD_ASSIGN_OR_RETURN(revision.up, std::move(files[pair.up]));
    if (popx) revision.up.named_no_transaction = popx_names.at(names[pair.up]).autocommit;
    if (pair.verify >= 0) {
      SCHEMAD_ASSIGN_OR_RETURN(revision.verify, std::move(files[pair.verify]));
    }
    if (sectioned != nullptr) {
      const MigrationFile whole = revision.up;
      SCHEMAD_RETURN_IF_ERROR(SplitSections(*sectioned, whole, &revision.up, &revision.down));
      if (!revision.down) revision.irreversible_reason = "no down section";
    } else if (pair.down >= 0) {
      SCHEMAD_ASSIGN_OR_RETURN(revision.down, std::move(files[pair.down]));
      if (popx) revision.down->named_no_transaction = popx_names.at(names[pair.down]).autocommit;
    } else {
      revision.irreversible_reason = "no .down.sql";
    }
    DropEmptyDown(catalog, revision);
    catalog.revisions.push_back(std::move(revision));
  }
  SCHEMAD_RETURN_IF_ERROR(AttachPlaceholders(&catalog));
  return catalog;  // in version order: by_key's
}

namespace {
// The folders a Sqitch project keeps its scripts in (watched and fingerprinted with the folder).
constexpr const char* kSqitchFolders[] = {"deploy", "revert", "verify"};
constexpr uint32_t kWatchEvents = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                                  IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;

// Adds a watch for each Sqitch script folder of `dir` that exists (again for one already
// watched: the same watch). False when one cannot be watched.
bool WatchSqitchFolders(int fd, const std::string& dir) {
  for (const char* sub : kSqitchFolders) {
    const std::string path = absl::StrCat(dir, "/", sub);
    struct stat info {};
    if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode) &&
        inotify_add_watch(fd, path.c_str(), kWatchEvents) < 0) {
      return false;
    }
  }
  return true;
}
}  // namespace

std::unique_ptr<FolderWatch> FolderWatch::Start(const std::string& dir) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return nullptr;
  if (inotify_add_watch(fd, dir.c_str(), kWatchEvents) < 0 || !WatchSqitchFolders(fd, dir)) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<FolderWatch>(new FolderWatch(fd, dir));
}

FolderWatch::~FolderWatch() { close(fd_); }

bool FolderWatch::Changed() {
  alignas(inotify_event) char buffer[16384];
  bool changed = false;
  while (true) {
    const ssize_t n = read(fd_, buffer, sizeof(buffer));
    if (n > 0) {
      changed = true;
      continue;
    }
    // A Sqitch script folder made (or made again) since is watched from now on.
    if (changed) WatchSqitchFolders(fd_, dir_);
    // EAGAIN: nothing more; anything else: the watch is broken, so assume a change.
    return changed || (n < 0 && errno != EAGAIN);
  }
}

absl::StatusOr<std::string> FolderFingerprint(const std::string& dir) {
  std::vector<std::string> lines;
  // The folder's entries, then those of its Sqitch script folders (where they exist).
  const auto list = [&lines](const std::string& folder, absl::string_view prefix) {
    DIR* listing = opendir(folder.c_str());
    if (listing == nullptr) return false;
    while (const dirent* entry = readdir(listing)) {
      const absl::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat info {};
      const std::string path = absl::StrCat(folder, "/", name);
      if (stat(path.c_str(), &info) != 0) {
        lines.push_back(absl::StrCat(prefix, name, " ?"));
        continue;
      }
      lines.push_back(absl::StrCat(prefix, name, " ", info.st_size, " ", info.st_mtim.tv_sec, ".",
                                   info.st_mtim.tv_nsec, " ", info.st_ino));
    }
    closedir(listing);
    return true;
  };
  if (!list(dir, "")) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": ", std::strerror(errno)));
  }
  for (const char* sub : kSqitchFolders) list(absl::StrCat(dir, "/", sub), absl::StrCat(sub, "/"));
  std::sort(lines.begin(), lines.end());
  Sha256 fingerprint;
  for (const std::string& line : lines) {
    fingerprint.Update(line);
    fingerprint.Update("\n");
  }
  return fingerprint.HexDigest();
}

}  // namespace schemad
