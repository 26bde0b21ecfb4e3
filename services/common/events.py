"""The internal events the services exchange on ``zd.events`` (routing key = type).

Every message is JSON, persistent, with a stable ``message_id``; consumers apply each
once (inbox) and must tolerate reordering: ticket events carry ``ticket.version`` and a
projection keeps the highest.

``directory.published`` (admin CLI → all)
    ``{version, published_at, directory}``: the normalized directory snapshot.
``credential.issued`` / ``credential.revoked`` (admin CLI → intake, routing, reporting)
    ``{key_id, party, key_hash}`` / ``{key_id}``.
``concern.received`` (intake → routing, notify, reporting)
    ``{ticket_id, district, community, channel, category, title, description, location,
    attachments, requested_representative, submitted_at, received_at, reporter}``;
    ``reporter`` is ``{name, phone, email}`` only when the reporter asked for feedback,
    otherwise null; reporting never stores it.
``concern.rated`` (intake → routing)
    ``{ticket_id, resolution, rating, comment, rated_at}``: the reporter's rating of
    the ticket's ``resolution``-th resolution (its ``reopen_count`` when resolved).
``ticket.<change>`` (routing → intake, notify, reporting), change one of
    ``TICKET_CHANGES``; ``returned`` is a department handing a ticket back to the
    office, ``feedback``, ``escalated`` and ``overdue`` change no status:
    ``{ticket: TICKET, entry: TIMELINE_ENTRY}`` where TICKET is
    ``{ticket_id, version, status, district, community, category, channel, title,
    representative: {id, name} | null, departments: [DISPATCH], received_at,
    first_dispatched_at, resolved_at, result, reopen_count, rating, timeline:
    [TIMELINE_ENTRY]}`` (``rating`` is ``{rating, comment}`` of the latest resolution or null)
    (``resolved_at`` is the first resolution; a later reopening does not clear it),
    DISPATCH is ``{dispatch_id, department, name, role, status, dispatched_at, due_at,
    resolved_at}`` and TIMELINE_ENTRY is ``{at, actor, action, from_status, to_status, note}``.
"""
from services.common.credentials import apply_credential_event
from services.common.local_directory import apply_directory_event
from services.common.messaging import ParkMessage

DIRECTORY_PUBLISHED = "directory.published"
CREDENTIAL_ISSUED = "credential.issued"
CREDENTIAL_REVOKED = "credential.revoked"
CONCERN_RECEIVED = "concern.received"
CONCERN_RATED = "concern.rated"
TICKET_PREFIX = "ticket."
TICKET_CHANGES = ("assigned", "forwarded", "undecided", "dispatched", "in_progress", "resolved",
                  "closed", "merged", "rejected", "returned", "feedback", "escalated", "overdue")


def ticket_event(change):
    return f"{TICKET_PREFIX}{change}"


def route_event(conn, envelope, handlers):
    """Apply a consumed event: the shared ones here, the others by ``handlers``.

    ``handlers`` maps an event type, or a type prefix such as ``"ticket."``, to a
    function of ``(conn, body)``. An event of another type, or whose body is not a
    JSON object, can never apply: it is parked.
    """
    if apply_shared_event(conn, envelope):
        return
    prefix = envelope.type.partition(".")[0] + "."
    handler = handlers.get(envelope.type) or handlers.get(prefix)
    if handler is None:
        raise ParkMessage(f"unexpected event type {envelope.type!r}")
    if not isinstance(envelope.body, dict):
        raise ParkMessage(f"the body of {envelope.type} is not a JSON object")
    handler(conn, envelope.body)


def apply_shared_event(conn, envelope):
    """Apply the events every service handles alike; False when the type is not one."""
    if envelope.type == DIRECTORY_PUBLISHED:
        apply_directory_event(conn, envelope)
    elif envelope.type in (CREDENTIAL_ISSUED, CREDENTIAL_REVOKED):
        apply_credential_event(conn, envelope)
    else:
        return False
    return True
