-- Who asked to erase a reporter's details, when, and for which ticket: the audit of each
-- erasure request (the services anonymise on the personal_data.expired it announces).
CREATE TABLE erasure_requests (
    id bigserial PRIMARY KEY,
    ticket_id text NOT NULL,
    requested_by text NOT NULL,
    reason text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    message_id text NOT NULL UNIQUE
);
CREATE INDEX erasure_requests_ticket ON erasure_requests (ticket_id);
