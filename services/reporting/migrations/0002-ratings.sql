-- Every rating given, one per resolution (from concern.rated): satisfaction counts
-- each of them, not only a ticket's newest.
CREATE TABLE ratings (
    ticket_id text NOT NULL,
    resolution integer NOT NULL,
    rating text NOT NULL,
    rated_at timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, resolution)
);
