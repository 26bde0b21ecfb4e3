-- A merged ticket points to the ticket it joined (docs/reference.md#ticket-statuses).
ALTER TABLE tickets ADD COLUMN merged_into text REFERENCES tickets (ticket_id);
UPDATE tickets t SET merged_into = substring(e.note FROM 'merged into ([A-Za-z0-9-]+)')
    FROM timeline e WHERE e.ticket_id = t.ticket_id AND t.status = 'merged' AND e.action = 'merge'
    AND EXISTS (SELECT 1 FROM tickets j WHERE j.ticket_id = substring(e.note FROM 'merged into ([A-Za-z0-9-]+)'));
