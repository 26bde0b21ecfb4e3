"""How intake shows a concern to its front-end: status and timeline, no contacts."""
from services.intake import paging


def concern_view(concern):
    ticket = concern["view"] or {}
    return {
        "ticket_id": concern["ticket_id"],
        "external_id": concern["external_id"],
        "status": ticket.get("status", "received"),
        "district": concern["district"],
        "community": ticket.get("community", concern["community"]),
        "channel": concern["channel"],
        "category": ticket.get("category", concern["category"]),
        "title": concern["title"],
        "description": concern["description"],
        "location": concern["location"],
        "attachments": concern["attachments"] or [],
        "submitted_at": concern["submitted_at"].isoformat(),
        "received_at": concern["received_at"].isoformat(),
        "representative": ticket.get("representative"),
        "departments": [{key: dispatch.get(key) for key in (
            "department", "name", "role", "status", "dispatched_at", "due_at")}
            for dispatch in ticket.get("departments", [])],
        "result": ticket.get("result"),
        "reopen_count": ticket.get("reopen_count", 0),
        "merged_into": ticket.get("merged_into"),
        "rating": ticket.get("rating"),
        "timeline": ticket.get("timeline", [{
            "at": concern["received_at"].isoformat(), "actor": f"channel:{concern['channel']}",
            "action": "receive", "from_status": None, "to_status": "received", "note": None}]),
    }


def concern_list(rows, limit):
    """The answer of ``GET /api/v1/concerns`` from up to ``limit + 1`` rows."""
    page = rows[:limit]
    return {"concerns": [{**row, "received_at": row["received_at"].isoformat(),
                          "changed_at": row["changed_at"].isoformat(),
                          "href": f"/api/v1/concerns/{row['ticket_id']}"} for row in page],
            "next_cursor": paging.cursor_after(page[-1]) if len(rows) > limit else None}
