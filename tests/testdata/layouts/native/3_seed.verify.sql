DO $$ BEGIN ASSERT (SELECT count(*) FROM accounts WHERE id = 1) = 1; END $$;
