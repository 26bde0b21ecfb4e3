-- An Open311 request may name no community: the district's liaison office assigns it.
ALTER TABLE concerns ALTER COLUMN community DROP NOT NULL;
