-- The reporter's rating of the latest resolution.
ALTER TABLE tickets ADD COLUMN rating text;
ALTER TABLE tickets ADD COLUMN rating_comment text;
