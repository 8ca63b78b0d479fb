-- Fourteen changes made outside schemad, one of each kind drift must see.
CREATE TABLE scratch (id int);                                          -- 1 table
ALTER TABLE orders ADD COLUMN note text;                                -- 2 column
ALTER TABLE orders ALTER COLUMN invoice TYPE integer;                   -- 3 column type
CREATE INDEX customers_name_idx ON customers (email);                   -- 4 index
ALTER TABLE orders ADD CONSTRAINT orders_recent CHECK (placed_at > '2000-01-01');  -- 5 constraint
COMMENT ON TABLE orders IS 'orders, edited by hand';                    -- 6 comment
DROP TRIGGER orders_touch ON orders;                                    -- 7 trigger
CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEW;
END $$;                                                                 -- 8 function body
CREATE OR REPLACE VIEW open_orders AS
  SELECT id, customer_id, total FROM orders WHERE status = 'new';       -- 9 view body
ALTER TABLE orders ALTER COLUMN total SET DEFAULT 1;                    -- 10 default
ALTER SEQUENCE invoice_no INCREMENT BY 10;                              -- 11 sequence
ALTER TYPE order_status ADD VALUE 'returned';                           -- 12 enum value
GRANT SELECT ON orders TO PUBLIC;                                       -- 13 grant
ALTER TABLE customers DISABLE ROW LEVEL SECURITY;                       -- 14 row-level security
