-- Marks that a deadline of the district policy has been acted on, so that each
-- escalation and each overdue notice happens once.
ALTER TABLE tickets ADD COLUMN escalated_at timestamptz;
ALTER TABLE dispatches ADD COLUMN overdue_at timestamptz;
CREATE INDEX tickets_waiting ON tickets (status, status_since)
    WHERE status IN ('assigned', 'forwarded');
CREATE INDEX dispatches_due ON dispatches (due_at)
    WHERE overdue_at IS NULL AND status IN ('sent', 'acknowledged', 'in_progress');
