// The transaction classifier checked against the server itself: every sample statement of
// tests/testdata/classifier (one or more per statement kind the parser knows) runs inside
// BEGIN ... ROLLBACK on the test cluster, and the classifier must say "no transaction"
// exactly where PostgreSQL refuses with SQLSTATE 25001.
#include <libpq-fe.h>

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sql/script.h"
#include "tests/support/test_postgres.h"

namespace schemad::sql {
namespace {

using ::schemad::testing::ReadTextFile;
using ::schemad::testing::TestPostgres;

constexpr char kData[] = SCHEMAD_SOURCE_DIR "/tests/testdata/classifier/";

struct Entry {
  std::string kind;
  bool control = false;
  std::string expect_error;
  std::vector<std::string> before;
  std::string sql;
};

std::vector<Entry> ReadEntries() {
  std::vector<Entry> entries;
  for (absl::string_view block : absl::StrSplit(ReadTextFile(absl::StrCat(kData, "statements.sql")),
                                                absl::ByString("\n\n"))) {
    Entry entry;
    std::vector<std::string> sql;
    for (absl::string_view line : absl::StrSplit(block, '\n')) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      if (absl::ConsumePrefix(&line, "-- kind:")) {
        entry.kind = std::string(absl::StripAsciiWhitespace(line));
      } else if (line == "-- control") {
        entry.control = true;
      } else if (absl::ConsumePrefix(&line, "-- expect-error:")) {
        entry.expect_error = std::string(absl::StripAsciiWhitespace(line).substr(0, 5));
      } else if (absl::ConsumePrefix(&line, "-- before:")) {
        entry.before.push_back(std::string(absl::StripAsciiWhitespace(line)));
      } else if (!absl::StartsWith(line, "--")) {
        sql.push_back(std::string(line));
      }
    }
    if (entry.kind.empty()) continue;
    entry.sql = absl::StrJoin(sql, "\n");
    entries.push_back(std::move(entry));
  }
  return entries;
}

// Runs `sql` on `conn`; returns "" on success, else the SQLSTATE. Drains COPY OUT.
std::string Exec(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  std::string sqlstate;
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COPY_OUT) {
    char* buffer = nullptr;
    while (PQgetCopyData(conn, &buffer, 0) > 0) PQfreemem(buffer);
    PQclear(result);
    while ((result = PQgetResult(conn)) != nullptr) PQclear(result);
    return "";
  }
  if (status == PGRES_FATAL_ERROR) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    sqlstate = state != nullptr ? state : "?????";
  }
  PQclear(result);
  return sqlstate;
}

// Samples whose answer depends on the catalog's state, not on the statement: the classifier
// decides from the parse tree alone, and these are its known, deliberate differences.
struct Exception {
  const char* kind;
  const char* contains;
  const char* why;
};
constexpr Exception kStateDependent[] = {
    {"ReindexStmt", "cls_pt",
     "REINDEX of a partitioned table: refused in a transaction, which "
     "only the catalog knows; a transactional file then fails with a "
     "hint to add -- schemad:no-transaction"},
    {"ReindexStmt", "cls_pi", "REINDEX of a partitioned index (as above)"},
    {"ClusterStmt", "cls_pt", "CLUSTER of a partitioned table (as above)"},
    {"VariableSetStmt", "SERIALIZABLE", "SET TRANSACTION is legal as the first statement only"},
    {"VariableSetStmt", "transaction_isolation", "legal as the first statement only"},
    {"DropSubscriptionStmt", "DROP SUBSCRIPTION",
     "refused only when the subscription has a replication slot: the classifier assumes one"},
};

const Exception* StateDependent(const Entry& entry) {
  for (const Exception& e : kStateDependent) {
    if (entry.kind == e.kind && absl::StrContains(entry.sql, e.contains)) return &e;
  }
  return nullptr;
}

TEST(ClassifierPgTest, EveryStatementKindTheParserKnowsHasASample) {
  std::set<std::string> sampled;
  for (const Entry& entry : ReadEntries()) sampled.insert(entry.kind);
  // Kinds that are never a top-level statement of a file.
  const std::set<std::string> nested = {"RawStmt", "ReturnStmt", "PLAssignStmt", "SetOperationStmt",
                                        "ReplicaIdentityStmt"};
  std::vector<std::string> missing;
  for (const std::string& kind : StatementKinds()) {
    if (sampled.count(kind) == 0 && nested.count(kind) == 0) missing.push_back(kind);
  }
  EXPECT_THAT(missing, ::testing::IsEmpty());
  EXPECT_GT(StatementKinds().size(), 100u);
}

TEST(ClassifierPgTest, NoTransactionExactlyWherePostgresSays25001) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  TestPostgres::MustQuery(dsn, ReadTextFile(absl::StrCat(kData, "setup.sql")));
  int checked = 0, refused = 0, state_dependent = 0;
  std::vector<std::string> wrong;
  for (const Entry& entry : ReadEntries()) {
    if (entry.control) continue;
    absl::StatusOr<Script> script = ParseScript(entry.sql);
    ASSERT_TRUE(script.ok()) << entry.sql << ": " << script.status();
    ASSERT_EQ(script->statements.size(), 1u) << entry.sql;
    EXPECT_EQ(script->statements[0].kind, entry.kind) << entry.sql;
    const bool classifier_says_no = !script->statements[0].needs_no_transaction.empty();

    PGconn* conn = PQconnectdb(dsn.c_str());  // fresh session: PREPAREs survive ROLLBACK
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    ASSERT_EQ(Exec(conn, "BEGIN"), "");
    std::string sqlstate;
    for (const std::string& before : entry.before) {
      sqlstate = Exec(conn, before);
      ASSERT_EQ(sqlstate, "") << "before: " << before;
    }
    sqlstate = Exec(conn, entry.sql);
    Exec(conn, "ROLLBACK");
    PQfinish(conn);
    ++checked;

    if (!entry.expect_error.empty()) {
      EXPECT_EQ(sqlstate, entry.expect_error) << entry.sql;
      continue;
    }
    ASSERT_TRUE(sqlstate.empty() || sqlstate == "25001")
        << "the sample fails for another reason (" << sqlstate << "): " << entry.sql;
    const bool server_says_no = sqlstate == "25001";
    refused += server_says_no;
    if (server_says_no != classifier_says_no && StateDependent(entry) != nullptr) {
      ++state_dependent;
    } else if (server_says_no != classifier_says_no) {
      wrong.push_back(absl::StrCat(entry.kind, ": server ", server_says_no ? "refuses" : "allows",
                                   ", classifier ", classifier_says_no ? "refuses" : "allows", ": ",
                                   entry.sql));
    }
  }
  EXPECT_THAT(wrong, ::testing::IsEmpty());
  EXPECT_EQ(state_dependent, 7) << "a state-dependent exception no longer matches its sample";
  EXPECT_GT(checked, 350);
  EXPECT_GT(refused, 40);
}

}  // namespace
}  // namespace schemad::sql
