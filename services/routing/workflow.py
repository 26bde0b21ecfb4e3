"""The ticket workflow: load, decide by ``domain``, store, and emit, in one transaction.

Every status change writes a timeline entry and a ``ticket.<change>`` event with the
whole ticket (see services.common.events); a dispatch also queues the department's
message on ``zd.dispatch`` (contract §7). All of it goes through the outbox, so it
is published exactly when the transaction commits.
"""
import uuid
from datetime import datetime, timezone

from services.common import topology
from services.common.events import ticket_event
from services.common.metrics import TICKET_TRANSITIONS
from services.common.outbox import emit, emit_event
from services.routing import domain, store

SYSTEM = "system"
REPORTER = "reporter"
#: actions announced by their own event rather than by the status they lead to
EVENT_OF_ACTION = {"undecided": "undecided", "rejected": "returned", "transfer_requested": "returned"}


class RatingRefused(Exception):
    """A rating that does not fit the ticket (stale, or of an unknown ticket)."""


class FeedbackRejected(Exception):
    """Department feedback that cannot apply; parked with this reason."""

    @property
    def kind(self):
        """The reason without its particulars, for a metric label."""
        return str(self).split(":")[0][:60]


def now():
    return datetime.now(timezone.utc)


def receive_concern(conn, concern, directory):
    """Create the ticket of a new concern and take it as far as the policy allows."""
    ticket = {**concern, "status": "received",
              "reporter": _dispatchable_contact(concern.get("reporter"))}
    if not store.insert_ticket(conn, ticket):
        return None  # the same concern again: already routed
    store.add_timeline(conn, ticket["ticket_id"], f"channel:{concern['channel']}", "receive",
                       None, "received", concern.get("title"))
    ticket = store.lock_ticket(conn, concern["ticket_id"])
    policy = directory["districts"][ticket["district"]]["policy"]
    category = ticket["category"] or domain.categorize(
        f"{ticket['title'] or ''} {ticket['description']}", directory["categories"])
    ticket = _assign(conn, ticket, directory, concern.get("requested_representative"), category)
    if category is None:
        return _leave_undecided(conn, ticket, directory)
    if policy["auto_forward"] and ticket["status"] == "assigned":
        ticket = change(conn, ticket, directory, "forwarded", SYSTEM, "forward",
                        "forwarded at once by the district policy")
    if policy["auto_dispatch"] and ticket["status"] == "forwarded":
        ticket = dispatch_by_rules(conn, ticket, directory)
    return ticket


def _leave_undecided(conn, ticket, directory):
    """No category: the liaison office decides (announced as ``ticket.undecided``)."""
    why = "no category matches: the liaison office decides"
    if ticket["status"] == "forwarded":  # already with the office: no representative here
        return note(conn, ticket, directory, SYSTEM, "undecided", why, event="undecided")
    return change(conn, ticket, directory, "forwarded", SYSTEM, "undecided", why)


def rate(conn, rated, directory):
    """The reporter's rating: satisfied closes; unsatisfied reopens the ticket (to the
    office, dispatched again by the rules) until the district's ``reopen_limit``."""
    ticket = store.lock_ticket(conn, rated["ticket_id"])
    if ticket is None:
        raise RatingRefused("unknown ticket")
    if ticket["status"] != "resolved" or ticket["reopen_count"] != rated["resolution"]:
        raise RatingRefused(f"rating of resolution {rated['resolution']} but the ticket is"
                            f" {ticket['status']} after {ticket['reopen_count']} reopenings")
    policy = directory["districts"][ticket["district"]]["policy"]
    recorded = {"rating": rated["rating"], "rating_comment": rated.get("comment")}
    words = f"{rated['rating']}: {rated.get('comment') or ''}".strip(": ")
    if rated["rating"] != "unsatisfied":
        return change(conn, ticket, directory, "closed", REPORTER, "rate", words, **recorded)
    if ticket["reopen_count"] >= policy["reopen_limit"]:
        return change(conn, ticket, directory, "closed", REPORTER, "rate",
                      f"{words} (reopen limit {policy['reopen_limit']} reached)", **recorded)
    ticket = change(conn, ticket, directory, "forwarded", REPORTER, "rate", f"{words}: reopened",
                    reopen_count=ticket["reopen_count"] + 1, **recorded)
    if policy["auto_dispatch"] and ticket["category"]:
        ticket = dispatch_by_rules(conn, ticket, directory)
    return ticket


