-- Samples for the "may this statement run inside a transaction block?"
-- classifier, verified against PostgreSQL 15 (see check.py).
--
-- Entry format (entries are separated by one blank line):
--   -- kind: <NodeName>        libpg_query (PG 15) node of the top-level statement
--   -- control                 optional: transaction control, do not run
--   -- expect-error: <SQLSTATE> <reason>
--                              optional: fails with this SQLSTATE even after setup.sql
--   -- before: <statement>;    optional, repeatable, one line each: run inside the
--                              same transaction block, before the sample (session or
--                              transaction state that setup.sql cannot provide:
--                              cursors, prepared statements, subscriptions)
--   -- <anything else>         free comment
--   <statement>                one or more lines, last one ends with ';'
--
-- Harness contract: in a database prepared by setup.sql, as a superuser, run
--   BEGIN; <before...>; <statement>; ROLLBACK;
-- Every non-control entry then either succeeds or fails with SQLSTATE 25001
-- (active_sql_transaction, "... cannot run inside a transaction block"),
-- except the expect-error entries.  Use a fresh session per entry, or at least
-- DEALLOCATE ALL after each ROLLBACK: prepared statements survive ROLLBACK.
-- COPY ... TO STDOUT entries return PGRES_COPY_OUT through libpq.
-- Statements contain no blank lines and no ';' at the end of an inner line.

-- ===================================================================
-- Queries and DML
-- ===================================================================

-- kind: SelectStmt
SELECT 1;

-- kind: SelectStmt
SELECT * FROM cls_t WHERE id < 3 FOR UPDATE;

-- kind: SelectStmt
VALUES (1, 'a'), (2, 'b');

-- kind: SelectStmt
TABLE cls_t2;

-- kind: SelectStmt
WITH x AS (SELECT id FROM cls_t) SELECT count(*) FROM x;

-- kind: SelectStmt
-- SELECT ... INTO creates a table (becomes CreateTableAsStmt only after analysis)
SELECT id, a INTO cls_select_into FROM cls_t;

-- kind: InsertStmt
INSERT INTO cls_t (id, a, b, note) VALUES (1000, 1, 1, 'new') RETURNING id;

-- kind: InsertStmt
INSERT INTO cls_t (id) VALUES (1) ON CONFLICT (id) DO NOTHING;

-- kind: UpdateStmt
UPDATE cls_t SET note = 'updated' WHERE id = 1;

-- kind: DeleteStmt
DELETE FROM cls_t2 WHERE id = 2;

-- kind: MergeStmt
MERGE INTO cls_t t USING (SELECT 2000 AS id) s ON t.id = s.id
WHEN MATCHED THEN UPDATE SET note = 'merged'
WHEN NOT MATCHED THEN INSERT (id, note) VALUES (s.id, 'merged');

-- ===================================================================
-- Tables
-- ===================================================================

-- kind: CreateStmt
CREATE TABLE cls_new (id int PRIMARY KEY, v text);

-- kind: CreateStmt
CREATE TEMP TABLE cls_tmp (id int) ON COMMIT DROP;

-- kind: CreateStmt
CREATE UNLOGGED TABLE cls_unlogged (id int);

-- kind: CreateStmt
CREATE TABLE cls_like (LIKE cls_t INCLUDING ALL);

-- kind: CreateStmt
CREATE TABLE cls_new_pt (id int) PARTITION BY HASH (id);

-- kind: CreateStmt
CREATE TABLE cls_pt_p4 PARTITION OF cls_pt FOR VALUES FROM (300) TO (400);

-- kind: CreateStmt
CREATE TABLE cls_with_am (id int) USING cls_am;

-- kind: CreateTableAsStmt
CREATE TABLE cls_ctas AS SELECT * FROM cls_t;

-- kind: CreateTableAsStmt
-- before: PREPARE cls_prep_ctas AS SELECT 1 AS x;
CREATE TABLE cls_ctas_exec AS EXECUTE cls_prep_ctas;

-- kind: CreateTableAsStmt
CREATE MATERIALIZED VIEW cls_mv2 AS SELECT id FROM cls_t;

-- kind: CreateTableAsStmt
CREATE MATERIALIZED VIEW cls_mv3 AS SELECT 1 AS x WITH NO DATA;

-- kind: AlterTableStmt
ALTER TABLE cls_t ADD COLUMN c int DEFAULT 0;

-- kind: AlterTableStmt
ALTER TABLE cls_t ALTER COLUMN note TYPE varchar(200);

-- kind: AlterTableStmt
ALTER TABLE cls_t ADD CONSTRAINT cls_t_a_chk CHECK (a >= 0) NOT VALID;

-- kind: AlterTableStmt
-- before: ALTER TABLE cls_t ADD CONSTRAINT cls_t_b_chk CHECK (b >= 0) NOT VALID;
ALTER TABLE cls_t VALIDATE CONSTRAINT cls_t_b_chk;

-- kind: AlterTableStmt
ALTER TABLE cls_t SET (fillfactor = 70), ALTER COLUMN a SET STATISTICS 200;

-- kind: AlterTableStmt
ALTER TABLE cls_t SET TABLESPACE pg_default;

-- kind: AlterTableStmt
ALTER TABLE cls_move_me SET UNLOGGED;

-- kind: AlterTableStmt
ALTER TABLE cls_move_me SET ACCESS METHOD cls_am;

-- kind: AlterTableStmt
ALTER TABLE cls_t OWNER TO cls_owner;

-- kind: AlterTableStmt
ALTER TABLE cls_t2 DISABLE TRIGGER ALL;

-- kind: AlterTableStmt
ALTER TABLE cls_t ENABLE ROW LEVEL SECURITY;

-- kind: AlterTableStmt
-- REPLICA IDENTITY is a ReplicaIdentityStmt nested in an AlterTableCmd
ALTER TABLE cls_t REPLICA IDENTITY FULL;

-- kind: AlterTableStmt
ALTER TABLE cls_pt ATTACH PARTITION cls_pt_new FOR VALUES FROM (300) TO (400);

-- kind: AlterTableStmt
ALTER TABLE cls_pt DETACH PARTITION cls_pt_p3;

