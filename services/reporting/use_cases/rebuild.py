"""Rebuilding reporting's read model from its event log (``POST
/api/v1/read-model/rebuild``, which ``python -m services.admin reporting rebuild`` asks for).

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

from services.reporting import domain, store, topics

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

    def apply_all(self, logged):
        """Apply logged events (``{type, body}``) in order; returns the ids of the tickets
        whose facts they changed."""
        return {self.apply(row["type"], row["body"]) for row in logged}


def _here(function, *args):
    return function(*args)


def read_model_rows(tickets):
    """``{ticket_id: row values}`` of ``TicketFacts``, their words cut (CPU alone), for
    ``store.copy_read_model``."""
    return {facts.ticket_id: store.read_model_row(facts, topics.ticket_words(facts.title, facts.description))
            for facts in tickets}


def rebuild(db, work=_here):
    """Replay the event log into a fresh read model and swap it in; returns counts.

    ``db`` gives transactions (the service's ``Database``). ``work(function, *args)``
    runs what is CPU alone (applying a batch of events, cutting the tickets' words):
    the service runs it in an OS thread, so that it goes on answering and consuming
    meanwhile; by default it runs here.
    """
    started = time.monotonic()
    model = ReadModel()
    with db.transaction() as conn:
        high = store.last_logged_event(conn)
        _replay(conn, model, 0, high, work)
    rows = work(read_model_rows, list(model.tickets.values()))  # the words cut before the lock
    with db.transaction() as conn:
        store.lock_read_model(conn)
        locked = time.monotonic()
        caught_up = _replay(conn, model, high, None, work)
        rows.update(work(read_model_rows, [model.tickets[ticket_id] for ticket_id in caught_up]))
        store.replace_read_model(conn, rows, model.ratings.values())
        locked = time.monotonic() - locked
    return Rebuilt(model.events, len(model.tickets), len(model.ratings),
                   round(time.monotonic() - started, 2), round(locked, 2))


def _replay(conn, model, after, up_to, work):
    """Apply the logged events with ids in (after, up_to], in order, a batch at a time;
    returns the ids of the tickets they touched."""
    touched = set()
    while True:
        rows = store.logged_events(conn, after, up_to, BATCH)
        touched |= work(model.apply_all, rows)
        if len(rows) < BATCH:
            return touched - {None}
        after = rows[-1]["id"]