def _dispatchable_contact(reporter):
    """Of the reporter, only what a department may see, and only if they asked."""
    if not reporter:
        return None
    return {"name": reporter.get("name"), "phone": reporter.get("phone")}


def _assign(conn, ticket, directory, requested, category):
    rep_id, reason = domain.choose_representative(
        directory, ticket["district"], ticket["community"], requested,
        store.open_counts(conn, ticket["district"]))
    if rep_id is None:
        return change(conn, ticket, directory, "forwarded", SYSTEM, "forward", reason,
                      category=category)
    name = directory["representatives"][rep_id]["name"]
    return change(conn, ticket, directory, "assigned", SYSTEM, "assign",
                  f"{name} ({rep_id}): {reason}", representative_id=rep_id, category=category)


def dispatch_by_rules(conn, ticket, directory, exclude=()):
    """Dispatch to the category's department, or leave the ticket with the office."""
    department = domain.choose_department(directory, ticket["district"], ticket["category"],
                                          exclude)
    if department is None:
        store.add_timeline(conn, ticket["ticket_id"], SYSTEM, "note", ticket["status"],
                           ticket["status"], "no department serves this category here:"
                           " the liaison office dispatches by hand")
        return ticket
    return dispatch(conn, ticket, directory, department, actor=SYSTEM,
                    note="dispatched by the category rules")


def dispatch(conn, ticket, directory, lead, assists=(), actor=SYSTEM, note=None, due=None):
    """Send the ticket to a lead department (and assisting ones)."""
    at = now()
    policy = directory["districts"][ticket["district"]]["policy"]
    for role, code in [("lead", lead)] + [("assist", code) for code in assists]:
        department = directory["departments"][code]
        record = {"dispatch_id": str(uuid.uuid4()), "ticket_id": ticket["ticket_id"],
                  "department": code, "role": role, "note": note, "dispatched_at": at,
                  "due_at": due or domain.due_at(at, department["due_hours"], policy)}
        store.insert_dispatch(conn, record)
        if department["delivery"] == "amqp":
            emit(conn, topology.DISPATCH.name, topology.department_routing_key(code),
                 "ticket.dispatched", dispatch_message(ticket, record, directory),
                 message_id=record["dispatch_id"])
    return change(conn, ticket, directory, "dispatched", actor, "dispatch",
                  note or f"dispatched to {lead}",
                  first_dispatched_at=ticket["first_dispatched_at"] or at)


def dispatch_message(ticket, record, directory):
    """What a department's system receives (contract §7)."""
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
    if ticket["reporter"]:
        message["reporter"] = ticket["reporter"]
    return message


def apply_feedback(conn, department, feedback, directory):
    """Apply a department's feedback to its dispatch and ticket, or FeedbackRejected."""
    try:
        return _apply_feedback(conn, department, feedback, directory)
    except domain.IllegalTransition as exc:
        raise FeedbackRejected(str(exc)) from exc


def _locked_dispatch(conn, dispatch_id):
    """The dispatch and its ticket, read after locking the ticket (feedback may race)."""
    record = store.dispatch(conn, dispatch_id)
    if record is None:
        return None, None
    ticket = store.lock_ticket(conn, record["ticket_id"])
    return store.dispatch(conn, dispatch_id), ticket


def _apply_feedback(conn, department, feedback, directory):
    record, ticket = _locked_dispatch(conn, feedback["dispatch_id"])
    status = feedback["status"]
    problem = domain.feedback_problem(record, department, ticket and ticket["status"], status)
    if problem:
        raise FeedbackRejected(problem)
    actor, note_text = f"department:{department}", feedback.get("note")
    if domain.is_late_progress(record, status):
        store.add_timeline(conn, ticket["ticket_id"], actor, status, ticket["status"],
                           ticket["status"], f"late progress report: {note_text or ''}".strip())
        return ticket
    store.update_dispatch(conn, record["dispatch_id"], status=status, note=note_text,
                          **({"resolved_at": now(), "result": feedback["result"]}
                             if status == "resolved" else {}))
    if record["role"] == "assist" or (status in domain.PROGRESS
                                      and ticket["status"] == "in_progress"):
        return note(conn, ticket, directory, actor, status, note_text or feedback.get("result"))
    if status in domain.PROGRESS:
        return change(conn, ticket, directory, "in_progress", actor, status, note_text)
    if status == "resolved":
        return change(conn, ticket, directory, "resolved", actor, "resolve",
                      feedback["result"], result=feedback["result"],
                      resolved_at=ticket["resolved_at"] or now())
    return _hand_back(conn, ticket, directory, record, actor, status, note_text)


