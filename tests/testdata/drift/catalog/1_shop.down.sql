DROP TABLE events;
DROP VIEW open_orders;
DROP TABLE orders;
DROP FUNCTION touch();
DROP TABLE customers;
DROP SEQUENCE invoice_no;
DROP DOMAIN money_amount;
DROP TYPE order_status;
