"""The ticket workflow: load, decide by ``domain``, store, and emit, in one step.

Each rule takes the ``Step`` its use case opened (``step``: the store port, the
directory, the clock, the changes to announce) and the ticket or command it works on; a
change of a ticket is one value, a ``Change`` (of status) or a ``Note`` (no status). No
rule opens a connection or reads the time by itself, so they run as well on a fake of
the store (tests/unit/routing).

Every change writes a timeline entry; each step (a concern received and taken as far as
the policy allows, a rating, a department's feedback, an action, a deadline) is
announced by one ``ticket.<change>`` event per ticket with the whole ticket and the
step's changes (``step``, services.common.events; a rating that reopens a ticket
announces the reopening by itself, then the new dispatch); a dispatch also queues the
department's message (docs/reference.md#the-dispatch-message) on ``zd.dispatch``, or, for a department
reached by
webhook, as ``department.dispatched`` for notify to deliver. All of it goes through the
outbox, so it is published exactly when the transaction commits.
"""
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from services.common import events, topology
from services.common.log_context import bind
from services.common.metrics import TICKET_STAGE_SECONDS, TICKET_TRANSITIONS
from services.common.words import words
from services.routing import categories, domain, duplicates, snapshots
from services.routing.learning import choice
from services.routing.use_cases.step import Person, clock

SYSTEM = events.SYSTEM_ACTOR
REPORTER = "reporter"
PHONE = "phone"  # a rating's ``taken_by`` when the office took it on a follow-up call
#: actions announced by their own event rather than by the status they lead to
EVENT_OF_ACTION = {"undecided": "undecided", "rejected": "returned", "transfer_requested": "returned"}
#: routing's clock, which its timers read too
now = clock


@dataclass(frozen=True)
class Change:
    """A ticket's move to ``to_status``: who made it (``actor``, and the ``person`` of it
    the timeline names, a ``step.Person``, when the step does not know them), by which
    ``action``, the timeline's ``note``, and the columns it sets besides (``fields``)."""
    to_status: str
    actor: str
    action: str
    note: str | None = None
    fields: dict = field(default_factory=dict)
    person: Person | None = None


@dataclass(frozen=True)
class Note:
    """A timeline entry that changes no status (but may set ``fields``), announced as
    ``ticket.<event>``; ``person`` as a ``Change``'s."""
    actor: str
    action: str
    text: str | None
    event: str = "feedback"
    fields: dict = field(default_factory=dict)
    person: Person | None = None


class RatingRefused(Exception):
    """A rating that does not fit the ticket (stale, or of an unknown ticket)."""


class FeedbackRejected(Exception):
    """Department feedback that cannot apply; parked with this reason."""

    @property
    def kind(self):
        """The reason without its particulars, for a metric label."""
        return str(self).split(":")[0][:60]


def receive_concern(step, concern):
    """Create the ticket of a new concern and take it as far as the policy allows."""
    text = f"{concern.get('title') or ''} {concern['description']}"
    location = concern.get("location") or {}
    ticket = step.store.insert_ticket({**concern, "status": "received",
                                       "words": list(dict.fromkeys(words(text))),
                                       "lat": location.get("lat"), "lon": location.get("lon")})
    if ticket is None:
        return None  # the same concern again: already routed
    ticket_id = ticket["ticket_id"]
    step.store.add_timeline(ticket_id, f"channel:{concern['channel']}", "receive",
                            None, "received", concern.get("title"))
    policy = step.policy(ticket["district"])
    category = ticket["category"]
    if category is None:
        chosen = choice.choose(text, categories.categoriser(step.directory["categories"]),
                               step.store.current_category_model(), policy["category_confidence"])
        category = chosen.category
        step.store.add_timeline(ticket_id, SYSTEM, "categorise", "received", "received",
                                chosen.reason())
        step.store.record_category_choice(ticket_id, category, chosen.decided,
                                          chosen.model_version, chosen.model_category)
    match = (_likely_duplicate(step, ticket, category, policy)
             if category and policy["duplicates"] != "ignore" else None)
    if match is not None:
        step.store.link_duplicate(ticket_id, match)
        if match.auto_merge:
            return change(step, ticket, Change(
                "merged", SYSTEM, "merge", f"merged at once: {match.describe()}",
                fields={"merged_into": match.ticket_id, "category": category}))
    ticket = _assign(step, ticket, concern.get("requested_representative"), category)
    if category is None:
        return _leave_undecided(step, ticket)
    if match is not None:  # one action merges it; nothing goes to a department twice meanwhile
        step.store.add_timeline(ticket_id, SYSTEM, "duplicate", ticket["status"], ticket["status"],
                                f"{match.describe()}: merge it into {match.ticket_id}, or take it on")
        return ticket
    if policy["auto_forward"] and ticket["status"] == "assigned":
        ticket = change(step, ticket, Change("forwarded", SYSTEM, "forward",
                                             "forwarded at once by the district policy"))
    if policy["auto_dispatch"] and ticket["status"] == "forwarded":
        ticket = dispatch_by_rules(step, ticket)
    return ticket