def _hand_back(conn, ticket, directory, record, actor, status, note_text):
    store.withdraw_active_dispatches(conn, ticket["ticket_id"])
    ticket = change(conn, ticket, directory, "forwarded", actor, status,
                    note_text or f"{record['department']} handed the ticket back")
    policy = directory["districts"][ticket["district"]]["policy"]
    if policy["auto_dispatch"]:
        ticket = dispatch_by_rules(conn, ticket, directory, exclude=(record["department"],))
    return ticket


def change(conn, ticket, directory, to_status, actor, action, note=None, **changes):
    domain.check_transition(ticket["status"], to_status)
    if to_status != ticket["status"]:  # a new wait begins: its deadline is not passed yet
        changes.update(status=to_status, status_since=now(), escalated_at=None)
    row = store.update_ticket(conn, ticket["ticket_id"], **changes)
    store.add_timeline(conn, ticket["ticket_id"], actor, action, ticket["status"], to_status, note)
    TICKET_TRANSITIONS.labels(to_status).inc()
    return _emit_current(conn, row, directory, EVENT_OF_ACTION.get(action, to_status))


def note(conn, ticket, directory, actor, action, text, event="feedback", **changes):
    """A timeline entry that changes no status (but may set ``changes``), announced as
    ``ticket.<event>``."""
    row = store.update_ticket(conn, ticket["ticket_id"], **changes)
    store.add_timeline(conn, ticket["ticket_id"], actor, action, ticket["status"],
                       ticket["status"], text)
    return _emit_current(conn, row, directory, event)


def _emit_current(conn, ticket, directory, change):
    """Publish the ticket (just updated, so with a new version) and its latest entry."""
    snapshot = ticket_snapshot(conn, ticket, directory)
    emit_event(conn, ticket_event(change), {"ticket": snapshot, "entry": snapshot["timeline"][-1]},
               message_id=f"ticket-{ticket['ticket_id']}-v{ticket['version']}")
    return ticket


def ticket_snapshot(conn, ticket, directory):
    """The ticket as other services see it: no reporter contact details."""
    rep_id = ticket["representative_id"]
    rep = directory["representatives"].get(rep_id) if rep_id else None
    return {
        "ticket_id": ticket["ticket_id"], "version": ticket["version"],
        "status": ticket["status"], "district": ticket["district"],
        "community": ticket["community"], "category": ticket["category"],
        "channel": ticket["channel"], "title": ticket["title"],
        "representative": {"id": rep_id, "name": rep["name"] if rep else None} if rep_id else None,
        "departments": [_dispatch_view(d, directory) for d in store.dispatches(conn, ticket["ticket_id"])],
        "received_at": _iso(ticket["received_at"]),
        "first_dispatched_at": _iso(ticket["first_dispatched_at"]),
        "resolved_at": _iso(ticket["resolved_at"]), "result": ticket["result"],
        "reopen_count": ticket["reopen_count"],
        "rating": {"rating": ticket["rating"], "comment": ticket["rating_comment"]}
        if ticket["rating"] else None,
        "timeline": [{**entry, "at": _iso(entry["at"])}
                     for entry in store.timeline(conn, ticket["ticket_id"])],
    }


def _dispatch_view(record, directory):
    department = directory["departments"].get(record["department"], {})
    return {"dispatch_id": record["dispatch_id"], "department": record["department"],
            "name": department.get("name"), "role": record["role"], "status": record["status"],
            "dispatched_at": _iso(record["dispatched_at"]), "due_at": _iso(record["due_at"]),
            "resolved_at": _iso(record["resolved_at"])}


def _iso(value):
    return value.isoformat() if value else None
