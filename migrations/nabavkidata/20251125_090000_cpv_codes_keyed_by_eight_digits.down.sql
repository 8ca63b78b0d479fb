-- Revert 20251125_090000: key CPV codes by their text with the check digit again.
-- Refused while a code has no known check digit (the codes loaded by
-- 20251125_091000 have none: roll that one back first) or while a tender's
-- code is not the official "code-digit" text.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM cpv_codes WHERE check_digit IS NULL) THEN
        RAISE EXCEPTION 'cpv_codes has % code(s) without a check digit; they cannot be keyed as "code-digit"',
            (SELECT count(*) FROM cpv_codes WHERE check_digit IS NULL);
    END IF;
    IF EXISTS (SELECT 1 FROM tenders t JOIN cpv_codes c ON c.code = t.cpv_code8
                WHERE t.cpv_code <> c.code || '-' || c.check_digit) THEN
        RAISE EXCEPTION 'tenders has % code(s) published without the official check digit (e.g. %)',
            (SELECT count(*) FROM tenders t JOIN cpv_codes c ON c.code = t.cpv_code8
              WHERE t.cpv_code <> c.code || '-' || c.check_digit),
            (SELECT min(t.cpv_code) FROM tenders t JOIN cpv_codes c ON c.code = t.cpv_code8
              WHERE t.cpv_code <> c.code || '-' || c.check_digit);
    END IF;
END $$;

DROP INDEX tenders_cpv_code8_idx;
ALTER TABLE tenders
    DROP CONSTRAINT tenders_cpv_code8_fkey,
    DROP CONSTRAINT tenders_cpv_code_check,
    DROP COLUMN cpv_code8;
COMMENT ON COLUMN tenders.cpv_code IS NULL;

ALTER TABLE cpv_codes
    DROP CONSTRAINT cpv_codes_parent_code_fkey,
    DROP CONSTRAINT cpv_codes_check_digit_check,
    DROP CONSTRAINT cpv_codes_code_check;
UPDATE cpv_codes c
   SET code = c.code || '-' || c.check_digit,
       parent_code = (SELECT p.code || '-' || p.check_digit FROM cpv_codes p
                       WHERE p.code = c.parent_code);
ALTER TABLE cpv_codes DROP COLUMN check_digit;
COMMENT ON COLUMN cpv_codes.code IS NULL;

ALTER TABLE cpv_codes
    ADD CONSTRAINT cpv_codes_code_check CHECK (code ~ '^[0-9]{8}-[0-9]$'),
    ADD CONSTRAINT cpv_codes_parent_code_fkey
        FOREIGN KEY (parent_code) REFERENCES cpv_codes (code) ON DELETE RESTRICT;
ALTER TABLE tenders ADD CONSTRAINT tenders_cpv_code_fkey
    FOREIGN KEY (cpv_code) REFERENCES cpv_codes (code) ON DELETE RESTRICT;
CREATE INDEX tenders_cpv_code_idx ON tenders (cpv_code);