-- kind: AlterTableStmt
ALTER TABLE cls_pt DETACH PARTITION cls_pt_p3 CONCURRENTLY;

-- kind: AlterTableStmt
-- FINALIZE needs a partition left "detach pending" by an interrupted
-- DETACH ... CONCURRENTLY; simulated (transaction-locally) through the catalog.
-- before: UPDATE pg_inherits SET inhdetachpending = true WHERE inhrelid = 'cls_ptf_p2'::regclass;
ALTER TABLE cls_ptf DETACH PARTITION cls_ptf_p2 FINALIZE;

-- kind: AlterTableStmt
ALTER INDEX cls_t_a_idx SET (fillfactor = 80);

-- kind: AlterTableStmt
ALTER INDEX cls_pt_v_idx ATTACH PARTITION cls_pt_p1_v_idx;

-- kind: AlterTableStmt
ALTER SEQUENCE cls_seq OWNER TO cls_owner;

-- kind: AlterTableStmt
ALTER VIEW cls_view ALTER COLUMN a SET DEFAULT 0;

-- kind: AlterTableStmt
ALTER MATERIALIZED VIEW cls_mv CLUSTER ON cls_mv_id_idx;

-- kind: AlterTableStmt
ALTER FOREIGN TABLE cls_ft ADD COLUMN v text;

-- kind: AlterTableStmt
ALTER TYPE cls_comp ADD ATTRIBUTE z int;

-- kind: AlterTableMoveAllStmt
ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE pg_default;

-- kind: AlterTableMoveAllStmt
ALTER INDEX ALL IN TABLESPACE pg_default OWNED BY cls_owner SET TABLESPACE pg_default NOWAIT;

-- kind: TruncateStmt
TRUNCATE cls_t2;

-- kind: TruncateStmt
TRUNCATE cls_t, cls_pt RESTART IDENTITY CASCADE;

-- kind: LockStmt
LOCK TABLE cls_t IN ACCESS EXCLUSIVE MODE;

-- kind: LockStmt
LOCK cls_t2 IN SHARE MODE NOWAIT;

-- ===================================================================
-- Indexes, REINDEX, CLUSTER, VACUUM / ANALYZE
-- ===================================================================

-- kind: IndexStmt
CREATE INDEX cls_t_note_idx ON cls_t (note);

-- kind: IndexStmt
CREATE UNIQUE INDEX cls_t_id_a_idx ON cls_t (id, a);

-- kind: IndexStmt
CREATE INDEX IF NOT EXISTS cls_t_a_idx ON cls_t (a);

-- kind: IndexStmt
CREATE INDEX cls_pt_v2_idx ON cls_pt (v);

-- kind: IndexStmt
CREATE INDEX CONCURRENTLY cls_t_note_idx ON cls_t (note);

-- kind: IndexStmt
CREATE UNIQUE INDEX CONCURRENTLY cls_t_id_a_idx ON cls_t (id, a);

-- kind: IndexStmt
CREATE INDEX CONCURRENTLY IF NOT EXISTS cls_t_a_idx ON cls_t (a);

-- kind: IndexStmt
-- on a partitioned table CONCURRENTLY is unsupported (0A000), but 25001 comes first
CREATE INDEX CONCURRENTLY cls_pt_v3_idx ON cls_pt (v);

-- kind: DropStmt
DROP INDEX cls_t_b_idx;

-- kind: DropStmt
DROP INDEX CONCURRENTLY cls_t_b_idx;

-- kind: DropStmt
DROP INDEX CONCURRENTLY IF EXISTS cls_no_such_idx;

-- kind: ReindexStmt
REINDEX TABLE cls_t;

-- kind: ReindexStmt
REINDEX INDEX cls_t_a_idx;

-- kind: ReindexStmt
REINDEX (VERBOSE, TABLESPACE pg_default) TABLE cls_t;

-- kind: ReindexStmt
-- an explicit false option value does not count
REINDEX (CONCURRENTLY false) TABLE cls_t;

-- kind: ReindexStmt
-- a leaf partition is an ordinary table
REINDEX TABLE cls_pt_p1;

-- kind: ReindexStmt
REINDEX TABLE CONCURRENTLY cls_t;

-- kind: ReindexStmt
REINDEX (CONCURRENTLY) INDEX cls_t_a_idx;

-- kind: ReindexStmt
REINDEX (CONCURRENTLY) TABLE cls_t;

-- kind: ReindexStmt
REINDEX INDEX CONCURRENTLY cls_t_a_idx;

-- kind: ReindexStmt
REINDEX SCHEMA CONCURRENTLY cls_schema;

-- kind: ReindexStmt
-- partitioned table: one transaction per partition
REINDEX TABLE cls_pt;

-- kind: ReindexStmt
-- partitioned index
REINDEX INDEX cls_pt_idx;

-- kind: ReindexStmt
REINDEX SCHEMA cls_schema;

-- kind: ReindexStmt
-- the name is not even looked up before the 25001 check
REINDEX DATABASE cls_any_db;

-- kind: ReindexStmt
REINDEX SYSTEM cls_any_db;

-- kind: ClusterStmt
CLUSTER cls_t USING cls_t_pkey;

-- kind: ClusterStmt
-- uses the index marked by ALTER TABLE ... CLUSTER ON in setup.sql
CLUSTER cls_t;

-- kind: ClusterStmt
CLUSTER;

-- kind: ClusterStmt
CLUSTER VERBOSE;

-- kind: ClusterStmt
-- partitioned table (PG 15+): one transaction per partition
CLUSTER cls_pt USING cls_pt_idx;

-- kind: VacuumStmt
VACUUM cls_t;

-- kind: VacuumStmt
VACUUM;

-- kind: VacuumStmt
VACUUM FULL cls_t;

-- kind: VacuumStmt
VACUUM (ANALYZE, VERBOSE) cls_t (a);

-- kind: VacuumStmt
VACUUM (FREEZE, SKIP_LOCKED, INDEX_CLEANUP off, PROCESS_TOAST false) cls_t;

-- kind: VacuumStmt
ANALYZE cls_t;

-- kind: VacuumStmt
ANALYZE;

-- kind: VacuumStmt
ANALYZE (VERBOSE, SKIP_LOCKED) cls_t (a, b), cls_pt;

