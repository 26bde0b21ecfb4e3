-- A key may expire: when issued with a lifetime, or when rotated (the old key keeps
-- working for a grace period, then expires).
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
