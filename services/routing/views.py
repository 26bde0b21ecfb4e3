"""How routing shows a ticket to representatives and offices: the full timeline, and
the tickets it likely repeats or is repeated by."""
from services.routing import store
from services.routing.use_cases.workflow import ticket_snapshot


def ticket_view(conn, ticket, directory):
    view = ticket_snapshot(conn, ticket, directory)
    view.update(description=ticket["description"], location=ticket["location"],
                attachments=ticket["attachments"], submitted_at=ticket["submitted_at"].isoformat(),
                reporter_wants_feedback=ticket["feedback_requested"])
    own, repeats = store.duplicate_links(conn, ticket["ticket_id"])
    view.update(likely_duplicate_of=_link(own, own["original_id"]) if own else None,
                likely_duplicates=[_link(link, link["ticket_id"]) for link in repeats])
    return view


def _link(row, other):
    return {"ticket_id": other, "score": row["score"], "shared_words": row["shared_words"],
            "distance_m": row["distance_m"], "linked_at": row["linked_at"].isoformat()}
