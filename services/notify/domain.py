"""Notify's rules: who hears what of a concern and its ticket, on which channel (contract §8).

Pure functions over one event, the reporter's feedback contact and the directory
snapshot; no I/O.

Who hears what
- the reporter who asked for feedback: ``concern.received``, ``ticket.dispatched``,
  ``ticket.resolved`` (with the result), ``ticket.closed``;
- the ticket's representative: ``ticket.assigned``, the department's result or
  feedback (``ticket.resolved``, ``ticket.feedback``), a rating (timeline action
  ``rate``), an escalation (timeline action ``escalate``);
- the district's liaison office: ``ticket.forwarded``, ``ticket.undecided`` (no
  category), ``ticket.returned`` (a department rejected the ticket or asked for a
  transfer), an overdue ticket (timeline action ``overdue``);
- a department with ``delivery: webhook``: each new dispatch to it in
  ``ticket.dispatched`` (AMQP departments read their own queue instead).
Nobody is told of their own action (the timeline entry's ``actor``).

Channels, from the directory's (or the reporter's) contacts: reporter → sms if phone,
and email if email; representative → wechat if wechat_openid, else sms if phone, else
email; office → email if email, and sms if phone; webhook department → its webhook
URL. A recipient without a usable contact hears nothing.

Params hold what a template needs and its recipient may see: never the reporter's
contact details (a sender looks them up when it delivers) and never an address.
"""
from dataclasses import dataclass, field

from services.common.events import CONCERN_RECEIVED, TICKET_CHANGES, TICKET_PREFIX, ticket_event

DEFAULT_LOCALE = "zh-CN"
DISPATCHED = ticket_event("dispatched")
RESOLVED = ticket_event("resolved")
#: timeline actions (``entry.action``) heard whatever the type of the event carrying them
RATE, ESCALATE, OVERDUE = "rate", "escalate", "overdue"

REPORTER_HEARS = (CONCERN_RECEIVED, DISPATCHED, RESOLVED, ticket_event("closed"))
REPRESENTATIVE_HEARS = (ticket_event("assigned"), RESOLVED, ticket_event("feedback"))
OFFICE_HEARS = (ticket_event("forwarded"), ticket_event("undecided"), ticket_event("returned"))
ACTION_NEWS = {RATE: ("ticket.rated", "representative"),
               ESCALATE: ("ticket.escalated", "representative"),
               OVERDUE: ("ticket.overdue", "office")}

TICKET_FACTS = ("ticket_id", "status", "district", "community", "category", "title")
DISPATCH_FACTS = ("dispatch_id", "department", "name", "role", "status", "dispatched_at",
                  "due_at", "resolved_at")
ENTRY_FACTS = ("at", "actor", "action", "note")
#: a recipient kind and the party name its own actions carry in the timeline
ACTOR_PARTY = {"office": "congress"}


class UnusableEvent(ValueError):
    """The event is not one notify knows, or lacks what notify needs: it is parked."""


@dataclass(frozen=True)
class Event:
    """A consumed event as notify reads it."""
    id: str       # the message id
    type: str
    ticket: dict  # the ticket (ticket.*) or the concern (concern.received)
    entry: dict   # the timeline entry of the change; {} for concern.received

    @property
    def ticket_id(self):
        return self.ticket["ticket_id"]


@dataclass(frozen=True)
class Notification:
    recipient: str  # reporter | representative:<id> | office:<district> | department:<code>
    channel: str    # email | sms | wechat | webhook
    address: str
    template: str   # <what happened>.<recipient kind>, e.g. ticket.dispatched.reporter
    locale: str = DEFAULT_LOCALE
    params: dict = field(default_factory=dict)

    @property
    def recipient_kind(self):
        return self.recipient.partition(":")[0]


def read_event(message_id, event_type, body):
    """The event notify handles, or UnusableEvent (unknown type, no ticket id)."""
    known_ticket_event = (event_type.startswith(TICKET_PREFIX)
                          and event_type[len(TICKET_PREFIX):] in TICKET_CHANGES)
    if event_type != CONCERN_RECEIVED and not known_ticket_event:
        raise UnusableEvent(f"unexpected event type {event_type!r}")
    if not isinstance(body, dict):
        raise UnusableEvent(f"{event_type} body is not a JSON object")
    ticket, entry = (body, {}) if event_type == CONCERN_RECEIVED else (
        body.get("ticket"), body.get("entry") or {})
    if not isinstance(ticket, dict) or not isinstance(ticket.get("ticket_id"), str):
        raise UnusableEvent(f"{event_type} carries no ticket_id")
    if not isinstance(entry, dict):
        raise UnusableEvent(f"{event_type} entry is not a JSON object")
    return Event(message_id, event_type, ticket, entry)


def feedback_contact(concern_event):
    """The reporter's contacts when they asked for feedback (concern.received), else None."""
    reporter = concern_event.ticket.get("reporter")
    if not isinstance(reporter, dict):
        return None
    return {key: reporter.get(key) for key in ("name", "phone", "email")}


def reporter_may_hear(event):
    return event.type in REPORTER_HEARS


def reporter_notifications(event, contact):
    """What the reporter hears of ``event``; ``contact`` is None unless they asked for feedback."""
    if not contact or not reporter_may_hear(event):
        return []
    params = _reporter_params(event)
    return [Notification("reporter", channel, address, _template(event.type, "reporter"),
                         params=params)
            for channel, address in reporter_channels(contact)]


