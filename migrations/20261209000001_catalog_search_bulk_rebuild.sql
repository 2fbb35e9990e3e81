-- An import that rewrites most of the catalog writes millions of `entity_search` rows (the
-- 100,000-entity benchmark catalog: 3.7 million). Inserted into its two indexes row by row,
-- that was 34.5 of the import's 73 seconds; copied into the bare table and indexed afterwards
-- it is a fraction of that (bench/README.md, "Scale (issue 15)"). Dropping and creating an
-- index needs the table's owner, so the import (as bearing_app) calls these two functions,
-- which run as the owner, inside its own transaction: nobody else ever sees the table without
-- its indexes, and Backstage filter queries and edits that touch `entity_search` wait for the
-- import to commit or roll back (DROP INDEX takes the table's ACCESS EXCLUSIVE lock).
--
-- Both refuse to run outside an import: the caller must hold the import's transaction-level
-- advisory lock (app/src/catalog/repo/write.rs, lock_for_import), so the indexes cannot be
-- dropped by a statement that commits on its own.

CREATE FUNCTION catalog_search_indexes_drop() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                   AND classid = 0 AND objid = 7263011 AND objsubid = 1 AND granted) THEN
        RAISE EXCEPTION 'catalog_search_indexes_drop() runs only inside an import';
    END IF;
    DROP INDEX IF EXISTS entity_search_entity;
    DROP INDEX IF EXISTS entity_search_key_value;
END $$;

-- The same definitions as in 20261123000001_catalog.sql. (A sort memory of 256 MB instead of
-- the default 64 MB built them no faster for 3.7 million rows.)
CREATE FUNCTION catalog_search_indexes_create() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    CREATE INDEX IF NOT EXISTS entity_search_entity ON entity_search (entity_id);
    CREATE INDEX IF NOT EXISTS entity_search_key_value ON entity_search (key, value);
END $$;

-- A SECURITY DEFINER function must not resolve names through the caller's search_path, where
-- the caller's own temporary tables would come first: pin it to this schema, pg_temp last.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION catalog_search_indexes_drop() SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION catalog_search_indexes_create() SET search_path = %I, pg_temp', current_schema());
END $$;

REVOKE ALL ON FUNCTION catalog_search_indexes_drop() FROM PUBLIC;
REVOKE ALL ON FUNCTION catalog_search_indexes_create() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION catalog_search_indexes_drop() TO bearing_app;
GRANT EXECUTE ON FUNCTION catalog_search_indexes_create() TO bearing_app;
