-- Crash-safe directory writes. Before a flow writes to the directory, the
-- step that claims it records the intent here (when, by which process, and
-- the account's password-last-set time before the write), and the notices
-- the write will cause are queued held (held_messages; their outbox rows
-- are not due). The step after the write deletes the intent and releases or
-- discards the notices. A process that dies in between leaves the intent;
-- the resolver asks the directory whether the write happened and finishes
-- the flow or hands it back to the person.
CREATE TABLE flow_acts (
    token_hash     BLOB    PRIMARY KEY,
    started_at     INTEGER NOT NULL,
    instance       TEXT    NOT NULL,
    pwd_last_set   INTEGER NOT NULL,
    was_locked     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE held_messages (
    message_id INTEGER PRIMARY KEY,
    token_hash BLOB    NOT NULL
);
CREATE INDEX held_messages_flow ON held_messages (token_hash);
