-- The reporter is reminded once to rate a resolution (deadlines.remind_to_rate):
-- reminded_at marks it, and is cleared whenever the status changes, so that the next
-- resolution after a reopening is reminded again.
ALTER TABLE tickets ADD COLUMN reminded_at timestamptz;
CREATE INDEX tickets_resolved_not_reminded ON tickets (status_since)
    WHERE status = 'resolved' AND reminded_at IS NULL;
