-- PostgreSQL twin of migrations/sqlite/0013_connectors.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Outbound-only directory connectors (`sspr connector`, docs/connector.md).
-- An admin adds one with `sspr connectors add NAME --directory DIR`: sspr
-- keeps its Ed25519 public key; the connector proves it holds the private
-- key on every connection. A revoked connector (revoked_at > 0) is refused,
-- and its live connection dropped. A name is never reused, so an audit
-- record naming a connector names one key.
CREATE TABLE connectors (
    name         TEXT    PRIMARY KEY,
    directory    TEXT    NOT NULL,
    public_key   BYTEA    NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL DEFAULT 0,
    last_ip      TEXT    NOT NULL DEFAULT '',
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
