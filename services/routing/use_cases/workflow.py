"""The ticket workflow: load, decide by ``domain``, store, and emit, in one transaction.

Every change writes a timeline entry; each step (``announcements.step``: a concern
received and taken as far as the policy allows, a rating, a department's feedback, an
action, a deadline) is announced by one ``ticket.<change>`` event per ticket with the
whole ticket and the step's changes (see services.common.events); a dispatch also queues the department's
message (contract §7) on ``zd.dispatch``, or, for a department reached by webhook, as
``department.dispatched`` for notify to deliver. All of it goes through the outbox, so
it is published exactly when the transaction commits.
"""
import uuid
from datetime import datetime, timedelta, timezone

from services.common import events, topology
from services.common.metrics import TICKET_STAGE_SECONDS, TICKET_TRANSITIONS
from services.common.outbox import emit, emit_events
from services.common.words import words
from services.routing import categories, domain, duplicates, snapshots, store
from services.routing.use_cases import announcements

SYSTEM = events.SYSTEM_ACTOR
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
    with announcements.step(conn):
        return _receive_concern(conn, concern, directory)


def _receive_concern(conn, concern, directory):
    text = f"{concern.get('title') or ''} {concern['description']}"
    location = concern.get("location") or {}
    ticket = store.insert_ticket(conn, {**concern, "status": "received",
                                        "words": list(dict.fromkeys(words(text))),
                                        "lat": location.get("lat"), "lon": location.get("lon")})
    if ticket is None:
        return None  # the same concern again: already routed
    ticket_id = ticket["ticket_id"]
    store.add_timeline(conn, ticket_id, f"channel:{concern['channel']}", "receive",
                       None, "received", concern.get("title"))
    policy = directory["districts"][ticket["district"]]["policy"]
    category = ticket["category"]
    if category is None:
        found = categories.categoriser(directory["categories"]).categorise(
            text, policy["category_confidence"])
        category = found.category
        store.add_timeline(conn, ticket_id, SYSTEM, "categorise", "received", "received",
                           found.reason())
        store.record_keyword_category(conn, ticket_id, category)
    match = (_likely_duplicate(conn, ticket, category, policy)
             if category and policy["duplicates"] != "ignore" else None)
    if match is not None:
        store.link_duplicate(conn, ticket_id, match)
        if match.auto_merge:
            return change(conn, ticket, directory, "merged", SYSTEM, "merge",
                          f"merged at once: {match.describe()}", merged_into=match.ticket_id,
                          category=category)
    ticket = _assign(conn, ticket, directory, concern.get("requested_representative"), category)
    if category is None:
        return _leave_undecided(conn, ticket, directory)
    if match is not None:  # one action merges it; nothing goes to a department twice meanwhile
        store.add_timeline(conn, ticket_id, SYSTEM, "duplicate", ticket["status"], ticket["status"],
                           f"{match.describe()}: merge it into {match.ticket_id}, or take it on")
        return ticket
    if policy["auto_forward"] and ticket["status"] == "assigned":
        ticket = change(conn, ticket, directory, "forwarded", SYSTEM, "forward",
                        "forwarded at once by the district policy")
    if policy["auto_dispatch"] and ticket["status"] == "forwarded":
        ticket = dispatch_by_rules(conn, ticket, directory)
    return ticket


def _likely_duplicate(conn, ticket, category, policy):
    """The open ticket the new one likely repeats (``duplicates``), or None."""
    if not ticket["words"]:
        return None
    since = ticket["received_at"] - timedelta(days=policy["duplicate_days"])
    candidates = [duplicates.Candidate(
        ticket_id=row["ticket_id"], words=tuple(row["words"]), point=_point(row),
        received_at=row["received_at"], original_id=row["original_id"])
        for row in store.duplicate_candidates(conn, ticket, category, since,
                                              policy["duplicate_radius_m"])]
    return duplicates.likely_duplicate(ticket["words"], _point(ticket), candidates, policy)


def _point(row):
    """``(lat, lon)`` of a ticket row, or None when it has no location."""
    return (row["lat"], row["lon"]) if row["lat"] is not None else None


def _leave_undecided(conn, ticket, directory):
    """No category: the liaison office decides (announced as ``ticket.undecided``)."""
    why = "no category matches: the liaison office decides"
    if ticket["status"] == "forwarded":  # already with the office: no representative here
        return note(conn, ticket, directory, SYSTEM, "undecided", why, event="undecided")
    return change(conn, ticket, directory, "forwarded", SYSTEM, "undecided", why)


def rate(conn, rated, directory):
    """The reporter's rating: satisfied closes; unsatisfied reopens the ticket (to the
    office, dispatched again by the rules) until the district's ``reopen_limit``. A
    merged ticket whose original was resolved keeps its rating, and an unsatisfied one
    is noted on the original for whoever handles it."""
    ticket = store.lock_ticket(conn, rated["ticket_id"])
    if ticket is None:
        raise RatingRefused("unknown ticket")
    if ticket["status"] == "merged" and ticket["result"] is not None:
        return _rate_merged(conn, ticket, rated, directory)
    if ticket["status"] != "resolved" or ticket["reopen_count"] != rated["resolution"]:
        raise RatingRefused(f"rating of resolution {rated['resolution']} but the ticket is"
                            f" {ticket['status']} after {ticket['reopen_count']} reopenings")
    policy = directory["districts"][ticket["district"]]["policy"]
    recorded = {"rating": rated["rating"], "rating_comment": rated.get("comment")}
    said = _rating_note(rated)
    if rated["rating"] != "unsatisfied":
        return change(conn, ticket, directory, "closed", REPORTER, "rate", said, **recorded)
    if ticket["reopen_count"] >= policy["reopen_limit"]:
        return change(conn, ticket, directory, "closed", REPORTER, "rate",
                      f"{said} (reopen limit {policy['reopen_limit']} reached)", **recorded)
    ticket = change(conn, ticket, directory, "forwarded", REPORTER, "rate", f"{said}: reopened",
                    reopen_count=ticket["reopen_count"] + 1, **recorded)
    if policy["auto_dispatch"] and ticket["category"]:
        ticket = dispatch_by_rules(conn, ticket, directory)
    return ticket


