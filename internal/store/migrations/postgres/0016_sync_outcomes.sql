-- PostgreSQL twin of migrations/sqlite/0016_sync_outcomes.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Each password sync target's outcome, kept for the person who finished the
-- flow (issue 15): one row per sync message, written with the message in
-- the claim transaction and updated by the sync sender when the target took
-- the password or sspr gave up. While the message is still being delivered
-- the outbox row says when the next attempt is; a delivered message leaves
-- the outbox, so the final state lives here. reason is a short code for
-- people ("refused", "unreachable", "not_linked"), never a target's error
-- text. The rows go with their flow (reset.finished_retention).
CREATE TABLE sync_outcomes (
    message_id BIGINT PRIMARY KEY,
    token_hash BYTEA    NOT NULL,
    target     TEXT    NOT NULL,
    label      TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL DEFAULT 'pending',
    reason     TEXT    NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
CREATE INDEX sync_outcomes_flow ON sync_outcomes (token_hash);

CREATE FUNCTION flows_delete_sync_outcomes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM sync_outcomes WHERE token_hash = OLD.token_hash; RETURN NULL; END;
$$;
CREATE TRIGGER flows_delete_sync_outcomes AFTER DELETE ON flows
FOR EACH ROW EXECUTE FUNCTION flows_delete_sync_outcomes();
