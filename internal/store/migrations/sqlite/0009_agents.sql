-- Login-screen agents (machine identity). An admin issues a one-time
-- registration token (kept only as an HMAC); an agent registers once with
-- it and its Ed25519 public key, and then signs every API request.
CREATE TABLE agent_tokens (
    token_hash BLOB    PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE agents (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    public_key    BLOB    NOT NULL,
    version       TEXT    NOT NULL DEFAULT '',
    registered_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL DEFAULT 0,
    last_ip       TEXT    NOT NULL DEFAULT '',
    revoked_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX agents_name ON agents (name);
