-- Open tickets per representative, kept by a trigger on every change of a ticket's
-- representative or status, so that assigning a concern reads (and locks) the rows of
-- its station's representatives instead of counting a district's open tickets under a
-- lock of the whole district.
CREATE TABLE representative_load (
    representative_id text PRIMARY KEY,
    open integer NOT NULL DEFAULT 0 CHECK (open >= 0)
);
INSERT INTO representative_load (representative_id, open)
    SELECT representative_id, count(*) FROM tickets
    WHERE representative_id IS NOT NULL
      AND status IN ('received', 'assigned', 'forwarded', 'dispatched', 'in_progress')
    GROUP BY representative_id;

CREATE FUNCTION count_representative_load() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    open_statuses CONSTANT text[] := ARRAY['received', 'assigned', 'forwarded', 'dispatched', 'in_progress'];
    was_counted text;
    is_counted text;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = ANY(open_statuses) THEN
        was_counted := OLD.representative_id;
    END IF;
    IF NEW.status = ANY(open_statuses) THEN
        is_counted := NEW.representative_id;
    END IF;
    IF was_counted IS NOT DISTINCT FROM is_counted THEN
        RETURN NULL;
    END IF;
    IF was_counted IS NOT NULL THEN
        UPDATE representative_load SET open = open - 1 WHERE representative_id = was_counted;
    END IF;
    IF is_counted IS NOT NULL THEN
        INSERT INTO representative_load AS load (representative_id, open) VALUES (is_counted, 1)
            ON CONFLICT (representative_id) DO UPDATE SET open = load.open + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_count_representative_load
    AFTER INSERT OR UPDATE OF representative_id, status ON tickets
    FOR EACH ROW EXECUTE FUNCTION count_representative_load();
