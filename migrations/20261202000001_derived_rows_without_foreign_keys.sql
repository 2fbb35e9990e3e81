-- Relations and search rows are derived from their entity. Only the import
-- (`app/src/catalog/repo/write.rs`) and edits (`app/src/catalog/edit/repo.rs`) write them,
-- always deleting an entity's old rows and inserting the new ones in the entity's own
-- transaction; entities themselves are never deleted (one that vanishes from its source is
-- marked orphaned). The foreign keys therefore guarded nothing the write path does not, and
-- PostgreSQL checked them one row at a time: on the benchmark catalog (10,000 components,
-- 373,000 search rows, 110,000 relations) that was 2.5 of the import's 9 seconds.
ALTER TABLE entity_search DROP CONSTRAINT entity_search_entity_id_fkey;
ALTER TABLE relations DROP CONSTRAINT relations_declared_by_fkey;
