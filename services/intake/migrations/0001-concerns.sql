-- Concerns as the front-ends posted them (reporter contacts stay in this schema),
-- and intake's view of each ticket, kept from routing's ticket events.
CREATE TABLE concerns (
    ticket_id text PRIMARY KEY,
    key_id text NOT NULL,
    external_id text NOT NULL,
    fingerprint text NOT NULL,
    district text NOT NULL,
    community text NOT NULL,
    channel text NOT NULL,
    category text,
    title text,
    description text NOT NULL,
    location jsonb,
    attachments jsonb NOT NULL DEFAULT '[]',
    reporter jsonb,
    requested_representative text,
    submitted_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (key_id, external_id)
);

CREATE TABLE ticket_views (
    ticket_id text PRIMARY KEY REFERENCES concerns (ticket_id),
    version integer NOT NULL,
    ticket jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
