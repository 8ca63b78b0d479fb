-- schemad:timeout soon
CREATE TABLE t (id int);
