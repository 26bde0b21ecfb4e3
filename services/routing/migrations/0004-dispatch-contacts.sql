-- The reporter's name and phone leave the tickets table for a table of their own that
-- only a department's dispatch message reads; a concern whose reporter asked for
-- feedback waits in held_concerns until its dispatch contact has come.
CREATE TABLE dispatch_contacts (
    ticket_id text PRIMARY KEY,
    name text,
    phone text,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE held_concerns (
    ticket_id text PRIMARY KEY,
    concern jsonb NOT NULL,
    held_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE tickets ADD COLUMN feedback_requested boolean NOT NULL DEFAULT false;
INSERT INTO dispatch_contacts (ticket_id, name, phone)
    SELECT ticket_id, reporter ->> 'name', reporter ->> 'phone' FROM tickets
    WHERE reporter IS NOT NULL AND jsonb_typeof(reporter) = 'object';
UPDATE tickets SET feedback_requested = true WHERE reporter IS NOT NULL AND reporter <> 'null';
ALTER TABLE tickets DROP COLUMN reporter;
