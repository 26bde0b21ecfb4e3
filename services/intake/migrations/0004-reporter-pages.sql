-- The reporter's own page of a concern (docs/reference.md#the-reporters-page): its
-- link's token, kept only as its SHA-256, one per concern; deleted with the reporter's data.
CREATE TABLE page_tokens (
    token_hash text PRIMARY KEY,
    ticket_id text NOT NULL UNIQUE REFERENCES concerns (ticket_id),
    created_at timestamptz NOT NULL DEFAULT now()
);
