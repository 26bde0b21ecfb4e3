-- Finding the ticket a new concern likely repeats, and the links found.
-- A ticket keeps the significant words of its text (services.common.words) and its
-- point; the open tickets of a district and category are searched by shared words
-- through one GIN index (btree_gin lets it hold the district and category beside the
-- words), so a new concern's candidates are found without reading every open ticket.
-- Tickets received before this migration have no words: they are never candidates.
CREATE EXTENSION IF NOT EXISTS btree_gin;
ALTER TABLE tickets ADD COLUMN words text[] NOT NULL DEFAULT '{}',
                    ADD COLUMN lat double precision,
                    ADD COLUMN lon double precision;
UPDATE tickets SET lat = (location->>'lat')::double precision,
                   lon = (location->>'lon')::double precision
    WHERE location ? 'lat' AND location ? 'lon';
CREATE INDEX tickets_open_words ON tickets USING gin (district, category, words)
    WHERE status IN ('received', 'assigned', 'forwarded', 'dispatched', 'in_progress');

-- ticket_id likely repeats original_id (the ticket it would join), with the score and
-- the words they share; kept after a merge, so both tickets show it.
CREATE TABLE duplicate_links (
    ticket_id text PRIMARY KEY REFERENCES tickets (ticket_id),
    original_id text NOT NULL REFERENCES tickets (ticket_id),
    score real NOT NULL CHECK (score >= 0 AND score <= 1),
    shared_words text[] NOT NULL,
    distance_m real,
    linked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX duplicate_links_original ON duplicate_links (original_id);
