-- PostgreSQL twin of migrations/sqlite/0017_flow_access.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Conditional access (docs/policies.md): a recovery flow records the rule
-- decided with its first factor, so later steps apply the same one (a
-- required kind of factor).
ALTER TABLE flows ADD COLUMN access TEXT NOT NULL DEFAULT '';
