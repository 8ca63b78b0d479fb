DROP TABLE legacy_orders;
-- quiet: a table created in the same plan is nobody's data yet
CREATE TABLE scratch (id bigint PRIMARY KEY);
DROP TABLE scratch;