def _likely_duplicate(step, ticket, category, policy):
    """The open ticket the new one likely repeats (``duplicates``), or None."""
    if not ticket["words"]:
        return None
    since = ticket["received_at"] - timedelta(days=policy["duplicate_days"])
    candidates = [duplicates.Candidate(
        ticket_id=row["ticket_id"], words=tuple(row["words"]), point=_point(row),
        received_at=row["received_at"], original_id=row["original_id"])
        for row in step.store.duplicate_candidates(ticket, category, since,
                                                   policy["duplicate_radius_m"])]
    return duplicates.likely_duplicate(ticket["words"], _point(ticket), candidates, policy)


def _point(row):
    """``(lat, lon)`` of a ticket row, or None when it has no location."""
    return (row["lat"], row["lon"]) if row["lat"] is not None else None


def _leave_undecided(step, ticket):
    """No category: the liaison office decides (announced as ``ticket.undecided``)."""
    why = "no category matches: the liaison office decides"
    if ticket["status"] == "forwarded":  # already with the office: no representative here
        return note(step, ticket, Note(SYSTEM, "undecided", why, event="undecided"))
    return change(step, ticket, Change("forwarded", SYSTEM, "undecided", why))


def rate(step, rated):
    """The reporter's rating: satisfied closes; unsatisfied reopens the ticket (to the
    office, dispatched again by the rules) until the district's ``reopen_limit``. A
    merged ticket whose original was resolved keeps its rating, and an unsatisfied one
    is noted on the original for whoever handles it. A rating the office took by phone
    (``taken_by`` ``phone``) is the office's entry, naming who took it (``rated_by``)."""
    ticket = step.store.lock_ticket(rated["ticket_id"])
    if ticket is None:
        raise RatingRefused("unknown ticket")
    if ticket["status"] == "merged" and ticket["result"] is not None:
        return _rate_merged(step, ticket, rated)
    if ticket["status"] != "resolved" or ticket["reopen_count"] != rated["resolution"]:
        raise RatingRefused(f"rating of resolution {rated['resolution']} but the ticket is"
                            f" {ticket['status']} after {ticket['reopen_count']} reopenings")
    policy = step.policy(ticket["district"])
    recorded = {"rating": rated["rating"], "rating_comment": rated.get("comment")}
    said = _rating_note(rated)
    actor, person = rated_by(ticket, rated)
    if rated["rating"] != "unsatisfied":
        return change(step, ticket, Change("closed", actor, "rate", said, fields=recorded,
                                           person=person))
    if ticket["reopen_count"] >= policy["reopen_limit"]:
        return change(step, ticket, Change(
            "closed", actor, "rate", f"{said} (reopen limit {policy['reopen_limit']} reached)",
            fields=recorded, person=person))
    ticket = change(step, ticket, Change("forwarded", actor, "rate", f"{said}: reopened",
                                         fields={"reopen_count": ticket["reopen_count"] + 1,
                                                 **recorded}, person=person))
    step.announce()  # the reopening is announced by itself, a new dispatch after it
    if policy["auto_dispatch"] and ticket["category"]:
        ticket = dispatch_by_rules(step, ticket)
    return ticket


def _rate_merged(step, ticket, rated):
    if rated["resolution"] != ticket["reopen_count"] or ticket["rating"] is not None:
        raise RatingRefused("this merged ticket's resolution is rated already")
    said = _rating_note(rated)
    actor, person = rated_by(ticket, rated)
    if rated["rating"] == "unsatisfied":
        status = step.store.find_ticket(ticket["merged_into"])["status"]
        step.store.add_timeline(ticket["merged_into"], actor, "note", status, status,
                                f"the reporter of merged {ticket['ticket_id']} is unsatisfied: {said}",
                                person=person)
    return note(step, ticket, Note(actor, "rate", said, event="merged", fields={
        "rating": rated["rating"], "rating_comment": rated.get("comment")}, person=person))


def office_actor(district):
    """The timeline's actor for a district's liaison office: its party, ``congress:<district>``."""
    return f"congress:{district}"


