"""The actions of representatives and liaison offices on a ticket (docs/reference.md#act-on-a-ticket).

Each action says who may take it and what it does; the state rules of ``domain``
decide whether the ticket's status allows it (409 with the allowed ones otherwise). A
representative merges only into a ticket they may see or into the one their ticket was
linked to as a likely duplicate; any other target answers as one that does not exist.
An action is one step (``act`` opens it on the request's transaction, ``perform`` takes
it: the rules run as well on a fake of the store), taken by a party and, when one signed
in, a person of it (``step.Person``), whom the timeline names.

The office's follow-up call (``follow_up``, 回访) changes nothing by itself: it records
the rating the office took from the reporter by phone, once per resolution, and sends it
to intake (``rating.taken_by_phone``), whose rating rules decide; the ticket changes when
intake's ``concern.rated`` comes back (``workflow.rate``), so the API answers 202. It
names who took the call (``recorded_by``): the person signed in, or with the office's
key the office itself (``{id: "congress:<district>", name: the office's name}``).

An action that says which ``version`` of the ticket it was decided on answers 409 when
the ticket changed since (two people acting on one ticket at once: the second hears it,
nothing is overwritten). ``act_on_many`` takes one action on many tickets, each in its
own transaction: one that cannot be taken leaves the others done.
"""
import logging

from services.common import events
from services.common.errors import BadRequest, Conflict, Contention, Forbidden, NotFound, Problem
from services.routing import domain
from services.routing.use_cases import workflow
from services.routing.use_cases.step import Step
from services.routing.use_cases.workflow import Change, Note

#: action → roles that may take it
WHO = {
    "forward": ("representative", "congress"),
    "resolve": ("representative", "congress"),
    "merge": ("representative", "congress"),
    "reject": ("representative", "congress"),
    "reassign": ("congress",),
    "dispatch": ("congress",),
    "escalate": ("representative", "congress"),
    "follow_up": ("congress",),
}
#: actions whose effect comes later (a follow-up call's rating, once intake sent it back):
#: the API answers 202
ANSWERED_LATER = ("follow_up",)
#: actions taken on one ticket at a time: a follow-up call is one reporter's answer
ONE_AT_A_TIME = ("follow_up",)


def check_access(ticket, party):
    """A representative acts on their own tickets, an office on its district's; another's
    ticket answers exactly as one that does not exist."""
    mine = ticket is not None and (
        party.role == "admin"
        or (party.role == "representative" and ticket["representative_id"] == party.scope)
        or (party.role == "congress" and ticket["district"] == party.scope))
    if not mine:
        raise NotFound("No such ticket among yours.")


def list_scope(party, query):
    """The filters a party may list with: a representative sees their own tickets, an
    office its district's; asking for someone else's is Forbidden."""
    filters = {"status": query.get("status"), "department": query.get("department"),
               "overdue": query.get("overdue", False), "district": query.get("district"),
               "representative_id": query.get("representative"),
               "category": query.get("category"), "community": query.get("community"),
               "undecided": query.get("undecided", False),
               "duplicates": query.get("duplicates", False), "sort": query.get("sort", "newest")}
    own = {"representative": "representative_id", "congress": "district"}.get(party.role)
    if own:
        if filters[own] not in (None, party.scope):
            raise Forbidden(f"A {party.role} key lists its own tickets only.")
        filters[own] = party.scope
    return filters


MAX_TICKETS_AT_ONCE = 100
CONTENTION_TRIES = 3  # a deadlock broken by the database is rare; the same work then succeeds
log = logging.getLogger(__name__)


def act(conn, ticket_id, party, command, directory, person=None):
    """The action ``command`` of ``party`` (by ``person``, a ``step.Person``, when one
    signed in) on a ticket, in one step; returns the ticket."""
    with Step.on(conn, directory, person=person, party=party) as step:
        return perform(step, ticket_id, party, command)


def act_on_many(db, ticket_ids, party, command, directory, person=None):
    """The action ``command`` on each of ``ticket_ids`` (at most ``MAX_TICKETS_AT_ONCE``),
    each in its own transaction of ``db``: one that cannot be taken does not undo the
    others. Returns one outcome per ticket, in the order asked: ``{ticket_id, ok: true,
    status}`` or ``{ticket_id, ok: false, problem: {status, detail, errors?, ...}}``."""
    ticket_ids = list(dict.fromkeys(ticket_ids))
    if command["action"] in ONE_AT_A_TIME:
        raise BadRequest("Cannot act on these tickets at once.", errors={"action": [
            f"A {command['action']} is taken on one ticket at a time."]})
    if not 1 <= len(ticket_ids) <= MAX_TICKETS_AT_ONCE:
        raise BadRequest("Cannot act on these tickets.", errors={"ticket_ids": [
            f"Between 1 and {MAX_TICKETS_AT_ONCE} tickets."]})
    return [_outcome(db, ticket_id, party, command, directory, person) for ticket_id in ticket_ids]


