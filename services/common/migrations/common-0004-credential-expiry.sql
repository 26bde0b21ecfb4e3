-- The services refuse a key after its expiry (announced with its issue or rotation).
ALTER TABLE credentials ADD COLUMN expires_at timestamptz;
