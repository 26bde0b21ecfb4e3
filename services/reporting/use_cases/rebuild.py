"""Rebuilding reporting's read model from its event log
(``python -m services.admin reporting rebuild``).

Every event the read model was built from is in ``event_log``, in the order it was
applied. The rebuild replays them with the consumer's own rules (``domain``) into a
fresh model in memory while the service keeps consuming, then, holding the tables
against writes, replays what arrived meanwhile and swaps the fresh rows in within one
transaction: reports read the old model until the commit and the new one after, and
the consumer waits for the lock, then goes on. The figures come out the same, since
the rules are order- and duplicate-proof; a rebuild is how a fix to those rules, or a
new column, reaches the tickets already counted.
"""
import time
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

from services.reporting import domain, store

BATCH = 5000  # events fetched at a time


@dataclass(frozen=True)
class Rebuilt:
    events: int
    tickets: int
    ratings: int
    seconds: float
    locked_seconds: float  # how long the consumer waited: the catch-up and the swap


class ReadModel:
    """A read model in memory: the tickets' facts and the ratings, as the consumer
    would have stored them."""

    def __init__(self):
        self.tickets = {}
        self.ratings = {}
        self.events = 0

    def apply(self, event_type, body):
        """Apply one event; returns the id of the ticket whose facts it changed, if any."""
        self.events += 1
        kind, seen = domain.event_facts(event_type, body)
        if kind == "rating":
            self.ratings.setdefault((seen["ticket_id"], seen["resolution"]), seen)
            return None
        known = self.tickets.get(seen.ticket_id) or domain.TicketFacts(seen.ticket_id)
        self.tickets[seen.ticket_id] = domain.merge(known, seen)
        return seen.ticket_id


def rebuild(database_url):
    """Replay the event log into a fresh read model and swap it in; returns counts."""
    started = time.monotonic()
    model = ReadModel()
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True,
                         options="-c search_path=reporting") as conn:
        high = conn.execute("SELECT coalesce(max(id), 0) AS id FROM event_log").fetchone()["id"]
        _replay(conn, model, 0, high)
        rows = store.read_model_rows(model.tickets.values())  # the words cut before the lock
        with conn.transaction():
            conn.execute("LOCK TABLE report_tickets, ratings, event_log IN EXCLUSIVE MODE")
            locked = time.monotonic()
            caught_up = _replay(conn, model, high, None)
            rows.update(store.read_model_rows(model.tickets[ticket_id] for ticket_id in caught_up))
            conn.execute("DELETE FROM report_tickets")
            conn.execute("DELETE FROM ratings")
            store.copy_read_model(conn, rows, model.ratings.values())
            locked = time.monotonic() - locked
    return Rebuilt(model.events, len(model.tickets), len(model.ratings),
                   round(time.monotonic() - started, 2), round(locked, 2))


def _replay(conn, model, after, up_to):
    """Apply the logged events with ids in (after, up_to], in order, a batch at a time;
    returns the ids of the tickets they touched."""
    touched = set()
    while True:
        rows = conn.execute(
            "SELECT id, type, body FROM event_log WHERE id > %s AND (%s::bigint IS NULL OR id <= %s)"
            " ORDER BY id LIMIT %s", (after, up_to, up_to, BATCH)).fetchall()
        for row in rows:
            touched.add(model.apply(row["type"], row["body"]))
        if len(rows) < BATCH:
            return touched - {None}
        after = rows[-1]["id"]
