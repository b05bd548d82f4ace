-- PostgreSQL twin of migrations/sqlite/0012_steady_state.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Steady state: what sspr keeps shrinks back as fast as traffic adds to it.

-- Ended flows (done or failed) are deleted a few minutes after they end
-- (reset.finished_retention) instead of lingering until they expire. This
-- partial index finds them without scanning the live flows, and costs
-- nothing for flows still in progress.
CREATE INDEX flows_finished ON flows (updated_at) WHERE state IN ('done', 'failed');

-- Audit retention (audit.retention): the oldest rows may be deleted, but
-- only after this marker names the last one deleted — its id and hash, and
-- the cut-off time, MAC'd with the audit key like the chain's head — so the
-- chain still verifies from the marker on. The trigger below lets sspr
-- delete rows up to the marker and nothing after it.
CREATE TABLE audit_retention (
    one       BIGINT PRIMARY KEY CHECK (one = 1),
    last_id   BIGINT NOT NULL,
    hash      BYTEA    NOT NULL,
    before_at BIGINT NOT NULL,
    mac       BYTEA    NOT NULL
);

DROP TRIGGER audit_no_delete ON audit;
CREATE FUNCTION audit_delete_retained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id > COALESCE((SELECT last_id FROM audit_retention WHERE one = 1), 0) THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION audit_delete_retained();
