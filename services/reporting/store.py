"""SQL of the reporting schema, behind verbs: lock and update a ticket's row of facts,
keep ratings and the event log, tally the tickets of a report window, find the overdue
tickets, read the directory if one was loaded, hold the read model for a rebuild's swap
(the rebuild's own SQL is ``rebuild_store``'s). Runs SQL and returns rows (as ``TicketFacts`` where they
are a ticket's facts): merging what an event tells is the projection's
(``use_cases.projection``).
"""
from dataclasses import asdict

from psycopg import sql
from psycopg.types.json import Jsonb

from services.common.errors import Unavailable
from services.common.local_directory import current_directory
from services.reporting import figures
from services.reporting.domain import COLUMNS, TicketFacts

#: what a grouped report groups by; a ticket counts for every department it was sent to
GROUPS = {None: sql.SQL("NULL::text"), "district": sql.Identifier("district"),
          "category": sql.Identifier("category"),
          "representative": sql.Identifier("representative"),
          "department": sql.SQL("unnest(departments)")}


def lock_ticket(conn, ticket_id):
    """``(TicketFacts, words)`` of a ticket's row, locked until the transaction ends (an
    empty row created first when it is new), so that two events of one ticket handled at
    the same time merge one after the other instead of overwriting each other."""
    row = _locked_row(conn, ticket_id)
    if row is None:
        conn.execute("INSERT INTO report_tickets (ticket_id) VALUES (%s) ON CONFLICT DO NOTHING",
                     (ticket_id,))
        row = _locked_row(conn, ticket_id)
    words = row.pop("words")
    return facts_of(row), words


def update_ticket(conn, facts, words):
    """Write a ticket's facts and its words (``topics.ticket_words``) into its row."""
    assignments = ", ".join(f"{column} = %({column})s"
                            for column in COLUMNS if column != "ticket_id")
    conn.execute(f"UPDATE report_tickets SET {assignments}, words = %(words)s, updated_at = now()"
                 " WHERE ticket_id = %(ticket_id)s", {**_row(facts), "words": words})


def lock_tickets(conn, ticket_ids):
    """``{ticket_id: (TicketFacts, words)}`` of those tickets' rows (empty rows made for the
    new ones), locked until the transaction ends, in the order of their ids, so that
    batches in parallel lock one after the other; one round trip."""
    ordered = sorted(ticket_ids)
    with conn.pipeline():
        conn.execute("INSERT INTO report_tickets (ticket_id) SELECT unnest(%s::text[])"
                     " ON CONFLICT DO NOTHING", (ordered,))
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)}, words FROM report_tickets"
                            " WHERE ticket_id = ANY(%s) ORDER BY ticket_id FOR UPDATE", (ordered,)).fetchall()
    return {row["ticket_id"]: (facts_of({column: row[column] for column in COLUMNS}), row["words"])
            for row in rows}


def update_tickets(conn, changed):
    """Write each ticket's facts and words (``[(TicketFacts, words)]``) into its row."""
    assignments = ", ".join(f"{column} = %({column})s" for column in COLUMNS if column != "ticket_id")
    conn.cursor().executemany(
        f"UPDATE report_tickets SET {assignments}, words = %(words)s, updated_at = now()"
        " WHERE ticket_id = %(ticket_id)s", [{**_row(facts), "words": words} for facts, words in changed])


def keep_ratings_and_log(conn, ratings, logged):
    """Keep ``ratings`` (``record_rating``'s) and log ``logged`` events (``[(type, body)]``),
    in that order, in one round trip."""
    with conn.pipeline():
        if ratings:
            conn.cursor().executemany(RECORD_RATING, ratings)
        if logged:
            conn.execute("INSERT INTO event_log (type, body) SELECT type, body"
                         " FROM unnest(%s::text[], %s::jsonb[]) WITH ORDINALITY AS e(type, body, n)"
                         " ORDER BY n",
                         ([event_type for event_type, _ in logged], [Jsonb(body) for _, body in logged]))


def _locked_row(conn, ticket_id):
    return conn.execute(
        f"SELECT {', '.join(COLUMNS)}, words FROM report_tickets WHERE ticket_id = %s FOR UPDATE",
        (ticket_id,)).fetchone()


def find_ticket(conn, ticket_id):
    row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM report_tickets WHERE ticket_id = %s",
                       (ticket_id,)).fetchone()
    return facts_of(row) if row else None