-- kind: RefreshMatViewStmt
REFRESH MATERIALIZED VIEW cls_mv;

-- kind: RefreshMatViewStmt
REFRESH MATERIALIZED VIEW CONCURRENTLY cls_mv;

-- kind: RefreshMatViewStmt
REFRESH MATERIALIZED VIEW cls_mv WITH NO DATA;

-- ===================================================================
-- Sequences, views, schemas
-- ===================================================================

-- kind: CreateSeqStmt
CREATE SEQUENCE cls_seq2 START 10 INCREMENT 5;

-- kind: AlterSeqStmt
ALTER SEQUENCE cls_seq RESTART WITH 10;

-- kind: AlterSeqStmt
ALTER SEQUENCE cls_seq OWNED BY cls_t.id;

-- kind: ViewStmt
CREATE VIEW cls_view2 AS SELECT 1 AS x;

-- kind: ViewStmt
CREATE OR REPLACE VIEW cls_view AS SELECT id, a, b FROM cls_t;

-- kind: ViewStmt
CREATE RECURSIVE VIEW cls_rview (n) AS VALUES (1) UNION ALL SELECT n + 1 FROM cls_rview WHERE n < 5;

-- kind: CreateSchemaStmt
CREATE SCHEMA cls_new_schema;

-- kind: CreateSchemaStmt
CREATE SCHEMA IF NOT EXISTS cls_schema;

-- kind: CreateSchemaStmt
CREATE SCHEMA AUTHORIZATION cls_owner;

-- kind: CreateSchemaStmt
CREATE SCHEMA cls_s3 CREATE TABLE cls_s3_t (id int) CREATE VIEW cls_s3_v AS SELECT id FROM cls_s3_t;

-- ===================================================================
-- Functions, procedures, DO, CALL
-- ===================================================================

-- kind: CreateFunctionStmt
CREATE FUNCTION cls_newfunc(x int) RETURNS int LANGUAGE sql AS 'SELECT x * 2';

