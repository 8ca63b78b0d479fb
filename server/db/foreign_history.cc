#include "server/db/foreign_history.h"

#include <map>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace schemad::db {
namespace {

std::optional<absl::Time> Epoch(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return absl::UnixEpoch() + absl::Seconds(field.as<double>());
}

std::string Text(const pqxx::field& field) { return field.is_null() ? "" : field.c_str(); }

}  // namespace

const std::vector<std::string>& ForeignTools() {
  static const std::vector<std::string> tools = {
      "alembic", "flyway", "golang-migrate", "dbmate", "goose", "sql-migrate", "sqitch"};
  return tools;
}

absl::StatusOr<ForeignHistory> ReadForeignHistory(Connection& conn, const std::string& tool,
                                                  const std::string& sqitch_project) {
  static const std::map<std::string, std::string> kTables = {
      {"alembic", "alembic_version"},
      {"flyway", "flyway_schema_history"},
      {"golang-migrate", "schema_migrations"},
      {"dbmate", "schema_migrations"},
      {"goose", "goose_db_version"},
      {"sql-migrate", "gorp_migrations"},
      {"sqitch", "sqitch.changes"}};
  auto table = kTables.find(tool);
  if (table == kTables.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("from: unknown tool \"", tool.substr(0, 40),
                     "\" (known: ", absl::StrJoin(ForeignTools(), ", "), ")"));
  }
  try {
    pqxx::read_transaction txn(conn.raw());
    ForeignHistory history;
    history.table = table->second;
    if (!txn.exec_params1("SELECT to_regclass($1) IS NOT NULL", table->second)[0].as<bool>()) {
      return absl::NotFoundError(absl::StrCat("no ", table->second, " table: ", tool,
                                              " has not run on this database (or uses another "
                                              "table name or schema)"));
    }
    const bool has_dirty =
        txn.exec_params1(
               "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) "
               "AND attname = 'dirty' AND NOT attisdropped",
               table->second)[0]
            .as<int>() > 0;
    if ((tool == "golang-migrate") != has_dirty) {
      return absl::FailedPreconditionError(absl::StrCat(
          "schema_migrations ", has_dirty ? "has" : "has no", " column dirty: it was written by ",
          has_dirty ? "golang-migrate" : "dbmate", ", not ", tool, " (use --from ",
          has_dirty ? "golang-migrate" : "dbmate", ")"));
    }
    if (tool == "alembic") {
      // Only the current head(s) are kept; everything before them is applied.
      history.cumulative = true;
      for (const pqxx::row& row : txn.exec("SELECT version_num FROM alembic_version ORDER BY 1")) {
        history.entries.push_back({Text(row[0]), "", "", std::nullopt, true, ""});
      }
    } else if (tool == "flyway") {
      // flyway-core: JdbcTableSchemaHistory / createMetaDataTable.sql.
      for (const pqxx::row& row :
           txn.exec("SELECT coalesce(version, ''), description, type, script, installed_by, "
                    "extract(epoch FROM installed_on)::float8, success FROM flyway_schema_history "
                    "ORDER BY installed_rank")) {
        ForeignEntry entry{Text(row[0]),  Text(row[1]),      Text(row[4]),
                           Epoch(row[5]), row[6].as<bool>(), ""};
        const std::string type = Text(row[2]);
        if (type == "SCHEMA") continue;  // Flyway's note that it created the schema
        if (absl::StartsWith(type, "UNDO") || type == "DELETE") {
          // An undo (or a deleted row) cancels what came before for that version.
          if (entry.success) {
            for (ForeignEntry& earlier : history.entries) {
              if (earlier.id == entry.id && earlier.note.empty()) {
                earlier.note = absl::StrCat(entry.id, " ", earlier.description, ": undone by ",
                                            Text(row[3]), " (", type, ")");
              }
            }
          }
          continue;
        }
        entry.cumulative = type == "BASELINE";
        if (entry.id.empty()) entry.note = absl::StrCat("repeatable migration ", Text(row[3]));
        history.entries.push_back(std::move(entry));
      }
    } else if (tool == "golang-migrate") {
      history.cumulative = true;
      for (const pqxx::row& row : txn.exec("SELECT version::text, dirty FROM schema_migrations")) {
        if (row[1].as<bool>()) history.dirty_version = Text(row[0]);
        history.entries.push_back({Text(row[0]), "", "", std::nullopt, true, ""});
      }
    } else if (tool == "dbmate") {
      for (const pqxx::row& row :
           txn.exec("SELECT version::text FROM schema_migrations ORDER BY version")) {
        history.entries.push_back({Text(row[0]), "", "", std::nullopt, true, ""});
      }
    } else if (tool == "goose") {
      // goose: a row per up and per down; the newest row of a version says whether it is
      // applied. Version 0 is goose's own first row.
      std::map<std::string, ForeignEntry> last;
      std::vector<std::string> order;
      for (const pqxx::row& row :
           txn.exec("SELECT version_id::text, is_applied, extract(epoch FROM tstamp)::float8 FROM "
                    "goose_db_version WHERE version_id <> 0 ORDER BY id")) {
        const std::string id = Text(row[0]);
        if (last.count(id) == 0) order.push_back(id);
        last[id] = {id, "", "", Epoch(row[2]), row[1].as<bool>(), ""};
      }
      for (const std::string& id : order) {
        if (last[id].success) history.entries.push_back(last[id]);
      }
    } else if (tool == "sql-migrate") {
      for (const pqxx::row& row :
           txn.exec("SELECT id, extract(epoch FROM applied_at)::float8 FROM gorp_migrations "
                    "ORDER BY applied_at, id")) {
        history.entries.push_back({Text(row[0]), "", "", Epoch(row[1]), true, ""});
      }
    } else {  // sqitch: the registry's changes (App::Sqitch::Engine::pg, deploy).
      for (const pqxx::row& row : txn.exec_params(
               "SELECT change, note, committer_name, extract(epoch FROM committed_at)::float8 "
               "FROM sqitch.changes WHERE $1 = '' OR project = $1 ORDER BY committed_at",
               sqitch_project)) {
        history.entries.push_back(
            {Text(row[0]), Text(row[1]), Text(row[2]), Epoch(row[3]), true, ""});
      }
    }
    txn.commit();
    return history;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace schemad::db
