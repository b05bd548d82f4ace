-- PostgreSQL twin of migrations/sqlite/0024_notice_windows.sql: the same schema change, in
-- PostgreSQL types (BIGINT for every integer).
-- Notices that go out at most once per window per account (docs/admin.md,
-- "Notifications"): repeated failed verifications (an alert once a
-- threshold is reached) and refusals by the abuse controls (a notice on
-- the first one), so an attacker hammering an account cannot flood its
-- owner's or the admins' mailboxes. A window starts with its first
-- occurrence; rows go once their window has ended.
CREATE TABLE notice_windows (
    kind       TEXT    NOT NULL,
    account    TEXT    NOT NULL,
    window_end BIGINT NOT NULL,
    count      BIGINT NOT NULL,
    notified   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, account)
);
CREATE INDEX notice_windows_end ON notice_windows (window_end);
