-- Fixture for the transaction-block classifier samples (statements.sql).
--
-- Run once, as a superuser, in a fresh empty database of a throwaway
-- PostgreSQL 15 cluster.  Every statement here is itself allowed inside a
-- transaction block, so the file works both with `psql -f` and when sent as a
-- single multi-statement query (one implicit transaction).  No psql
-- meta-commands, no extensions beyond the built-in plpgsql, no tablespaces,
-- no subscriptions (they would block DROP DATABASE of the test database).
--
-- Roles are cluster-wide: they are created idempotently so the same cluster
-- can host several test databases in turn.  cls_drop_me must never own or be
-- granted anything (statements.sql drops it).

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['cls_owner', 'cls_reader', 'cls_member',
                           'cls_group', 'cls_drop_me', 'cls_rename_me']
  LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END LOOP;
END
$$;

CREATE SCHEMA cls_schema;
CREATE SCHEMA cls_schema2;
CREATE SCHEMA cls_import_target;

-- Tables -------------------------------------------------------------------
CREATE TABLE cls_t (
  id   int PRIMARY KEY,
  a    int,
  b    int,
  note text
);
INSERT INTO cls_t SELECT g, g % 7, g % 11, 'row ' || g FROM generate_series(1, 50) g;
CREATE INDEX cls_t_a_idx ON cls_t (a);
CREATE INDEX cls_t_b_idx ON cls_t (b);
ALTER TABLE cls_t CLUSTER ON cls_t_pkey;

CREATE TABLE cls_t2 (id int PRIMARY KEY, t_id int REFERENCES cls_t (id) DEFERRABLE, v text);
INSERT INTO cls_t2 VALUES (1, 1, 'x'), (2, 2, 'y');

CREATE TABLE cls_move_me (id int);
CREATE TABLE cls_schema.cls_in_schema (id int PRIMARY KEY);

-- Partitioned tables ---------------------------------------------------------
CREATE TABLE cls_pt (id int NOT NULL, v int) PARTITION BY RANGE (id);
CREATE TABLE cls_pt_p1 PARTITION OF cls_pt FOR VALUES FROM (0) TO (100);
CREATE TABLE cls_pt_p2 PARTITION OF cls_pt FOR VALUES FROM (100) TO (200);
CREATE TABLE cls_pt_p3 PARTITION OF cls_pt FOR VALUES FROM (200) TO (300);
CREATE INDEX cls_pt_idx ON cls_pt (id);
-- partitioned index created ONLY on the parent, for ALTER INDEX ... ATTACH PARTITION
CREATE INDEX cls_pt_v_idx ON ONLY cls_pt (v);
CREATE INDEX cls_pt_p1_v_idx ON cls_pt_p1 (v);
INSERT INTO cls_pt SELECT g, g FROM generate_series(0, 299) g;
-- stand-alone table that can be attached as a partition
CREATE TABLE cls_pt_new (id int NOT NULL, v int);

-- separate partitioned table for DETACH PARTITION ... FINALIZE
CREATE TABLE cls_ptf (id int NOT NULL) PARTITION BY LIST (id);
CREATE TABLE cls_ptf_p1 PARTITION OF cls_ptf FOR VALUES IN (1);
CREATE TABLE cls_ptf_p2 PARTITION OF cls_ptf FOR VALUES IN (2);

-- Sequences, views, materialized views --------------------------------------
CREATE SEQUENCE cls_seq;
CREATE VIEW cls_view AS SELECT id, a FROM cls_t;
CREATE MATERIALIZED VIEW cls_mv AS SELECT id, a FROM cls_t;
CREATE UNIQUE INDEX cls_mv_id_idx ON cls_mv (id);

