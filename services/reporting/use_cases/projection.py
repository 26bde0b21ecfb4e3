"""Turning consumed events into the read model: one row of facts per ticket.

Consumes ``concern.received``, ``concern.rated`` and ``ticket.*`` (and the shared
directory and credential events); emits nothing. ``concern.received`` and ``ticket.*``
may come in any order and more than once; ``domain`` merges their facts so that the
order does not matter, and the words hot topics read of a ticket (``topics``) are cut
again only when its title or description changed. An event whose facts cannot be read
is parked with the reason. Every event applied to the read model is also kept in the
event log, in the same transaction, so that the read model can be rebuilt from it
(``services.reporting.use_cases.rebuild``).
"""
from services.common.errors import ParkMessage
from services.common.event_routing import apply_shared_event
from services.common.events import CONCERN_RATED, CONCERN_RECEIVED, TICKET_PREFIX
from services.reporting import domain, store, topics


def apply_event(conn, envelope):
    """Apply one consumed event (inside its inbox transaction); one that builds the read
    model is logged with it. An event of another type, or one whose facts cannot be
    read, is parked with the reason."""
    if apply_shared_event(conn, envelope):
        return
    if not builds_read_model(envelope.type):
        raise ParkMessage(f"unexpected event type {envelope.type!r}")
    try:
        kind, facts = domain.event_facts(envelope.type, envelope.body)
    except domain.MalformedEvent as reason:
        raise ParkMessage(f"malformed {envelope.type}: {reason}") from reason
    if kind == "rating":
        store.record_rating(conn, facts)  # each resolution's rating, kept once
    else:
        record(conn, facts)
    store.log_event(conn, envelope.type, envelope.body)


def record(conn, seen):
    """Merge what one event tells of a ticket (``TicketFacts``) into its row, locked while
    this transaction lasts: two events of one ticket handled at the same time merge one
    after the other."""
    known, words = store.lock_ticket(conn, seen.ticket_id)
    facts = domain.merge(known, seen)
    if words is None or (facts.title, facts.description) != (known.title, known.description):
        words = topics.ticket_words(facts.title, facts.description)
    store.update_ticket(conn, facts, words)


def builds_read_model(event_type):
    return event_type in (CONCERN_RECEIVED, CONCERN_RATED) or event_type.startswith(TICKET_PREFIX)
