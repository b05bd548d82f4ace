-- Outbound-only directory connectors (`sspr connector`, docs/connector.md).
-- An admin adds one with `sspr connectors add NAME --directory DIR`: sspr
-- keeps its Ed25519 public key; the connector proves it holds the private
-- key on every connection. A revoked connector (revoked_at > 0) is refused,
-- and its live connection dropped. A name is never reused, so an audit
-- record naming a connector names one key.
CREATE TABLE connectors (
    name         TEXT    PRIMARY KEY,
    directory    TEXT    NOT NULL,
    public_key   BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL DEFAULT 0,
    last_ip      TEXT    NOT NULL DEFAULT '',
    revoked_at   INTEGER NOT NULL DEFAULT 0
);
