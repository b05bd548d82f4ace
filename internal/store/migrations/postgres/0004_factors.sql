-- PostgreSQL twin of migrations/sqlite/0004_factors.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer, BYTEA for blobs, identity
-- columns for AUTOINCREMENT, PL/pgSQL functions for triggers).
-- Multi-factor verification. Flows are short-lived (minutes), so the table
-- is rebuilt rather than altered: flows in progress during the upgrade
-- start again.
DROP TABLE flows;
CREATE TABLE flows (
    token_hash           BYTEA PRIMARY KEY,
    kind                 TEXT    NOT NULL,
    state                TEXT    NOT NULL,
    directory            TEXT    NOT NULL DEFAULT '',
    subject_dn           TEXT    NOT NULL DEFAULT '',
    login                TEXT    NOT NULL DEFAULT '',
    display_name         TEXT    NOT NULL DEFAULT '',
    language             TEXT    NOT NULL DEFAULT '',
    known                BIGINT NOT NULL DEFAULT 0,
    privileged           BIGINT NOT NULL DEFAULT 0,
    -- factors: the kinds verified so far, comma-separated, in order.
    factors_done         TEXT    NOT NULL DEFAULT '',
    factors_required     BIGINT NOT NULL DEFAULT 1,
    -- The challenge outstanding: its factor kind, the enrollment it
    -- targets, and the factor's state, sealed (encrypted and bound to this
    -- flow) because it may hold a code's MAC or a WebAuthn session.
    challenge_kind       TEXT    NOT NULL DEFAULT '',
    challenge_enrollment TEXT    NOT NULL DEFAULT '',
    challenge_state      BYTEA,
    challenge_expires_at BIGINT NOT NULL DEFAULT 0,
    challenges_sent      BIGINT NOT NULL DEFAULT 0,
    attempts             BIGINT NOT NULL DEFAULT 0,
    password_attempts    BIGINT NOT NULL DEFAULT 0,
    client_ip            TEXT    NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    version              BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX flows_expires_at ON flows (expires_at);

-- Enrollments: the factors people registered. The secret (a phone number, a
-- TOTP seed, hashed backup codes, a passkey credential) is sealed with the
-- key ring; the label is already masked.
CREATE TABLE enrollments (
    id           TEXT    PRIMARY KEY,
    directory    TEXT    NOT NULL,
    subject_dn   TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    secret       BYTEA    NOT NULL,
    source       TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX enrollments_subject ON enrollments (directory, subject_dn);

-- Sessions of the enrollment portal (signed in with the directory password
-- and, once the person has one, an enrolled factor).
CREATE TABLE sessions (
    token_hash        BYTEA PRIMARY KEY,
    directory         TEXT    NOT NULL,
    subject_dn        TEXT    NOT NULL,
    login             TEXT    NOT NULL,
    display_name      TEXT    NOT NULL DEFAULT '',
    language          TEXT    NOT NULL DEFAULT '',
    -- factor_verified_at: when the person last proved an enrolled factor in
    -- this session (0: not yet); changes to factors need a recent one.
    factor_verified_at BIGINT NOT NULL DEFAULT 0,
    -- pending: an enrollment or step-up challenge in progress, sealed.
    pending           BYTEA,
    client_ip         TEXT    NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    version           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Messages go out by mail or SMS.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
