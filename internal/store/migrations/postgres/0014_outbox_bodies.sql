-- PostgreSQL twin of migrations/sqlite/0014_outbox_bodies.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- A message's subject and bodies live in a table of their own, deleted the
-- moment the message is sent (or given up and purged). Before, they were
-- erased in place inside the outbox row; SQLite gives the space a row
-- shrinks by back only when the whole row goes, and outbox rows are kept
-- for mail.outbox.sent_retention, so a sent row kept ~1.7 KB of file for
-- ~250 B of data (183 MB of holes after the 30-minute soak). Deleted body
-- rows free whole pages, which the next messages reuse.
CREATE TABLE outbox_bodies (
    id        BIGINT PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    subject   TEXT    NOT NULL,
    text_body TEXT    NOT NULL,
    html_body TEXT    NOT NULL DEFAULT ''
);

INSERT INTO outbox_bodies (id, subject, text_body, html_body)
    SELECT id, subject, text_body, html_body FROM outbox
    WHERE subject <> '' OR text_body <> '' OR html_body <> '';

ALTER TABLE outbox DROP COLUMN subject;
ALTER TABLE outbox DROP COLUMN text_body;
ALTER TABLE outbox DROP COLUMN html_body;

-- Codes before notices: a person waits for a code at the screen, nobody
-- waits for a "your password was changed" notice. Workers claim urgent
-- messages first (each kind in the order it became due).
ALTER TABLE outbox ADD COLUMN urgent BIGINT NOT NULL DEFAULT 0;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (urgent DESC, next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
