"""What each workbench page shows, read through routing's use cases and store.

A screen is a dict for its template: the tickets of a queue with the time each has left
(``queue_rows``), a ticket with what its viewer may do to it, the office's follow-up call
among it (``ticket_screen``), a
department's dispatches with the answers each allows (``dispatch_rows``), the choices of
a district's forms (``choices``). Who may see what is decided by the use cases
(``actions.list_scope``, ``actions.check_access``), never here. ``state_of`` is a
fingerprint of a list, which the page's script compares to know that it changed.
"""
import hashlib
from datetime import datetime

from services.common.events import ACTIVE_DISPATCH_STATUSES as ACTIVE
from services.common.ticket_schemas import STATUSES
from services.routing import domain, store
from services.routing.use_cases import actions, deadlines, notes, reading

#: role → the pages in its navigation (href, word)
NAV = {
    "representative": [("/workbench/queue", "my_queue")],
    "congress": [("/workbench/office", "district_queue"), ("/workbench/replies", "replies"),
                 ("/workbench/rejected-feedback", "rejected_feedback")],
    "department": [("/workbench/department", "dispatches")],
}
HOME = {role: pages[0][0] for role, pages in NAV.items()}
#: what a representative and an office may do to a ticket in one tap, and the text each asks for
ACTS = (("forward", "note", False), ("resolve", "result", True), ("merge", "note", False),
        ("reject", "reason", True), ("dispatch", "note", False), ("reassign", "note", False),
        ("escalate", "note", False))
#: a dispatch's status → the answers its department may give next
ANSWERS = {"sent": ("acknowledged", "in_progress", "resolved", "rejected", "transfer_requested"),
           "acknowledged": ("in_progress", "resolved", "rejected", "transfer_requested"),
           "in_progress": ("resolved", "rejected", "transfer_requested")}
LIST_LIMIT = 200
#: a representative's queue: their open tickets, and the resolved ones awaiting a rating
REPRESENTATIVE_SHOWS = (*domain.OPEN, "resolved")
#: the notices a page shows after an action (``?done=``)
DONE_WORDS = {f"done.{name}" for name, _, _ in ACTS} | {"done.note", "done.follow_up"}


def queue_rows(conn, directory, party, query, now):
    """The tickets of ``party``'s queue that ``query`` asks for (the API's filters), each
    with the seconds it has left: before the office takes over from a representative,
    else before its department's due time."""
    filters = actions.list_scope(party, query)
    rows = store.find_tickets(conn, filters, LIST_LIMIT, 0)
    return [{**row, **_time_left(row, directory, now)} for row in rows]


def _time_left(row, directory, now):
    policy = directory["districts"][row["district"]]["policy"]
    if row["status"] == "assigned":
        return {"seconds_left": (deadlines.takes_over_at(row, policy) - now).total_seconds(),
                "takes_over": True}
    if row.get("due_at") is not None and row["status"] in ("dispatched", "in_progress"):
        due = row["due_at"] if isinstance(row["due_at"], datetime) else datetime.fromisoformat(row["due_at"])
        return {"seconds_left": (due - now).total_seconds(), "takes_over": False}
    return {"seconds_left": None, "takes_over": False}


def counts(conn, party):
    """The counts beside the office's filters: how many of the district's tickets each
    choice holds (per status, category, community, representative, department; overdue,
    undecided, likely duplicates), whatever the other filters chosen."""
    return store.count_tickets(conn, actions.list_scope(party, {"overdue": False}))


def ticket_screen(conn, directory, party, ticket_id, now):
    """The ticket as its viewer sees it, what they may do, and its internal notes."""
    ticket = store.find_ticket(conn, ticket_id)
    actions.check_access(ticket, party)
    seen = reading.ticket_as_seen(conn, ticket, directory)
    lead = next((d for d in seen["departments"] if d["role"] == "lead" and d["status"] in ACTIVE), None)
    return {"ticket": {**seen, "version": ticket["version"]},
            **_time_left({**ticket, "due_at": lead and lead["due_at"]}, directory, now),
            "acts": acts_for(party.role, ticket, seen.get("likely_duplicate_of")),
            "follow_up": follow_up_of(conn, party, ticket),
            "notes": notes.internal_notes(conn, ticket_id)}


def follow_up_of(conn, party, ticket):
    """The office's follow-up call of the ticket's latest resolution, while it awaits a
    rating (None otherwise): the call recorded (None: none yet), whether ``party`` may
    record it now, and the ratings to choose from."""
    if not domain.awaits_rating(ticket):
        return None
    call = store.follow_up_call(conn, ticket["ticket_id"], ticket["reopen_count"])
    return {"call": call, "may_record": call is None and actions.may_follow_up(party, ticket),
            "ratings": domain.RATINGS}


def acts_for(role, ticket, duplicate_of):
    """The actions ``role`` may take on ``ticket`` now, with the text field each asks for;
    a representative merges only into the suggested original."""
    allowed = set(actions.allowed_actions(ticket["status"]))
    if ticket["status"] in domain.OPEN:
        allowed.add("escalate")
    found = []
    for name, field, required in ACTS:
        if name not in allowed or role not in actions.WHO[name]:
            continue
        into = duplicate_of["ticket_id"] if duplicate_of else None
        if name == "merge" and role == "representative" and into is None:
            continue
        found.append({"name": name, "field": field, "required": required, "into": into})
    return found


def dispatch_rows(conn, department, now):
    """The department's active dispatches, each with the answers it allows now."""
    return [{**row, "answers": ANSWERS.get(row["dispatch_status"], ()),
             "late": row["due_at"] is not None and row["due_at"] < now}
            for row in store.department_dispatches(conn, department, active_only=True)]


def choices(directory, district):
    """The lists a district office's forms choose from: statuses, categories, its
    communities, representatives and the departments serving it, as (code, name)."""
    return {
        "statuses": STATUSES,
        "categories": [(code, c["name"]) for code, c in directory["categories"].items()],
        "communities": [(code, c["name"]) for code, c in
                        directory["districts"][district]["communities"].items()],
        "representatives": [(code, r["name"]) for code, r in directory["representatives"].items()
                            if r["district"] == district],
        "departments": [(code, d["name"]) for code, d in directory["departments"].items()
                        if district in d["districts"] or "*" in d["districts"]],
    }


def state_of(rows, *more):
    """A fingerprint of a list: what it holds and each item's version or status."""
    seen = "|".join(f"{row.get('ticket_id')}:{row.get('dispatch_id', '')}:{row.get('version', '')}:"
                    f"{row.get('status')}" for row in rows)
    return hashlib.sha256((seen + repr(more)).encode()).hexdigest()[:16]