def rated_by(ticket, rated):
    """``(actor, person)`` of a rating's timeline entry: the reporter's own, or, for one the
    office took by phone, the district's office and the staff member who took it (none
    when it was recorded with the office's key: ``recorded_by`` is then the office itself)."""
    if rated.get("taken_by") != PHONE:
        return REPORTER, None
    actor, recorder = office_actor(ticket["district"]), rated.get("recorded_by")
    if not recorder or recorder["id"] == actor:
        return actor, None
    return actor, Person(recorder["id"], recorder["name"])


def _rating_note(rated):
    """The timeline's words for a rating: ``unsatisfied: 还是有臭味``; one the office took
    by phone says so first."""
    said = f"{rated['rating']}: {rated.get('comment') or ''}".strip(": ")
    return f"taken by phone on a follow-up call: {said}" if rated.get("taken_by") == PHONE else said


def recategorise(step, ticket, actor, category):
    """The office sets the category the keywords did not choose (``category-report``
    counts these by category); announced with the step's next change."""
    step.store.record_recategorisation(ticket["ticket_id"], ticket["category"], category)
    row, _ = step.store.update_ticket_with_entry(ticket["ticket_id"], _entry(
        actor, "recategorise", ticket["status"], ticket["status"],
        f"{ticket['category'] or 'none'} → {category}"), category=category)
    return row


def follow_original(step, original):
    """The tickets merged into ``original`` follow it: once it is resolved, each takes its
    result, announced as ``ticket.resolved`` so that its reporter hears it (and may rate
    it) as the original's does. Their status stays ``merged``: the figures count each
    problem once."""
    for merged in step.store.lock_merged_into(original["ticket_id"]):
        note(step, merged, Note(SYSTEM, "resolve",
                                f"resolved with {original['ticket_id']}: {original['result']}",
                                event="resolved", fields={"result": original["result"]}))


def _assign(step, ticket, requested, category):
    rep_id, reason = domain.choose_representative(
        step.directory, ticket["district"], ticket["community"], requested,
        step.store.open_counts)
    if rep_id is None:
        return change(step, ticket, Change("forwarded", SYSTEM, "forward", reason,
                                           fields={"category": category}))
    if rep_id == requested:  # no count locked her: lock her with the batch's stations, in one
        step.store.open_counts([rep_id])  # order, before the assignment's trigger does alone
    name = step.directory["representatives"][rep_id]["name"]
    return change(step, ticket, Change("assigned", SYSTEM, "assign", f"{name} ({rep_id}): {reason}",
                                       fields={"representative_id": rep_id, "category": category}))


def dispatch_by_rules(step, ticket, exclude=()):
    """Dispatch to the category's department, or leave the ticket with the office."""
    department = domain.choose_department(step.directory, ticket["district"], ticket["category"],
                                          exclude)
    if department is None:
        step.store.add_timeline(ticket["ticket_id"], SYSTEM, "note", ticket["status"],
                                ticket["status"], "no department serves this category here:"
                                " the liaison office dispatches by hand")
        return ticket
    return dispatch(step, ticket, department, note="dispatched by the category rules")


def dispatch(step, ticket, lead, assists=(), actor=SYSTEM, note=None, due=None):
    """Send the ticket to a lead department (and assisting ones)."""
    at = step.now()
    policy = step.policy(ticket["district"])
    reporter = (step.store.dispatch_contact(ticket["ticket_id"]) if ticket["feedback_requested"]
                else None)
    for role, code in [("lead", lead)] + [("assist", code) for code in assists]:
        department = step.directory["departments"][code]
        record = {"dispatch_id": str(uuid.uuid4()), "ticket_id": ticket["ticket_id"],
                  "department": code, "role": role, "note": note, "dispatched_at": at,
                  "due_at": due or domain.due_at(at, department["due_hours"], policy)}
        step.store.insert_dispatch(record)
        _send_dispatch(step, snapshots.dispatch_message(ticket, record, step.directory, reporter),
                       department)
    return change(step, ticket, Change("dispatched", actor, "dispatch", note or f"dispatched to {lead}",
                                       fields={"first_dispatched_at":
                                               ticket["first_dispatched_at"] or at}))


#: departments not reached on a queue of their own: notify delivers their dispatch (to the
#: webhook; to the staff of a department that answers in the workbench's page, ``web``)
NOT_QUEUED = ("webhook", "web")


