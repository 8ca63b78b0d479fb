-- schemad:no-transactoin
CREATE TABLE t (id int);
