-- Flows: one row per started reset. The primary key is a SHA-256 of the
-- bearer token handed to the client, so a copy of the database does not let
-- anyone continue somebody else's flow.
CREATE TABLE flows (
    token_hash        BLOB PRIMARY KEY,
    kind              TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    directory         TEXT    NOT NULL DEFAULT '',
    subject_dn        TEXT    NOT NULL DEFAULT '',
    login             TEXT    NOT NULL DEFAULT '',
    display_name      TEXT    NOT NULL DEFAULT '',
    email             TEXT    NOT NULL DEFAULT '',
    language          TEXT    NOT NULL DEFAULT '',
    known             INTEGER NOT NULL DEFAULT 0,
    code_hmac         BLOB,
    code_expires_at   INTEGER NOT NULL DEFAULT 0,
    code_attempts     INTEGER NOT NULL DEFAULT 0,
    codes_sent        INTEGER NOT NULL DEFAULT 0,
    password_attempts INTEGER NOT NULL DEFAULT 0,
    client_ip         TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX flows_expires_at ON flows (expires_at);

-- Outbox: messages written in the same transaction as the step that caused
-- them, delivered later by a worker with retries.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL DEFAULT '',
    message_id      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    sent_at         INTEGER,
    failed_at       INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Audit: append-only and hash-chained; each row's hash covers its content
-- and the previous row's hash, so a changed or deleted row shows.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    flow       TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    subject    TEXT    NOT NULL DEFAULT '',
    directory  TEXT    NOT NULL DEFAULT '',
    client_ip  TEXT    NOT NULL DEFAULT '',
    outcome    TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
