"""Applying a consumed event: the events every service shares, then the service's own.

``route_event`` is what each service's consumer of ``zd.<service>.events`` calls
inside its inbox transaction (``messaging.handle_once``).
"""
from services.common.credentials import apply_credential_event
from services.common.errors import ParkMessage
from services.common.events import CREDENTIAL_EVENTS, DIRECTORY_PUBLISHED
from services.common.local_directory import apply_directory_event


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
    elif envelope.type in CREDENTIAL_EVENTS:
        apply_credential_event(conn, envelope)
    else:
        return False
    return True
