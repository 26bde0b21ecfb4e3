-- What the workbench's pages need of routing: the person who acted for a party (a
-- staff member signed in) beside the party in the timeline; notes the office and the
-- ticket's representative and departments keep for themselves (never in an event);
-- replies a district's staff save for notes and results; and each department feedback
-- that could not apply, for the office to act on (it is parked on zd.feedback.rejected
-- too).
ALTER TABLE timeline ADD COLUMN person_id text, ADD COLUMN person_name text;

CREATE TABLE internal_notes (
    note_id bigserial PRIMARY KEY,
    ticket_id text NOT NULL REFERENCES tickets (ticket_id),
    at timestamptz NOT NULL DEFAULT now(),
    party text NOT NULL,
    person_id text,
    person_name text,
    text text NOT NULL CHECK (length(text) BETWEEN 1 AND 2000)
);
CREATE INDEX internal_notes_ticket ON internal_notes (ticket_id, note_id);

CREATE TABLE saved_replies (
    reply_id bigserial PRIMARY KEY,
    district text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('note', 'result')),
    title text NOT NULL,
    text text NOT NULL,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saved_replies_district ON saved_replies (district, kind, title);

CREATE TABLE rejected_feedback (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    department text NOT NULL,
    dispatch_id text,  -- NULL: the feedback named none that could be read
    ticket_id text,  -- NULL: no such dispatch
    district text,
    status text,
    note text,
    result text,
    reason text NOT NULL,
    handled_at timestamptz,
    handled_by text
);
CREATE INDEX rejected_feedback_open_by_district ON rejected_feedback (district, at)
    WHERE handled_at IS NULL;
CREATE INDEX rejected_feedback_open_by_department ON rejected_feedback (department, at)
    WHERE handled_at IS NULL;
