-- The reporter's rating of each resolution, once per resolution (docs/reference.md#rate-a-resolution).
CREATE TABLE ratings (
    ticket_id text NOT NULL REFERENCES concerns (ticket_id),
    resolution integer NOT NULL,  -- how many times the ticket had been reopened
    rating text NOT NULL,
    comment text,
    rated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, resolution)
);
