-- PostgreSQL twin of migrations/sqlite/0005_audit_genesis.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- The audit log must never be empty once sspr has started: its first record
-- says the chain was created. That record is MAC'd with the audit key, which
-- the store does not hold, so the migration only leaves a note that the
-- record is still to be written; sspr writes it (and clears the note) in the
-- same transaction the next time it starts. A log found empty without this
-- note was wiped.
CREATE TABLE audit_genesis (
    one     BIGINT PRIMARY KEY CHECK (one = 1),
    pending BIGINT NOT NULL
);
INSERT INTO audit_genesis (one, pending) VALUES (1, 1);
