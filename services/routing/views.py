"""How routing shows a ticket to representatives and offices: the full timeline."""
from services.routing.workflow import ticket_snapshot


def ticket_view(conn, ticket, directory):
    view = ticket_snapshot(conn, ticket, directory)
    view.update(description=ticket["description"], location=ticket["location"],
                attachments=ticket["attachments"], submitted_at=ticket["submitted_at"].isoformat(),
                reporter_wants_feedback=ticket["feedback_requested"])
    return view
