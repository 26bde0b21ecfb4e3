-- A liaison office is told of department feedback that names no ticket (it could not be
-- read, or its dispatch is unknown): such a notification has no ticket id.
ALTER TABLE notifications ALTER COLUMN ticket_id DROP NOT NULL;
