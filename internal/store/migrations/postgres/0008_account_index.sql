-- PostgreSQL twin of migrations/sqlite/0008_account_index.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- A password change retires every other flow and enrollment session of the
-- account in the same transaction: find them by account, not by scanning.
CREATE INDEX flows_subject ON flows (directory, subject_dn);
CREATE INDEX sessions_subject ON sessions (directory, subject_dn);
