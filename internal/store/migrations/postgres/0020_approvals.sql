-- PostgreSQL twin of migrations/sqlite/0020_approvals.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Manager approval (docs/factors.md): spent approval tokens, so a link
-- works once whichever node serves it; and each request sent to a
-- manager (who asks, for what, when and from where: what the approval
-- page shows) with the manager's signed decision once made, for the
-- person's flow. Rows go once they expire.
CREATE TABLE approval_used (
    id         TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE TABLE approval_requests (
    request_id   TEXT PRIMARY KEY,
    login        TEXT NOT NULL,
    name         TEXT NOT NULL,
    action       TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    decision     TEXT NOT NULL DEFAULT '',
    expires_at   BIGINT NOT NULL
);
