-- PostgreSQL twin of migrations/sqlite/0011_admin.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Admin console sessions. A session is opened by the directory password and
-- becomes usable only once a second factor (TOTP or passkey) is verified
-- (verified_at > 0). last_seen_at drives the idle timeout. The token is
-- kept only as a hash; the pending factor challenge is sealed by the flow.
CREATE TABLE admin_sessions (
    token_hash   BYTEA    PRIMARY KEY,
    directory    TEXT    NOT NULL,
    subject_dn   TEXT    NOT NULL,
    login        TEXT    NOT NULL,
    display_name TEXT    NOT NULL DEFAULT '',
    roles        TEXT    NOT NULL DEFAULT '',
    client_ip    TEXT    NOT NULL DEFAULT '',
    pending      BYTEA,
    verified_at  BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- The audit viewer and activity reports filter by time and event.
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_event_at ON audit (event, at);
