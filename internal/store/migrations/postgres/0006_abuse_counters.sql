-- PostgreSQL twin of migrations/sqlite/0006_abuse_counters.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Abuse counters per time bucket instead of one row per event.
--
-- With a row per event, every window check counted all of a key's rows, so
-- its cost grew with traffic (300,000 identify rows behind one proxy made
-- each check four times slower) and rows piled up by the million a day.
-- Now a window is the sum of at most 13 bucket rows of (kind, key): a
-- bucket spans a twelfth of the rule's window, and an event adds one to the
-- bucket it falls in.
--
-- abuse_events is dropped, not converted: its rows were short-lived counts
-- (an hour, a day at most), so an upgrade forgets the counts of the last
-- hour or day; blocks (abuse_blocks) are kept. Used proof-of-work nonces
-- ('pow_nonce' rows) move to abuse_nonces, so a nonce spent just before the
-- upgrade cannot be replayed after it.
CREATE TABLE abuse_counters (
    kind         TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    bucket_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    -- keep_until is when no window needs the bucket any more (its end plus
    -- the rule's window); cleanup deletes rows past it.
    keep_until   BIGINT NOT NULL,
    PRIMARY KEY (kind, key, bucket_start)
);
CREATE INDEX abuse_counters_keep_until ON abuse_counters (keep_until);

-- abuse_nonces: single-use values (proof-of-work nonces) remembered until
-- they expire.
CREATE TABLE abuse_nonces (
    kind       TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    keep_until BIGINT NOT NULL,
    PRIMARY KEY (kind, nonce)
);
CREATE INDEX abuse_nonces_keep_until ON abuse_nonces (keep_until);

INSERT INTO abuse_nonces (kind, nonce, keep_until)
    SELECT kind, key, MAX(keep_until) FROM abuse_events WHERE kind = 'pow_nonce' GROUP BY kind, key;

DROP TABLE abuse_events;
