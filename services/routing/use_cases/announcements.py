"""One ``ticket.<change>`` event per ticket and step of the workflow.

A step is what one transaction does to a ticket: a new concern is received, assigned,
forwarded and dispatched at once when the district's policy says so. Each change
writes its timeline entry as it happens; the event goes out once, when the step ends,
with the ticket as the step left it and every change the step made, in order
(``services.common.events.ticket_changed``). So a step costs one snapshot and one
message to each consumer, however many changes it made.

``step(conn)`` opens a step on a connection (a step opened inside another joins it);
``announce`` records a change in the open step, or, outside any step, emits its event
at once. Nothing is emitted when the step raises: its transaction is rolled back too.
"""
import weakref
from contextlib import contextmanager

from services.common import events
from services.common.outbox import emit_events
from services.routing import snapshots, store

#: connection → {ticket_id: Pending} of the step open on it
_OPEN_STEPS = weakref.WeakKeyDictionary()


class Pending:
    """A ticket's changes in the open step, and the ticket as the last one left it."""

    def __init__(self):
        self.directory = None
        self.ticket = None
        self.changes = []


@contextmanager
def step(conn):
    """Announce the changes made inside as one event per ticket when the block ends."""
    if conn in _OPEN_STEPS:  # inside a step already: that one announces
        yield
        return
    pending = _OPEN_STEPS[conn] = {}
    try:
        yield
        for ticket in pending.values():
            _emit(conn, ticket)
    finally:
        del _OPEN_STEPS[conn]


def announce(conn, ticket, directory, change, entry):
    """Record that ``change`` (with its timeline ``entry``) left ``ticket`` as it is now."""
    pending = _OPEN_STEPS.get(conn)
    record = Pending() if pending is None else pending.setdefault(ticket["ticket_id"], Pending())
    record.ticket, record.directory = ticket, directory
    record.changes.append((change, snapshots.timeline_entry(entry)))
    if pending is None:
        _emit(conn, record)


def _emit(conn, pending):
    ticket_id = pending.ticket["ticket_id"]
    snapshot = snapshots.ticket_snapshot(pending.ticket,
                                         *store.dispatches_and_timeline(conn, ticket_id),
                                         pending.directory)
    emit_events(conn, events.ticket_changed(snapshot, pending.changes))
