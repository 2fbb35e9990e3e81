-- Each server's in-memory catalog list (app/src/catalog/list_index.rs) follows an edit by reading
-- only the entities changed since it last read the catalog, instead of every entity (seconds at
-- 100,000 entities). A change is named by the transaction that wrote it: a server that read the
-- catalog with snapshot S next reads the rows whose writing transaction S did not see
-- (`NOT pg_visible_in_snapshot(changed_xid, S)`). A timestamp or a sequence would miss a
-- transaction that took its value before the read and committed after it; a snapshot cannot, and
-- it needs no notification to have arrived: whoever wrote, the rows say so.

-- Existing rows get this migration's transaction, which every later snapshot sees.
ALTER TABLE entities ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX entities_changed_xid ON entities (changed_xid);

-- Inserts take the default; every update, whichever statement makes it, is marked here.
CREATE FUNCTION entities_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_xid := pg_current_xact_id();
    RETURN NEW;
END $$;
CREATE TRIGGER entities_mark_changed BEFORE UPDATE ON entities
    FOR EACH ROW EXECUTE FUNCTION entities_mark_changed();

-- A deleted row (or a row whose key changed) leaves nothing to read in `entities`, so its key is
-- recorded here, by the same rule. Bearing itself never deletes entities; an operator might.
-- Rows older than a week are dropped; a server whose last read is older than that rebuilds from
-- scratch instead of reading changes.
CREATE TABLE entity_removals (
    ref TEXT NOT NULL,
    removed_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    removed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX entity_removals_removed_xid ON entity_removals (removed_xid);

CREATE FUNCTION entities_record_removal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM entity_removals WHERE removed_at < now() - interval '7 days';
    INSERT INTO entity_removals (ref) VALUES (OLD.ref);
    RETURN NULL;
END $$;
CREATE TRIGGER entities_record_delete AFTER DELETE ON entities
    FOR EACH ROW EXECUTE FUNCTION entities_record_removal();
CREATE TRIGGER entities_record_new_ref AFTER UPDATE OF ref ON entities
    FOR EACH ROW WHEN (OLD.ref IS DISTINCT FROM NEW.ref) EXECUTE FUNCTION entities_record_removal();