def _outcome(db, ticket_id, party, command, directory, person):
    for attempt in range(1, CONTENTION_TRIES + 1):
        try:
            with db.transaction() as conn:
                ticket = act(conn, ticket_id, party, command, directory, person)
            return {"ticket_id": ticket_id, "ok": True, "status": ticket["status"]}
        except Problem as refused:
            return {"ticket_id": ticket_id, "ok": False, "problem": problem_of(refused)}
        except Contention:
            if attempt == CONTENTION_TRIES:
                raise
            log.info("action on ticket %s met a deadlock: taken again", ticket_id)


def problem_of(refused):
    """A refusal as a bulk outcome tells it: its HTTP status, detail, field errors and
    extra members."""
    problem = {"status": refused.status, "detail": refused.detail, **refused.extra}
    if refused.errors:
        problem["errors"] = refused.errors
    return problem


def perform(step, ticket_id, party, command):
    """The action, in ``step``: NotFound, Forbidden, BadRequest or Conflict when it cannot be."""
    # tickets an action touches are locked in one order: crossed merges cannot deadlock
    for touched in sorted({ticket_id, command.get("into") or ticket_id}):
        step.store.lock_ticket(touched)
    ticket = step.store.lock_ticket(ticket_id)
    check_access(ticket, party)
    check_version(step, ticket, command.get("version"))
    action = command["action"]
    if party.role not in WHO[action] and party.role != "admin":
        raise Forbidden(f"A {party.role} cannot {action} a ticket.")
    try:
        return PERFORM[action](step, ticket, party, command)
    except domain.IllegalTransition as exc:
        raise Conflict(str(exc), allowed_statuses=list(exc.allowed),
                       allowed_actions=allowed_actions(exc.current)) from exc


def check_version(step, ticket, version):
    """Conflict when the action was decided on another ``version`` of the ticket than the
    one locked now (None: the caller did not say), naming the change since."""
    if version is None or version == ticket["version"]:
        return
    _, timeline = step.store.dispatches_and_timeline(ticket["ticket_id"])
    last = timeline[-1] if timeline else None
    by = (f", by {_who(last)} at {last['at'].isoformat(timespec='seconds')}" if last else "")
    raise Conflict(f"Ticket {ticket['ticket_id']} changed since you opened it (now"
                   f" {ticket['status']}{by}).", current_version=ticket["version"],
                   ticket_status=ticket["status"])  # `status` is the problem's own: 409


def _who(entry):
    person = entry.get("person_name")
    return f"{person} ({entry['actor']})" if person else entry["actor"]


def allowed_actions(status):
    targets = domain.TRANSITIONS[status]
    found = [action for action, target in TARGET.items() if target in targets]
    if status == "resolved":  # awaiting the reporter's rating, which the office may take by phone
        found.append("follow_up")
    return found


TARGET = {"forward": "forwarded", "resolve": "resolved", "merge": "merged",
          "reject": "rejected", "reassign": "assigned", "dispatch": "dispatched"}


def _forward(step, ticket, party, command):
    ticket = workflow.change(step, ticket, Change("forwarded", str(party), "forward",
                                                  command.get("note")))
    if step.policy(ticket["district"])["auto_dispatch"] and ticket["category"]:
        ticket = workflow.dispatch_by_rules(step, ticket)
    return ticket


def _resolve(step, ticket, party, command):
    return workflow.change(step, ticket, Change("resolved", str(party), "resolve", command["result"],
                                                fields={"result": command["result"],
                                                        "resolved_at": ticket["resolved_at"]
                                                        or step.now()}))


def _merge(step, ticket, party, command):
    target = step.store.lock_ticket(command["into"])
    likely_original = step.store.likely_original(ticket["ticket_id"])
    if not domain.may_merge_into(party.role, party.scope, ticket, target, likely_original):
        # one answer whether it does not exist or is not theirs to see, status untold
        raise BadRequest("Cannot merge there.", errors={"into": ["No such ticket here."]})
    if target["status"] in domain.FINAL:
        raise BadRequest("Cannot merge there.", errors={"into": [
            f"Ticket {target['ticket_id']} is {target['status']}: merge into an open ticket."]})
    return workflow.change(step, ticket, Change(
        "merged", str(party), "merge",
        f"merged into {command['into']}: {command.get('note') or ''}".strip(),
        fields={"merged_into": target["ticket_id"]}))