-- Functions, procedures, aggregates -----------------------------------------
CREATE FUNCTION cls_func(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';
CREATE FUNCTION cls_func_unused(x int) RETURNS int LANGUAGE sql AS 'SELECT x';
CREATE PROCEDURE cls_proc(x int) LANGUAGE plpgsql AS $$ BEGIN PERFORM x; END $$;
CREATE FUNCTION cls_trig_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION cls_evt_fn() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE AGGREGATE cls_agg(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0');

-- Types and domains -----------------------------------------------------------
CREATE TYPE cls_enum AS ENUM ('a', 'b');
CREATE TYPE cls_comp AS (x int, y text);
CREATE TYPE cls_range AS RANGE (SUBTYPE = int4);
CREATE DOMAIN cls_dom AS int CHECK (VALUE > 0);
ALTER DOMAIN cls_dom ADD CONSTRAINT cls_dom_lt CHECK (VALUE < 1000000) NOT VALID;
-- a real base type, built from internal int4 I/O routines (superuser only)
CREATE TYPE cls_base;
CREATE FUNCTION cls_base_in(cstring) RETURNS cls_base LANGUAGE internal IMMUTABLE STRICT AS 'int4in';
CREATE FUNCTION cls_base_out(cls_base) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'int4out';
CREATE FUNCTION cls_base_recv(internal) RETURNS cls_base LANGUAGE internal IMMUTABLE STRICT AS 'int4recv';
CREATE TYPE cls_base (INPUT = cls_base_in, OUTPUT = cls_base_out,
                      INTERNALLENGTH = 4, PASSEDBYVALUE, ALIGNMENT = int4);
CREATE CAST (cls_base AS int4) WITHOUT FUNCTION;

-- Operators, operator families and classes -----------------------------------
CREATE OPERATOR @#@ (LEFTARG = int4, RIGHTARG = int4, FUNCTION = int4eq);
CREATE OPERATOR FAMILY cls_opf USING btree;
CREATE OPERATOR CLASS cls_opc FOR TYPE int4 USING btree FAMILY cls_opf AS
  OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
  FUNCTION 1 btint4cmp(int4, int4);

-- Collations, conversions, text search --------------------------------------
CREATE COLLATION cls_coll (provider = libc, locale = 'C');
CREATE CONVERSION cls_conv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
CREATE TEXT SEARCH DICTIONARY cls_tsd (TEMPLATE = simple);
CREATE TEXT SEARCH CONFIGURATION cls_tsc (COPY = simple);
CREATE TEXT SEARCH PARSER cls_tsp (START = prsd_start, GETTOKEN = prsd_nexttoken,
                                   END = prsd_end, LEXTYPES = prsd_lextype);
CREATE TEXT SEARCH TEMPLATE cls_tst (INIT = dsimple_init, LEXIZE = dsimple_lexize);

-- Extended statistics ---------------------------------------------------------
CREATE STATISTICS cls_stx (dependencies) ON a, b FROM cls_t;

-- Rules, triggers, event trigger, policies ------------------------------------
CREATE TABLE cls_rule_t (id int);
CREATE RULE cls_rule AS ON INSERT TO cls_rule_t DO ALSO NOTHING;
CREATE TRIGGER cls_trig BEFORE INSERT ON cls_t2 FOR EACH ROW EXECUTE FUNCTION cls_trig_fn();
CREATE EVENT TRIGGER cls_evt ON ddl_command_end EXECUTE FUNCTION cls_evt_fn();
ALTER EVENT TRIGGER cls_evt DISABLE;  -- never fires during the samples
CREATE TABLE cls_rls_t (id int, owner name);
ALTER TABLE cls_rls_t ENABLE ROW LEVEL SECURITY;
CREATE POLICY cls_pol ON cls_rls_t USING (owner = current_user);

-- Procedural language, access method ------------------------------------------
CREATE LANGUAGE cls_plang HANDLER plpgsql_call_handler;
CREATE ACCESS METHOD cls_am TYPE TABLE HANDLER heap_tableam_handler;

-- Publication ------------------------------------------------------------------
CREATE PUBLICATION cls_pub FOR TABLE cls_t;
CREATE PUBLICATION cls_pub2;

-- Foreign data: wrapper without handler/validator, server, mapping, table ------
CREATE FOREIGN DATA WRAPPER cls_fdw;
CREATE SERVER cls_srv FOREIGN DATA WRAPPER cls_fdw;
CREATE USER MAPPING FOR CURRENT_USER SERVER cls_srv;
CREATE USER MAPPING FOR cls_reader SERVER cls_srv;
CREATE FOREIGN TABLE cls_ft (id int) SERVER cls_srv;

-- Large object (fixed OID, idempotent) -----------------------------------------
SELECT lo_create(4242001)
 WHERE NOT EXISTS (SELECT FROM pg_largeobject_metadata WHERE oid = 4242001);

-- Objects owned by / granted to cls_owner, for DROP OWNED / REASSIGN OWNED -----
CREATE TABLE cls_owned_t (id int);
ALTER TABLE cls_owned_t OWNER TO cls_owner;
GRANT SELECT ON cls_t TO cls_reader;
