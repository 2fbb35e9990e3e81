-- The serving role appends to the audit log only through audit_lock_head() and audit_append(),
-- which run as the tables' owner (SECURITY DEFINER): it can no longer insert rows of its own
-- choosing or move the chain head. A row appended through audit_append() always follows the
-- head it links to, and the head always names the newest row.
--
-- The serving role keeps SELECT on the log and INSERT on audit_checkpoints: a checkpoint is
-- signed with a key the database never sees, so a forged one only fails verification.

REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM bearing_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_head FROM bearing_app;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_checkpoints FROM bearing_app;
GRANT SELECT ON audit_log, audit_head, audit_checkpoints TO bearing_app;

-- The blanket grant of the identity migration also covered sqlx's own bookkeeping table; only
-- the owner, who applies migrations, writes it.
DO $$
BEGIN
    IF to_regclass('_sqlx_migrations') IS NOT NULL THEN
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM bearing_app;
    END IF;
END $$;

-- Locks the chain head until the end of the caller's transaction and returns it. Appending
-- needs the head's hash before the row's hash can be computed (by the server, in Rust: see
-- crates/audit), so locking and appending are two calls in one transaction.
CREATE FUNCTION audit_lock_head(OUT seq BIGINT, OUT hash BYTEA)
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    SELECT h.seq, h.hash INTO seq, hash FROM audit_head h WHERE h.id FOR UPDATE;
END $$;

-- Appends one row after the current head and moves the head to it. Refuses a row that does
-- not follow the head (wrong seq or prev_hash) or whose hash is not 32 bytes. The content
-- hash itself is checked by verification, which recomputes it.
CREATE FUNCTION audit_append(
    p_seq BIGINT, p_at TIMESTAMPTZ, p_actor TEXT, p_actor_kind TEXT, p_action TEXT, p_target TEXT,
    p_before JSONB, p_after JSONB, p_reason TEXT, p_request_id TEXT, p_client_addr TEXT,
    p_prev_hash BYTEA, p_hash BYTEA
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    head_seq  BIGINT;
    head_hash BYTEA;
BEGIN
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_head h WHERE h.id FOR UPDATE;
    IF p_seq IS DISTINCT FROM head_seq + 1 OR p_prev_hash IS DISTINCT FROM head_hash THEN
        RAISE EXCEPTION 'audit row % does not follow the chain head (row %)', p_seq, head_seq
            USING ERRCODE = 'serialization_failure',
                  HINT = 'lock the head with audit_lock_head() in the same transaction first';
    END IF;
    IF octet_length(p_hash) IS DISTINCT FROM 32 THEN
        RAISE EXCEPTION 'audit row %: hash must be 32 bytes', p_seq USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO audit_log (seq, at, actor, actor_kind, action, target, before, after, reason,
                           request_id, client_addr, prev_hash, hash)
    VALUES (p_seq, p_at, p_actor, p_actor_kind, p_action, p_target, p_before, p_after, p_reason,
            p_request_id, p_client_addr, p_prev_hash, p_hash);
    UPDATE audit_head SET seq = p_seq, hash = p_hash WHERE id;
END $$;

-- A SECURITY DEFINER function must not resolve names through the caller's search_path, where
-- the caller's own temporary tables would come first: pin it to this schema, pg_temp last.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_lock_head() SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION audit_append(BIGINT, TIMESTAMPTZ, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB, '
                   'TEXT, TEXT, TEXT, BYTEA, BYTEA) SET search_path = %I, pg_temp', current_schema());
END $$;

REVOKE ALL ON FUNCTION audit_lock_head() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_append(BIGINT, TIMESTAMPTZ, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB, TEXT,
                                    TEXT, TEXT, BYTEA, BYTEA) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_lock_head() TO bearing_app;
GRANT EXECUTE ON FUNCTION audit_append(BIGINT, TIMESTAMPTZ, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB, TEXT,
                                       TEXT, TEXT, BYTEA, BYTEA) TO bearing_app;