def tallies(conn, district, window, group=None):
    """``{group value: figures.Tally}`` of the tickets received in ``window``;
    the one key is None when the report is not grouped."""
    params = {"district": district, "start": window.start, "end": window.end,
              **figures.SQL_PARAMETERS}
    window_tickets = sql.SQL(figures.WINDOW_TICKETS).format(group=GROUPS[group])
    statuses = {}
    for row in conn.execute(sql.SQL(figures.STATUS_SQL).format(window_tickets=window_tickets),
                            params):
        statuses.setdefault(row["report_group"], {})[row["status"]] = row["tickets"]
    rows = conn.execute(sql.SQL(figures.TALLY_SQL).format(window_tickets=window_tickets), params)
    return {row["report_group"]: figures.tally_of(row, statuses.get(row["report_group"], {}))
            for row in rows}


def directory_or_none(conn):
    """The directory snapshot, or None when none was loaded yet (reports still answer)."""
    try:
        return current_directory(conn)
    except Unavailable:
        return None


def facts_of(row):
    """A ``TicketFacts`` of a row of ``report_tickets``."""
    return TicketFacts(**{**row, "departments": tuple(row["departments"] or ()),
                          "escalations": tuple(row["escalations"] or ())})


def _row(facts):
    """A ``TicketFacts`` as the parameters of its row."""
    row = asdict(facts)
    return {**row, "departments": list(row["departments"]), "escalations": Jsonb(list(row["escalations"]))}


RECORD_RATING = ("INSERT INTO ratings (ticket_id, resolution, rating, rated_at)"
                 " VALUES (%(ticket_id)s, %(resolution)s, %(rating)s, %(rated_at)s) ON CONFLICT DO NOTHING")


def record_rating(conn, rated):
    """Keep the rating of one resolution (the first one seen: each is given once)."""
    conn.execute(RECORD_RATING, rated)


#: the working microseconds of a day ``d`` (a row of ``working_days``) before the local
#: time ``{local}``
WORKED_THAT_DAY = ("(extract(epoch FROM least(greatest({local}, d.opens), d.closes) - d.opens)"
                   " * 1000000)::bigint")
#: who holds each open ticket, since when, how many working microseconds they have
#: (none: a department, held to its dispatch's due time), and the moment counted from
HELD = """SELECT t.ticket_id, t.district, t.community, t.category, t.title, t.status,
    t.representative, t.active_department, t.escalations, h.zone, h.first_day, h.as_of_worked,
    CASE WHEN t.status IN ('assigned', 'forwarded') THEN t.held_since ELSE t.active_dispatched_at END
      AS held_since,
    CASE t.status WHEN 'assigned' THEN h.representative_wait WHEN 'forwarded' THEN h.office_wait END
      AS wait,
    CASE WHEN t.status IN ('assigned', 'forwarded') THEN t.held_since ELSE t.active_due_at END
      AS counted_from
  FROM report_tickets t JOIN holders h USING (district)
  WHERE t.status IN ('assigned', 'forwarded', 'dispatched', 'in_progress')
    AND (%(district)s::text IS NULL OR t.district = %(district)s)
    AND (%(department)s::text IS NULL
         OR (t.status IN ('dispatched', 'in_progress') AND t.active_department = %(department)s))"""
OVERDUE_SQL = f"""WITH holders AS MATERIALIZED (
  SELECT w.*, c.zone, c.first_day,
    d.worked_before + {WORKED_THAT_DAY.format(local="(%(as_of)s::timestamptz AT TIME ZONE c.zone)")}
      AS as_of_worked
  FROM unnest(%(codes)s::text[], %(representative_wait)s::bigint[], %(office_wait)s::bigint[])
    AS w(district, representative_wait, office_wait)
  JOIN working_calendars c USING (district)
  JOIN working_days d ON d.district = w.district
    AND d.day = (%(as_of)s::timestamptz AT TIME ZONE c.zone)::date
), held AS ({HELD}
), counted AS (
  SELECT h.*, d.worked_before + {WORKED_THAT_DAY.format(local="(h.counted_from AT TIME ZONE h.zone)")}
      + coalesce(h.wait, 0) AS due_worked
  FROM held h LEFT JOIN working_days d ON d.district = h.district
    AND d.day = (h.counted_from AT TIME ZONE h.zone)::date
), due AS (
  SELECT counted.*, CASE WHEN wait IS NULL THEN counted_from ELSE (
      SELECT (d.opens + (due_worked - d.worked_before) * interval '1 microsecond') AT TIME ZONE zone
      FROM working_days d WHERE d.district = counted.district AND d.worked_after >= due_worked
        AND d.closes > d.opens
      ORDER BY d.worked_after LIMIT 1) END AS due_at
  FROM counted
)
SELECT ticket_id, district, community, category, title, status, representative,
  active_department, escalations, held_since, due_at, as_of_worked - due_worked AS late_worked,
  (counted_from AT TIME ZONE zone)::date < first_day AS before_kept_days, counted_from
FROM due WHERE due_at < %(as_of)s OR (counted_from AT TIME ZONE zone)::date < first_day
ORDER BY late_worked DESC, ticket_id"""


