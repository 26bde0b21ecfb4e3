-- The admin CLI's own records; services learn of them through events.
CREATE TABLE api_keys (
    key_id text PRIMARY KEY,
    party text NOT NULL,
    key_hash text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_party ON api_keys (party) WHERE revoked_at IS NULL;

CREATE TABLE amqp_users (
    username text PRIMARY KEY,
    department text NOT NULL,
    vhost text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE directory_loads (
    id bigserial PRIMARY KEY,
    version text NOT NULL,
    sources text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    body jsonb NOT NULL
);
