"""The internal events the services exchange on ``zd.events`` (routing key = type).

One definition of each event's shape: the producers build their events with these
functions, and the consumers' tests build theirs with the same functions (through
the producers' own code), so a change of shape breaks the consumers' tests. Pure:
no I/O, no messaging library.

Every message is JSON, persistent, with a stable ``message_id``; consumers apply each
once (inbox) and must tolerate reordering: ticket events carry ``ticket.version`` and a
projection keeps the highest.

``directory.published`` (admin CLI → all)
    ``{version, published_at, directory}``: the normalized directory snapshot.
``credential.issued`` / ``credential.expiring`` / ``credential.revoked`` (admin CLI → intake,
routing, notify, reporting)
    ``{key_id, party, key_hash, expires_at}`` / ``{key_id, expires_at}`` / ``{key_id}``.
``concern.received`` (intake → routing, notify, reporting)
    ``{ticket_id, district, community, channel, category, title, description, location,
    attachments, requested_representative, submitted_at, received_at,
    feedback_requested}``: never a contact detail of the reporter.
``reporter.contact`` (intake → notify only), when the reporter asked for feedback
    ``{ticket_id, contact: {name, phone, email, wechat_openid, locale, page_token}}``:
    ``page_token`` opens the reporter's own page of the concern (intake's ``/c/<token>``);
    it is the reporter's alone, a personal detail like their phone.
``reporter.dispatch_contact`` (intake → routing only), when the reporter asked for feedback
    ``{ticket_id, reporter: {name, phone}}``: what a department's dispatch carries
    (docs/reference.md#the-dispatch-message).
``concern.rated`` (intake → routing, reporting)
    ``{ticket_id, resolution, rating, comment, rated_at, taken_by, recorded_by}``: the
    reporter's rating of the ticket's ``resolution``-th resolution (its ``reopen_count``
    when resolved); ``taken_by`` says how it came (``RATING_SOURCES``: a front-end's API
    call, the reporter's own page, or the office's follow-up call), ``recorded_by``
    ``{id, name}`` is the office's staff member who took a call's rating (else null).
``rating.taken_by_phone`` (routing → intake only)
    ``{ticket_id, resolution, rating, comment, taken_at, recorded_by: {id, name}}``: a
    rating the liaison office took from the reporter by phone (a follow-up call); intake
    applies its rating rules to it (once per resolution) and emits ``concern.rated``.
``ticket.<change>`` (routing → intake, notify, reporting), change one of
    ``TICKET_CHANGES``; ``returned`` is a department handing a ticket back to the
    office, ``feedback``, ``escalated``, ``overdue`` and ``reminded`` (the reporter
    reminded, once, to rate a resolution) change no status:
    ``{ticket: TICKET, entry: TIMELINE_ENTRY, changes: [{change, entry: TIMELINE_ENTRY}]}``:
    one event per ticket and step of the workflow (one transaction), named by its last
    change, with every change the step made (``changes``, in order; ``entry`` is the
    last one's), e.g. a concern assigned, forwarded and dispatched at once is one
    ``ticket.dispatched`` with three changes. TICKET is
    ``{ticket_id, version, status, district, community, category, channel, title,
    representative: {id, name} | null, departments: [DISPATCH], received_at,
    first_dispatched_at, resolved_at, result, reopen_count, merged_into, rating, timeline:
    [TIMELINE_ENTRY]}`` (``merged_into``: the ticket a merged one joined, else null)
    (``rating`` is ``{rating, comment}`` of the latest resolution or null)
    (``resolved_at`` is the first resolution; a later reopening does not clear it),
    DISPATCH is ``{dispatch_id, department, name, role, status, dispatched_at, due_at,
    resolved_at}`` (status one of ``DISPATCH_STATUSES``) and TIMELINE_ENTRY is
    ``{at, actor, action, from_status, to_status, note}``, with ``person: {id, name}`` when
    a staff member signed in acted for the party (the ``actor``).
``department.dispatched`` (routing → notify only), for a department with webhook or web
    delivery the dispatch message (docs/reference.md#the-dispatch-message), which notify
    delivers to the webhook, or tells the department's contact and staff of (web).
``staff.sign_in_code`` (routing → notify only)
    ``{person_id, code, expires_at, locale}``: a one-time code for a person of the
    directory (a representative or a staff member) to sign in to the workbench, sent to
    their directory contact. The code is a secret: never logged, never listed.
``feedback.rejected`` (routing → notify)
    ``{department, dispatch_id, ticket_id, district, title, reason}``: a department's
    feedback that could not apply (ticket, district and title null when its dispatch is unknown).
``personal_data.expired`` (routing, admin CLI → intake, routing, notify)
    ``{ticket_id, reason}``: the reporter's name, phone, email, openid and page token of the ticket are
    anonymised in place wherever they are kept; ``reason`` is ``expired`` (routing: the
    district's ``personal_data_days`` after the ticket became final) or ``erasure`` (an
    erasure request recorded by the admin CLI).
"""
import uuid
from dataclasses import dataclass

