-- A token bucket per API key, shared by every instance of the service (docs/reference.md#parties-and-keys:
-- ZD_RATE_LIMIT holds across instances).
CREATE TABLE rate_buckets (
    key_id text PRIMARY KEY,
    tokens double precision NOT NULL,
    updated_at timestamptz NOT NULL
);
