-- A new concern without a point is compared with the open tickets of its own community
-- (its only place), through pairs of shared words: a district's category may hold
-- thousands of open tickets sharing a pair of common words, a community's a few.
CREATE INDEX tickets_open_community_words ON tickets USING gin (district, community, category, words)
    WHERE status IN ('received', 'assigned', 'forwarded', 'dispatched', 'in_progress');