-- kind: CreateFunctionStmt
CREATE OR REPLACE FUNCTION cls_func(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';

-- kind: CreateFunctionStmt
-- SQL-standard body: a ReturnStmt nested in CreateFunctionStmt.sql_body
CREATE FUNCTION cls_retfunc(x int) RETURNS int LANGUAGE sql RETURN x + 1;

-- kind: CreateFunctionStmt
CREATE FUNCTION cls_atomic(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT x + 1; END;

-- kind: CreateFunctionStmt
CREATE PROCEDURE cls_newproc() LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'hi'; END $$;

-- kind: AlterFunctionStmt
ALTER FUNCTION cls_func(int) STABLE COST 10;

-- kind: AlterFunctionStmt
ALTER PROCEDURE cls_proc(int) SET work_mem = '8MB';

-- kind: AlterFunctionStmt
ALTER ROUTINE cls_func(int) SECURITY DEFINER;

-- kind: CallStmt
CALL cls_proc(1);

-- kind: DoStmt
DO $$ BEGIN PERFORM 1; END $$;

-- kind: DoStmt
DO LANGUAGE plpgsql $$ BEGIN RAISE NOTICE 'x'; END $$;

-- ===================================================================
-- DefineStmt (aggregates, operators, shell types, text search, collations)
-- ===================================================================

-- kind: DefineStmt
CREATE AGGREGATE cls_agg2(int) (SFUNC = int4pl, STYPE = int);

-- kind: DefineStmt
CREATE OPERATOR ### (LEFTARG = int4, RIGHTARG = int4, FUNCTION = int4pl);

-- kind: DefineStmt
CREATE TYPE cls_shell;

-- kind: DefineStmt
CREATE TEXT SEARCH DICTIONARY cls_tsd2 (TEMPLATE = simple, STOPWORDS = english);

-- kind: DefineStmt
CREATE TEXT SEARCH CONFIGURATION cls_tsc2 (PARSER = default);

-- kind: DefineStmt
CREATE TEXT SEARCH PARSER cls_tsp2 (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype);

-- kind: DefineStmt
CREATE TEXT SEARCH TEMPLATE cls_tst2 (LEXIZE = dsimple_lexize);

-- kind: DefineStmt
CREATE COLLATION cls_coll2 (provider = libc, locale = 'C');

-- kind: DefineStmt
CREATE COLLATION cls_coll3 FROM "C";

-- ===================================================================
-- Types, domains, casts, operator classes, conversions, statistics
-- ===================================================================

-- kind: CompositeTypeStmt
CREATE TYPE cls_comp2 AS (a int, b text);

-- kind: CreateEnumStmt
CREATE TYPE cls_enum2 AS ENUM ('x', 'y');

-- kind: CreateRangeStmt
CREATE TYPE cls_range2 AS RANGE (SUBTYPE = float8);

-- kind: AlterEnumStmt
-- allowed in a transaction block since PG 12 (the new value is unusable until commit)
ALTER TYPE cls_enum ADD VALUE 'c';

-- kind: AlterEnumStmt
ALTER TYPE cls_enum ADD VALUE IF NOT EXISTS 'a0' BEFORE 'b';

-- kind: AlterEnumStmt
ALTER TYPE cls_enum RENAME VALUE 'a' TO 'z';

-- kind: AlterTypeStmt
ALTER TYPE cls_base SET (RECEIVE = cls_base_recv);

-- kind: CreateDomainStmt
CREATE DOMAIN cls_dom2 AS text NOT NULL CHECK (VALUE <> '');

-- kind: AlterDomainStmt
ALTER DOMAIN cls_dom SET DEFAULT 1;

-- kind: AlterDomainStmt
ALTER DOMAIN cls_dom SET NOT NULL;

-- kind: AlterDomainStmt
ALTER DOMAIN cls_dom ADD CONSTRAINT cls_dom_ne CHECK (VALUE <> 42);

-- kind: AlterDomainStmt
ALTER DOMAIN cls_dom VALIDATE CONSTRAINT cls_dom_lt;

-- kind: AlterDomainStmt
ALTER DOMAIN cls_dom DROP CONSTRAINT cls_dom_lt;

-- kind: CreateCastStmt
CREATE CAST (int4 AS cls_base) WITHOUT FUNCTION;

-- kind: CreateCastStmt
CREATE CAST (cls_comp AS text) WITH INOUT AS ASSIGNMENT;

-- kind: CreateOpClassStmt
CREATE OPERATOR CLASS cls_opc2 FOR TYPE int8 USING btree AS OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 btint8cmp(int8, int8);

-- kind: CreateOpFamilyStmt
CREATE OPERATOR FAMILY cls_opf2 USING hash;

-- kind: AlterOpFamilyStmt
ALTER OPERATOR FAMILY cls_opf USING btree ADD OPERATOR 1 < (int4, int8), FUNCTION 1 (int4, int8) btint48cmp(int4, int8);

-- kind: AlterOperatorStmt
ALTER OPERATOR @#@ (int4, int4) SET (RESTRICT = eqsel, JOIN = eqjoinsel);

-- kind: CreateConversionStmt
CREATE CONVERSION cls_conv2 FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;

-- kind: AlterCollationStmt
ALTER COLLATION cls_coll REFRESH VERSION;

-- kind: AlterTSDictionaryStmt
ALTER TEXT SEARCH DICTIONARY cls_tsd (Accept = false);

-- kind: AlterTSConfigurationStmt
ALTER TEXT SEARCH CONFIGURATION cls_tsc ALTER MAPPING FOR word, asciiword WITH cls_tsd;

-- kind: AlterTSConfigurationStmt
ALTER TEXT SEARCH CONFIGURATION cls_tsc DROP MAPPING FOR email;

-- kind: CreateTransformStmt
CREATE TRANSFORM FOR cls_base LANGUAGE sql (FROM SQL WITH FUNCTION textlike_support(internal), TO SQL WITH FUNCTION cls_base_recv(internal));

-- kind: CreateStatsStmt
CREATE STATISTICS cls_stx2 (ndistinct, mcv) ON a, b FROM cls_t;

-- kind: AlterStatsStmt
ALTER STATISTICS cls_stx SET STATISTICS 100;

-- ===================================================================
-- Triggers, rules, event triggers, policies, languages, access methods
-- ===================================================================

-- kind: CreateTrigStmt
CREATE TRIGGER cls_trig2 AFTER UPDATE ON cls_t FOR EACH STATEMENT EXECUTE FUNCTION cls_trig_fn();

-- kind: CreateTrigStmt
CREATE CONSTRAINT TRIGGER cls_ctrig AFTER INSERT ON cls_t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cls_trig_fn();

-- kind: CreateTrigStmt
CREATE OR REPLACE TRIGGER cls_trig BEFORE INSERT OR UPDATE ON cls_t2 FOR EACH ROW EXECUTE FUNCTION cls_trig_fn();

-- kind: RuleStmt
CREATE RULE cls_rule2 AS ON UPDATE TO cls_rule_t DO INSTEAD NOTHING;

-- kind: RuleStmt
CREATE OR REPLACE RULE cls_rule AS ON INSERT TO cls_rule_t DO ALSO NOTIFY cls_chan;

-- kind: CreateEventTrigStmt
CREATE EVENT TRIGGER cls_evt2 ON sql_drop WHEN TAG IN ('DROP TABLE') EXECUTE FUNCTION cls_evt_fn();

-- kind: AlterEventTrigStmt
ALTER EVENT TRIGGER cls_evt ENABLE;

-- kind: CreatePolicyStmt
CREATE POLICY cls_pol2 ON cls_rls_t FOR SELECT TO cls_reader USING (true);

-- kind: AlterPolicyStmt
ALTER POLICY cls_pol ON cls_rls_t TO cls_reader USING (true);

-- kind: CreatePLangStmt
CREATE LANGUAGE cls_plang2 HANDLER plpgsql_call_handler;

-- kind: CreatePLangStmt
CREATE OR REPLACE TRUSTED LANGUAGE cls_plang HANDLER plpgsql_call_handler;

-- kind: CreateAmStmt
CREATE ACCESS METHOD cls_am2 TYPE INDEX HANDLER bthandler;

-- ===================================================================
-- Extensions
-- ===================================================================

-- kind: CreateExtensionStmt
CREATE EXTENSION IF NOT EXISTS plpgsql;

-- kind: AlterExtensionStmt
ALTER EXTENSION plpgsql UPDATE;

-- kind: AlterExtensionContentsStmt
ALTER EXTENSION plpgsql ADD FUNCTION cls_func_unused(int);

-- kind: AlterObjectDependsStmt
ALTER FUNCTION cls_func(int) DEPENDS ON EXTENSION plpgsql;

-- kind: AlterObjectDependsStmt
ALTER INDEX cls_t_a_idx NO DEPENDS ON EXTENSION plpgsql;

-- ===================================================================
-- Publications and subscriptions (the setup has no subscription; the
-- samples create one inside their own transaction with connect = false)
-- ===================================================================

-- kind: CreatePublicationStmt
CREATE PUBLICATION cls_pub3 FOR TABLE cls_t2 WITH (publish = 'insert');

-- kind: CreatePublicationStmt
CREATE PUBLICATION cls_pub4 FOR ALL TABLES;

-- kind: CreatePublicationStmt
CREATE PUBLICATION cls_pub5 FOR TABLES IN SCHEMA cls_schema;

-- kind: AlterPublicationStmt
ALTER PUBLICATION cls_pub ADD TABLE cls_t2;

-- kind: AlterPublicationStmt
ALTER PUBLICATION cls_pub SET (publish = 'insert, update');

-- kind: AlterPublicationStmt
ALTER PUBLICATION cls_pub2 ADD TABLES IN SCHEMA cls_schema;

-- kind: CreateSubscriptionStmt
CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);

-- kind: CreateSubscriptionStmt
CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false, slot_name = NONE);

-- kind: CreateSubscriptionStmt
-- default connect = true implies create_slot = true
CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub;

-- kind: CreateSubscriptionStmt
CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (create_slot = true, enabled = false);

-- kind: CreateSubscriptionStmt
-- expect-error: 08006 allowed in a transaction block (no slot), but it must reach the publisher; there is none
CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (create_slot = false, slot_name = NONE, enabled = false);

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub SET (synchronous_commit = off, binary = true);

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent2 port=1 dbname=cls';

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub ENABLE;

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub DISABLE;

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub SKIP (lsn = NONE);

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub SET PUBLICATION cls_pub2 WITH (refresh = false);

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub ADD PUBLICATION cls_pub2 WITH (refresh = false);

