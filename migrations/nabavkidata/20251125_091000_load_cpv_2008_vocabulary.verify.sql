-- Checks of 20251125_091000, run right after it in its transaction and rolled back (and by
-- schemactl verify): the vocabulary is whole, and a tender with a real code is accepted
-- whatever check digit it was published with, while a code outside it is refused.
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM cpv_codes WHERE level = 1) = 45, 'CPV 2008 has 45 divisions';
    ASSERT (SELECT count(*) FROM cpv_codes) >= 9454, 'CPV 2008 has 9,454 codes';
    ASSERT NOT EXISTS (SELECT 1 FROM cpv_codes c WHERE c.level > 1 AND NOT EXISTS
                         (SELECT 1 FROM cpv_codes p WHERE p.code = c.parent_code)),
        'every code below a division has its parent';
    INSERT INTO tenders (tender_id, title, cpv_code) VALUES
        ('schemad-verify-1', 'Road construction works', '45233120-6'),
        ('schemad-verify-2', 'Installation services, published without its check digit', '51000000'),
        ('schemad-verify-3', 'Installation services, with the weighted-sum digit', '51000000-2');
    BEGIN
        INSERT INTO tenders (tender_id, title, cpv_code)
            VALUES ('schemad-verify-4', 'Not a CPV code', '99999999-1');
        RAISE EXCEPTION 'a code outside the vocabulary was accepted';
    EXCEPTION WHEN foreign_key_violation THEN
        NULL;
    END;
END $$;
