-- Conditional access (docs/policies.md): a recovery flow records the rule
-- decided with its first factor, so later steps apply the same one (a
-- required kind of factor).
ALTER TABLE flows ADD COLUMN access TEXT NOT NULL DEFAULT '';
