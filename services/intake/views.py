"""How intake shows a concern to its front-end: status and timeline, no contacts."""


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
        "attachments": concern["attachments"],
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