def party_notifications(event, directory):
    """What the representative, the liaison office and webhook departments hear of ``event``."""
    if event.type == CONCERN_RECEIVED:
        return []
    found = []
    for news, kind in _news(event):
        recipient, channels = _party(kind, event.ticket, directory)
        found += [Notification(recipient, channel, address, _template(news, kind),
                               params=_party_params(event))
                  for channel, address in channels]
    found += _departments_told(event, directory)
    return _once_each(notice for notice in found if not _is_actor(event, notice.recipient))


def reporter_channels(contact):
    return [(channel, contact[key]) for channel, key in (("sms", "phone"), ("email", "email"))
            if contact.get(key)]


def representative_channels(contact):
    for channel, key in (("wechat", "wechat_openid"), ("sms", "phone"), ("email", "email")):
        if contact.get(key):
            return [(channel, contact[key])]
    return []


def office_channels(contact):
    return [(channel, contact[key]) for channel, key in (("email", "email"), ("sms", "phone"))
            if contact.get(key)]


def department_channels(department):
    url = (department.get("webhook") or {}).get("url")
    return [("webhook", url)] if department.get("delivery") == "webhook" and url else []


def new_dispatches(event):
    """The dispatches this ``ticket.dispatched`` made: not yet acknowledged, or made now."""
    made_at = event.entry.get("at")
    return [dispatch for dispatch in event.ticket.get("departments") or []
            if dispatch.get("dispatch_id") and (
                dispatch.get("status") == "dispatched"
                or (made_at and dispatch.get("dispatched_at") == made_at))]


def _news(event):
    """(what happened, who hears it) pairs: from the event's type and its timeline action."""
    news = [(event.type, kind) for kind, heard in (("representative", REPRESENTATIVE_HEARS),
                                                   ("office", OFFICE_HEARS))
            if event.type in heard]
    if event.entry.get("action") in ACTION_NEWS:
        news.append(ACTION_NEWS[event.entry["action"]])
    return news


def _party(kind, ticket, directory):
    """The recipient name and its channels: the ticket's representative or district office."""
    if kind == "representative":
        rep_id = (ticket.get("representative") or {}).get("id")
        contact = (directory["representatives"].get(rep_id) or {}).get("contact") or {}
        return f"representative:{rep_id}", representative_channels(contact) if rep_id else []
    district = ticket.get("district")
    office = (directory["districts"].get(district) or {}).get("office") or {}
    return f"office:{district}", office_channels(office.get("contact") or {})


def _departments_told(event, directory):
    if event.type != DISPATCHED:
        return []
    notices = []
    for dispatch in new_dispatches(event):
        code = dispatch.get("department")
        department = directory["departments"].get(code) or {}
        notices += [Notification(f"department:{code}", channel, address,
                                 "ticket.dispatched.department",
                                 params=_dispatch_params(event, dispatch))
                    for channel, address in department_channels(department)]
    return notices


def _is_actor(event, recipient):
    actor = event.entry.get("actor")
    kind, _, scope = recipient.partition(":")
    return bool(actor) and actor in (recipient, f"{ACTOR_PARTY.get(kind, kind)}:{scope}")


def _once_each(notifications):
    """One notification per recipient and channel: the first found wins."""
    seen, kept = set(), []
    for notice in notifications:
        if (notice.recipient, notice.channel) not in seen:
            seen.add((notice.recipient, notice.channel))
            kept.append(notice)
    return kept


def _template(news, kind):
    return f"{news}.{kind}"


def _reporter_params(event):
    """Progress the reporter may read: their ticket, who handles it, the result."""
    ticket = event.ticket
    params = {"ticket_id": ticket["ticket_id"], "title": ticket.get("title"),
              "status": ticket.get("status", "received")}
    if event.type == CONCERN_RECEIVED:
        params["received_at"] = ticket.get("received_at")
    elif event.type == DISPATCHED:
        dispatches = new_dispatches(event)
        params["departments"] = [dispatch.get("name") for dispatch in dispatches]
        params["due_at"] = next((d.get("due_at") for d in dispatches if d.get("role") == "lead"),
                                None)
    elif event.type == RESOLVED:
        params.update(result=ticket.get("result"), resolved_at=ticket.get("resolved_at"))
    return params


def _party_params(event):
    """What staff (representative, office) read: the ticket, its dispatches, the change."""
    ticket = event.ticket
    return {**{key: ticket.get(key) for key in TICKET_FACTS},
            "representative": ticket.get("representative"),
            "result": ticket.get("result"),
            "departments": [{key: dispatch.get(key) for key in DISPATCH_FACTS}
                            for dispatch in ticket.get("departments") or []],
            "change": {key: event.entry.get(key) for key in ENTRY_FACTS}}


def _dispatch_params(event, dispatch):
    """The department's dispatch, shaped like the AMQP dispatch message (contract §7)."""
    ticket = event.ticket
    return {"dispatch_id": dispatch["dispatch_id"], "ticket_id": ticket["ticket_id"],
            "department": dispatch.get("department"), "role": dispatch.get("role"),
            **{key: ticket.get(key) for key in ("district", "community", "category", "title")},
            "representative": ticket.get("representative"), "note": event.entry.get("note"),
            "dispatched_at": dispatch.get("dispatched_at"), "due_at": dispatch.get("due_at")}