#: the exchange every internal event is published on (its topology: ``services.common.topology``)
EVENTS_EXCHANGE = "zd.events"
DIRECTORY_PUBLISHED = "directory.published"
CREDENTIAL_ISSUED = "credential.issued"
CREDENTIAL_EXPIRING = "credential.expiring"
CREDENTIAL_REVOKED = "credential.revoked"
CREDENTIAL_EVENTS = (CREDENTIAL_ISSUED, CREDENTIAL_EXPIRING, CREDENTIAL_REVOKED)
CONCERN_RECEIVED = "concern.received"
CONCERN_RATED = "concern.rated"
PHONE_RATING = "rating.taken_by_phone"
#: how a rating came: a front-end's API call, the reporter's own page, the office's call
RATING_SOURCES = ("frontend", "page", "phone")
REPORTER_CONTACT = "reporter.contact"
DISPATCH_CONTACT = "reporter.dispatch_contact"
DEPARTMENT_DISPATCHED = "department.dispatched"
FEEDBACK_REJECTED = "feedback.rejected"
PERSONAL_DATA_EXPIRED = "personal_data.expired"
STAFF_SIGN_IN_CODE = "staff.sign_in_code"
#: the fields of an event's body that are secrets: withheld from a parked copy, and its
#: outbox row deleted once published (services.common.messaging, outbox_relay)
SECRET_FIELDS = {STAFF_SIGN_IN_CODE: ("code",)}
#: why a ticket's personal data is anonymised: its time ran out, or its reporter asked
EXPIRED, ERASURE = "expired", "erasure"
TICKET_PREFIX = "ticket."
#: the timeline's actor when routing acts by itself (policy, deadlines): a forward by it
#: is a representative passed over
SYSTEM_ACTOR = "system"
TICKET_CHANGES = ("assigned", "forwarded", "undecided", "dispatched", "in_progress", "resolved",
                  "closed", "merged", "rejected", "returned", "feedback", "escalated", "overdue",
                  "reminded")
#: a dispatch's status: ``sent`` until its department answers, then the latest answer;
#: ``withdrawn`` when the ticket was handed back while it was still active
DISPATCH_STATUSES = ("sent", "acknowledged", "in_progress", "resolved", "rejected",
                     "transfer_requested", "withdrawn")
ACTIVE_DISPATCH_STATUSES = ("sent", "acknowledged", "in_progress")
LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"

CONCERN_FACTS = ("ticket_id", "district", "community", "channel", "category", "title",
                 "description", "location", "attachments", "requested_representative")


@dataclass(frozen=True)
class Event:
    """An event to publish: its type (also its routing key), body and stable message id."""
    type: str
    body: dict
    message_id: str


def ticket_event(change):
    return f"{TICKET_PREFIX}{change}"


def concern_received(concern):
    """``concern.received`` of a stored concern (intake's row): no contact details."""
    body = {key: concern.get(key) for key in CONCERN_FACTS}
    body.update(submitted_at=concern["submitted_at"].isoformat(),
                received_at=concern["received_at"].isoformat(),
                feedback_requested=wants_feedback(concern.get("reporter")))
    return Event(CONCERN_RECEIVED, body, f"concern-{concern['ticket_id']}")


def reporter_contact(ticket_id, reporter, page_token=None):
    """``reporter.contact`` for notify, or None when the reporter did not ask for feedback."""
    if not wants_feedback(reporter):
        return None
    contact = {key: reporter.get(key) for key in ("name", "phone", "email", "wechat_openid")}
    contact["locale"] = reporter.get("locale") or DEFAULT_LOCALE
    contact["page_token"] = page_token
    return Event(REPORTER_CONTACT, {"ticket_id": ticket_id, "contact": contact},
                 f"reporter-contact-{ticket_id}")


