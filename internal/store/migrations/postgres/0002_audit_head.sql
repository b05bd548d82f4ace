-- PostgreSQL twin of migrations/sqlite/0002_audit_head.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- The newest audit row, MAC'd with the audit key: deleting rows from the end
-- of the chain (which leaves a shorter but consistent chain) then shows,
-- because the head still names the row that was removed.
CREATE TABLE audit_head (
    one     BIGINT PRIMARY KEY CHECK (one = 1),
    last_id BIGINT NOT NULL,
    hash    BYTEA    NOT NULL,
    mac     BYTEA    NOT NULL
);
