"""What representatives and offices read of a ticket: the ticket as other services see it
(``snapshots.ticket_snapshot``, read now) with its description, place, attachments and
full timeline, the tickets it likely repeats or is repeated by, and its internal notes
(``notes``: shown here and in the workbench's pages only, never announced). Shaped for the
wire by ``schemas.TicketViewSchema``."""
from services.routing import snapshots, store


def ticket_as_seen(conn, ticket, directory):
    """The ticket row ``ticket`` as ``GET /api/v1/tickets/{id}`` shows it, before its dump."""
    ticket_id = ticket["ticket_id"]
    own, repeats = store.duplicate_links(conn, ticket_id)
    return {**snapshots.ticket_snapshot(ticket, store.dispatches(conn, ticket_id),
                                        store.timeline(conn, ticket_id), directory),
            "description": ticket["description"], "location": ticket["location"],
            "attachments": ticket["attachments"], "submitted_at": ticket["submitted_at"],
            "reporter_wants_feedback": ticket["feedback_requested"],
            # a link shows the other ticket: the original of this one, each duplicate of it
            "likely_duplicate_of": {**own, "ticket_id": own["original_id"]} if own else None,
            "likely_duplicates": repeats,
            "internal_notes": store.internal_notes(conn, ticket_id)}
