-- Who holds each open ticket and since when, for the overdue report: the status it
-- entered at held_since; the lead department of its active dispatch, with that
-- dispatch's time and due time; the escalations of its timeline so far.
ALTER TABLE report_tickets
    ADD COLUMN held_since timestamptz,
    ADD COLUMN active_department text,
    ADD COLUMN active_dispatched_at timestamptz,
    ADD COLUMN active_due_at timestamptz,
    ADD COLUMN escalations jsonb NOT NULL DEFAULT '[]';
CREATE INDEX report_tickets_open ON report_tickets (district, status)
    WHERE status IN ('assigned', 'forwarded', 'dispatched', 'in_progress');

-- Every event the read model was built from, in the order applied: the read model can
-- be rebuilt from it (python -m services.admin reporting rebuild).
CREATE TABLE event_log (
    id bigserial PRIMARY KEY,
    type text NOT NULL,
    body jsonb NOT NULL,
    logged_at timestamptz NOT NULL DEFAULT now()
);
