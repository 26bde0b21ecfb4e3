"""Notify's rules: who hears what, on which channels, in which language
(docs/architecture.md#notifications-who-hears-what-and-how).

Pure functions over one event, the reporter's contact and the directory snapshot; no I/O.

``WHO_HEARS_WHAT`` is the whole rule: what happened (an event type, or a timeline
action carried by a ticket event, see ``ACTION_NEWS``) and who hears it. Nobody is
told of their own action (the timeline entry's ``actor``). A recipient is told on
every channel its contact gives (``email``, ``phone`` → sms, ``wechat_openid`` →
wechat), in its ``locale``; a department with webhook delivery gets its dispatch at
its webhook URL, one with web delivery (no system of its own) is told of it on its
contact's channels and each of its staff on theirs (``staff:<id>``), to answer in the
workbench. A recipient without a usable contact hears nothing. Rejected feedback
that names no ticket (it could not be read, or its dispatch is unknown) is told to the
offices of every district its department serves (``districts``, ``*`` for all).

A person's sign-in code (``staff.sign_in_code``) is told to that person of the
directory (``services.common.people``) on every channel their contact gives, in the
event's locale. The code is a secret: its params are ``SECRET_PARAMS`` of a
``SECRET_TEMPLATES`` template, never logged nor listed, forgotten once sent or failed,
and sent before any other waiting notification.

Params hold what a template needs and its recipient may see: never an address. A
message to the reporter carries the link to their concern's own page (``link``, from the
``page_token`` of their contact, ``reporter_page_link``); it is added as the message is
sent, from the contact as it is then, so it is never kept with the notification and an
anonymised contact (its token gone) yields none.
"""
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import quote

from services.common.events import (
    ACTIVE_DISPATCH_STATUSES,
    CONCERN_RECEIVED,
    DEFAULT_LOCALE,
    DEPARTMENT_DISPATCHED,
    FEEDBACK_REJECTED,
    LOCALES,
    STAFF_SIGN_IN_CODE,
    TICKET_CHANGES,
    TICKET_PREFIX,
    step_changes,
)

REPORTER, REPRESENTATIVE, OFFICE, DEPARTMENT = "reporter", "representative", "office", "department"
STAFF = "staff"  # a person of the directory, told as themselves: staff:<person id>

#: (what happened, who hears it)
WHO_HEARS_WHAT = (
    ("concern.received", REPORTER),
    ("ticket.dispatched", REPORTER),
    ("ticket.resolved", REPORTER),          # with the department's result
    ("ticket.closed", REPORTER),
    ("ticket.reminded", REPORTER),          # a resolution the reporter has not rated yet
    ("ticket.assigned", REPRESENTATIVE),
    ("ticket.resolved", REPRESENTATIVE),    # the department's result
    ("ticket.feedback", REPRESENTATIVE),    # a department's progress
    ("ticket.rated", REPRESENTATIVE),       # the reporter's rating
    ("ticket.escalated", REPRESENTATIVE),
    ("ticket.forwarded", OFFICE),
    ("ticket.undecided", OFFICE),           # no category: the office decides
    ("ticket.returned", OFFICE),            # a department handed the ticket back
    ("ticket.overdue", OFFICE),
    ("feedback.rejected", OFFICE),          # a department's feedback could not apply
    ("department.dispatched", DEPARTMENT),  # webhook and web departments only
    (STAFF_SIGN_IN_CODE, STAFF),            # the person who asked for it
)
#: timeline actions that are news whatever the type of the ticket event carrying them
ACTION_NEWS = {"rate": "ticket.rated", "escalate": "ticket.escalated", "overdue": "ticket.overdue"}
#: contact key → channel
CONTACT_CHANNELS = (("email", "email"), ("phone", "sms"), ("wechat_openid", "wechat"))

TICKET_FACTS = ("ticket_id", "status", "district", "community", "category", "title")
DISPATCH_FACTS = ("dispatch_id", "department", "name", "role", "status", "dispatched_at",
                  "due_at", "resolved_at")
