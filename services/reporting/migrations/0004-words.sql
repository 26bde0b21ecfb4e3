-- The significant words of each ticket's title and description (space-separated, as
-- services/reporting/topics.py cuts them), kept when the text arrives, so that hot
-- topics read words instead of cutting every text of a window at every request.
ALTER TABLE report_tickets ADD COLUMN words text;
