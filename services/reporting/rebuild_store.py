"""SQL of the read model's rebuild (``use_cases.rebuild``): the event log read ticket by
ticket through a server-side cursor, a fresh read model written into tables of its own
(unlogged, named for the one rebuild, dropped after it), then swapped in.

The log is read sorted by ticket, so that the rebuild holds one ticket's events at a
time, never the whole model: PostgreSQL sorts it (on disk when it must), and the
rebuild's memory stays the same at a million tickets as at a thousand.
"""
import secrets
from dataclasses import dataclass

from psycopg import sql

from services.reporting import store
from services.reporting.domain import COLUMNS

#: the ticket an event of the log is about: ``ticket.*`` carry the ticket, the others its id
TICKET_OF_EVENT = "coalesce(body #>> '{ticket,ticket_id}', body ->> 'ticket_id')"
TICKET_COLUMNS = sql.SQL(", ").join(sql.Identifier(column) for column in (*COLUMNS, "words"))
RATING_COLUMNS = sql.SQL("ticket_id, resolution, rating, rated_at")
#: memory PostgreSQL may sort the log in before it spills to disk
SORT_MEMORY = "64MB"


@dataclass(frozen=True)
class Fresh:
    """The tables a rebuild writes its fresh read model into."""
    tickets: sql.Identifier
    ratings: sql.Identifier

    @classmethod
    def named(cls):
        run = secrets.token_hex(4)
        return cls(sql.Identifier(f"rebuilt_tickets_{run}"), sql.Identifier(f"rebuilt_ratings_{run}"))


def create(conn, fresh):
    conn.execute(sql.SQL("CREATE UNLOGGED TABLE {} (LIKE report_tickets INCLUDING DEFAULTS,"
                         " PRIMARY KEY (ticket_id))").format(fresh.tickets))
    conn.execute(sql.SQL("CREATE UNLOGGED TABLE {} (LIKE ratings INCLUDING DEFAULTS,"
                         " PRIMARY KEY (ticket_id, resolution))").format(fresh.ratings))


def drop(conn, fresh):
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(fresh.tickets, fresh.ratings))


def events_by_ticket(conn, up_to, batch):
    """Lists of at most ``batch`` logged events ``{ticket, type, body}`` with ids up to
    ``up_to``, sorted by ticket, then in the order applied; read through a server-side
    cursor, so that only one list is in memory at a time."""
    conn.execute(sql.SQL("SET LOCAL work_mem = {}").format(sql.Literal(SORT_MEMORY)))
    with conn.cursor(name="event_log_by_ticket") as cursor:
        cursor.execute(f"SELECT {TICKET_OF_EVENT} AS ticket, type, body FROM event_log"
                       f" WHERE id <= %s ORDER BY 1, id", (up_to,))
        while rows := cursor.fetchmany(batch):
            yield rows


def events_after(conn, after, batch):
    """Lists of the logged events ``{id, ticket, type, body}`` after ``after``, in the order applied."""
    while rows := conn.execute(f"SELECT id, {TICKET_OF_EVENT} AS ticket, type, body FROM event_log"
                               " WHERE id > %s ORDER BY id LIMIT %s", (after, batch)).fetchall():
        yield rows
        after = rows[-1]["id"]


def write(conn, fresh, rows, ratings, replacing=False):
    """Add ticket rows (``store.read_model_row``) and ratings to the fresh read model;
    ``replacing``: a ticket row already there is replaced. A rating already there is kept."""
    if rows and replacing:
        conn.execute(sql.SQL("DELETE FROM {} WHERE ticket_id = ANY(%s)").format(fresh.tickets),
                     ([row[0] for row in rows],))
    if rows:
        with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                fresh.tickets, TICKET_COLUMNS)) as copy:
            for row in rows:
                copy.write_row(row)
    if ratings:
        conn.cursor().executemany(sql.SQL(
            "INSERT INTO {} ({}) VALUES (%(ticket_id)s, %(resolution)s, %(rating)s, %(rated_at)s)"
            " ON CONFLICT DO NOTHING").format(fresh.ratings, RATING_COLUMNS), ratings)


def fresh_facts(conn, fresh, ticket_ids):
    """``{ticket_id: TicketFacts}`` of those tickets in the fresh read model."""
    rows = conn.execute(sql.SQL("SELECT {} FROM {} WHERE ticket_id = ANY(%s)").format(
        sql.SQL(", ").join(sql.Identifier(column) for column in COLUMNS), fresh.tickets),
        (list(ticket_ids),)).fetchall()
    return {row["ticket_id"]: store.facts_of(row) for row in rows}


def swap_in(conn, fresh):
    """The read model replaced by the fresh one (inside the caller's transaction: reports
    read the old one until it commits); returns the counts of tickets and ratings."""
    conn.execute("DELETE FROM report_tickets")
    conn.execute("DELETE FROM ratings")
    tickets = conn.execute(sql.SQL("INSERT INTO report_tickets ({columns}) SELECT {columns} FROM {}").format(
        fresh.tickets, columns=TICKET_COLUMNS)).rowcount
    ratings = conn.execute(sql.SQL("INSERT INTO ratings ({columns}) SELECT {columns} FROM {}").format(
        fresh.ratings, columns=RATING_COLUMNS)).rowcount
    return tickets, ratings
