-- PostgreSQL twin of migrations/sqlite/0022_outbox_attachments.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer).
-- Attachments of outbox mail (scheduled reports): a JSON list of
-- {name, content_type, data}, sealed at rest like the subject and bodies,
-- and gone with them once the message is sent.
ALTER TABLE outbox_bodies ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