ENTRY_FACTS = ("at", "actor", "action", "note")
#: a recipient kind and the party name its own actions carry in the timeline
ACTOR_PARTY = {OFFICE: "congress"}
ALL_DISTRICTS = "*"  # a department's districts: the whole city
SIGN_IN_CODE_TEMPLATE = f"{STAFF_SIGN_IN_CODE}.{STAFF}"
#: templates whose params hold a secret: sent before anything else waiting, and the
#: secret params forgotten once the notification is sent or has finally failed
SECRET_TEMPLATES = (SIGN_IN_CODE_TEMPLATE,)
SECRET_PARAMS = ("code",)
#: what a web department (and its staff) reads of a dispatch: never the reporter
WEB_DISPATCH_FACTS = ("dispatch_id", "ticket_id", "department", "role", "district", "community",
                      "category", "title", "dispatched_at", "due_at")


class UnusableEvent(ValueError):
    """The event is not one notify knows, or lacks what notify needs: it is parked."""


@dataclass(frozen=True)
class Event:
    """A consumed event as notify reads it."""
    id: str       # the message id
    type: str
    ticket: dict  # the ticket (ticket.*), else the event's body (it names the ticket_id)
    entry: dict   # the timeline entry of a ticket change; {} for the others

    @property
    def ticket_id(self):
        return self.ticket.get("ticket_id")

    @property
    def news(self):
        """What happened, in the words of ``WHO_HEARS_WHAT``."""
        found = [self.type]
        action_news = ACTION_NEWS.get(self.entry.get("action"))
        if action_news and action_news != self.type:
            found.append(action_news)
        return found


@dataclass(frozen=True)
class Notification:
    recipient: str  # reporter | representative:<id> | office:<district> | department:<code>
                    # | staff:<person id>
    channel: str    # email | sms | wechat | webhook
    address: str
    template: str   # <what happened>.<recipient kind>, e.g. ticket.dispatched.reporter
    locale: str = DEFAULT_LOCALE
    params: dict = field(default_factory=dict)

    @property
    def recipient_kind(self):
        return self.recipient.partition(":")[0]


def read_events(message_id, event_type, body):
    """What one consumed message tells notify, as Events, or UnusableEvent (unknown type,
    no ticket id). A ticket event is one Event per change of its step, in order, each
    with its own timeline entry and the ticket as the step left it; a step's single
    change keeps the message's id, several are told apart by their place."""
    event = read_event(message_id, event_type, body)
    if not event_type.startswith(TICKET_PREFIX):
        return [event]
    changes = step_changes(event_type, body)
    if len(changes) == 1:
        return [event]
    for change, entry in changes:
        if change not in TICKET_CHANGES or not isinstance(entry, dict):
            raise UnusableEvent(f"{event_type} tells of a change it cannot read: {change!r}")
    return [Event(f"{message_id}/{place}", f"{TICKET_PREFIX}{change}", event.ticket, entry)
            for place, (change, entry) in enumerate(changes, start=1)]


def read_event(message_id, event_type, body):
    """The event notify handles, or UnusableEvent (unknown type, no ticket id)."""
    known_ticket_event = (event_type.startswith(TICKET_PREFIX)
                          and event_type[len(TICKET_PREFIX):] in TICKET_CHANGES)
    if event_type not in (CONCERN_RECEIVED, DEPARTMENT_DISPATCHED, FEEDBACK_REJECTED) \
            and not known_ticket_event:
        raise UnusableEvent(f"unexpected event type {event_type!r}")
    if not isinstance(body, dict):
        raise UnusableEvent(f"{event_type} body is not a JSON object")
    ticket, entry = (body.get("ticket"), body.get("entry") or {}) if known_ticket_event else (body, {})
    # feedback undecodable or for an unknown dispatch names no ticket: offices hear of it
    ticketless = event_type == FEEDBACK_REJECTED and isinstance(ticket, dict) \
        and ticket.get("ticket_id") is None
    if not isinstance(ticket, dict) or not (ticketless or isinstance(ticket.get("ticket_id"), str)):
        raise UnusableEvent(f"{event_type} carries no ticket_id")
    if not isinstance(entry, dict):
        raise UnusableEvent(f"{event_type} entry is not a JSON object")
    return Event(message_id, event_type, ticket, entry)


def hearers(event):
    """The kinds of recipient that hear of ``event``."""
    news = event.news
    return {kind for happened, kind in WHO_HEARS_WHAT if happened in news}


def reporter_may_hear(event):
    return REPORTER in hearers(event)


