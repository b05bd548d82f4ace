-- Abuse controls. Kept in the store, not in memory, so limits hold across
-- restarts and across every node that shares the database.
--
-- abuse_events: one row per counted event (a failed verification, a code
-- sent, a reset, an identify request, a used proof-of-work nonce). A sliding
-- window is a COUNT of (kind, key) rows after a point in time. key is never a
-- secret: a case-folded login, an IP address (or IPv6 prefix) as text, or an
-- HMAC of a phone number or mail address, so no contact data is stored here.
-- keep_until is when no window needs the row any more (at + window, or a
-- nonce's expiry); cleanup deletes rows past it.
CREATE TABLE abuse_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    keep_until INTEGER NOT NULL
);
CREATE INDEX abuse_events_window ON abuse_events (kind, key, at);
CREATE INDEX abuse_events_keep_until ON abuse_events (keep_until);

-- abuse_blocks: a subject (kind: user, ip, destination) cut off until a time,
-- with the rule that did it. One row per subject; expired rows are ignored
-- and removed by cleanup, a help-desk unblock deletes the row.
CREATE TABLE abuse_blocks (
    kind       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    until      INTEGER NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX abuse_blocks_until ON abuse_blocks (until);
