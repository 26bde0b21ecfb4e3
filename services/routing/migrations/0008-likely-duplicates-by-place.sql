-- A new concern with a point reads the open tickets around it through their place; the
-- open tickets without a point, and every open ticket for a concern without one, through
-- pairs of shared words (GIN finds the tickets holding both words of a pair). A common
-- word alone (下水道) may be shared by thousands of a district's open tickets.
CREATE INDEX tickets_open_place ON tickets (district, category, lat, lon)
    WHERE status IN ('received', 'assigned', 'forwarded', 'dispatched', 'in_progress')
      AND lat IS NOT NULL;
CREATE INDEX tickets_open_unplaced_words ON tickets USING gin (district, category, words)
    WHERE status IN ('received', 'assigned', 'forwarded', 'dispatched', 'in_progress')
      AND lat IS NULL;