def _rate_merged(conn, ticket, rated, directory):
    if rated["resolution"] != ticket["reopen_count"] or ticket["rating"] is not None:
        raise RatingRefused("this merged ticket's resolution is rated already")
    said = _rating_note(rated)
    if rated["rating"] == "unsatisfied":
        status = store.find_ticket(conn, ticket["merged_into"])["status"]
        store.add_timeline(conn, ticket["merged_into"], REPORTER, "note", status, status,
                           f"the reporter of merged {ticket['ticket_id']} is unsatisfied: {said}")
    return note(conn, ticket, directory, REPORTER, "rate", said, event="merged",
                rating=rated["rating"], rating_comment=rated.get("comment"))


def _rating_note(rated):
    """The timeline's words for a rating: ``unsatisfied: 还是有臭味``."""
    return f"{rated['rating']}: {rated.get('comment') or ''}".strip(": ")


def recategorise(conn, ticket, actor, category):
    """The office sets the category the keywords did not choose (``category-report``
    counts these by category); announced with the step's next change."""
    store.record_recategorisation(conn, ticket["ticket_id"], ticket["category"], category)
    row, _ = store.update_ticket_with_entry(conn, ticket["ticket_id"], _entry(
        actor, "recategorise", ticket["status"], ticket["status"],
        f"{ticket['category'] or 'none'} → {category}"), category=category)
    return row


def follow_original(conn, original, directory):
    """The tickets merged into ``original`` follow it: once it is resolved, each takes its
    result, announced as ``ticket.resolved`` so that its reporter hears it (and may rate
    it) as the original's does. Their status stays ``merged``: the figures count each
    problem once."""
    for merged in store.lock_merged_into(conn, original["ticket_id"]):
        note(conn, merged, directory, SYSTEM, "resolve",
             f"resolved with {original['ticket_id']}: {original['result']}", event="resolved",
             result=original["result"])


def _assign(conn, ticket, directory, requested, category):
    rep_id, reason = domain.choose_representative(
        directory, ticket["district"], ticket["community"], requested,
        lambda rep_ids: store.open_counts(conn, rep_ids))
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
    reporter = store.dispatch_contact(conn, ticket["ticket_id"]) if ticket["feedback_requested"] else None
    for role, code in [("lead", lead)] + [("assist", code) for code in assists]:
        department = directory["departments"][code]
        record = {"dispatch_id": str(uuid.uuid4()), "ticket_id": ticket["ticket_id"],
                  "department": code, "role": role, "note": note, "dispatched_at": at,
                  "due_at": due or domain.due_at(at, department["due_hours"], policy)}
        store.insert_dispatch(conn, record)
        _send_dispatch(conn, snapshots.dispatch_message(ticket, record, directory, reporter),
                       department)
    return change(conn, ticket, directory, "dispatched", actor, "dispatch",
                  note or f"dispatched to {lead}",
                  first_dispatched_at=ticket["first_dispatched_at"] or at)


def _send_dispatch(conn, message, department):
    """Queue the dispatch message: on the department's queue, or to notify for its webhook."""
    if department["delivery"] == "webhook":
        emit_events(conn, events.department_dispatched(message))
    else:
        emit(conn, topology.DISPATCH.name, topology.department_routing_key(department["code"]),
             "ticket.dispatched", message, message_id=message["dispatch_id"])


def apply_feedback(conn, department, feedback, directory):
    """Apply a department's feedback to its dispatch and ticket, or FeedbackRejected."""
    try:
        with announcements.step(conn):
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
        TICKET_STAGE_SECONDS.labels(ticket["status"]).observe(
            (changes["status_since"] - ticket["status_since"]).total_seconds())
    row, entry = store.update_ticket_with_entry(conn, ticket["ticket_id"], _entry(
        actor, action, ticket["status"], to_status, note), **changes)
    TICKET_TRANSITIONS.labels(to_status).inc()
    announcements.announce(conn, row, directory, EVENT_OF_ACTION.get(action, to_status), entry)
    if to_status == "resolved":
        follow_original(conn, row, directory)
    return row


def note(conn, ticket, directory, actor, action, text, event="feedback", **changes):
    """A timeline entry that changes no status (but may set ``changes``), announced as
    ``ticket.<event>``."""
    row, entry = store.update_ticket_with_entry(conn, ticket["ticket_id"], _entry(
        actor, action, ticket["status"], ticket["status"], text), **changes)
    announcements.announce(conn, row, directory, event, entry)
    return row


def _entry(actor, action, from_status, to_status, note):
    return {"actor": actor, "action": action, "from_status": from_status,
            "to_status": to_status, "note": note}


def ticket_snapshot(conn, ticket, directory):
    """The ticket as other services see it (``snapshots.ticket_snapshot``), read now."""
    return snapshots.ticket_snapshot(ticket, store.dispatches(conn, ticket["ticket_id"]),
                                     store.timeline(conn, ticket["ticket_id"]), directory)