def reporter_notifications(event, contact):
    """What the reporter hears of ``event``; ``contact`` is None unless they asked for feedback."""
    if not contact or not reporter_may_hear(event):
        return []
    news = next(happened for happened in event.news if (happened, REPORTER) in WHO_HEARS_WHAT)
    return _told(REPORTER, contact, _template(news, REPORTER), _reporter_params(event))


def party_notifications(event, directory):
    """What representatives, liaison offices and webhook departments hear of ``event``."""
    if not event.ticket_id:
        return _offices_told(event, directory) if event.type == FEEDBACK_REJECTED else []
    found = []
    for news in event.news:
        for happened, kind in WHO_HEARS_WHAT:
            if happened != news or kind == REPORTER:
                continue
            recipient, contact = _party(kind, event, directory)
            if recipient and not _is_actor(event, recipient):
                params = _params_for(kind, event, directory)
                found += (_department_told(recipient, contact, _template(news, kind), params)
                          if kind == DEPARTMENT
                          else _told(recipient, contact, _template(news, kind), params))
    return _once_each(found)


@dataclass(frozen=True)
class SignInCode:
    """A ``staff.sign_in_code`` as notify reads it (its code is never shown: ``repr``)."""
    person_id: str
    code: str = field(repr=False)
    expires_at: datetime
    locale: str


def read_sign_in_code(body):
    """The sign-in code an event carries, or UnusableEvent (naming no value of it)."""
    if not isinstance(body, dict):
        raise UnusableEvent(f"{STAFF_SIGN_IN_CODE} body is not a JSON object")
    person_id, code = body.get("person_id"), body.get("code")
    if not isinstance(person_id, str) or not person_id:
        raise UnusableEvent(f"{STAFF_SIGN_IN_CODE} names no person_id")
    if not isinstance(code, str) or not code:
        raise UnusableEvent(f"{STAFF_SIGN_IN_CODE} carries no code")
    try:
        expires_at = datetime.fromisoformat(body.get("expires_at"))
    except (TypeError, ValueError):
        raise UnusableEvent(f"{STAFF_SIGN_IN_CODE} expires_at is not an ISO 8601 time") from None
    if expires_at.tzinfo is None:
        raise UnusableEvent(f"{STAFF_SIGN_IN_CODE} expires_at has no offset")
    locale = body.get("locale")
    return SignInCode(person_id, code, expires_at, locale if locale in LOCALES else DEFAULT_LOCALE)


def sign_in_code_notifications(sign_in, person, now):
    """What the person hears of their sign-in code (``person``: a
    ``services.common.people.Person``, None when the directory has nobody of that id):
    the code on every channel of their contact, in the event's locale, with the whole
    minutes it is still valid at ``now``."""
    if person is None:
        return []
    minutes = max(1, round((sign_in.expires_at - now).total_seconds() / 60))
    params = {"person_id": person.id, "code": sign_in.code,
              "expires_at": sign_in.expires_at.isoformat(), "valid_minutes": minutes}
    return [Notification(f"{STAFF}:{person.id}", channel, address, SIGN_IN_CODE_TEMPLATE,
                         sign_in.locale, params)
            for channel, address in channels_of(person.contact)]


def without_secrets(notification):
    """The notification as it may be kept when it will not be sent (its channel is not
    configured): a secret template's secret params left out."""
    if notification.template not in SECRET_TEMPLATES:
        return notification
    return replace(notification, params={key: value for key, value in notification.params.items()
                                         if key not in SECRET_PARAMS})


def channels_of(contact):
    """``(channel, address)`` for every channel a contact gives."""
    return [(channel, contact[key]) for key, channel in CONTACT_CHANNELS if contact.get(key)]


def locale_of(contact):
    locale = (contact or {}).get("locale")
    return locale if locale in LOCALES else DEFAULT_LOCALE


def current_dispatches(ticket):
    """The dispatches still with their departments (a new dispatch among them)."""
    return [dispatch for dispatch in ticket.get("departments") or []
            if dispatch.get("status") in ACTIVE_DISPATCH_STATUSES]


def _told(recipient, contact, template, params):
    locale = locale_of(contact)
    return [Notification(recipient, channel, address, template, locale, params)
            for channel, address in channels_of(contact or {})]


