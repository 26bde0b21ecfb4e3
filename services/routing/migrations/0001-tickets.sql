-- Tickets, their dispatches to departments, and their timelines.
-- reporter holds {name, phone} only when the reporter asked for feedback: it is
-- passed on to the department of a dispatch and nowhere else.
CREATE TABLE tickets (
    ticket_id text PRIMARY KEY,
    version integer NOT NULL DEFAULT 1,
    status text NOT NULL,
    district text NOT NULL,
    community text,
    channel text NOT NULL,
    category text,
    title text,
    description text NOT NULL,
    location jsonb,
    attachments jsonb NOT NULL DEFAULT '[]',
    reporter jsonb,
    representative_id text,
    submitted_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    status_since timestamptz NOT NULL DEFAULT now(),
    first_dispatched_at timestamptz,
    resolved_at timestamptz,
    result text,
    reopen_count integer NOT NULL DEFAULT 0
);
CREATE INDEX tickets_open_by_representative ON tickets (representative_id)
    WHERE status IN ('received', 'assigned', 'forwarded', 'dispatched', 'in_progress');
CREATE INDEX tickets_district_status ON tickets (district, status);

CREATE TABLE dispatches (
    dispatch_id text PRIMARY KEY,
    ticket_id text NOT NULL REFERENCES tickets (ticket_id),
    department text NOT NULL,
    role text NOT NULL CHECK (role IN ('lead', 'assist')),
    status text NOT NULL DEFAULT 'sent',
    note text,
    dispatched_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    resolved_at timestamptz,
    result text
);
CREATE INDEX dispatches_ticket ON dispatches (ticket_id);

CREATE TABLE timeline (
    id bigserial PRIMARY KEY,
    ticket_id text NOT NULL REFERENCES tickets (ticket_id),
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    from_status text,
    to_status text,
    note text
);
CREATE INDEX timeline_ticket ON timeline (ticket_id, id);