def overdue_tickets(conn, district, department, as_of, waits):
    """The open tickets overdue at ``as_of``, the latest first, with their due time and
    how late they are in working microseconds (``late_worked``), counted on the kept
    working days (``working_calendars``) of the districts of ``waits`` (``{district:
    (representative's, office's working microseconds)}``): held by a representative or
    an office for longer than their district gives them, or by a department past its
    due time; ``department`` keeps only those that department holds. A row whose
    ``before_kept_days`` is true was counted from a moment before its district's kept
    days: cover them, and ask again."""
    codes = list(waits)
    conn.execute("SET LOCAL jit = off")  # compiling the lookups costs seconds and saves milliseconds
    return conn.execute(OVERDUE_SQL, {
        "codes": codes, "representative_wait": [waits[code][0] for code in codes],
        "office_wait": [waits[code][1] for code in codes], "district": district,
        "department": department, "as_of": as_of}).fetchall()


def daily_counts(conn, district, start, end, timezone):
    """``{day: {"received", "dispatched", "resolved"}}``: tickets received, first
    dispatched and first resolved on each local day in [start, end)."""
    counts = {}
    for what, column in (("received", "received_at"), ("dispatched", "first_dispatched_at"),
                         ("resolved", "first_resolved_at")):
        moment = sql.Identifier(column)
        rows = conn.execute(sql.SQL(
            "SELECT ({moment} AT TIME ZONE %(zone)s)::date AS day, count(*) AS tickets"
            " FROM report_tickets WHERE {moment} >= %(start)s AND {moment} < %(end)s"
            " AND (%(district)s::text IS NULL OR district = %(district)s) GROUP BY 1"
        ).format(moment=moment), {"zone": timezone, "start": start, "end": end,
                                  "district": district})
        for row in rows:
            counts.setdefault(row["day"], {})[what] = row["tickets"]
    return counts


def topic_tickets(conn, district, start, end):
    """What hot topics read of the tickets received in [start, end)."""
    return conn.execute(
        "SELECT ticket_id, category, community, concat_ws(' ', title, description) AS text,"
        " status, received_at, words FROM report_tickets"
        " WHERE received_at >= %(start)s AND received_at < %(end)s"
        " AND (%(district)s::text IS NULL OR district = %(district)s)",
        {"district": district, "start": start, "end": end}).fetchall()


def log_event(conn, event_type, body):
    conn.execute("INSERT INTO event_log (type, body) VALUES (%s, %s)", (event_type, Jsonb(body)))


def last_logged_event(conn):
    """The id of the last event logged (0: none)."""
    return conn.execute("SELECT coalesce(max(id), 0) AS id FROM event_log").fetchone()["id"]


def lock_read_model(conn):
    """Hold the read model and its log against writes until the transaction ends: the
    consumer waits."""
    conn.execute("LOCK TABLE report_tickets, ratings, event_log IN EXCLUSIVE MODE")


def read_model_row(facts, words):
    """The values of a ticket's row, in ``copy_read_model``'s order: its facts, then its words."""
    row = _row(facts)
    return [*(row[column] for column in COLUMNS), words]


def copy_read_model(conn, rows, ratings):
    """Write a whole read model (``read_model_row`` values and rating dicts) with COPY."""
    with conn.cursor().copy(f"COPY report_tickets ({', '.join(COLUMNS)}, words) FROM STDIN") as copy:
        for values in rows:
            copy.write_row(values)
    with conn.cursor().copy("COPY ratings (ticket_id, resolution, rating, rated_at) FROM STDIN") as copy:
        for rated in ratings:
            copy.write_row([rated["ticket_id"], rated["resolution"], rated["rating"], rated["rated_at"]])
