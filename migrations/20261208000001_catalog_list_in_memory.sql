-- The catalog list, search and facets are answered from an in-memory index in each server
-- (tantivy for the text; app/src/catalog/list_index.rs), rebuilt from `entities` when the
-- catalog changes. Nothing reads the full-text vector or the trigram indexes any more, and
-- every import paid for them: the trigger computed two English and three simple vectors per
-- row, and three GIN indexes were updated per row.
DROP TRIGGER entities_search_update ON entities;
DROP FUNCTION entities_search_update();
DROP INDEX entities_search;
DROP INDEX entities_name_trgm;
DROP INDEX entities_title_trgm;
ALTER TABLE entities DROP COLUMN search;