def _department_told(recipient, department, template, message):
    """A dispatch: at a webhook department's URL; to a web department's contact and each
    of its staff, on their channels; an amqp department has its queue (nothing here)."""
    if department.get("delivery") == "web":
        params = {key: message.get(key) for key in WEB_DISPATCH_FACTS}
        told = _told(recipient, department.get("contact"), template, params)
        for member in department.get("staff", []):
            told += _told(f"{STAFF}:{member['id']}", member.get("contact"), template, params)
        return told
    return _webhooked(recipient, department, message)


def _webhooked(recipient, department, message):
    url = (department.get("webhook") or {}).get("url")
    if department.get("delivery") != "webhook" or not url:
        return []
    return [Notification(recipient, "webhook", url, "ticket.dispatched.department",
                         locale_of(department.get("contact")), message)]


def _party(kind, event, directory):
    """The recipient's name and its contact (a department: its directory entry)."""
    ticket = event.ticket
    if kind == REPRESENTATIVE:
        rep_id = (ticket.get("representative") or {}).get("id")
        if not rep_id:
            return None, None
        return f"representative:{rep_id}", (directory["representatives"].get(rep_id) or {}).get(
            "contact")
    if kind == OFFICE:
        district = ticket.get("district")
        return f"office:{district}", _office_contact(directory, district)
    code = ticket.get("department")
    return f"department:{code}", directory["departments"].get(code) or {}


def _offices_told(event, directory):
    """Rejected feedback that names no ticket (undecodable, or for a dispatch routing does
    not know): the offices of every district its department serves hear of it."""
    department = directory["departments"].get(event.ticket.get("department")) or {}
    served = department.get("districts") or []
    districts = sorted(directory["districts"]) if ALL_DISTRICTS in served else served
    template, params = _template(FEEDBACK_REJECTED, OFFICE), _params_for(OFFICE, event, directory)
    return [notice for district in districts
            for notice in _told(f"office:{district}", _office_contact(directory, district),
                                template, params)]


def _office_contact(directory, district):
    return ((directory["districts"].get(district) or {}).get("office") or {}).get("contact")


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


def _params_for(kind, event, directory):
    if kind == DEPARTMENT:
        return dict(event.ticket)  # the dispatch message as routing made it
                                   # (docs/reference.md#the-dispatch-message)
    if event.type == FEEDBACK_REJECTED:  # "dispatch": as the department named it, or None
        code = event.ticket.get("department")
        return {"ticket_id": event.ticket.get("ticket_id"), "title": event.ticket.get("title"),
                "department": code,
                "department_name": (directory["departments"].get(code) or {}).get("name"),
                "dispatch": event.ticket.get("dispatch_id"), "reason": event.ticket.get("reason")}
    return _staff_params(event)


def _reporter_params(event):
    """Progress the reporter may read: their ticket, who handles it, the result."""
    ticket = event.ticket
    params = {"ticket_id": ticket["ticket_id"], "title": ticket.get("title"),
              "status": ticket.get("status", "received")}
    if event.type == CONCERN_RECEIVED:
        params["received_at"] = ticket.get("received_at")
    elif event.type == "ticket.dispatched":
        dispatches = current_dispatches(ticket)
        params["departments"] = [dispatch.get("name") for dispatch in dispatches]
        params["due_at"] = next((d.get("due_at") for d in dispatches if d.get("role") == "lead"),
                                None)
    elif event.type in ("ticket.resolved", "ticket.reminded"):
        params.update(result=ticket.get("result"), resolved_at=ticket.get("resolved_at"))
    return params


def reporter_page_link(link_template, page_token):
    """The reporter's own page of their concern (``link_template``: ``ZD_REPORTER_LINK``,
    ``{token}`` the page token); None without a token: none was given, or it was
    anonymised with the rest of the reporter's details."""
    if not link_template or not isinstance(page_token, str) or not page_token:
        return None
    return link_template.format(token=quote(page_token, safe=""))


def _staff_params(event):
    """What staff (representative, office) read: the ticket, its dispatches, the change."""
    ticket = event.ticket
    return {**{key: ticket.get(key) for key in TICKET_FACTS},
            "representative": ticket.get("representative"),
            "result": ticket.get("result"),
            "rating": ticket.get("rating"),
            "departments": [{key: dispatch.get(key) for key in DISPATCH_FACTS}
                            for dispatch in ticket.get("departments") or []],
            "change": {key: event.entry.get(key) for key in ENTRY_FACTS}}
