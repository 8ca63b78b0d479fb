ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);
-- quiet
ALTER TABLE orders ADD CONSTRAINT orders_qty_positive CHECK (qty > 0) NOT VALID;
