-- The liaison office's follow-up calls (回访): the rating an office took by phone from a
-- reporter, one per resolution of a ticket (its reopen_count then), by a staff member
-- signed in (person_id, person_name) or by the office's key (person_id the party,
-- congress:<district>). Routing sends it to intake as rating.taken_by_phone; the ticket
-- changes when intake's concern.rated comes back.
CREATE TABLE follow_up_calls (
    ticket_id text NOT NULL REFERENCES tickets (ticket_id),
    resolution integer NOT NULL CHECK (resolution >= 0),
    rating text NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    comment text CHECK (length(comment) <= 2000),
    person_id text NOT NULL,
    person_name text,
    at timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, resolution)
);
