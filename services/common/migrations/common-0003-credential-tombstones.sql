-- A revocation may arrive before the issue it revokes: it is kept as a row without
-- party or hash, and the issue that comes later fills it in but stays revoked.
ALTER TABLE credentials ALTER COLUMN party DROP NOT NULL;
ALTER TABLE credentials ALTER COLUMN key_hash DROP NOT NULL;
