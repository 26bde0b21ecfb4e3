"""SQL of the reporting schema, behind verbs: lock and update a ticket's row of facts,
keep ratings and the event log, tally the tickets of a report window, read the
directory if one was loaded, read the event log and replace the read model with one
rebuilt from it. Runs SQL and returns rows (as ``TicketFacts`` where they
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
    return _facts(row), words


def update_ticket(conn, facts, words):
    """Write a ticket's facts and its words (``topics.ticket_words``) into its row."""
    assignments = ", ".join(f"{column} = %({column})s"
                            for column in COLUMNS if column != "ticket_id")
    conn.execute(f"UPDATE report_tickets SET {assignments}, words = %(words)s, updated_at = now()"
                 " WHERE ticket_id = %(ticket_id)s", {**_row(facts), "words": words})


def _locked_row(conn, ticket_id):
    return conn.execute(
        f"SELECT {', '.join(COLUMNS)}, words FROM report_tickets WHERE ticket_id = %s FOR UPDATE",
        (ticket_id,)).fetchone()


def find_ticket(conn, ticket_id):
    row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM report_tickets WHERE ticket_id = %s",
                       (ticket_id,)).fetchone()
    return _facts(row) if row else None


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


def _facts(row):
    return TicketFacts(**{**row, "departments": tuple(row["departments"] or ()),
                          "escalations": tuple(row["escalations"] or ())})


def _row(facts):
    """A ``TicketFacts`` as the parameters of its row."""
    row = asdict(facts)
    return {**row, "departments": list(row["departments"]), "escalations": Jsonb(list(row["escalations"]))}


def record_rating(conn, rated):
    """Keep the rating of one resolution (the first one seen: each is given once)."""
    conn.execute("INSERT INTO ratings (ticket_id, resolution, rating, rated_at)"
                 " VALUES (%(ticket_id)s, %(resolution)s, %(rating)s, %(rated_at)s)"
                 " ON CONFLICT DO NOTHING", rated)


def overdue_candidates(conn, district, department, as_of, cutoffs):
    """``TicketFacts`` of the open tickets that may be overdue at ``as_of``: held by a
    representative or an office since their district's cutoff (``{district: (rep,
    office)}``) or before, or by a department past its due time; ``department`` keeps
    only those that department holds."""
    codes = list(cutoffs)
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM report_tickets t"
        " LEFT JOIN unnest(%(codes)s::text[], %(rep)s::timestamptz[], %(office)s::timestamptz[])"
        "   AS c(district, rep_cutoff, office_cutoff) USING (district)"
        " WHERE status IN ('assigned', 'forwarded', 'dispatched', 'in_progress')"
        " AND (%(district)s::text IS NULL OR t.district = %(district)s)"
        " AND (CASE status WHEN 'assigned' THEN held_since <= rep_cutoff"
        "                  WHEN 'forwarded' THEN held_since <= office_cutoff"
        "                  ELSE active_due_at < %(as_of)s END)"
        " AND (%(department)s::text IS NULL"
        "      OR (status IN ('dispatched', 'in_progress') AND active_department = %(department)s))",
        {"codes": codes, "rep": [cutoffs[code][0] for code in codes],
         "office": [cutoffs[code][1] for code in codes], "district": district,
         "department": department, "as_of": as_of}).fetchall()
    return [_facts(row) for row in rows]


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


def logged_events(conn, after, up_to, limit):
    """``[{id, type, body}]``: the logged events with ids in (``after``, ``up_to``]
    (``up_to`` None: all after), in the order applied, at most ``limit``."""
    return conn.execute(
        "SELECT id, type, body FROM event_log WHERE id > %s AND (%s::bigint IS NULL OR id <= %s)"
        " ORDER BY id LIMIT %s", (after, up_to, up_to, limit)).fetchall()


def lock_read_model(conn):
    """Hold the read model and its log against writes until the transaction ends: the
    consumer waits."""
    conn.execute("LOCK TABLE report_tickets, ratings, event_log IN EXCLUSIVE MODE")


def read_model_row(facts, words):
    """The values of a ticket's row, in ``copy_read_model``'s order: its facts, then its words."""
    row = _row(facts)
    return [*(row[column] for column in COLUMNS), words]


def replace_read_model(conn, rows, ratings):
    """The read model's rows and ratings replaced by ``rows`` and ``ratings`` (as ``copy_read_model``)."""
    conn.execute("DELETE FROM report_tickets")
    conn.execute("DELETE FROM ratings")
    copy_read_model(conn, rows, ratings)


def copy_read_model(conn, rows, ratings):
    """Write a whole read model (``{ticket_id: read_model_row}`` and rating dicts) with COPY."""
    with conn.cursor().copy(f"COPY report_tickets ({', '.join(COLUMNS)}, words) FROM STDIN") as copy:
        for values in rows.values():
            copy.write_row(values)
    with conn.cursor().copy("COPY ratings (ticket_id, resolution, rating, rated_at) FROM STDIN") as copy:
        for rated in ratings:
            copy.write_row([rated["ticket_id"], rated["resolution"], rated["rating"], rated["rated_at"]])
