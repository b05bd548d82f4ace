-- PostgreSQL twin of migrations/sqlite/0007_outbox_claims.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Who holds a message's delivery lease: the node (configured, default the
-- host name) and the process instance (random per start). At start-up a node
-- takes back at once the claims an earlier instance of itself left behind
-- when it died, instead of waiting out the lease.
ALTER TABLE outbox ADD COLUMN claim_node TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claim_instance TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_claimed ON outbox (claim_node) WHERE claim_instance <> '';
-- The janitor removes sent rows and purges failed ones by age, in batches.
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_failed_at ON outbox (failed_at) WHERE failed_at IS NOT NULL;
