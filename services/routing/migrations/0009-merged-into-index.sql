-- The tickets merged into one are read when it is resolved: they follow it.
CREATE INDEX tickets_merged_into ON tickets (merged_into) WHERE merged_into IS NOT NULL;
