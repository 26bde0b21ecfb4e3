"""The reporter's rating of a resolution (docs/reference.md#rate-a-resolution): only of a resolved
ticket, or of
one merged into a ticket that was resolved (it carries that result), once per
resolution. Stored with its ``concern.rated`` event; routing acts on it (satisfied
closes, unsatisfied reopens) and reporting counts it."""
from datetime import datetime, timezone

from services.common import events
from services.common.errors import Conflict, NotFound
from services.common.outbox import emit_events
from services.intake import store


def rate(conn, caller, ticket_id, rating):
    """``(http status, answer body)``; NotFound or Conflict when it cannot be rated."""
    concern = store.find_concern(conn, ticket_id)
    if concern is None or concern["district"] != caller.party.scope:
        raise NotFound(f"No concern {ticket_id} in your district.")
    ticket = concern["view"] or {}
    status = ticket.get("status", "received")
    if status != "resolved" and not (status == "merged" and ticket.get("result") is not None):
        raise Conflict(f"Only a resolved ticket can be rated; this one is {status}.",
                       status_now=status)
    resolution = ticket.get("reopen_count", 0)
    rated_at = datetime.now(timezone.utc)
    if not store.insert_rating(conn, ticket_id, resolution, rating["rating"], rating["comment"],
                               rated_at):
        raise Conflict("This resolution has been rated already.")
    emit_events(conn, events.concern_rated(ticket_id, resolution, rating["rating"],
                                           rating["comment"], rated_at))
    return 202, {"ticket_id": ticket_id, "rating": rating["rating"], "resolution": resolution}
