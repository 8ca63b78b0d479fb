ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
-- quiet: NOT VALID, then VALIDATE
ALTER TABLE orders ADD CONSTRAINT orders_shop_fk FOREIGN KEY (shop_id) REFERENCES shops (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_shop_fk;
