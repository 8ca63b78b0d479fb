ALTER TABLE orders RENAME TO purchases;
ALTER TABLE users RENAME COLUMN name TO full_name;
