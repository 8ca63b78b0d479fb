#include "server/db/schema_snapshot.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/common/sha256.h"

namespace schemad::db {
namespace {

// Each query returns kind, identity, parent, then one column per attribute (named by its
// alias; NULL: the attribute does not apply). `summary` names the attribute shown for an
// object that is only on one side. The templates below are expanded first:
//   {NS(x)}        the schema alias x is one we read
//   {OWN(cls,x)}   object x (an oid) of catalog cls is not part of an extension
//   {ACL(a,o,t)}   the grants in acl a of an object owned by o, of type letter t (acldefault)
//   {PARENT(c,n)}  the key of relation c in namespace n, as its children name their parent
//   {COMMENT(cls,x,sub)}  the comment on object x (sub-object sub) of catalog cls
struct KindQuery {
  const char* sql;
  const char* summary;
};

constexpr KindQuery kQueries[] = {
    {"SELECT 'schema', n.nspname, '', {COMMENT(pg_namespace,n.oid,0)} AS comment, "
     "{ACL(n.nspacl,n.nspowner,n)} AS grants FROM pg_namespace n "
     "WHERE {NS(n)} AND {OWN(pg_namespace,n.oid)}",
     ""},
    {"SELECT CASE c.relkind WHEN 'f' THEN 'foreign table' ELSE 'table' END, "
     "n.nspname || '.' || c.relname, '', "
     "CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS \"partition by\", "
     "CASE WHEN c.relispartition THEN (SELECT pn.nspname || '.' || pc.relname || ' ' || "
     "  pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class pc ON pc.oid = "
     "  i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid) "
     "  END AS \"partition of\", "
     "CASE WHEN NOT c.relispartition THEN (SELECT string_agg(x.name, ', ' ORDER BY x.seq) FROM "
     "  (SELECT pn.nspname || '.' || pc.relname AS name, i.inhseqno AS seq FROM pg_inherits i "
     "  JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = "
     "  pc.relnamespace WHERE i.inhrelid = c.oid) x) END AS inherits, "
     "CASE c.relpersistence WHEN 'u' THEN 'unlogged' END AS persistence, "
     "CASE WHEN c.relrowsecurity THEN 'enabled' END AS \"row security\", "
     "CASE WHEN c.relforcerowsecurity THEN 'forced' END AS \"forced row security\", "
     "CASE c.relreplident WHEN 'f' THEN 'full' WHEN 'n' THEN 'nothing' WHEN 'i' THEN 'index' "
     "  END AS \"replica identity\", "
     "array_to_string(c.reloptions, ', ') AS options, "
     "{COMMENT(pg_class,c.oid,0)} AS comment, {ACL(c.relacl,c.relowner,r)} AS grants "
     "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
     "WHERE c.relkind IN ('r', 'p', 'f') AND {NS(n)} AND {OWN(pg_class,c.oid)}",
     ""},
    {"SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, "
     "n.nspname || '.' || c.relname, '', pg_get_viewdef(c.oid) AS definition, "
     "array_to_string(c.reloptions, ', ') AS options, "
     "{COMMENT(pg_class,c.oid,0)} AS comment, {ACL(c.relacl,c.relowner,r)} AS grants "
     "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
     "WHERE c.relkind IN ('v', 'm') AND {NS(n)} AND {OWN(pg_class,c.oid)}",
     ""},
    {"SELECT 'column', n.nspname || '.' || c.relname || '.' || a.attname, {PARENT(c,n)}, "
     "format_type(a.atttypid, a.atttypmod) AS type, "
     "CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'NULL' END AS nullability, "
     "CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default, "
     "CASE WHEN a.attgenerated = 's' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated, "
     "CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END AS identity, "
     "CASE WHEN a.attcollation <> t.typcollation THEN (SELECT co.collname FROM pg_collation co "
     "  WHERE co.oid = a.attcollation) END AS collation, "
     "{COMMENT(pg_class,c.oid,a.attnum)} AS comment, "
     "CASE WHEN a.attacl IS NOT NULL THEN {ACL(a.attacl,c.relowner,c)} END AS grants "
     "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
     "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
     "LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
     "WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped "
     "AND {NS(n)} AND {OWN(pg_class,c.oid)}",
     "type"},
    {"SELECT 'constraint', n.nspname || '.' || c.relname || '.' || con.conname, {PARENT(c,n)}, "
     "pg_get_constraintdef(con.oid) AS definition, "
     "{COMMENT(pg_constraint,con.oid,0)} AS comment "
     "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
     "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {NS(n)} AND {OWN(pg_class,c.oid)}",
     "definition"},
    // Indexes that back a primary key, unique or exclusion constraint are that constraint.
    {"SELECT 'index', n.nspname || '.' || ic.relname, {PARENT(c,tn)}, "
     "pg_get_indexdef(i.indexrelid) AS definition, "
     "CASE WHEN i.indisvalid THEN 'valid' ELSE 'INVALID' END AS state, "
     "{COMMENT(pg_class,ic.oid,0)} AS comment "
     "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
     "JOIN pg_namespace n ON n.oid = ic.relnamespace JOIN pg_class c ON c.oid = i.indrelid "
     "JOIN pg_namespace tn ON tn.oid = c.relnamespace "
     "WHERE {NS(n)} AND {OWN(pg_class,c.oid)} AND NOT EXISTS (SELECT 1 FROM pg_constraint con "
     "  WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
     "  AND con.contype IN ('p', 'u', 'x'))",
     "definition"},
    {"SELECT 'sequence', n.nspname || '.' || c.relname, coalesce((SELECT {PARENT(t,tn)} "
     "  FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid "
     "  JOIN pg_namespace tn ON tn.oid = t.relnamespace WHERE d.classid = 'pg_class'::regclass "
     "  AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass "
     "  AND d.deptype IN ('a', 'i') LIMIT 1), ''), "
     "format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start, "
     "s.seqincrement::text AS increment, s.seqmin::text AS minimum, "
     "s.seqmax::text AS maximum, s.seqcache::text AS cache, "
     "CASE WHEN s.seqcycle THEN 'CYCLE' END AS cycle, "
     "(SELECT tn.nspname || '.' || t.relname || '.' || a.attname FROM pg_depend d "
     "  JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace "
     "  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
     "  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
     "  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) "
     "  AS \"owned by\", "
     "{COMMENT(pg_class,c.oid,0)} AS comment, {ACL(c.relacl,c.relowner,s)} AS grants "
     "FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid "
     "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {NS(n)} AND {OWN(pg_class,c.oid)}",
     "type"},
    {"SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' "
     "  ELSE 'function' END, p.oid::regprocedure::text, '', "
     "CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition, "
     "{COMMENT(pg_proc,p.oid,0)} AS comment, {ACL(p.proacl,p.proowner,f)} AS grants "
     "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
     "WHERE {NS(n)} AND {OWN(pg_proc,p.oid)}",
     ""},
    {"SELECT 'trigger', n.nspname || '.' || c.relname || '.' || tg.tgname, {PARENT(c,n)}, "
     "pg_get_triggerdef(tg.oid) AS definition, CASE tg.tgenabled WHEN 'O' THEN 'enabled' "
     "  WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END AS state, "
     "{COMMENT(pg_trigger,tg.oid,0)} AS comment "
     "FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
     "JOIN pg_namespace n ON n.oid = c.relnamespace "
     "WHERE NOT tg.tgisinternal AND {NS(n)} AND {OWN(pg_class,c.oid)}",
     "definition"},
    {"SELECT 'policy', n.nspname || '.' || c.relname || '.' || pol.polname, {PARENT(c,n)}, "
     "CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' "
     "  WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command, "
     "CASE WHEN pol.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS type, "
     "(SELECT string_agg(x.name, ', ' ORDER BY x.name) FROM (SELECT CASE WHEN r = 0 "
     "  THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END AS name FROM unnest(pol.polroles) r) x) "
     "  AS roles, "
     "pg_get_expr(pol.polqual, pol.polrelid) AS using, "
     "pg_get_expr(pol.polwithcheck, pol.polrelid) AS \"with check\" "
     "FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid "
     "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {NS(n)} AND {OWN(pg_class,c.oid)}",
     "command"},
    {"SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'r' THEN "
     "  'range type' ELSE 'composite type' END, n.nspname || '.' || t.typname, '', "
     "(SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) "
     "  FROM pg_enum e WHERE e.enumtypid = t.oid) AS values, "
     "CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END "
     "  AS \"base type\", "
     "CASE WHEN t.typtype = 'd' THEN CASE WHEN t.typnotnull THEN 'NOT NULL' ELSE 'NULL' END "
     "  END AS nullability, "
     "t.typdefault AS default, "
     "(SELECT string_agg(con.conname || ' ' || pg_get_constraintdef(con.oid), ', ' "
     "  ORDER BY con.conname) FROM pg_constraint con WHERE con.contypid = t.oid) "
     "  AS constraints, "
     "CASE WHEN t.typtype = 'c' THEN (SELECT string_agg(a.attname || ' ' || "
     "  format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a "
     "  WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END "
     "  AS attributes, "
     "(SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) "
     "  AS subtype, "
     "{COMMENT(pg_type,t.oid,0)} AS comment, {ACL(t.typacl,t.typowner,T)} AS grants "
     "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
     "WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM "
     "  pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))) "
     "AND {NS(n)} AND {OWN(pg_type,t.oid)}",
     "values"},
    {"SELECT 'extension', e.extname, '', n.nspname AS schema, e.extversion AS version "
     "FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace",
     "version"},
};

// Expands the templates of kQueries. Arguments are written without spaces.
std::string Expand(std::string sql) {
  const auto replace_calls = [&sql](const std::string& name, auto render) {
    const std::string open = "{" + name + "(";
    for (size_t at = sql.find(open); at != std::string::npos; at = sql.find(open, at)) {
      const size_t close = sql.find(")}", at);
      std::vector<std::string> args;
      std::string rest = sql.substr(at + open.size(), close - at - open.size());
      for (size_t comma; (comma = rest.find(',')) != std::string::npos;) {
        args.push_back(rest.substr(0, comma));
        rest = rest.substr(comma + 1);
      }
      args.push_back(rest);
      const std::string text = render(args);
      sql.replace(at, close + 2 - at, text);
      at += text.size();
    }
  };
  replace_calls("NS", [](const std::vector<std::string>& a) {
    return absl::StrCat("(", a[0], ".nspname NOT IN ('information_schema', 'schemad', ",
                        "'schemad_control', 'sqitch') AND ", a[0], ".nspname NOT LIKE 'pg\\_%')");
  });
  replace_calls("OWN", [](const std::vector<std::string>& a) {
    return absl::StrCat("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '", a[0],
                        "'::regclass AND d.objid = ", a[1], " AND d.deptype = 'e')");
  });
  replace_calls("ACL", [](const std::vector<std::string>& a) {
    return absl::StrCat(
        "(SELECT string_agg(x.item, ', ' ORDER BY x.item) FROM (SELECT CASE WHEN g.grantee = 0 "
        "THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END || ' ' || g.privilege_type || "
        "CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS item "
        "FROM aclexplode(coalesce(",
        a[0], ", acldefault('", a[2], "', ", a[1], "))) g WHERE g.grantee <> ", a[1],
        " AND g.grantee IS DISTINCT FROM to_regrole(nullif($1, ''))) x)");
  });
  replace_calls("COMMENT", [](const std::vector<std::string>& a) {
    return absl::StrCat("(SELECT d.description FROM pg_description d WHERE d.objoid = ", a[1],
                        " AND d.classoid = '", a[0], "'::regclass AND d.objsubid = ", a[2], ")");
  });
  replace_calls("PARENT", [](const std::vector<std::string>& a) {
    return absl::StrCat("CASE ", a[0], ".relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN ",
                        "'materialized view ' WHEN 'f' THEN 'foreign table ' ELSE 'table ' END ",
                        "|| ", a[1], ".nspname || '.' || ", a[0], ".relname");
  });
  return sql;
}

std::string Key(const std::string& kind, const std::string& identity) {
  return absl::StrCat(kind, " ", identity);
}

}  // namespace

bool IsExcludedSchema(const std::string& schema) {
  return schema == "information_schema" || schema == "schemad" || schema == "schemad_control" ||
         schema == "sqitch" || schema.rfind("pg_", 0) == 0;
}

bool IsForeignHistoryTable(const std::string& identity) {
  const std::string table = identity.substr(identity.find('.') + 1);
  return table == "alembic_version" || table == "flyway_schema_history" ||
         table == "schema_migrations" || table == "goose_db_version" || table == "gorp_migrations";
}

absl::StatusOr<SchemaSnapshot> ReadSchemaSnapshot(Connection& conn, const std::string& as_owner) {
  try {
    // One snapshot for every query: a concurrent change is seen whole or not at all.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn.raw());
    // Every name PostgreSQL prints (types, defaults, bodies) is then schema-qualified, the
    // same way on both sides of a comparison.
    txn.exec("SET LOCAL search_path = pg_catalog");
    // Planning these queries costs more than running them: they are prepared once per
    // session (PREPARE by name, not libpqxx's registry, as a session reset deallocates them).
    static const std::vector<std::string> expanded = [] {
      std::vector<std::string> all;
      for (const KindQuery& query : kQueries) all.push_back(Expand(query.sql));
      return all;
    }();
    std::set<std::string> prepared;
    for (const pqxx::row& row : txn.exec("SELECT name FROM pg_prepared_statements WHERE name "
                                         "LIKE 'schemad\\_snapshot\\_%'")) {
      prepared.insert(row[0].as<std::string>());
    }
    SchemaSnapshot snapshot;
    // Named by their text: another schemad build on the same session prepares its own.
    static const std::vector<std::string> names = [] {
      std::vector<std::string> all;
      for (const std::string& sql : expanded) {
        all.push_back(absl::StrCat("schemad_snapshot_", Sha256Hex(sql).substr(0, 16)));
      }
      return all;
    }();
    for (size_t q = 0; q < expanded.size(); ++q) {
      if (prepared.count(names[q]) == 0) {
        txn.exec(absl::StrCat("PREPARE ", names[q], " (text) AS ", expanded[q]));
      }
    }
    // All in one round trip.
    pqxx::pipeline pipeline(txn);
    std::vector<pqxx::pipeline::query_id> ids;
    const std::string owner = txn.quote(as_owner);
    for (const std::string& name : names) {
      ids.push_back(pipeline.insert(absl::StrCat("EXECUTE ", name, " (", owner, ")")));
    }
    for (size_t q = 0; q < expanded.size(); ++q) {
      const KindQuery& query = kQueries[q];
      const pqxx::result rows = pipeline.retrieve(ids[q]);
      std::vector<std::string> columns;
      for (pqxx::row::size_type i = 3; i < rows.columns(); ++i)
        columns.push_back(rows.column_name(i));
      for (const pqxx::row& row : rows) {
        SchemaObject object;
        object.kind = row[0].as<std::string>();
        object.identity = row[1].as<std::string>();
        object.parent = row[2].as<std::string>();
        object.summary = query.summary;
        for (pqxx::row::size_type i = 3; i < row.size(); ++i) {
          if (!row[i].is_null()) object.attributes.emplace(columns[i - 3], row[i].c_str());
        }
        if (object.kind == "table" && IsForeignHistoryTable(object.identity)) continue;
        const std::string key = Key(object.kind, object.identity);
        snapshot.objects.emplace(key, std::move(object));
      }
    }
    pipeline.complete();
    txn.commit();
    return snapshot;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

std::vector<SchemaDifference> DiffSnapshots(const SchemaSnapshot& expected,
                                            const SchemaSnapshot& live) {
  std::vector<SchemaDifference> items;
  const auto shape = [](const SchemaObject& object) {
    auto it = object.attributes.find(object.summary);
    return it != object.attributes.end() ? it->second : std::string("present");
  };
  for (const auto& [key, want] : expected.objects) {
    auto found = live.objects.find(key);
    if (found == live.objects.end()) {
      if (!want.parent.empty() && live.objects.count(want.parent) == 0) continue;
      items.push_back({"missing " + want.kind, want.identity, shape(want), "absent"});
      continue;
    }
    // Both attribute maps are sorted: walk them together.
    const SchemaObject& have = found->second;
    auto a = want.attributes.begin(), b = have.attributes.begin();
    while (a != want.attributes.end() || b != have.attributes.end()) {
      const bool left_only =
          b == have.attributes.end() || (a != want.attributes.end() && a->first < b->first);
      const bool right_only = !left_only && (a == want.attributes.end() || b->first < a->first);
      if (left_only) {
        items.push_back({want.kind + " " + a->first, want.identity, a->second, "(none)"});
        ++a;
      } else if (right_only) {
        items.push_back({want.kind + " " + b->first, want.identity, "(none)", b->second});
        ++b;
      } else {
        if (a->second != b->second) {
          items.push_back({want.kind + " " + a->first, want.identity, a->second, b->second});
        }
        ++a;
        ++b;
      }
    }
  }
  for (const auto& [key, have] : live.objects) {
    if (expected.objects.count(key) != 0) continue;
    if (!have.parent.empty() && expected.objects.count(have.parent) == 0) continue;
    items.push_back({"unexpected " + have.kind, have.identity, "absent", shape(have)});
  }
  std::sort(items.begin(), items.end(), [](const SchemaDifference& x, const SchemaDifference& y) {
    return std::tie(x.object, x.kind) < std::tie(y.object, y.kind);
  });
  return items;
}

}  // namespace schemad::db