-- kind: AlterSubscriptionStmt
-- refresh (default true) on an enabled subscription
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
-- before: ALTER SUBSCRIPTION cls_sub ENABLE;
ALTER SUBSCRIPTION cls_sub SET PUBLICATION cls_pub2;

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
-- before: ALTER SUBSCRIPTION cls_sub ENABLE;
ALTER SUBSCRIPTION cls_sub ADD PUBLICATION cls_pub2;

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub, cls_pub2 WITH (connect = false);
-- before: ALTER SUBSCRIPTION cls_sub ENABLE;
ALTER SUBSCRIPTION cls_sub DROP PUBLICATION cls_pub2;

-- kind: AlterSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
-- before: ALTER SUBSCRIPTION cls_sub ENABLE;
ALTER SUBSCRIPTION cls_sub REFRESH PUBLICATION WITH (copy_data = false);

-- kind: DropSubscriptionStmt
DROP SUBSCRIPTION IF EXISTS cls_no_sub;

-- kind: DropSubscriptionStmt
-- subscription without a replication slot
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false, slot_name = NONE);
DROP SUBSCRIPTION cls_sub;

-- kind: DropSubscriptionStmt
-- subscription with a replication slot (slot_name defaults to the subscription name)
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
DROP SUBSCRIPTION cls_sub;

-- kind: DropSubscriptionStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
DROP SUBSCRIPTION IF EXISTS cls_sub CASCADE;

-- ===================================================================
-- Foreign data
-- ===================================================================

-- kind: CreateFdwStmt
CREATE FOREIGN DATA WRAPPER cls_fdw2 OPTIONS (debug 'true');

-- kind: AlterFdwStmt
ALTER FOREIGN DATA WRAPPER cls_fdw OPTIONS (ADD x '1');

-- kind: AlterFdwStmt
ALTER FOREIGN DATA WRAPPER cls_fdw NO VALIDATOR;

-- kind: CreateForeignServerStmt
CREATE SERVER cls_srv2 TYPE 'test' VERSION '1' FOREIGN DATA WRAPPER cls_fdw OPTIONS (host 'nowhere');

-- kind: AlterForeignServerStmt
ALTER SERVER cls_srv VERSION '2' OPTIONS (ADD y '1');

-- kind: CreateUserMappingStmt
CREATE USER MAPPING FOR cls_owner SERVER cls_srv OPTIONS (user 'u');

-- kind: CreateUserMappingStmt
CREATE USER MAPPING IF NOT EXISTS FOR CURRENT_USER SERVER cls_srv;

-- kind: AlterUserMappingStmt
ALTER USER MAPPING FOR CURRENT_USER SERVER cls_srv OPTIONS (ADD password 'p');

-- kind: DropUserMappingStmt
DROP USER MAPPING FOR cls_reader SERVER cls_srv;

-- kind: DropUserMappingStmt
DROP USER MAPPING IF EXISTS FOR cls_owner SERVER cls_srv;

-- kind: CreateForeignTableStmt
CREATE FOREIGN TABLE cls_ft2 (id int, v text) SERVER cls_srv OPTIONS (x '1');

-- kind: CreateForeignTableStmt
CREATE FOREIGN TABLE cls_pt_f4 PARTITION OF cls_pt FOR VALUES FROM (400) TO (500) SERVER cls_srv;

-- kind: ImportForeignSchemaStmt
-- expect-error: 55000 needs an FDW with an import handler (C code, e.g. postgres_fdw) plus a reachable remote server; the handler-less cls_fdw fails after all other checks
IMPORT FOREIGN SCHEMA remote_schema LIMIT TO (t1) FROM SERVER cls_srv INTO cls_import_target;

-- ===================================================================
-- Roles, privileges, ownership
-- ===================================================================

-- kind: CreateRoleStmt
CREATE ROLE cls_new_role NOLOGIN;

-- kind: CreateRoleStmt
CREATE USER cls_new_user;

-- kind: CreateRoleStmt
CREATE GROUP cls_new_group;

-- kind: AlterRoleStmt
ALTER ROLE cls_member CONNECTION LIMIT 3;

-- kind: AlterRoleStmt
ALTER USER cls_member WITH NOLOGIN VALID UNTIL 'infinity';

-- kind: AlterRoleStmt
ALTER GROUP cls_group ADD USER cls_member;

-- kind: AlterRoleSetStmt
ALTER ROLE cls_member SET work_mem = '8MB';

-- kind: AlterRoleSetStmt
ALTER ROLE cls_member IN DATABASE template1 RESET ALL;

-- kind: DropRoleStmt
DROP ROLE cls_drop_me;

-- kind: DropRoleStmt
DROP USER IF EXISTS cls_no_such_role;

-- kind: GrantRoleStmt
GRANT cls_group TO cls_member WITH ADMIN OPTION;

-- kind: GrantRoleStmt
-- before: GRANT cls_group TO cls_member;
REVOKE cls_group FROM cls_member;

-- kind: GrantStmt
GRANT SELECT, UPDATE (note) ON cls_t TO cls_member;

-- kind: GrantStmt
GRANT ALL ON ALL TABLES IN SCHEMA cls_schema TO cls_member;

-- kind: GrantStmt
GRANT USAGE ON SCHEMA cls_schema TO PUBLIC;

-- kind: GrantStmt
GRANT EXECUTE ON FUNCTION cls_func(int) TO cls_member;

-- kind: GrantStmt
GRANT USAGE ON FOREIGN SERVER cls_srv TO cls_member;

-- kind: GrantStmt
GRANT CONNECT ON DATABASE template1 TO cls_member;

-- kind: GrantStmt
GRANT SET ON PARAMETER work_mem TO cls_member;

-- kind: GrantStmt
GRANT SELECT ON LARGE OBJECT 4242001 TO cls_member;

-- kind: GrantStmt
REVOKE SELECT ON cls_t FROM cls_reader CASCADE;

