"""Department feedback that could not apply, listed for the liaison office to act on.

Each refusal (``inbound.apply_department_feedback``, by AMQP or HTTP or from a web
department's page) is kept in the transaction that parks it on ``zd.feedback.rejected``
and announces ``feedback.rejected``: with its reason, what the feedback said, and, when
its dispatch is known, the ticket and district. An office sees those of its district's
tickets and, for feedback that names no known dispatch, those of the departments serving
its district; it marks one handled once it has acted on it.
"""
from services.common.errors import NotFound
from services.common.local_directory import current_directory
from services.common.messaging import storable
from services.routing import store
from services.routing.use_cases.replies import who


def record(conn, department, body, dispatch_id, ticket, reason):
    """Keep the refusal of ``department``'s feedback ``body`` (a dict, {} when it could not
    be read) naming ``dispatch_id`` (None when it names none that can be read), whose
    ticket row is ``ticket`` (None when the dispatch is unknown), for ``reason``."""
    said = {field: _text(body.get(field)) for field in ("status", "note", "result")}
    return store.record_rejected_feedback(conn, {
        "department": storable(department), **said, "reason": storable(reason),
        "dispatch_id": dispatch_id, "ticket_id": ticket["ticket_id"] if ticket else None,
        "district": ticket["district"] if ticket else None})


def _text(value):
    """A text field of the feedback as it can be stored; None when it is not text."""
    return storable(value) if isinstance(value, str) else None


def serving(directory, district):
    """The departments of the directory that serve ``district`` (or the whole city)."""
    return [code for code, department in directory["departments"].items()
            if district in department["districts"] or "*" in department["districts"]]


def list_for(conn, district, include_handled=False):
    """The feedback refused for the district's tickets, and refused feedback of no known
    ticket from the departments serving it; newest first (at most 500): rows of
    ``rejected_feedback`` (``id, at, department, dispatch_id, ticket_id, district, status,
    note, result, reason, handled_at, handled_by``)."""
    return store.rejected_feedback(conn, district, serving(current_directory(conn), district),
                                   include_handled)


def mark_handled(conn, district, rejected_id, person):
    """The office of ``district`` has acted on the refused feedback ``rejected_id``
    (``person``: a ``step.Person``, or the party as text); returns it. NotFound when the
    district's list has no such entry not yet handled."""
    handled = store.mark_rejected_feedback_handled(
        conn, rejected_id, district, serving(current_directory(conn), district), who(person))
    if handled is None:
        raise NotFound("No such refused feedback to handle in this district.")
    return handled
