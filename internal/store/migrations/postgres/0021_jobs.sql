-- PostgreSQL twin of migrations/sqlite/0021_jobs.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer).
-- Scheduled jobs (docs/admin.md "Scheduled jobs"). job_leases holds one
-- row per job: who runs it now and until when (a lease taken atomically,
-- so a job runs once even when several processes share the database; a
-- crashed holder's lease simply runs out), and the schedule slot of the
-- last run that finished. job_sends records each message a job queued,
-- per person and slot, in the same transaction as the outbox row: a run
-- resumed after a crash, or a second runner, skips what was already sent.
CREATE TABLE job_leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL DEFAULT '',
    lease_until  BIGINT NOT NULL DEFAULT 0,
    last_slot    BIGINT NOT NULL DEFAULT 0,
    last_started BIGINT NOT NULL DEFAULT 0,
    last_ended   BIGINT NOT NULL DEFAULT 0,
    last_result  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE job_sends (
    job     TEXT NOT NULL,
    subject TEXT NOT NULL,
    slot    TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (job, subject, slot)
);
CREATE INDEX job_sends_last ON job_sends (job, subject, sent_at);
-- When a person last confirmed in the portal that their enrolled factors
-- are still theirs (reconfirmation campaigns).
CREATE TABLE enrollment_confirmations (
    directory    TEXT NOT NULL,
    subject_dn   TEXT NOT NULL,
    confirmed_at BIGINT NOT NULL,
    PRIMARY KEY (directory, subject_dn)
);
