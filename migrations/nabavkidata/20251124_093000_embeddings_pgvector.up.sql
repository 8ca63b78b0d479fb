-- Revision 20251124_093000: embeddings.vector as pgvector where available.
-- If the pgvector extension ("vector") is available on the server, creates it
-- (unless already installed), converts embeddings.vector from real[] to
-- vector(768) and adds an HNSW cosine index (pgvector >= 0.5). Otherwise the
-- column stays real[] and a CHECK enforces one dimension of exactly 768
-- non-NULL elements. A NOTICE says which path was taken. The column comment
-- records whether this revision created the extension, so the down revision
-- drops it only in that case.
--
-- The fallback CHECK is written as a plain statement, so that schemad's static
-- lineage (coverage, drift) sees it; only the pgvector path lives in the DO
-- block, which schemad reports as not statically analysable.

ALTER TABLE embeddings
    ADD CONSTRAINT embeddings_vector_dims_check
    CHECK (array_ndims("vector") = 1
           AND cardinality("vector") = 768
           AND array_position("vector", NULL) IS NULL);

DO $$
DECLARE
    extension_preinstalled boolean;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        ALTER TABLE embeddings DROP CONSTRAINT embeddings_vector_dims_check;
        extension_preinstalled := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector');
        IF NOT extension_preinstalled THEN
            CREATE EXTENSION vector;
        END IF;

        -- Dynamic SQL: the type vector does not exist when this block is parsed.
        EXECUTE 'ALTER TABLE embeddings ALTER COLUMN "vector" TYPE vector(768) '
                'USING "vector"::vector(768)';
        IF EXISTS (SELECT 1 FROM pg_am WHERE amname = 'hnsw') THEN
            EXECUTE 'CREATE INDEX embeddings_vector_hnsw_idx ON embeddings '
                    'USING hnsw ("vector" vector_cosine_ops)';
        ELSE
            RAISE NOTICE 'pgvector has no hnsw access method (< 0.5): no ANN index created';
        END IF;

        EXECUTE format('COMMENT ON COLUMN embeddings.vector IS %L',
            'Embedding of chunk_text as pgvector vector(768), converted by 20251124_093000'
            || CASE WHEN extension_preinstalled THEN '.'
                    ELSE ' [extension vector created by 20251124_093000].' END);

        RAISE NOTICE 'pgvector available: embeddings.vector converted to vector(768)%',
            CASE WHEN extension_preinstalled THEN ' (extension was already installed)'
                 ELSE ' (extension vector created)' END;
    ELSE
        RAISE NOTICE 'pgvector not available: embeddings.vector stays real[] '
                     '(CHECK embeddings_vector_dims_check enforces 768 dimensions)';
    END IF;
END
$$;