-- kind: AlterDefaultPrivilegesStmt
ALTER DEFAULT PRIVILEGES IN SCHEMA cls_schema GRANT SELECT ON TABLES TO cls_reader;

-- kind: AlterDefaultPrivilegesStmt
ALTER DEFAULT PRIVILEGES FOR ROLE cls_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- kind: DropOwnedStmt
DROP OWNED BY cls_owner;

-- kind: ReassignOwnedStmt
REASSIGN OWNED BY cls_owner TO CURRENT_USER;

-- kind: AlterOwnerStmt
ALTER FUNCTION cls_func(int) OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER SCHEMA cls_schema2 OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER TYPE cls_enum OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER DOMAIN cls_dom OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER AGGREGATE cls_agg(int) OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER OPERATOR @#@ (int4, int4) OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER OPERATOR CLASS cls_opc USING btree OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER OPERATOR FAMILY cls_opf USING btree OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER PUBLICATION cls_pub OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER SERVER cls_srv OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER FOREIGN DATA WRAPPER cls_fdw OWNER TO CURRENT_USER;

-- kind: AlterOwnerStmt
ALTER LARGE OBJECT 4242001 OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER LANGUAGE cls_plang OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER TEXT SEARCH CONFIGURATION cls_tsc OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER COLLATION cls_coll OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER CONVERSION cls_conv OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER STATISTICS cls_stx OWNER TO cls_owner;

-- kind: AlterOwnerStmt
ALTER EVENT TRIGGER cls_evt OWNER TO CURRENT_USER;

-- kind: AlterOwnerStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub OWNER TO CURRENT_USER;

-- kind: AlterObjectSchemaStmt
ALTER TABLE cls_move_me SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER FUNCTION cls_func(int) SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER TYPE cls_enum SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER VIEW cls_view SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER SEQUENCE cls_seq SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER FOREIGN TABLE cls_ft SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER OPERATOR @#@ (int4, int4) SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER TEXT SEARCH DICTIONARY cls_tsd SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER COLLATION cls_coll SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER STATISTICS cls_stx SET SCHEMA cls_schema2;

-- kind: AlterObjectSchemaStmt
ALTER DOMAIN cls_dom SET SCHEMA cls_schema2;

-- ===================================================================
-- RenameStmt
-- ===================================================================

-- kind: RenameStmt
ALTER TABLE cls_t RENAME TO cls_t_renamed;

-- kind: RenameStmt
ALTER TABLE cls_t RENAME COLUMN note TO note2;

-- kind: RenameStmt
ALTER TABLE cls_t RENAME CONSTRAINT cls_t_pkey TO cls_t_pk;

-- kind: RenameStmt
ALTER INDEX cls_t_a_idx RENAME TO cls_t_a_idx2;

-- kind: RenameStmt
ALTER VIEW cls_view RENAME TO cls_view_renamed;

-- kind: RenameStmt
ALTER MATERIALIZED VIEW cls_mv RENAME TO cls_mv_renamed;

-- kind: RenameStmt
ALTER SEQUENCE cls_seq RENAME TO cls_seq_renamed;

-- kind: RenameStmt
ALTER FOREIGN TABLE cls_ft RENAME TO cls_ft_renamed;

-- kind: RenameStmt
ALTER FUNCTION cls_func(int) RENAME TO cls_func_renamed;

-- kind: RenameStmt
ALTER PROCEDURE cls_proc(int) RENAME TO cls_proc_renamed;

-- kind: RenameStmt
ALTER AGGREGATE cls_agg(int) RENAME TO cls_agg_renamed;

-- kind: RenameStmt
ALTER SCHEMA cls_schema2 RENAME TO cls_schema2_renamed;

-- kind: RenameStmt
ALTER TYPE cls_comp RENAME ATTRIBUTE x TO x2;

-- kind: RenameStmt
ALTER TYPE cls_enum RENAME TO cls_enum_renamed;

-- kind: RenameStmt
ALTER DOMAIN cls_dom RENAME CONSTRAINT cls_dom_lt TO cls_dom_lt2;

-- kind: RenameStmt
ALTER TRIGGER cls_trig ON cls_t2 RENAME TO cls_trig_renamed;

-- kind: RenameStmt
ALTER POLICY cls_pol ON cls_rls_t RENAME TO cls_pol_renamed;

-- kind: RenameStmt
ALTER RULE cls_rule ON cls_rule_t RENAME TO cls_rule_renamed;

-- kind: RenameStmt
ALTER PUBLICATION cls_pub2 RENAME TO cls_pub2_renamed;

-- kind: RenameStmt
ALTER SERVER cls_srv RENAME TO cls_srv_renamed;

-- kind: RenameStmt
ALTER FOREIGN DATA WRAPPER cls_fdw RENAME TO cls_fdw_renamed;

-- kind: RenameStmt
ALTER LANGUAGE cls_plang RENAME TO cls_plang_renamed;

-- kind: RenameStmt
ALTER EVENT TRIGGER cls_evt RENAME TO cls_evt_renamed;

-- kind: RenameStmt
ALTER OPERATOR FAMILY cls_opf USING btree RENAME TO cls_opf_renamed;

-- kind: RenameStmt
ALTER OPERATOR CLASS cls_opc USING btree RENAME TO cls_opc_renamed;

-- kind: RenameStmt
ALTER TEXT SEARCH PARSER cls_tsp RENAME TO cls_tsp_renamed;

-- kind: RenameStmt
ALTER TEXT SEARCH TEMPLATE cls_tst RENAME TO cls_tst_renamed;

-- kind: RenameStmt
ALTER STATISTICS cls_stx RENAME TO cls_stx_renamed;

-- kind: RenameStmt
ALTER COLLATION cls_coll RENAME TO cls_coll_renamed;

-- kind: RenameStmt
ALTER CONVERSION cls_conv RENAME TO cls_conv_renamed;

-- kind: RenameStmt
ALTER ROLE cls_rename_me RENAME TO cls_renamed;

-- kind: RenameStmt
-- before: CREATE SUBSCRIPTION cls_sub CONNECTION 'host=/nonexistent port=1 dbname=cls' PUBLICATION cls_pub WITH (connect = false);
ALTER SUBSCRIPTION cls_sub RENAME TO cls_sub_renamed;

