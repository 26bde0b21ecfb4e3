"""The reporter's rating of a resolution (docs/reference.md#rate-a-resolution), however it
comes: a front-end's API call (``rate``), the reporter's own page, or the liaison
office's follow-up call (``take_phone_rating``, on ``rating.taken_by_phone``).

One set of rules for all three (``apply_rating``): only a resolved ticket, or one merged
into a ticket that was resolved (it carries that result), once per resolution. Stored
with its ``concern.rated`` event, which says how it came (``taken_by``) and, for a call,
who took it; routing acts on it (satisfied closes, unsatisfied reopens) and reporting
counts it. A phone rating the rules refuse (the reporter rated on their page first, or
the ticket moved on) is logged and dropped; one of an unknown ticket, or malformed, is
parked.
"""
import logging
from datetime import datetime, timezone

from marshmallow import ValidationError

from services.common import events
from services.common.errors import Conflict, NotFound, ParkMessage
from services.common.outbox import emit_events
from services.intake import store
from services.intake.schemas import PhoneRatingSchema

log = logging.getLogger(__name__)

FRONTEND, PAGE, PHONE = events.RATING_SOURCES


class NotRatable(Conflict):
    """The ticket is not resolved (or not at the resolution a rating was taken of)."""


class AlreadyRated(Conflict):
    """This resolution of the ticket has its rating."""


def rate(conn, caller, ticket_id, rating):
    """A front-end's rating: ``(http status, answer body)``; NotFound or a Conflict."""
    concern = store.find_concern(conn, ticket_id)
    if concern is None or concern["district"] != caller.party.scope:
        raise NotFound(f"No concern {ticket_id} in your district.")
    resolution = apply_rating(conn, concern, rating["rating"], rating["comment"],
                              datetime.now(timezone.utc), FRONTEND)
    return 202, {"ticket_id": ticket_id, "rating": rating["rating"], "resolution": resolution}


def apply_rating(conn, concern, rating, comment, rated_at, taken_by, recorded_by=None,
                 resolution=None):
    """Store the rating of the concern's current resolution with its ``concern.rated``,
    in ``conn``'s transaction; returns that resolution. NotRatable unless the ticket is
    resolved (at ``resolution``, when the rating was taken of a given one); AlreadyRated
    when this resolution has its rating."""
    ticket = concern["view"] or {}
    status = ticket.get("status", "received")
    current = ticket.get("reopen_count", 0)
    if not is_ratable(ticket):
        raise NotRatable(f"Only a resolved ticket can be rated; this one is {status}.",
                         status_now=status)
    if resolution is not None and resolution != current:
        raise NotRatable(f"Resolution {resolution} is not the ticket's current one ({current}).",
                         status_now=status)
    if not store.insert_rating(conn, concern["ticket_id"], current, rating, comment, rated_at):
        raise AlreadyRated("This resolution has been rated already.")
    emit_events(conn, events.concern_rated(concern["ticket_id"], current, rating, comment, rated_at,
                                           taken_by, recorded_by))
    return current


def is_ratable(ticket):
    """Whether a ticket (intake's view of it) takes a rating of its current resolution."""
    status = ticket.get("status", "received")
    return status == "resolved" or (status == "merged" and ticket.get("result") is not None)


def take_phone_rating(conn, body):
    """``rating.taken_by_phone``: the office's call, under the same rules."""
    try:
        taken = PhoneRatingSchema().load(body)
    except ValidationError as exc:
        raise ParkMessage(f"a malformed phone rating: {sorted(exc.messages)}") from exc
    concern = store.find_concern(conn, taken["ticket_id"])
    if concern is None:
        raise ParkMessage("a phone rating of an unknown ticket")
    try:
        apply_rating(conn, concern, taken["rating"], taken["comment"], taken["taken_at"], PHONE,
                     taken["recorded_by"], resolution=taken["resolution"])
    except Conflict as refused:
        log.warning("phone rating of ticket %s, resolution %s, dropped: %s", taken["ticket_id"],
                    taken["resolution"], refused.detail)
