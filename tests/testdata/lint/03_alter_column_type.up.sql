ALTER TABLE orders ALTER COLUMN amount TYPE numeric(14, 2);
-- quiet: widening to text does not rewrite
ALTER TABLE orders ALTER COLUMN note TYPE text;
