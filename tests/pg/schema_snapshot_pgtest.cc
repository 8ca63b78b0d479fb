// The schema snapshot and its diff against real databases: two databases built by the same
// SQL compare equal, and each of fourteen manual changes is one exact difference.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/db/schema_snapshot.h"
#include "tests/support/matchers.h"
#include "tests/support/test_postgres.h"

namespace schemad::db {
namespace {

using ::schemad::testing::IsOk;
using ::schemad::testing::ReadTextFile;
using ::schemad::testing::TestPostgres;

constexpr char kDrift[] = SCHEMAD_SOURCE_DIR "/tests/testdata/drift";

SchemaSnapshot Read(const std::string& dsn) {
  absl::StatusOr<std::unique_ptr<Connection>> conn = Connection::Open(dsn);
  EXPECT_THAT(conn, IsOk());
  absl::StatusOr<SchemaSnapshot> snapshot = ReadSchemaSnapshot(**conn);
  EXPECT_THAT(snapshot, IsOk());
  return snapshot.ok() ? *snapshot : SchemaSnapshot{};
}

std::vector<std::string> Lines(const std::vector<SchemaDifference>& diff) {
  std::vector<std::string> lines;
  for (const SchemaDifference& item : diff) {
    lines.push_back(
        absl::StrCat(item.kind, " | ", item.object, " | ", item.expected, " | ", item.actual));
  }
  return lines;
}

std::string Shop() {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  TestPostgres::MustQuery(dsn, ReadTextFile(std::string(kDrift) + "/catalog/1_shop.up.sql"));
  return dsn;
}

TEST(SchemaSnapshotPgTest, TwoDatabasesBuiltAlikeCompareEqual) {
  const SchemaSnapshot a = Read(Shop());
  const SchemaSnapshot b = Read(Shop());
  EXPECT_GT(a.size(), 30u);
  EXPECT_THAT(Lines(DiffSnapshots(a, b)), ::testing::IsEmpty());
  // Generated names are read as PostgreSQL made them, not guessed.
  EXPECT_EQ(a.objects.count("constraint public.orders.orders_customer_id_fkey"), 1u);
  EXPECT_EQ(a.objects.count("index public.orders_placed_at_idx"), 1u);
  EXPECT_EQ(a.objects.at("enum public.order_status").attributes.at("values"),
            "'new', 'paid', 'shipped'");
}

TEST(SchemaSnapshotPgTest, EachOfFourteenManualChangesIsOneExactDifference) {
  const SchemaSnapshot expected = Read(Shop());
  const std::string dsn = Shop();
  TestPostgres::MustQuery(dsn, ReadTextFile(std::string(kDrift) + "/manual_changes.sql"));
  EXPECT_THAT(
      Lines(DiffSnapshots(expected, Read(dsn))),
      ::testing::ElementsAre(
          "table row security | public.customers | enabled | (none)",
          "unexpected index | public.customers_name_idx | absent | CREATE INDEX "
          "customers_name_idx ON public.customers USING btree (email)",
          "sequence increment | public.invoice_no | 1 | 10",
          "view definition | public.open_orders |  SELECT orders.id,\n    orders.customer_id,\n"
          "    orders.total\n   FROM public.orders\n  WHERE (orders.status <> "
          "'shipped'::public.order_status); |  SELECT orders.id,\n    orders.customer_id,\n"
          "    orders.total\n   FROM public.orders\n  WHERE (orders.status = "
          "'new'::public.order_status);",
          "enum values | public.order_status | 'new', 'paid', 'shipped' | 'new', 'paid', "
          "'shipped', 'returned'",
          "table comment | public.orders | one row per order | orders, edited by hand",
          "table grants | public.orders | (none) | PUBLIC SELECT",
          "column type | public.orders.invoice | bigint | integer",
          "unexpected column | public.orders.note | absent | text",
          "unexpected constraint | public.orders.orders_recent | absent | CHECK ((placed_at > "
          "'2000-01-01 00:00:00+00'::timestamp with time zone))",
          "missing trigger | public.orders.orders_touch | CREATE TRIGGER orders_touch BEFORE "
          "UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.touch() | absent",
          "column default | public.orders.total | 0 | 1",
          "unexpected table | public.scratch | absent | present",
          "function definition | public.touch() | CREATE OR REPLACE FUNCTION public.touch()\n "
          "RETURNS trigger\n LANGUAGE plpgsql\nAS $function$\nBEGIN\n  NEW.updated_at := "
          "now();\n  RETURN NEW;\nEND $function$\n | CREATE OR REPLACE FUNCTION "
          "public.touch()\n RETURNS trigger\n LANGUAGE plpgsql\nAS $function$\nBEGIN\n  "
          "RETURN NEW;\nEND $function$\n"));
}

TEST(SchemaSnapshotPgTest, BookkeepingAndExtensionObjectsAreNotRead) {
  const std::string dsn = TestPostgres::Get().CreateDatabase();
  TestPostgres::MustQuery(dsn,
                          "CREATE SCHEMA schemad; CREATE TABLE schemad.migrations (v text); "
                          "CREATE EXTENSION pg_trgm");
  const SchemaSnapshot snapshot = Read(dsn);
  for (const auto& [key, object] : snapshot.objects) {
    EXPECT_THAT(key, ::testing::Not(::testing::HasSubstr("schemad"))) << key;
    EXPECT_THAT(key, ::testing::Not(::testing::HasSubstr("similarity"))) << key;
  }
  EXPECT_EQ(snapshot.objects.count("extension pg_trgm"), 1u);
}

}  // namespace
}  // namespace schemad::db