def dispatch_contact(ticket_id, reporter):
    """``reporter.dispatch_contact`` for routing, or None when the reporter did not ask."""
    if not wants_feedback(reporter):
        return None
    return Event(DISPATCH_CONTACT, {"ticket_id": ticket_id, "reporter": {
        "name": reporter.get("name"), "phone": reporter.get("phone")}},
        f"dispatch-contact-{ticket_id}")


def wants_feedback(reporter):
    return bool(reporter and reporter.get("wants_feedback"))


def concern_rated(ticket_id, resolution, rating, comment, rated_at, taken_by="frontend",
                  recorded_by=None):
    return Event(CONCERN_RATED, {"ticket_id": ticket_id, "resolution": resolution,
                                 "rating": rating, "comment": comment,
                                 "rated_at": rated_at.isoformat(), "taken_by": taken_by,
                                 "recorded_by": recorded_by},
                 f"rating-{ticket_id}-{resolution}")


def phone_rating(ticket_id, resolution, rating, comment, taken_at, recorded_by):
    """``rating.taken_by_phone``: the office's follow-up call, for intake's rating rules."""
    return Event(PHONE_RATING, {"ticket_id": ticket_id, "resolution": resolution,
                                "rating": rating, "comment": comment,
                                "taken_at": taken_at.isoformat(), "recorded_by": recorded_by},
                 f"phone-rating-{ticket_id}-{resolution}")


def ticket_changed(snapshot, changes):
    """``ticket.<change>`` of one step of the workflow: the ticket as the step left it, and
    ``changes``, the step's ``(change, timeline entry)`` pairs in order. The event is named
    by the last change and its ``entry`` is the last change's."""
    changes = list(changes)
    change, entry = changes[-1]
    return Event(ticket_event(change), {
        "ticket": snapshot, "entry": entry,
        "changes": [{"change": name, "entry": made} for name, made in changes]},
        f"ticket-{snapshot['ticket_id']}-v{snapshot['version']}")


def step_changes(event_type, body):
    """The ``(change, entry)`` pairs a ``ticket.<change>`` body tells of, in order. An event
    without ``changes`` (published before steps carried several) tells of its own change."""
    changes = body.get("changes")
    if not isinstance(changes, list):
        return [(event_type[len(TICKET_PREFIX):], body.get("entry"))]
    return [(item.get("change"), item.get("entry")) for item in changes if isinstance(item, dict)]


def department_dispatched(message):
    """``department.dispatched``: the §7 dispatch message of a webhook or web department."""
    return Event(DEPARTMENT_DISPATCHED, message, f"department-dispatch-{message['dispatch_id']}")


def sign_in_code(person_id, code, expires_at, locale=DEFAULT_LOCALE):
    """``staff.sign_in_code``: ``code`` for ``person_id``, valid until ``expires_at`` (an
    aware datetime), to be told in ``locale``. Its message id is drawn afresh: it must not
    be derived from the code, and two codes asked for at once are two messages."""
    return Event(STAFF_SIGN_IN_CODE, {"person_id": person_id, "code": code,
                                      "expires_at": expires_at.isoformat(),
                                      "locale": locale if locale in LOCALES else DEFAULT_LOCALE},
                 f"sign-in-code-{uuid.uuid4()}")


def feedback_rejected(department, dispatch_id, ticket, reason, message_id):
    """``feedback.rejected``: ``ticket`` is the routing row of the dispatch's ticket, or None."""
    ticket = ticket or {}
    return Event(FEEDBACK_REJECTED, {
        "department": department, "dispatch_id": dispatch_id, "reason": reason,
        **{key: ticket.get(key) for key in ("ticket_id", "district", "title")}},
        f"feedback-rejected-{message_id}")


def personal_data_expired(ticket_id, reason=EXPIRED, request_id=None):
    """``personal_data.expired``: once per ticket when its time ran out, once per request
    (``request_id``, the admin's audit record) for an erasure."""
    message_id = (f"personal-data-expired-{ticket_id}" if reason == EXPIRED
                  else f"personal-data-erasure-{request_id}")
    return Event(PERSONAL_DATA_EXPIRED, {"ticket_id": ticket_id, "reason": reason}, message_id)
