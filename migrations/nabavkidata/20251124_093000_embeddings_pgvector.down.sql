-- Revert 20251124_093000: undo whichever path the up revision took.
-- pgvector path: drop the HNSW index, convert embeddings.vector back to real[],
-- restore the column comment of 20251123_220000, and drop the extension only if
-- 20251124_093000 created it. Fallback path: drop the dimension CHECK.

DO $$
DECLARE
    column_type text;
    created_extension boolean;
BEGIN
    SELECT t.typname,
           coalesce(col_description(a.attrelid, a.attnum)
                    LIKE '%[extension vector created by 20251124_093000]%', false)
      INTO column_type, created_extension
      FROM pg_attribute a
      JOIN pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = 'embeddings'::regclass
       AND a.attname = 'vector'
       AND NOT a.attisdropped;

    IF column_type = 'vector' THEN
        EXECUTE 'DROP INDEX IF EXISTS embeddings_vector_hnsw_idx';
        EXECUTE 'ALTER TABLE embeddings ALTER COLUMN "vector" TYPE real[] USING "vector"::real[]';
        COMMENT ON COLUMN embeddings.vector IS
            'Embedding of chunk_text (768 dimensions). Stored as real[]; 20251124_093000 converts it to '
            'pgvector vector(768) where the extension is available.';
        IF created_extension THEN
            DROP EXTENSION vector;
        END IF;
        RAISE NOTICE 'embeddings.vector converted back to real[]%',
            CASE WHEN created_extension THEN '; extension vector dropped'
                 ELSE '; extension vector left installed (not created by 20251124_093000)' END;
    ELSE
        RAISE NOTICE 'embeddings.vector is real[]: dropping embeddings_vector_dims_check';
    END IF;
END
$$;

ALTER TABLE embeddings DROP CONSTRAINT IF EXISTS embeddings_vector_dims_check;