-- ===================================================================
-- DropStmt, one per object type
-- ===================================================================

-- kind: DropStmt
DROP TABLE cls_move_me;

-- kind: DropStmt
DROP TABLE IF EXISTS cls_no_such_table, cls_t2 CASCADE;

-- kind: DropStmt
DROP VIEW cls_view;

-- kind: DropStmt
DROP MATERIALIZED VIEW cls_mv;

-- kind: DropStmt
DROP SEQUENCE cls_seq;

-- kind: DropStmt
DROP FOREIGN TABLE cls_ft;

-- kind: DropStmt
DROP FUNCTION cls_func_unused(int);

-- kind: DropStmt
DROP PROCEDURE cls_proc(int);

-- kind: DropStmt
DROP ROUTINE cls_func_unused;

-- kind: DropStmt
DROP AGGREGATE cls_agg(int);

-- kind: DropStmt
DROP OPERATOR @#@ (int4, int4);

-- kind: DropStmt
DROP TYPE cls_range;

-- kind: DropStmt
DROP TYPE cls_base CASCADE;

-- kind: DropStmt
DROP DOMAIN cls_dom;

-- kind: DropStmt
DROP COLLATION cls_coll;

-- kind: DropStmt
DROP CONVERSION cls_conv;

-- kind: DropStmt
DROP SCHEMA cls_schema CASCADE;

-- kind: DropStmt
DROP OPERATOR CLASS cls_opc USING btree;

-- kind: DropStmt
DROP OPERATOR FAMILY cls_opf USING btree CASCADE;

-- kind: DropStmt
DROP CAST (cls_base AS int4);

-- kind: DropStmt
DROP TRANSFORM IF EXISTS FOR cls_base LANGUAGE sql;

-- kind: DropStmt
DROP TRIGGER cls_trig ON cls_t2;

-- kind: DropStmt
DROP RULE cls_rule ON cls_rule_t;

-- kind: DropStmt
DROP POLICY cls_pol ON cls_rls_t;

-- kind: DropStmt
DROP EVENT TRIGGER cls_evt;

-- kind: DropStmt
DROP PUBLICATION cls_pub2;

-- kind: DropStmt
DROP SERVER cls_srv CASCADE;

-- kind: DropStmt
DROP FOREIGN DATA WRAPPER cls_fdw CASCADE;

-- kind: DropStmt
DROP TEXT SEARCH CONFIGURATION cls_tsc;

-- kind: DropStmt
DROP TEXT SEARCH DICTIONARY cls_tsd;

-- kind: DropStmt
DROP TEXT SEARCH PARSER cls_tsp;

-- kind: DropStmt
DROP TEXT SEARCH TEMPLATE cls_tst;

-- kind: DropStmt
DROP STATISTICS cls_stx;

-- kind: DropStmt
DROP ACCESS METHOD cls_am;

-- kind: DropStmt
DROP LANGUAGE cls_plang;

-- kind: DropStmt
DROP EXTENSION IF EXISTS cls_no_such_ext;

-- ===================================================================
-- Comments, security labels
-- ===================================================================

-- kind: CommentStmt
COMMENT ON TABLE cls_t IS 'classifier sample';

-- kind: CommentStmt
COMMENT ON COLUMN cls_t.a IS 'column a';

-- kind: CommentStmt
COMMENT ON FUNCTION cls_func(int) IS 'f';

-- kind: CommentStmt
COMMENT ON ROLE cls_member IS 'shared object';

-- kind: CommentStmt
COMMENT ON LARGE OBJECT 4242001 IS 'lo';

-- kind: CommentStmt
COMMENT ON EXTENSION plpgsql IS NULL;

-- kind: SecLabelStmt
-- expect-error: 22023 no security label provider is loaded (only sepgsql/dummy_seclabel provide one; they need shared_preload_libraries); the check comes after object lookup
SECURITY LABEL ON TABLE cls_t IS 'classified';

-- ===================================================================
-- Databases, tablespaces, cluster-wide settings
-- ===================================================================

-- kind: CreatedbStmt
CREATE DATABASE cls_db;

-- kind: CreatedbStmt
CREATE DATABASE cls_db WITH TEMPLATE template0 ENCODING 'UTF8' STRATEGY file_copy;

-- kind: DropdbStmt
DROP DATABASE cls_no_such_db;

-- kind: DropdbStmt
DROP DATABASE IF EXISTS cls_no_such_db WITH (FORCE);

-- kind: AlterDatabaseStmt
ALTER DATABASE template1 CONNECTION LIMIT -1;

-- kind: AlterDatabaseStmt
ALTER DATABASE template1 WITH ALLOW_CONNECTIONS true IS_TEMPLATE true;

-- kind: AlterDatabaseStmt
-- the database name is not looked up before the 25001 check
ALTER DATABASE cls_no_such_db SET TABLESPACE pg_default;

-- kind: AlterDatabaseStmt
ALTER DATABASE cls_no_such_db WITH TABLESPACE pg_default;

-- kind: AlterDatabaseSetStmt
ALTER DATABASE template1 SET work_mem = '8MB';

-- kind: AlterDatabaseSetStmt
ALTER DATABASE template1 RESET ALL;

-- kind: AlterDatabaseRefreshCollStmt
ALTER DATABASE template1 REFRESH COLLATION VERSION;

-- kind: CreateTableSpaceStmt
-- the location is not checked before the 25001 check
CREATE TABLESPACE cls_ts LOCATION '/nonexistent/cls_ts';

-- kind: DropTableSpaceStmt
DROP TABLESPACE cls_no_such_ts;

-- kind: DropTableSpaceStmt
DROP TABLESPACE IF EXISTS cls_no_such_ts;

-- kind: AlterTableSpaceOptionsStmt
ALTER TABLESPACE pg_default SET (random_page_cost = 1.5);

-- kind: AlterTableSpaceOptionsStmt
ALTER TABLESPACE pg_default RESET (random_page_cost);

-- kind: AlterSystemStmt
ALTER SYSTEM SET work_mem = '8MB';

-- kind: AlterSystemStmt
ALTER SYSTEM RESET ALL;

-- kind: CheckPointStmt
CHECKPOINT;

