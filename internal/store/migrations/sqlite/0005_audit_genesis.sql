-- The audit log must never be empty once sspr has started: its first record
-- says the chain was created. That record is MAC'd with the audit key, which
-- the store does not hold, so the migration only leaves a note that the
-- record is still to be written; sspr writes it (and clears the note) in the
-- same transaction the next time it starts. A log found empty without this
-- note was wiped.
CREATE TABLE audit_genesis (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    pending INTEGER NOT NULL
);
INSERT INTO audit_genesis (one, pending) VALUES (1, 1);
