"""Accepting a concern once per front-end id (docs/reference.md#post-a-concern).

The first post of an ``external_id`` by a key stores the concern with its events
(202): ``concern.received``, and the reporter's contact for notify
(``reporter.contact``) and for routing (``reporter.dispatch_contact``). A reporter who
asked for feedback gets their own page of the concern (``reporter_page``): its token
travels only in ``reporter.contact``, and only its hash is stored in the page's table;
the event's outbox row keeps it with the rest of the contact, as the original a parked
copy in notify is replayed from, until the reporter is anonymised or the row is old. The same body
again answers 200 with the same ticket and its current status; another body under the
same id is a conflict (409).
"""
from datetime import datetime, timezone

from services.common import events
from services.common.errors import Conflict
from services.common.outbox import emit_events
from services.intake import domain, store

ID_DRAWS = 5  # a day's ids have 32 random bits: a second draw is already rare


def accept(conn, caller, concern, fingerprint):
    """``(http status, answer body)`` for a checked concern, inside ``conn``'s transaction."""
    now = datetime.now(timezone.utc)
    row = {**concern, "key_id": caller.key_id, "fingerprint": fingerprint, "received_at": now,
           "submitted_at": concern.get("submitted_at") or now,
           "attachments": concern.get("attachments") or []}
    if _insert_with_a_free_id(conn, row, now):
        _announce(conn, row)
        return 202, _answer(row["ticket_id"], "received", now)
    earlier = store.find_by_external_id(conn, caller.key_id, concern["external_id"])
    if earlier["fingerprint"] != fingerprint:
        raise Conflict("This external_id was used for a different concern.",
                       ticket_id=earlier["ticket_id"])
    return 200, _answer(earlier["ticket_id"], earlier["status"] or "received",
                        earlier["received_at"])


def _insert_with_a_free_id(conn, row, now):
    """Store the concern under a ticket id no other concern has (``row`` gets it)."""
    for draw in range(ID_DRAWS):
        row["ticket_id"] = domain.new_ticket_id(now)
        try:
            return store.insert_concern(conn, row)
        except store.TicketIdTaken:
            if draw == ID_DRAWS - 1:
                raise


def _announce(conn, concern):
    """The events of a new concern, in its transaction. The reporter's contact goes only to
    notify (all of it, with their page's token) and to routing (name and phone, for the
    department's dispatch)."""
    ticket_id, reporter = concern["ticket_id"], concern.get("reporter")
    token = _page_token(conn, ticket_id) if events.wants_feedback(reporter) else None
    emit_events(conn, events.reporter_contact(ticket_id, reporter, token),
                events.dispatch_contact(ticket_id, reporter), events.concern_received(concern))


def _page_token(conn, ticket_id):
    """A new token of the reporter's page of the concern; only its hash is kept."""
    token = domain.new_page_token()
    store.insert_page_token(conn, ticket_id, domain.page_token_hash(token))
    return token


def _answer(ticket_id, status, received_at):
    return {"ticket_id": ticket_id, "status": status, "received_at": received_at.isoformat(),
            "href": f"/api/v1/concerns/{ticket_id}"}
