"""The actions of representatives and liaison offices on a ticket (docs/reference.md#act-on-a-ticket).

Each action says who may take it and what it does; the state rules of ``domain``
decide whether the ticket's status allows it (409 with the allowed ones otherwise). A
representative merges only into a ticket they may see or into the one their ticket was
linked to as a likely duplicate; any other target answers as one that does not exist.
An action is one step (``act`` opens it on the request's transaction, ``perform`` takes
it: the rules run as well on a fake of the store).
"""
from services.common.errors import BadRequest, Conflict, Forbidden, NotFound
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
}


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
               "overdue": query["overdue"], "district": query.get("district"),
               "representative_id": query.get("representative")}
    own = {"representative": "representative_id", "congress": "district"}.get(party.role)
    if own:
        if filters[own] not in (None, party.scope):
            raise Forbidden(f"A {party.role} key lists its own tickets only.")
        filters[own] = party.scope
    return filters


def act(conn, ticket_id, party, command, directory):
    """The action ``command`` of ``party`` on a ticket, in one step; returns the ticket."""
    with Step.on(conn, directory) as step:
        return perform(step, ticket_id, party, command)


def perform(step, ticket_id, party, command):
    """The action, in ``step``: NotFound, Forbidden, BadRequest or Conflict when it cannot be."""
    # tickets an action touches are locked in one order: crossed merges cannot deadlock
    for touched in sorted({ticket_id, command.get("into") or ticket_id}):
        step.store.lock_ticket(touched)
    ticket = step.store.lock_ticket(ticket_id)
    check_access(ticket, party)
    action = command["action"]
    if party.role not in WHO[action] and party.role != "admin":
        raise Forbidden(f"A {party.role} cannot {action} a ticket.")
    try:
        return PERFORM[action](step, ticket, party, command)
    except domain.IllegalTransition as exc:
        raise Conflict(str(exc), allowed_statuses=list(exc.allowed),
                       allowed_actions=allowed_actions(exc.current)) from exc


def allowed_actions(status):
    targets = domain.TRANSITIONS[status]
    return [action for action, target in TARGET.items() if target in targets]


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


PERFORM = {"forward": _forward, "resolve": _resolve, "merge": _merge, "reject": _reject,
           "reassign": _reassign, "dispatch": _dispatch, "escalate": _escalate}
