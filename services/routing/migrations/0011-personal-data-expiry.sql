-- A final ticket's reporter details are anonymised personal_data_days after it became
-- final (status_since); the mark says it was done, so that it is done once.
ALTER TABLE tickets ADD COLUMN personal_data_expired_at timestamptz;
CREATE INDEX tickets_personal_data_due ON tickets (status_since)
    WHERE personal_data_expired_at IS NULL AND status IN ('closed', 'merged', 'rejected');
