-- What the directory connector asked to keep from identify's lookup for
-- the flow's later steps, on whichever node serves them (AD: the password
-- policy in force and when it was read, which Samba constructs at about a
-- millisecond a search). Opaque to everything but the connector; '' when
-- it asked for nothing.
ALTER TABLE flows ADD COLUMN directory_note TEXT NOT NULL DEFAULT '';
