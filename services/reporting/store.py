"""SQL of the reporting schema, behind verbs: record what an event tells of a ticket,
tally the tickets of a report window, read the directory if one was loaded.
"""
from dataclasses import asdict

from psycopg import sql

from services.common.errors import Unavailable
from services.common.local_directory import current_directory
from services.reporting import figures
from services.reporting.domain import COLUMNS, TicketFacts, merge

#: what a grouped report groups by; a ticket counts for every department it was sent to
GROUPS = {None: sql.SQL("NULL::text"), "district": sql.Identifier("district"),
          "category": sql.Identifier("category"),
          "representative": sql.Identifier("representative"),
          "department": sql.SQL("unnest(departments)")}


def record(conn, seen: TicketFacts):
    """Merge what one event tells of a ticket into its row.

    The row is created empty, then locked, so two events of one ticket handled at
    the same time merge one after the other instead of overwriting each other.
    """
    conn.execute("INSERT INTO report_tickets (ticket_id) VALUES (%s) ON CONFLICT DO NOTHING",
                 (seen.ticket_id,))
    row = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM report_tickets WHERE ticket_id = %s FOR UPDATE",
        (seen.ticket_id,)).fetchone()
    merged = asdict(merge(_facts(row), seen))
    merged["departments"] = list(merged["departments"])
    assignments = ", ".join(f"{column} = %({column})s"
                            for column in COLUMNS if column != "ticket_id")
    conn.execute(f"UPDATE report_tickets SET {assignments}, updated_at = now()"
                 " WHERE ticket_id = %(ticket_id)s", merged)


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
    return TicketFacts(**{**row, "departments": tuple(row["departments"] or ())})


def record_rating(conn, rated):
    """Keep the rating of one resolution (the first one seen: each is given once)."""
    conn.execute("INSERT INTO ratings (ticket_id, resolution, rating, rated_at)"
                 " VALUES (%(ticket_id)s, %(resolution)s, %(rating)s, %(rated_at)s)"
                 " ON CONFLICT DO NOTHING", rated)
