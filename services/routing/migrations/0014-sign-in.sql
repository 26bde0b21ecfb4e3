-- Signing in to the workbench: the one-time code a person asked for (hashed, one per
-- person: a new one replaces it; a row is kept for an id the directory does not know as
-- well, so that the answers tell nothing of who exists), the sessions (the token kept as
-- its sha256), and the requests counted against each limit, shared by every routing
-- instance. Rows outlive their use only until the next clean-up.
CREATE TABLE sign_in_codes (
    person_id text PRIMARY KEY,
    code_hash text NOT NULL,
    salt text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0
);
CREATE INDEX sign_in_codes_expiry ON sign_in_codes (expires_at);

CREATE TABLE staff_sessions (
    session_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    csrf_token text NOT NULL,
    person_id text NOT NULL,
    party text NOT NULL,  -- the party the person acted for when signing in
    started_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    client_address text,
    user_agent text
);
CREATE INDEX staff_sessions_person ON staff_sessions (person_id);
CREATE INDEX staff_sessions_last_seen ON staff_sessions (last_seen_at);
CREATE INDEX staff_sessions_started ON staff_sessions (started_at);

CREATE TABLE sign_in_requests (
    bucket text NOT NULL,  -- what is limited: "codes-for:<person>", "codes-from:<address>", ...
    at timestamptz NOT NULL
);
CREATE INDEX sign_in_requests_bucket ON sign_in_requests (bucket, at);
CREATE INDEX sign_in_requests_at ON sign_in_requests (at);
