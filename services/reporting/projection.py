"""Turning consumed events into the read model: one row of facts per ticket.

``concern.received`` and ``ticket.*`` may come in any order and more than once;
``domain`` merges their facts so that the order does not matter. An event whose
facts cannot be read is parked with the reason. Every event applied to the read
model is also kept in the event log, in the same transaction, so that the read
model can be rebuilt from it (``services.reporting.rebuild``).
"""
from services.common.event_routing import route_event
from services.common.events import CONCERN_RATED, CONCERN_RECEIVED, TICKET_PREFIX
from services.common.messaging import ParkMessage
from services.reporting import domain, store


def apply_event(conn, envelope):
    """Apply one consumed event (inside its inbox transaction) and log it when it
    built the read model."""
    route_event(conn, envelope, HANDLERS)
    if builds_read_model(envelope.type):
        store.log_event(conn, envelope.type, envelope.body)


def builds_read_model(event_type):
    return event_type in (CONCERN_RECEIVED, CONCERN_RATED) or event_type.startswith(TICKET_PREFIX)


def record_concern(conn, body):
    _record(conn, "concern.received", lambda: domain.concern_facts(body))


def record_ticket(conn, body):
    _record(conn, "ticket event", lambda: domain.ticket_facts(body.get("ticket"), body.get("entry")))


def _record(conn, what, read_facts):
    try:
        facts = read_facts()
    except domain.MalformedEvent as reason:
        raise ParkMessage(f"malformed {what}: {reason}") from reason
    store.record(conn, facts)


def record_rating(conn, body):
    """One rating of one resolution (``concern.rated``), kept once."""
    try:
        rated = domain.rating_facts(body)
    except domain.MalformedEvent as reason:
        raise ParkMessage(f"malformed concern.rated: {reason}") from reason
    store.record_rating(conn, rated)


HANDLERS = {CONCERN_RECEIVED: record_concern, CONCERN_RATED: record_rating,
            TICKET_PREFIX: record_ticket}
