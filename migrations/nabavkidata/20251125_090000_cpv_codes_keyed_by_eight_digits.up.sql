-- Revision 20251125_090000: CPV codes are keyed by their eight digits.
-- A CPV code is published with a check digit ("45233120-6"), but the vocabulary
-- (Regulation (EC) No 213/2008) is a list of eight-digit codes, and the check
-- digit is not always the one a formula gives (51000000-9 is official; the
-- weighted sum gives 2). Keyed by the full text, a tender with a real code was
-- refused unless that exact string had been seeded. From here on:
--   cpv_codes.code        the eight digits (the key), check_digit kept where known;
--   tenders.cpv_code      the code as published, with or without its check digit;
--   tenders.cpv_code8     its eight digits (generated), the foreign key.
-- So a tender's code is accepted whenever its eight digits are in the vocabulary,
-- whatever check digit it was published with.

-- Two codes with the same eight digits (different check digits) cannot both be kept.
DO $$
DECLARE
    clash text;
BEGIN
    SELECT string_agg(code, ', ' ORDER BY code) INTO clash FROM cpv_codes
     WHERE left(code, 8) IN (SELECT left(code, 8) FROM cpv_codes GROUP BY 1 HAVING count(*) > 1);
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'cpv_codes has codes that differ only in their check digit: %', clash
            USING HINT = 'keep one of each (re-point tenders to it), then apply again';
    END IF;
END $$;

ALTER TABLE tenders DROP CONSTRAINT tenders_cpv_code_fkey;
ALTER TABLE cpv_codes DROP CONSTRAINT cpv_codes_parent_code_fkey;
ALTER TABLE cpv_codes DROP CONSTRAINT cpv_codes_code_check;

ALTER TABLE cpv_codes ADD COLUMN check_digit smallint;
UPDATE cpv_codes
   SET check_digit = right(code, 1)::smallint,
       code = left(code, 8),
       parent_code = left(parent_code, 8);

-- Added NOT VALID and validated in a separate statement: in this one transaction the table
-- stays locked until commit either way (ADD COLUMN ... STORED below rewrites tenders), so on
-- a large tenders table apply it in a quiet period.
ALTER TABLE cpv_codes
    ADD CONSTRAINT cpv_codes_code_check CHECK (code ~ '^[0-9]{8}$') NOT VALID,
    ADD CONSTRAINT cpv_codes_check_digit_check CHECK (check_digit BETWEEN 0 AND 9) NOT VALID,
    -- RESTRICT: a code with children cannot be removed from the vocabulary.
    ADD CONSTRAINT cpv_codes_parent_code_fkey
        FOREIGN KEY (parent_code) REFERENCES cpv_codes (code) ON DELETE RESTRICT NOT VALID;
ALTER TABLE cpv_codes VALIDATE CONSTRAINT cpv_codes_code_check;
ALTER TABLE cpv_codes VALIDATE CONSTRAINT cpv_codes_check_digit_check;
ALTER TABLE cpv_codes VALIDATE CONSTRAINT cpv_codes_parent_code_fkey;

COMMENT ON COLUMN cpv_codes.code IS
    'The eight digits of the CPV 2008 code, e.g. ''45233120'' (the key).';
COMMENT ON COLUMN cpv_codes.check_digit IS
    'The official check digit where known (it is not always the weighted-sum one).';

ALTER TABLE tenders
    ADD COLUMN cpv_code8 char(8) GENERATED ALWAYS AS (left(cpv_code, 8)) STORED,
    ADD CONSTRAINT tenders_cpv_code_check CHECK (cpv_code ~ '^[0-9]{8}(-[0-9])?$') NOT VALID,
    -- RESTRICT: a CPV code in use cannot disappear from the vocabulary.
    ADD CONSTRAINT tenders_cpv_code8_fkey
        FOREIGN KEY (cpv_code8) REFERENCES cpv_codes (code) ON DELETE RESTRICT NOT VALID;
ALTER TABLE tenders VALIDATE CONSTRAINT tenders_cpv_code_check;
ALTER TABLE tenders VALIDATE CONSTRAINT tenders_cpv_code8_fkey;

COMMENT ON COLUMN tenders.cpv_code IS
    'The main CPV code as published, with or without its check digit (''45233120-6'').';
COMMENT ON COLUMN tenders.cpv_code8 IS
    'The eight digits of cpv_code: the reference into cpv_codes.';

DROP INDEX tenders_cpv_code_idx;
CREATE INDEX tenders_cpv_code8_idx ON tenders (cpv_code8);
