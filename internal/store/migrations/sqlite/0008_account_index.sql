-- A password change retires every other flow and enrollment session of the
-- account in the same transaction: find them by account, not by scanning.
CREATE INDEX flows_subject ON flows (directory, subject_dn);
CREATE INDEX sessions_subject ON sessions (directory, subject_dn);
