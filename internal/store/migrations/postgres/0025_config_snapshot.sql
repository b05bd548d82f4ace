-- PostgreSQL twin of migrations/sqlite/0025_config_snapshot.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer).
-- The effective configuration as it was at the last start or reload
-- (config.Snapshot as JSON: secrets only as HMACs), so the next start can
-- record in the audit log what changed while sspr was stopped. One row.
CREATE TABLE config_snapshot (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    taken_at BIGINT NOT NULL,
    data     TEXT NOT NULL
);
