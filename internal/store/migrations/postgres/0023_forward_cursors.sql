-- PostgreSQL twin of migrations/sqlite/0023_forward_cursors.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer).
-- Forwarding of audit events to webhooks and SIEM collectors (docs/admin.md,
-- "Webhooks and SIEM"): one row per configured sink, saying how far along
-- the audit log it has delivered. The events themselves are the audit rows,
-- committed before anything is sent; a sink that is down keeps its place
-- (after_id) and is tried again at next_attempt_at, so nothing is lost and
-- a delivered event is not sent again. lease_until/lease_owner let one
-- node at a time deliver for a sink.
CREATE TABLE forward_cursors (
    sink            TEXT PRIMARY KEY,
    after_id        BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_at    BIGINT NOT NULL DEFAULT 0,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     BIGINT NOT NULL DEFAULT 0
);
