-- The learned category models routing trained when the admin asked (category-model
-- train): routing scores with the newest not retired, and with none the keywords alone
-- decide. uploaded_at and uploaded_by: when it was stored, and who asked for it. body is the model as data (services.routing.learning.model).
CREATE TABLE category_models (
    version serial PRIMARY KEY,
    trained_at timestamptz NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    uploaded_by text NOT NULL,
    examples integer NOT NULL,
    body jsonb NOT NULL,
    retired_at timestamptz
);
CREATE INDEX category_models_in_use ON category_models (version) WHERE retired_at IS NULL;

-- What chose a ticket's first category: keyword_categories.category is the category
-- chosen (NULL: none), decided_by says by what (keywords, model, or keywords and model;
-- NULL: nothing decided), and with a model its version and its best category, chosen
-- or not, so that the category report counts the model's confusions. The rows before
-- have no decided_by (the keywords chose them all): no UPDATE rewrites a table of a row a
-- ticket under its lock.
ALTER TABLE keyword_categories ADD COLUMN decided_by text;
ALTER TABLE keyword_categories ADD COLUMN model_version integer;
ALTER TABLE keyword_categories ADD COLUMN model_category text;
