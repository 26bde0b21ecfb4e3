"""One step of the ticket workflow: what one transaction does to tickets, and what it announces.

Each use case opens one step for its entrypoint's transaction (a concern received, a
rating, a department's feedback, an action, a deadline: ``with Step.on(conn, directory)
as step``) and hands it to the rules of ``workflow``, ``actions`` and ``deadlines``. The
step holds all they need beside the ticket and the command:

- ``store``: the port to routing's tables and outbox, ``STORE_PORT``'s functions of
  ``services.routing.store`` and ``OUTBOX_PORT``'s of ``services.common.outbox``, bound
  to the transaction's connection (``StoreOnConnection``; a fake of it in the unit
  tests, tests/unit/routing);
- ``directory``: the directory snapshot the step decides by;
- ``now``: the clock;
- the changes the step made and has not announced yet.

A step taken by a person (a staff member signed in for their party: ``Person``) names
them beside the party on every timeline entry the party's actor string writes
(``NamingThePerson``); the actor stays the party, which is what other services go by.
The step keeps the person (``person``) for a rule that records who acted besides the
timeline (the office's follow-up call). An entry that names its own person (a rating
the office took by phone) keeps it.

Each change writes its timeline entry as it happens and is recorded in the step
(``record``); ``announce`` emits one ``ticket.<change>`` event per ticket, with the
ticket as the step left it and every change the step made to it, in order
(``services.common.events.ticket_changed``), the tickets in the order of their first
change. So a step costs one snapshot and one message to each consumer, however many
changes it made. A step announces when its block ends, and nothing when the block
raises: its transaction is rolled back too.
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable

from services.common import events
from services.common.outbox import emit, emit_events
from services.routing import snapshots, store

#: what the rules use of ``services.routing.store``: each function, its connection bound
STORE_PORT = ("insert_ticket", "find_ticket", "lock_ticket", "lock_merged_into",
              "update_ticket_with_entry", "add_timeline", "duplicate_candidates",
              "link_duplicate", "likely_original", "open_counts", "insert_dispatch", "dispatch",
              "update_dispatch", "withdraw_active_dispatches", "dispatches_and_timeline",
              "dispatch_contact", "current_category_model", "record_category_choice",
              "record_recategorisation", "record_follow_up_call")
#: and of the outbox: the step's messages, published when its transaction commits
OUTBOX_PORT = {"emit": emit, "emit_events": emit_events}


@dataclass(frozen=True)
class Person:
    """A staff member acting for their party (a representative, an office, a department),
    named in the timeline beside it."""
    id: str
    name: str


def clock():
    """Routing's clock: UTC, now."""
    return datetime.now(timezone.utc)


class StoreOnConnection:
    """The port on the database: ``store``'s functions of ``STORE_PORT`` and the outbox's
    of ``OUTBOX_PORT``, each with its first argument, the connection, bound."""

    def __init__(self, conn):
        for name in STORE_PORT:
            setattr(self, name, partial(getattr(store, name), conn))
        for name, function in OUTBOX_PORT.items():
            setattr(self, name, partial(function, conn))


class NamingThePerson:
    """The store port, with the acting person written on the timeline entries of their
    party (``actor``): every other function is the port's own."""

    def __init__(self, port, actor, person):
        self.port, self.actor, self.person = port, actor, person

    def __getattr__(self, name):
        return getattr(self.port, name)

    def _named(self, actor):
        return self.person if actor == self.actor else None

    def add_timeline(self, ticket_id, actor, action, from_status, to_status, note=None,
                     person=None):
        return self.port.add_timeline(ticket_id, actor, action, from_status, to_status, note,
                                      person=person or self._named(actor))

    def update_ticket_with_entry(self, ticket_id, entry, **changes):
        return self.port.update_ticket_with_entry(
            ticket_id, {**entry, "person": entry.get("person") or self._named(entry["actor"])},
            **changes)


class KnowingContacts:
    """The store port, answering the dispatch contacts the step's use case read already
    (``{ticket_id: contact}``) without reading them again: every other function is the
    port's own."""

    def __init__(self, port, contacts):
        self.port, self.contacts = port, contacts

    def __getattr__(self, name):
        return getattr(self.port, name)

    def dispatch_contact(self, ticket_id):
        if ticket_id in self.contacts:
            return self.contacts[ticket_id]
        return self.port.dispatch_contact(ticket_id)


@dataclass
class Pending:
    """A ticket's changes in the step, not announced yet, and the ticket as the last one
    left it."""
    ticket: dict
    changes: list = field(default_factory=list)


@dataclass
class Step:
    """One transaction's work on tickets: what the rules use, and what it will announce."""
    store: Any  # a StoreOnConnection, or a fake of it
    directory: dict
    now: Callable[[], datetime] = clock
    pending: dict = field(default_factory=dict)  # ticket_id → Pending
    person: Person | None = None  # who took the step for its party, when one signed in

    @classmethod
    def on(cls, conn, directory, person=None, party=None, contacts=None):
        """A step in ``conn``'s transaction; taken by ``person`` (a ``Person``) for
        ``party`` (whose ``str`` is the timeline's actor) when one is given; ``contacts``:
        the dispatch contacts (``{ticket_id: contact}``) its use case read already."""
        port = StoreOnConnection(conn)
        return cls.acting(KnowingContacts(port, contacts) if contacts else port, directory,
                          person, party)

    @classmethod
    def acting(cls, port, directory, person=None, party=None, **given):
        """A step on the store ``port`` (``on``'s, or a fake of it)."""
        if person is not None:
            port = NamingThePerson(port, str(party), person)
        return cls(port, directory, person=person, **given)

    def __enter__(self):
        return self

    def __exit__(self, raised, error, traceback):
        if raised is None:
            self.announce()

    def policy(self, district):
        """The district's policy in the step's directory."""
        return self.directory["districts"][district]["policy"]

    def record(self, ticket, change, entry):
        """``change`` (with its timeline ``entry`` as stored) left ``ticket`` as it is now."""
        pending = self.pending.setdefault(ticket["ticket_id"], Pending(ticket))
        pending.ticket = ticket
        pending.changes.append((change, snapshots.timeline_entry(entry)))

    def announce(self):
        """Emit the ``ticket.<change>`` event of every ticket changed since the last
        announcement, its snapshot read now."""
        for ticket_id, pending in self.pending.items():
            snapshot = snapshots.ticket_snapshot(
                pending.ticket, *self.store.dispatches_and_timeline(ticket_id), self.directory)
            self.store.emit_events(events.ticket_changed(snapshot, pending.changes))
        self.pending.clear()
