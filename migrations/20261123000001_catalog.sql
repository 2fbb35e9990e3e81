-- The catalog: entities, the relations they declare, the sources they came from, and a
-- Backstage-style key/value search table that serves generic filters and facets.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A file (canonical path) or an API import name. Orphan detection works per source.
CREATE TABLE sources (
    id             BIGSERIAL PRIMARY KEY,
    location       TEXT NOT NULL UNIQUE,
    last_import_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE entities (
    id          UUID PRIMARY KEY,
    -- Lower-case reference key, `component:default/checkout`.
    ref         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,           -- lower-case slug: component, api, ...
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    title       TEXT,
    description TEXT,
    type        TEXT,
    lifecycle   TEXT,
    owner_ref   TEXT,
    system_ref  TEXT,
    domain_ref  TEXT,
    tags        TEXT[] NOT NULL DEFAULT '{}',
    labels      JSONB NOT NULL DEFAULT '{}',
    annotations JSONB NOT NULL DEFAULT '{}',
    links       JSONB NOT NULL DEFAULT '[]',
    -- The Backstage-shaped entity (apiVersion, kind, metadata, spec) without relations.
    body        JSONB NOT NULL,
    -- Hash of `body`: unchanged re-imports are detected by comparing it.
    etag        TEXT NOT NULL,
    source_id   BIGINT REFERENCES sources (id),
    orphaned    BOOLEAN NOT NULL DEFAULT false,
    search      TSVECTOR NOT NULL DEFAULT ''::tsvector,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX entities_kind_name ON entities (kind, name);
CREATE INDEX entities_owner ON entities (owner_ref);
CREATE INDEX entities_updated ON entities (updated_at DESC);
CREATE INDEX entities_source ON entities (source_id);
CREATE INDEX entities_search ON entities USING GIN (search);
CREATE INDEX entities_name_trgm ON entities USING GIN (name gin_trgm_ops);
CREATE INDEX entities_title_trgm ON entities USING GIN (lower(title) gin_trgm_ops);
CREATE INDEX entities_tags ON entities USING GIN (tags);

-- Keeps the full-text vector in step with the row, whoever writes it.
CREATE FUNCTION entities_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search :=
        setweight(to_tsvector('simple', coalesce(NEW.name, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.description, '')), 'B') ||
        setweight(to_tsvector('simple', array_to_string(NEW.tags, ' ')), 'B') ||
        setweight(to_tsvector('simple', coalesce(NEW.type, '') || ' ' || NEW.kind), 'C');
    RETURN NEW;
END $$;

CREATE TRIGGER entities_search_update
    BEFORE INSERT OR UPDATE OF name, title, description, tags, type, kind ON entities
    FOR EACH ROW EXECUTE FUNCTION entities_search_update();

-- A relation stored once, in its forward direction (`source ownedBy target`), remembered by
-- the entity whose spec declared it so a re-import replaces exactly that entity's relations.
-- Either end may name an entity that is not (yet) in the catalog: it is shown as unresolved.
CREATE TABLE relations (
    declared_by UUID NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    source_ref  TEXT NOT NULL,
    type        TEXT NOT NULL,
    target_ref  TEXT NOT NULL,
    PRIMARY KEY (declared_by, source_ref, type, target_ref)
);

CREATE INDEX relations_source ON relations (source_ref, type);
CREATE INDEX relations_target ON relations (target_ref, type);

-- Flattened `key = value` pairs of each entity (Backstage's search table): generic filters
-- such as `spec.type=service` and facets. `value` is lower case; `original_value` as written.
CREATE TABLE entity_search (
    entity_id      UUID NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    value          TEXT,
    original_value TEXT
);

CREATE INDEX entity_search_entity ON entity_search (entity_id);
CREATE INDEX entity_search_key_value ON entity_search (key, value);
