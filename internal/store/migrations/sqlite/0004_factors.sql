-- Multi-factor verification. Flows are short-lived (minutes), so the table
-- is rebuilt rather than altered: flows in progress during the upgrade
-- start again.
DROP TABLE flows;
CREATE TABLE flows (
    token_hash           BLOB PRIMARY KEY,
    kind                 TEXT    NOT NULL,
    state                TEXT    NOT NULL,
    directory            TEXT    NOT NULL DEFAULT '',
    subject_dn           TEXT    NOT NULL DEFAULT '',
    login                TEXT    NOT NULL DEFAULT '',
    display_name         TEXT    NOT NULL DEFAULT '',
    language             TEXT    NOT NULL DEFAULT '',
    known                INTEGER NOT NULL DEFAULT 0,
    privileged           INTEGER NOT NULL DEFAULT 0,
    -- factors: the kinds verified so far, comma-separated, in order.
    factors_done         TEXT    NOT NULL DEFAULT '',
    factors_required     INTEGER NOT NULL DEFAULT 1,
    -- The challenge outstanding: its factor kind, the enrollment it
    -- targets, and the factor's state, sealed (encrypted and bound to this
    -- flow) because it may hold a code's MAC or a WebAuthn session.
    challenge_kind       TEXT    NOT NULL DEFAULT '',
    challenge_enrollment TEXT    NOT NULL DEFAULT '',
    challenge_state      BLOB,
    challenge_expires_at INTEGER NOT NULL DEFAULT 0,
    challenges_sent      INTEGER NOT NULL DEFAULT 0,
    attempts             INTEGER NOT NULL DEFAULT 0,
    password_attempts    INTEGER NOT NULL DEFAULT 0,
    client_ip            TEXT    NOT NULL DEFAULT '',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    version              INTEGER NOT NULL DEFAULT 0
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
    secret       BLOB    NOT NULL,
    source       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX enrollments_subject ON enrollments (directory, subject_dn);

-- Sessions of the enrollment portal (signed in with the directory password
-- and, once the person has one, an enrolled factor).
CREATE TABLE sessions (
    token_hash        BLOB PRIMARY KEY,
    directory         TEXT    NOT NULL,
    subject_dn        TEXT    NOT NULL,
    login             TEXT    NOT NULL,
    display_name      TEXT    NOT NULL DEFAULT '',
    language          TEXT    NOT NULL DEFAULT '',
    -- factor_verified_at: when the person last proved an enrolled factor in
    -- this session (0: not yet); changes to factors need a recent one.
    factor_verified_at INTEGER NOT NULL DEFAULT 0,
    -- pending: an enrollment or step-up challenge in progress, sealed.
    pending           BLOB,
    client_ip         TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Messages go out by mail or SMS.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
