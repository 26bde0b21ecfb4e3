"""Turning consumed events into the read model: one row of facts per ticket.

Consumes ``concern.received``, ``concern.rated`` and ``ticket.*`` (and the shared
directory and credential events); emits nothing. ``concern.received`` and ``ticket.*``
may come in any order and more than once; ``domain`` merges their facts so that the
order does not matter, and the words hot topics read of a ticket (``topics``) are cut
again only when its title or description changed. An event whose facts cannot be read
is parked with the reason. Every event applied to the read model is also kept in the
event log, in the same transaction, so that the read model can be rebuilt from it
(``services.reporting.use_cases.rebuild``).

A batch of events is applied at once (``apply_events``): its tickets' rows locked in one
statement, their facts merged in memory, written back, its ratings kept and its events
logged in one round trip; an event handled alone is ``apply_event``'s.
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
    kind, facts = read_facts(envelope)
    if kind == "rating":
        store.record_rating(conn, facts)  # each resolution's rating, kept once
    else:
        record(conn, facts)
    store.log_event(conn, envelope.type, envelope.body)


def apply_events(conn, envelopes):
    """Apply a batch's events (new ones, inside their inbox transaction) as ``apply_event``
    applies each, with a few statements for the whole batch. An event that must be parked
    raises ParkMessage: the batch is then handled event by event."""
    logged, ratings, seen = [], [], []
    for envelope in envelopes:
        if apply_shared_event(conn, envelope):
            continue
        kind, facts = read_facts(envelope)
        (ratings if kind == "rating" else seen).append(facts)
        logged.append((envelope.type, envelope.body))
    if seen:
        known = store.lock_tickets(conn, {facts.ticket_id for facts in seen})
        merged = {}
        for facts in seen:
            merged[facts.ticket_id] = domain.merge(merged.get(facts.ticket_id) or known[facts.ticket_id][0],
                                                   facts)
        store.update_tickets(conn, [(facts, _words(known[ticket_id], facts))
                                    for ticket_id, facts in sorted(merged.items())])
    store.keep_ratings_and_log(conn, ratings, logged)


def read_facts(envelope):
    """``domain.event_facts`` of a read-model event; ParkMessage for any other, or one
    whose facts cannot be read."""
    if not builds_read_model(envelope.type):
        raise ParkMessage(f"unexpected event type {envelope.type!r}")
    try:
        return domain.event_facts(envelope.type, envelope.body)
    except domain.MalformedEvent as reason:
        raise ParkMessage(f"malformed {envelope.type}: {reason}") from reason


def _words(known, facts):
    """The words of a ticket's merged ``facts``: those kept, unless its text changed."""
    known_facts, words = known
    if words is None or (facts.title, facts.description) != (known_facts.title, known_facts.description):
        return topics.ticket_words(facts.title, facts.description)
    return words


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