def _reject(step, ticket, party, command):
    return workflow.change(step, ticket, Change("rejected", str(party), "reject", command["reason"]))


def _reassign(step, ticket, party, command):
    rep = step.directory["representatives"].get(command["representative"])
    if rep is None or rep["district"] != ticket["district"]:
        raise BadRequest("Cannot reassign there.",
                         errors={"representative": ["Not a representative of this district."]})
    # the new representative's wait starts now, even when the ticket was assigned already
    return workflow.change(step, ticket, Change(
        "assigned", str(party), "reassign", command.get("note"),
        fields={"representative_id": command["representative"], "status_since": step.now(),
                "escalated_at": None}))


def _dispatch(step, ticket, party, command):
    wanted, directory = command["departments"], step.directory
    unknown = [code for code in [wanted["lead"], *wanted["assist"]]
               if code not in directory["departments"]]
    if unknown:
        raise BadRequest("Unknown departments.", errors={"departments": [
            f"Unknown department {code}." for code in unknown]})
    category = command.get("category")
    if category is not None and category not in directory["categories"]:
        raise BadRequest("Unknown category.", errors={"category": [f"Unknown category {category}."]})
    domain.check_transition(ticket["status"], "dispatched")
    if category is not None and category != ticket["category"]:
        ticket = workflow.recategorise(step, ticket, str(party), category)
    return workflow.dispatch(step, ticket, wanted["lead"], assists=wanted["assist"], actor=str(party),
                             note=command.get("note"), due=command.get("due_at"))


def _escalate(step, ticket, party, command):
    if ticket["status"] not in domain.OPEN:
        raise Conflict(f"A {ticket['status']} ticket cannot be escalated.")
    return workflow.note(step, ticket, Note(str(party), "escalate", command.get("note") or "escalated",
                                            event="escalated"))


def may_follow_up(party, ticket):
    """Whether ``party`` may record a follow-up call of the ticket's latest resolution now
    (whether one is recorded already aside): its district's office, while it awaits a
    rating. The admin may not: the call is the office's."""
    return (party.role == "congress" and ticket["district"] == party.scope
            and domain.awaits_rating(ticket))


def _follow_up(step, ticket, party, command):
    if party.role != "congress":
        raise Forbidden("Only the district's liaison office records a follow-up call.")
    resolution = ticket["reopen_count"]
    if not may_follow_up(party, ticket):
        raise _no_follow_up(ticket, f"Ticket {ticket['ticket_id']} is {ticket['status']}: no"
                                    " resolution of it awaits a rating.")
    recorded_by = _recorder(step, party)
    call = step.store.record_follow_up_call({
        "ticket_id": ticket["ticket_id"], "resolution": resolution, "rating": command["rating"],
        "comment": command.get("comment"), "person_id": recorded_by["id"],
        "person_name": recorded_by["name"], "at": step.now()})
    if call is None:
        raise _no_follow_up(ticket, f"The follow-up call of resolution {resolution} of ticket"
                                    f" {ticket['ticket_id']} is recorded already.", recorded=True)
    step.store.emit_events(events.phone_rating(ticket["ticket_id"], resolution, call["rating"],
                                               call["comment"], call["at"], recorded_by))
    return ticket


def _no_follow_up(ticket, detail, recorded=False):
    """409 naming what the ticket allows instead (no other follow-up call once one is
    recorded)."""
    allowed = [action for action in allowed_actions(ticket["status"])
               if not (recorded and action == "follow_up")]
    return Conflict(detail, allowed_statuses=list(domain.TRANSITIONS[ticket["status"]]),
                    allowed_actions=allowed)


def _recorder(step, party):
    """``{id, name}`` of who took a follow-up call: the person signed in, else the office."""
    if step.person is not None:
        return {"id": step.person.id, "name": step.person.name}
    office = step.directory["districts"][party.scope]["office"]
    return {"id": str(party), "name": office["name"]}


PERFORM = {"forward": _forward, "resolve": _resolve, "merge": _merge, "reject": _reject,
           "reassign": _reassign, "dispatch": _dispatch, "escalate": _escalate,
           "follow_up": _follow_up}
