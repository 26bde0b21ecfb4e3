"""How routing shows a ticket to other services and a dispatch to its department.

Pure functions over stored rows (the ticket, its dispatches and timeline) and the
directory: the ``ticket.<change>`` snapshot (see ``services.common.events``), never with
a contact of the reporter, and the department's dispatch message (docs/reference.md#the-dispatch-message), the
only place the reporter's name and phone go. Tests of the consumers build their
events with these same functions.
"""


def ticket_snapshot(ticket, dispatches, timeline, directory):
    """The ticket as other services see it: no reporter contact details."""
    rep_id = ticket["representative_id"]
    rep = directory["representatives"].get(rep_id) if rep_id else None
    return {
        "ticket_id": ticket["ticket_id"], "version": ticket["version"],
        "status": ticket["status"], "district": ticket["district"],
        "community": ticket["community"], "category": ticket["category"],
        "channel": ticket["channel"], "title": ticket["title"],
        "representative": {"id": rep_id, "name": rep["name"] if rep else None} if rep_id else None,
        "departments": [dispatch_view(record, directory) for record in dispatches],
        "received_at": _iso(ticket["received_at"]), "status_since": _iso(ticket["status_since"]),
        "first_dispatched_at": _iso(ticket["first_dispatched_at"]),
        "resolved_at": _iso(ticket["resolved_at"]), "result": ticket["result"],
        "reopen_count": ticket["reopen_count"], "merged_into": ticket.get("merged_into"),
        "rating": {"rating": ticket["rating"], "comment": ticket["rating_comment"]}
        if ticket["rating"] else None,
        "timeline": [timeline_entry(entry) for entry in timeline],
    }


def timeline_entry(entry):
    """A stored timeline entry as events show it; one a person wrote for their party (the
    ``actor``) names them (``person``)."""
    shown = {"at": _iso(entry["at"]), "actor": entry["actor"], "action": entry["action"],
             "from_status": entry["from_status"], "to_status": entry["to_status"],
             "note": entry["note"]}
    if entry.get("person_id"):
        shown["person"] = {"id": entry["person_id"], "name": entry["person_name"]}
    return shown


def dispatch_view(record, directory):
    department = directory["departments"].get(record["department"], {})
    return {"dispatch_id": record["dispatch_id"], "department": record["department"],
            "name": department.get("name"), "role": record["role"], "status": record["status"],
            "dispatched_at": _iso(record["dispatched_at"]), "due_at": _iso(record["due_at"]),
            "resolved_at": _iso(record["resolved_at"])}


def dispatch_message(ticket, record, directory, reporter=None):
    """What a department's system receives (docs/reference.md#the-dispatch-message); ``reporter`` is
    ``{name, phone}``
    when the reporter asked for feedback."""
    rep_id = ticket["representative_id"]
    message = {
        "dispatch_id": record["dispatch_id"], "ticket_id": ticket["ticket_id"],
        "department": record["department"], "role": record["role"],
        "district": ticket["district"], "community": ticket["community"],
        "category": ticket["category"], "title": ticket["title"],
        "description": ticket["description"], "location": ticket["location"],
        "attachments": ticket["attachments"],
        "representative": {"id": rep_id, "name": directory["representatives"][rep_id]["name"]}
        if rep_id else None,
        "note": record["note"], "dispatched_at": record["dispatched_at"].isoformat(),
        "due_at": record["due_at"].isoformat()}
    if reporter:
        message["reporter"] = {"name": reporter.get("name"), "phone": reporter.get("phone")}
    return message


def _iso(value):
    return value.isoformat() if value else None
