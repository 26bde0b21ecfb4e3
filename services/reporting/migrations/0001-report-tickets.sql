-- Reporting's read model: one row per ticket, merged from concern.received and the
-- ticket.* events whatever their order (see services/reporting/domain.py, merge).
-- Reporter contact details are never stored here.
CREATE TABLE report_tickets (
    ticket_id text PRIMARY KEY,
    version integer NOT NULL DEFAULT -1,          -- newest ticket version seen; concern = 0
    status text NOT NULL DEFAULT 'received',
    district text,
    community text,
    category text,
    channel text,
    representative text,                          -- representative id
    departments text[] NOT NULL DEFAULT '{}',     -- department codes, in dispatch order
    title text,
    description text,                             -- from concern.received, for hot topics
    received_at timestamptz,
    dispatched boolean NOT NULL DEFAULT false,    -- dispatched to a department at least once
    first_dispatched_at timestamptz,
    first_resolved_at timestamptz,                -- the first time the ticket was resolved
    lead_due_at timestamptz,                      -- due_at of the lead dispatch at that time
    rating text,                                  -- the newest rating given, if any
    rating_version integer,                       -- the ticket version that carried it
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_tickets_received ON report_tickets (received_at);
CREATE INDEX report_tickets_district_received ON report_tickets (district, received_at);
