"""Rebuilding reporting's read model from its event log (``POST
/api/v1/read-model/rebuild``, which ``python -m services.admin reporting rebuild`` asks for).

Every event the read model was built from is in ``event_log``, in the order it was
applied. The rebuild replays them with the consumer's own rules (``domain``) into a
fresh model in tables of its own (``rebuild_store``) while the service keeps consuming,
then, holding the tables against writes, replays what arrived meanwhile and swaps the
fresh rows in within one transaction: reports read the old model until the commit and
the new one after, and the consumer waits for the lock, then goes on. The figures come
out the same, since the rules are order- and duplicate-proof; a rebuild is how a fix to
those rules, or a new column, reaches the tickets already counted.

The log is read sorted by ticket through a server-side cursor and each ticket is
written as soon as its last event is read, so the rebuild holds a batch of events and
of tickets at a time: its memory does not grow with the number of tickets.
"""
import time
from dataclasses import dataclass

from services.reporting import domain, rebuild_store, store, topics

BATCH = 1000  # events fetched at a time: a thousand ticket snapshots are some 10 MB in memory
TICKETS_AT_ONCE = 1000  # tickets whose words are cut and written at a time


@dataclass(frozen=True)
class Rebuilt:
    events: int
    tickets: int
    ratings: int
    seconds: float
    locked_seconds: float  # how long the consumer waited: the catch-up and the swap


class TicketReplay:
    """Events sorted by ticket, folded into each ticket's facts as the consumer would
    have stored them; a ticket is done when the next one's events begin."""

    def __init__(self, known=None):
        self.known = known or {}  # facts to start from, by ticket (the catch-up's)
        self.ticket = None
        self.facts = None
        self.events = 0
        self.done = []  # TicketFacts of the tickets whose events were all read
        self.ratings = {}

    def apply_all(self, logged):
        """Apply logged events (``{ticket, type, body}``), sorted by ticket."""
        for row in logged:
            if row["ticket"] != self.ticket:
                self.finish()
                self.ticket = row["ticket"]
            self.events += 1
            kind, seen = domain.event_facts(row["type"], row["body"])
            if kind == "rating":
                self.ratings.setdefault((seen["ticket_id"], seen["resolution"]), seen)
                continue
            known = self.facts or self.known.get(seen.ticket_id) or domain.TicketFacts(seen.ticket_id)
            self.facts = domain.merge(known, seen)
        return self

    def finish(self):
        """The ticket being read is done."""
        if self.facts is not None:
            self.done.append(self.facts)
        self.facts = None

    def take(self):
        """``(tickets, ratings)`` done since the last take."""
        done, ratings = self.done, list(self.ratings.values())
        self.done, self.ratings = [], {}
        return done, ratings


def _here(function, *args):
    return function(*args)


def read_model_rows(tickets):
    """Row values of ``TicketFacts`` (``store.read_model_row``), their words cut (CPU
    alone)."""
    return [store.read_model_row(facts, topics.ticket_words(facts.title, facts.description))
            for facts in tickets]


def rebuild(db, work=_here):
    """Replay the event log into a fresh read model and swap it in; returns counts.

    ``db`` gives transactions (the service's ``Database``); the first pass holds two of
    its connections at once, one reading the log and one writing the fresh model. ``work(function, *args)``
    runs what is CPU alone (applying a batch of events, cutting the tickets' words):
    the service runs it in an OS thread, so that it goes on answering and consuming
    meanwhile; by default it runs here.
    """
    started = time.monotonic()
    fresh = rebuild_store.Fresh.named()
    try:
        with db.transaction() as conn:
            rebuild_store.create(conn, fresh)
        with db.transaction() as reading, db.transaction() as writing:
            high = store.last_logged_event(reading)
            replayed = _replay(reading, writing, fresh, high, work)
        with db.transaction() as conn:
            store.lock_read_model(conn)
            locked = time.monotonic()
            caught_up = _catch_up(conn, fresh, high, work)
            tickets, ratings = rebuild_store.swap_in(conn, fresh)
            rebuild_store.drop(conn, fresh)
            locked = time.monotonic() - locked
    except BaseException:
        with db.transaction() as conn:
            rebuild_store.drop(conn, fresh)
        raise
    return Rebuilt(replayed + caught_up, tickets, ratings,
                   round(time.monotonic() - started, 2), round(locked, 2))


def _replay(reading, writing, fresh, high, work):
    """The logged events up to ``high`` into the fresh model, ticket by ticket; returns
    how many."""
    replay = TicketReplay()
    for logged in rebuild_store.events_by_ticket(reading, high, BATCH):
        work(replay.apply_all, logged)
        if len(replay.done) >= TICKETS_AT_ONCE:
            _write(writing, fresh, replay, work)
    replay.finish()
    _write(writing, fresh, replay, work)
    return replay.events


def _catch_up(conn, fresh, high, work):
    """The events logged after ``high`` into the fresh model, over the facts it has of
    their tickets; returns how many."""
    events = 0
    for logged in rebuild_store.events_after(conn, high, BATCH):
        logged = sorted(logged, key=lambda row: (row["ticket"], row["id"]))
        replay = TicketReplay(rebuild_store.fresh_facts(conn, fresh, {row["ticket"] for row in logged}))
        work(replay.apply_all, logged)
        replay.finish()
        _write(conn, fresh, replay, work, replacing=True)
        events += replay.events
    return events


def _write(conn, fresh, replay, work, replacing=False):
    tickets, ratings = replay.take()
    rebuild_store.write(conn, fresh, work(read_model_rows, tickets), ratings, replacing)
