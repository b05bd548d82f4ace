-- Policies by population (docs/policies.md): a recovery flow records the
-- policy chosen once its first factor is verified, so every later step
-- applies the same one.
ALTER TABLE flows ADD COLUMN policy TEXT NOT NULL DEFAULT '';
