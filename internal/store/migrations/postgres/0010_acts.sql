-- PostgreSQL twin of migrations/sqlite/0010_acts.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Crash-safe directory writes. Before a flow writes to the directory, the
-- step that claims it records the intent here (when, by which process, and
-- the account's password-last-set time before the write), and the notices
-- the write will cause are queued held (held_messages; their outbox rows
-- are not due). The step after the write deletes the intent and releases or
-- discards the notices. A process that dies in between leaves the intent;
-- the resolver asks the directory whether the write happened and finishes
-- the flow or hands it back to the person.
CREATE TABLE flow_acts (
    token_hash     BYTEA    PRIMARY KEY,
    started_at     BIGINT NOT NULL,
    instance       TEXT    NOT NULL,
    pwd_last_set   BIGINT NOT NULL,
    was_locked     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE held_messages (
    message_id BIGINT PRIMARY KEY,
    token_hash BYTEA    NOT NULL
);
CREATE INDEX held_messages_flow ON held_messages (token_hash);
