-- PostgreSQL twin of migrations/sqlite/0009_agents.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Login-screen agents (machine identity). An admin issues a one-time
-- registration token (kept only as an HMAC); an agent registers once with
-- it and its Ed25519 public key, and then signs every API request.
CREATE TABLE agent_tokens (
    token_hash BYTEA    PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE agents (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    public_key    BYTEA    NOT NULL,
    version       TEXT    NOT NULL DEFAULT '',
    registered_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL DEFAULT 0,
    last_ip       TEXT    NOT NULL DEFAULT '',
    revoked_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX agents_name ON agents (name);
