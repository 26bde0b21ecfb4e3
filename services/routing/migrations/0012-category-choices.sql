-- What the keywords chose for a concern that came without a category, and each change
-- of category the liaison office made when it dispatched, as data: the category report
-- (GET /api/v1/category-report) reads these, never the timeline's notes. What happened
-- before this migration is read once from those notes ("drainage (confidence 0.83): ..."
-- or "no category: ..." of `categorise`, "none → water-supply" of `recategorise`).
CREATE TABLE keyword_categories (
    ticket_id text PRIMARY KEY REFERENCES tickets (ticket_id),
    category text,  -- NULL: the keywords chose none
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX keyword_categories_at ON keyword_categories (at);

CREATE TABLE recategorisations (
    id bigserial PRIMARY KEY,
    ticket_id text NOT NULL REFERENCES tickets (ticket_id),
    from_category text,  -- NULL: the ticket had none
    to_category text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recategorisations_at ON recategorisations (at);

INSERT INTO keyword_categories (ticket_id, category, at)
    SELECT DISTINCT ON (ticket_id) ticket_id,
           CASE WHEN note LIKE 'no category%' THEN NULL ELSE split_part(note, ' ', 1) END, at
    FROM timeline WHERE action = 'categorise' AND note IS NOT NULL
    ORDER BY ticket_id, id DESC;
INSERT INTO recategorisations (ticket_id, from_category, to_category, at)
    SELECT ticket_id, nullif(split_part(note, ' → ', 1), 'none'), split_part(note, ' → ', 2), at
    FROM timeline WHERE action = 'recategorise' AND note LIKE '% → %'
    ORDER BY id;
