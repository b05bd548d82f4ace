-- The newest audit row, MAC'd with the audit key: deleting rows from the end
-- of the chain (which leaves a shorter but consistent chain) then shows,
-- because the head still names the row that was removed.
CREATE TABLE audit_head (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    last_id INTEGER NOT NULL,
    hash    BLOB    NOT NULL,
    mac     BLOB    NOT NULL
);
