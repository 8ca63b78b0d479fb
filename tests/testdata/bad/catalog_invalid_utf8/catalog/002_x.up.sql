-- café
CREATE TABLE a2 (id int);