-- kind: LoadStmt
LOAD 'plpgsql';

-- ===================================================================
-- Session state: DISCARD, SET/RESET/SHOW, SET CONSTRAINTS
-- ===================================================================

-- kind: DiscardStmt
DISCARD ALL;

-- kind: DiscardStmt
DISCARD PLANS;

-- kind: DiscardStmt
DISCARD TEMP;

-- kind: DiscardStmt
DISCARD TEMPORARY;

-- kind: DiscardStmt
DISCARD SEQUENCES;

-- kind: VariableSetStmt
SET work_mem = '8MB';

-- kind: VariableSetStmt
SET LOCAL statement_timeout = '5s';

-- kind: VariableSetStmt
SET SESSION search_path TO cls_schema, public;

-- kind: VariableSetStmt
SET TIME ZONE 'UTC';

-- kind: VariableSetStmt
SET NAMES 'UTF8';

-- kind: VariableSetStmt
SET ROLE cls_member;

-- kind: VariableSetStmt
SET SESSION AUTHORIZATION cls_member;

-- kind: VariableSetStmt
-- not a TransactionStmt; must be the first statement of the transaction
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;

-- kind: VariableSetStmt
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;

-- kind: VariableSetStmt
-- position-dependent: after any query in the transaction this is 25001 too
-- ("SET TRANSACTION ISOLATION LEVEL must be called before any query")
-- before: SELECT 1;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;

-- kind: VariableSetStmt
-- before: SELECT 1;
SET transaction_isolation = 'serializable';

-- kind: VariableSetStmt
RESET work_mem;

-- kind: VariableSetStmt
RESET ALL;

-- kind: VariableSetStmt
RESET ROLE;

-- kind: VariableShowStmt
SHOW work_mem;

-- kind: VariableShowStmt
SHOW ALL;

-- kind: VariableShowStmt
SHOW TRANSACTION ISOLATION LEVEL;

-- kind: ConstraintsSetStmt
SET CONSTRAINTS ALL DEFERRED;

-- kind: ConstraintsSetStmt
SET CONSTRAINTS cls_t2_t_id_fkey IMMEDIATE;

-- ===================================================================
-- Cursors, prepared statements, EXPLAIN, COPY
-- ===================================================================

-- kind: DeclareCursorStmt
DECLARE cls_cur CURSOR FOR SELECT * FROM cls_t;

-- kind: DeclareCursorStmt
DECLARE cls_cur SCROLL CURSOR WITH HOLD FOR SELECT id FROM cls_t ORDER BY id;

-- kind: FetchStmt
-- before: DECLARE cls_cur SCROLL CURSOR FOR SELECT id FROM cls_t ORDER BY id;
FETCH FORWARD 2 FROM cls_cur;

-- kind: FetchStmt
-- MOVE is a FetchStmt with ismove = true
-- before: DECLARE cls_cur SCROLL CURSOR FOR SELECT id FROM cls_t ORDER BY id;
MOVE LAST IN cls_cur;

-- kind: ClosePortalStmt
-- before: DECLARE cls_cur CURSOR FOR SELECT 1;
CLOSE cls_cur;

-- kind: ClosePortalStmt
CLOSE ALL;

-- kind: PrepareStmt
PREPARE cls_prep (int) AS SELECT $1 + 1;

-- kind: PrepareStmt
PREPARE cls_prep_ins AS INSERT INTO cls_t (id) VALUES (3000);

-- kind: ExecuteStmt
-- before: PREPARE cls_prep_exec (int) AS SELECT $1 + 1;
EXECUTE cls_prep_exec (41);

-- kind: DeallocateStmt
-- before: PREPARE cls_prep_dealloc AS SELECT 1;
DEALLOCATE cls_prep_dealloc;

-- kind: DeallocateStmt
DEALLOCATE PREPARE ALL;

-- kind: ExplainStmt
EXPLAIN SELECT * FROM cls_t WHERE a = 1;

-- kind: ExplainStmt
EXPLAIN (ANALYZE, BUFFERS, COSTS off) UPDATE cls_t SET a = a WHERE id < 10;

-- kind: ExplainStmt
EXPLAIN ANALYZE CREATE TABLE cls_explain_ctas AS SELECT 1 AS x;

-- kind: ExplainStmt
-- before: PREPARE cls_prep_explain AS SELECT 1;
EXPLAIN EXECUTE cls_prep_explain;

-- kind: CopyStmt
-- COPY ... FROM STDIN is transaction-safe too, but needs a data stream; not sampled
COPY cls_t2 TO STDOUT;

-- kind: CopyStmt
COPY (SELECT id, note FROM cls_t WHERE id < 3) TO STDOUT WITH (FORMAT csv, HEADER);

-- ===================================================================
-- Asynchronous notification
-- ===================================================================

-- kind: ListenStmt
LISTEN cls_chan;

-- kind: NotifyStmt
NOTIFY cls_chan, 'payload';

-- kind: UnlistenStmt
UNLISTEN cls_chan;

-- kind: UnlistenStmt
UNLISTEN *;

-- ===================================================================
-- Transaction control (not run by check.py)
-- ===================================================================

-- kind: TransactionStmt
-- control
BEGIN;

-- kind: TransactionStmt
-- control
START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY;

-- kind: TransactionStmt
-- control
COMMIT;

-- kind: TransactionStmt
-- control
END;

-- kind: TransactionStmt
-- control
COMMIT AND CHAIN;

-- kind: TransactionStmt
-- control
ROLLBACK;

-- kind: TransactionStmt
-- control
ABORT;

-- kind: TransactionStmt
-- control
SAVEPOINT cls_sp;

-- kind: TransactionStmt
-- control
RELEASE SAVEPOINT cls_sp;

-- kind: TransactionStmt
-- control
ROLLBACK TO SAVEPOINT cls_sp;

-- kind: TransactionStmt
-- control
PREPARE TRANSACTION 'cls_gid';

-- kind: TransactionStmt
-- control
-- (inside a transaction block this fails with 25001 before the gid is looked up)
COMMIT PREPARED 'cls_gid';

-- kind: TransactionStmt
-- control
-- (inside a transaction block this fails with 25001 before the gid is looked up)
ROLLBACK PREPARED 'cls_gid';