def _send_dispatch(step, message, department):
    """Queue the dispatch message: on the department's queue, or to notify for its webhook
    or its staff (a ``web`` department reads its dispatches in the page: no queue, and
    notify, which only tells its staff that one came, gets no reporter's contact)."""
    if department["delivery"] == "web":
        message = {field: value for field, value in message.items() if field != "reporter"}
    if department["delivery"] in NOT_QUEUED:
        step.store.emit_events(events.department_dispatched(message))
    else:
        step.store.emit(topology.DISPATCH.name, topology.department_routing_key(department["code"]),
                        "ticket.dispatched", message, message_id=message["dispatch_id"])


def apply_feedback(step, department, feedback):
    """Apply a department's feedback to its dispatch and ticket, or FeedbackRejected."""
    try:
        return _apply_feedback(step, department, feedback)
    except domain.IllegalTransition as exc:
        raise FeedbackRejected(str(exc)) from exc


def _locked_dispatch(step, dispatch_id):
    """The dispatch and its ticket, read after locking the ticket (feedback may race)."""
    record = step.store.dispatch(dispatch_id)
    if record is None:
        return None, None
    bind(ticket_id=record["ticket_id"])  # feedback names its dispatch: its lines, the ticket
    ticket = step.store.lock_ticket(record["ticket_id"])
    return step.store.dispatch(dispatch_id), ticket


def _apply_feedback(step, department, feedback):
    record, ticket = _locked_dispatch(step, feedback["dispatch_id"])
    status = feedback["status"]
    problem = domain.feedback_problem(record, department, ticket and ticket["status"], status)
    if problem:
        raise FeedbackRejected(problem)
    actor, note_text = f"department:{department}", feedback.get("note")
    if domain.is_late_progress(record, status):
        step.store.add_timeline(ticket["ticket_id"], actor, status, ticket["status"],
                                ticket["status"], f"late progress report: {note_text or ''}".strip())
        return ticket
    step.store.update_dispatch(record["dispatch_id"], status=status, note=note_text,
                               **({"resolved_at": step.now(), "result": feedback["result"]}
                                  if status == "resolved" else {}))
    if record["role"] == "assist" or (status in domain.PROGRESS
                                      and ticket["status"] == "in_progress"):
        return note(step, ticket, Note(actor, status, note_text or feedback.get("result")))
    if status in domain.PROGRESS:
        return change(step, ticket, Change("in_progress", actor, status, note_text))
    if status == "resolved":
        return change(step, ticket, Change("resolved", actor, "resolve", feedback["result"], fields={
            "result": feedback["result"], "resolved_at": ticket["resolved_at"] or step.now()}))
    return _hand_back(step, ticket, record, actor, status, note_text)


def _hand_back(step, ticket, record, actor, status, note_text):
    step.store.withdraw_active_dispatches(ticket["ticket_id"])
    ticket = change(step, ticket, Change("forwarded", actor, status,
                                         note_text or f"{record['department']} handed the ticket back"))
    if step.policy(ticket["district"])["auto_dispatch"]:
        ticket = dispatch_by_rules(step, ticket, exclude=(record["department"],))
    return ticket


def change(step, ticket, made):
    """Make the ``Change`` ``made`` to ``ticket`` if ``domain`` allows it (IllegalTransition
    otherwise), with its timeline entry, for the step to announce; returns the ticket
    as stored."""
    domain.check_transition(ticket["status"], made.to_status)
    columns = dict(made.fields)
    if made.to_status != ticket["status"]:  # a new wait begins: its deadline is not passed yet
        columns.update(status=made.to_status, status_since=step.now(), escalated_at=None,
                       reminded_at=None)
        TICKET_STAGE_SECONDS.labels(ticket["status"]).observe(
            (columns["status_since"] - ticket["status_since"]).total_seconds())
    row, entry = step.store.update_ticket_with_entry(ticket["ticket_id"], _entry(
        made.actor, made.action, ticket["status"], made.to_status, made.note, made.person),
        **columns)
    TICKET_TRANSITIONS.labels(made.to_status).inc()
    step.record(row, EVENT_OF_ACTION.get(made.action, made.to_status), entry)
    if made.to_status == "resolved":
        follow_original(step, row)
    return row


def note(step, ticket, made):
    """Write the ``Note`` ``made`` on ``ticket``'s timeline (setting its ``fields``), for
    the step to announce as ``ticket.<event>``; returns the ticket as stored."""
    row, entry = step.store.update_ticket_with_entry(ticket["ticket_id"], _entry(
        made.actor, made.action, ticket["status"], ticket["status"], made.text, made.person),
        **made.fields)
    step.record(row, made.event, entry)
    return row


def _entry(actor, action, from_status, to_status, note, person=None):
    return {"actor": actor, "action": action, "from_status": from_status,
            "to_status": to_status, "note": note, "person": person}

