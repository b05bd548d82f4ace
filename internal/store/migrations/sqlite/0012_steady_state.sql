-- Steady state: what sspr keeps shrinks back as fast as traffic adds to it.

-- Ended flows (done or failed) are deleted a few minutes after they end
-- (reset.finished_retention) instead of lingering until they expire. This
-- partial index finds them without scanning the live flows, and costs
-- nothing for flows still in progress.
CREATE INDEX flows_finished ON flows (updated_at) WHERE state IN ('done', 'failed');

-- Audit retention (audit.retention): the oldest rows may be deleted, but
-- only after this marker names the last one deleted — its id and hash, and
-- the cut-off time, MAC'd with the audit key like the chain's head — so the
-- chain still verifies from the marker on. The trigger below lets sspr
-- delete rows up to the marker and nothing after it.
CREATE TABLE audit_retention (
    one       INTEGER PRIMARY KEY CHECK (one = 1),
    last_id   INTEGER NOT NULL,
    hash      BLOB    NOT NULL,
    before_at INTEGER NOT NULL,
    mac       BLOB    NOT NULL
);

DROP TRIGGER audit_no_delete;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN OLD.id > COALESCE((SELECT last_id FROM audit_retention WHERE one = 1), 0)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
