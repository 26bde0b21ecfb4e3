-- Tables every service schema has: the outbox and inbox of its messages, and its
-- own copies of the directory and of the API credentials (kept from events).
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    message_id text NOT NULL UNIQUE,
    exchange text NOT NULL,
    routing_key text NOT NULL,
    type text NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}',
    body json NOT NULL,  -- json keeps the message exactly as emitted (key order included)
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE inbox (
    message_id text PRIMARY KEY,
    type text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE directory_snapshot (
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version text NOT NULL,
    published_at timestamptz NOT NULL,
    body json NOT NULL  -- json, not jsonb: the directory's order is meaningful
);

CREATE TABLE credentials (
    key_id text PRIMARY KEY,
    party text NOT NULL,
    key_hash text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
