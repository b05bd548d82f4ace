-- PostgreSQL twin of migrations/sqlite/0015_flow_policy.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Policies by population (docs/policies.md): a recovery flow records the
-- policy chosen once its first factor is verified, so every later step
-- applies the same one.
ALTER TABLE flows ADD COLUMN policy TEXT NOT NULL DEFAULT '';
