"""Keeping intake's copy of each ticket up to date, from routing's ``ticket.*`` events.

The copy (a row of ``ticket_views``) is what a front-end reads of its concern (its
status, category, result): the newest version routing announced. Events may come late,
twice or out of order; an older version never replaces a newer one. An event without
its ticket's id and version is parked. Emits nothing.
"""
from services.common.errors import ParkMessage
from services.intake import store


def keep_newest_version(conn, body):
    """Keep the ticket a ``ticket.*`` event carries, unless a newer version is kept."""
    ticket = body.get("ticket")
    if not isinstance(ticket, dict) or not {"ticket_id", "version"} <= set(ticket):
        raise ParkMessage("a ticket event without its ticket_id and version")
    store.keep_newer_ticket_view(conn, ticket)
